package main

import (
	"context"
	"encoding/json"
	"net"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chkv/chkv/datanode"
	"github.com/chkv/chkv/helper/localcluster"
	"github.com/chkv/chkv/helper/promtest"
)

func startLocalCluster(t *testing.T, opts localcluster.Options) *localcluster.Cluster {
	t.Helper()
	// Forming takes a second or two; the bound is for a loaded machine.
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	c, err := localcluster.Start(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Stop)
	return c
}

func TestBenchAgainstLocalCluster(t *testing.T) {
	c := startLocalCluster(t, localcluster.Options{DataNodeConfig: func(cfg *datanode.Config) {
		cfg.HTTP = "127.0.0.1:0" // metrics: the requests must reach every DataNode
	}})
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	nn := "--namenodes=" + c.NameNodeAddr()

	out, _, err := run(ctx, nn, "--output=json", "bench", "--clients=2", "-c", "8", "-n", "5000",
		"--keyspace=500", "--value-size=100", "--read-ratio=0.3", "-P", "4")
	if err != nil {
		t.Fatal(err)
	}
	var r benchResult
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatalf("%v in %s", err, out)
	}
	if r.Requests != 5000 || r.Gets+r.Sets != 5000 || r.Errors != 0 || r.OpsPerSec <= 0 {
		t.Fatalf("result %+v", r)
	}
	if r.Gets < 1000 || r.Gets > 2000 {
		t.Errorf("%d GETs of 5000 at read ratio 0.3", r.Gets)
	}
	l := r.Latency
	if !(0 < l.P50 && l.P50 <= l.P90 && l.P90 <= l.P99 && l.P99 <= l.P999 && l.P999 <= l.Max) {
		t.Errorf("latency percentiles out of order: %+v", l)
	}
	// The writes are in the cluster, spread over its DataNodes.
	var keys, sets float64
	for _, dn := range c.DataNodes() {
		fams, err := promtest.Scrape(dn.HTTPAddr().String(), 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		k, _ := fams.Value("chkv_datanode_keys")
		n, _ := fams.Value("chkv_datanode_commands_total", "command", "set", "result", "ok")
		if k == 0 {
			t.Errorf("%s holds no bench key", dn.ID())
		}
		keys += k
		sets += n
	}
	if keys > 500 || keys < 400 {
		t.Errorf("%v keys in the cluster for a 500-key keyspace", keys)
	}
	if sets != float64(r.Sets) {
		t.Errorf("the DataNodes counted %v SETs, bench made %d", sets, r.Sets)
	}

	// A timed run in the human format stops by itself.
	began := time.Now()
	out, _, err = run(ctx, nn, "bench", "--duration=700ms", "-c", "4", "--keyspace=100")
	if err != nil {
		t.Fatal(err)
	}
	if d := time.Since(began); d > 10*time.Second {
		t.Errorf("a 700ms bench took %v", d)
	}
	for _, re := range []string{`(?m)^throughput: \d+ requests/s$`, `p50 [\d.]+  p90 [\d.]+  p99 [\d.]+  p99\.9 [\d.]+  max [\d.]+`, ` 0 errors\)`} {
		if !regexp.MustCompile(re).MatchString(out) {
			t.Errorf("output lacks %s:\n%s", re, out)
		}
	}
}

func TestBenchRejectsBadFlags(t *testing.T) {
	ctx := context.Background()
	ln, err := net.Listen("tcp", "127.0.0.1:0") // never answers: flags are checked first
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	nn := "--namenodes=" + ln.Addr().String()
	for _, args := range [][]string{
		{"-c", "0"}, {"--clients", "0"}, {"--clients", "5", "-c", "2"}, {"-n", "-1"}, {"-n", "0"},
		{"--keyspace", "0"}, {"--value-size", "-1"}, {"--read-ratio", "1.5"}, {"--read-ratio", "NaN"},
		{"-P", "0"}, {"--duration", "-1s"}, {"extra-arg"},
	} {
		_, _, err := run(ctx, append([]string{nn, "--timeout=1s", "bench"}, args...)...)
		if err == nil || strings.Contains(err.Error(), "deadline") {
			t.Errorf("bench %v: %v, want a flag error", args, err)
		}
	}
}
