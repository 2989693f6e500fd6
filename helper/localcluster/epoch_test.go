package localcluster

import (
	"sync"
	"testing"
	"time"

	"github.com/chkv/chkv/client"
	"github.com/chkv/chkv/common/topology"
	"github.com/chkv/chkv/helper/testutil"
)

// committedLog records every version a watcher receives.
type committedLog struct {
	mu   sync.Mutex
	seen []*topology.Topology
}

func (l *committedLog) add(t *topology.Topology) {
	l.mu.Lock()
	l.seen = append(l.seen, t)
	l.mu.Unlock()
}

func (l *committedLog) all() []*topology.Topology {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]*topology.Topology(nil), l.seen...)
}

// TestRestartedNameNodeTakesAFreshEpoch crashes the NameNode after it
// staged version N+1 on a minority of the DataNodes (its calls to the
// other two are cut), and restarts it under the same ID where it cannot
// reach that minority. The restarted process is another incarnation: the
// DataNodes must not grant it the epoch its predecessor held, or its first
// commit would be a different N+1 in the same epoch, and a later election
// that saw both could not tell which one was committed. So the history
// never forks: no (epoch, version) names two topologies, and nothing
// committed is lost.
func TestRestartedNameNodeTakesAFreshEpoch(t *testing.T) {
	c := startCluster(t, Options{})
	ctx := ctxFor(t, 60*time.Second)
	log := &committedLog{}
	cl, err := c.NewClient(ctx, client.WithOnTopology(log.add))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	dns := c.DataNodes()
	before := c.Topology()

	// Stage (e, N+1), dns[0] draining, on dns[0] alone: a minority.
	dns[1].FromNameNode.Cut()
	dns[2].FromNameNode.Cut()
	if err := c.Drain(dns[0], false); err == nil {
		t.Fatal("the drain committed although only one DataNode of three could stage it")
	}
	if got := c.Topology(); got.Epoch != before.Epoch || got.Version != before.Version {
		t.Fatalf("(%d, %d) committed without a majority", got.Epoch, got.Version)
	}

	// Crash and restart under the same ID, now reaching only the two that
	// do not hold the staged version.
	dns[0].FromNameNode.Cut()
	dns[1].FromNameNode.Restore()
	dns[2].FromNameNode.Restore()
	if err := c.RestartNameNode(); err != nil {
		t.Fatal(err)
	}
	var first *topology.Topology
	testutil.Eventually(t, 20*time.Second, "the restarted NameNode to commit", func() bool {
		first = c.Topology()
		return first.Version > before.Version && countUp(first) == 3 && allServed(first)
	})
	dns[0].FromNameNode.Restore()
	if err := c.WaitConverged(ctx); err != nil {
		t.Fatal(err)
	}

	if first.Epoch <= before.Epoch {
		t.Errorf("the restarted NameNode committed (%d, %d) in epoch %d, which its crashed incarnation held", first.Epoch, first.Version, before.Epoch)
	}
	// The staged (e, N+1) had dns[0] draining: any committed version at
	// that (epoch, version) that differs is a fork.
	committed := append(log.all(), c.Topology())
	for _, v := range committed {
		if v.Epoch == before.Epoch && v.Version == before.Version+1 {
			if i := v.Index(dns[0].ID()); i < 0 || v.Nodes[i].State != topology.Draining {
				t.Errorf("(%d, %d) names two topologies: the one staged before the crash (%s draining) and a committed one (%s not draining)",
					v.Epoch, v.Version, dns[0].ID(), dns[0].ID())
			}
		}
	}
	// Nothing committed is lost: versions only go forward, and every
	// DataNode, dns[0] included, holds the restarted NameNode's newest.
	for i := 1; i < len(committed); i++ {
		if a, b := committed[i-1], committed[i]; a.NewerThan(b) {
			t.Errorf("committed (%d, %d) after (%d, %d)", b.Epoch, b.Version, a.Epoch, a.Version)
		}
	}
	last := c.Topology()
	for _, dn := range dns {
		if got := dn.Topology(); got.Epoch != last.Epoch || got.Version != last.Version {
			t.Errorf("%s holds (%d, %d), the NameNode (%d, %d)", dn.ID(), got.Epoch, got.Version, last.Epoch, last.Version)
		}
	}
}
