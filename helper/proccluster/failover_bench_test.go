package proccluster

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/chkv/chkv/helper/workload"
)

// BenchmarkFailover kills the active NameNode with SIGKILL b.N times, with
// the production heartbeat interval (1s), while SDK clients read and write.
// Each failover is timed from the kill to the first version of the new
// epoch reaching a watcher; the killed NameNode is then restarted and
// waited for as a following standby. It reports the distribution, the
// client operations that failed, and the committed versions lost (a new
// epoch that does not continue after the newest version seen).
//
//	go test -run '^$' -bench Failover -benchtime 20x ./helper/proccluster/
func BenchmarkFailover(b *testing.B) {
	c := startCluster(b, Options{HeartbeatInterval: time.Second})
	_, log := watch(b, c)
	w := workload.Start(b, newClient(c), 2, 64, 1<<23) // about 1M operations per 20 kills here
	var times []time.Duration
	b.ResetTimer()
	for range b.N {
		old, st := waitActive(b, c)
		w.RunMore(b, 100)
		if err := c.NameNodes[old].Kill(); err != nil {
			b.Fatal(err)
		}
		killed := time.Now()
		for {
			if _, ok := log.firstAbove(st.GetEpoch()); ok {
				times = append(times, time.Since(killed))
				break
			}
			if time.Since(killed) > 30*time.Second {
				b.Fatalf("no version of a new epoch 30s after the kill\n%s", c.Logs())
			}
			time.Sleep(5 * time.Millisecond)
		}
		if err := c.NameNodes[old].Restart(); err != nil {
			b.Fatal(err)
		}
		// The restarted NameNode follows the new active before the next kill.
		for {
			i, ast := c.Active(context.Background())
			if i >= 0 && i != old && ast.GetPeer().GetAgeMs() >= 0 && ast.GetPeer().GetAgeMs() < 500 && ast.GetPeer().GetLagVersions() == 0 {
				break
			}
			if time.Since(killed) > 60*time.Second {
				b.Fatalf("the restarted namenode does not follow\n%s", c.Logs())
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	b.StopTimer()
	w.RunMore(b, 100)
	w.Stop()
	slices.Sort(times)
	pct := func(p float64) float64 { return float64(times[int(p*float64(len(times)-1))].Milliseconds()) }
	b.ReportMetric(pct(0.5), "p50-ms")
	b.ReportMetric(pct(0.9), "p90-ms")
	b.ReportMetric(float64(times[len(times)-1].Milliseconds()), "max-ms")
	b.ReportMetric(float64(times[0].Milliseconds()), "min-ms")
	b.ReportMetric(float64(w.Errs()), "client-errors")
	b.ReportMetric(float64(w.Ops()), "client-ops")
	b.ReportMetric(float64(len(log.lost())), "lost-versions")
	b.Logf("failover times over %d kills: %v", len(times), times)
}

// BenchmarkFailoverProbe kills the active NameNode b.N times with the
// production heartbeat interval (1s), each while slots migrate (joins and
// drains in turn), with a probe reading from every DataNode every 5 ms.
// It reports the CLUSTERDOWN replies the probe got (the goal is none) and
// the failover times, kill to the first version of the new epoch at a
// watcher.
//
//	go test -run '^$' -bench FailoverProbe -benchtime 20x ./helper/proccluster/
func BenchmarkFailoverProbe(b *testing.B) {
	c := startCluster(b, Options{HeartbeatInterval: time.Second, DataNodeArgs: []string{"--migration-rate", "20kb"}})
	loader, err := c.NewClient(ctxFor(b, 10*time.Second))
	if err != nil {
		b.Fatal(err)
	}
	defer loader.Close()
	workload.Preload(b, loader, "pre", 20000)
	p := startProbe(b, c)
	b.ResetTimer()
	times := killActives(b, c, p, b.N)
	b.StopTimer()
	p.stop()
	down := p.unavailable()
	nodes := map[string]bool{}
	for _, u := range down {
		nodes[u.node] = true
	}
	served := 0
	for _, n := range p.servedBy() {
		served += n
	}
	slices.Sort(times)
	b.ReportMetric(float64(len(down)), "clusterdown-replies")
	b.ReportMetric(float64(len(nodes)), "nodes-clusterdown")
	b.ReportMetric(float64(served), "served-reads")
	b.ReportMetric(float64(times[len(times)/2].Milliseconds()), "p50-ms")
	b.ReportMetric(float64(times[len(times)-1].Milliseconds()), "max-ms")
	b.Logf("failover times over %d kills: %v; probe connection errors: %d", len(times), times, len(p.errors()))
	for _, line := range summarize(down) {
		b.Log(line)
	}
}

// BenchmarkBothNameNodesBack kills both NameNodes b.N times with the
// production heartbeat interval (1s), each time until every DataNode's
// lease has lapsed, and starts them again. It reports how long after the
// first NameNode was back the DataNodes still answered CLUSTERDOWN.
//
//	go test -run '^$' -bench BothNameNodesBack -benchtime 3x ./helper/proccluster/
func BenchmarkBothNameNodesBack(b *testing.B) {
	var worst time.Duration
	for range b.N {
		worst = max(worst, unavailableAfterBothBack(b, time.Second))
	}
	b.ReportMetric(float64(worst.Milliseconds()), "max-clusterdown-after-back-ms")
}
