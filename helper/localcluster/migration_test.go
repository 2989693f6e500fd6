package localcluster

import (
	"testing"
	"time"

	"github.com/chkv/chkv/common/topology"
	"github.com/chkv/chkv/datanode"

	"github.com/chkv/chkv/helper/workload"
)

// A DataNode joins a cluster holding data while clients read and write:
// it receives its slots, every key written before is still there, no
// operation fails, and the history is linearizable.
func TestJoinUnderLoadLosesNothing(t *testing.T) {
	c := startCluster(t, Options{DataNodes: 3, DataNodeConfig: func(cfg *datanode.Config) {
		cfg.Hook = workload.SlowSlots(150 * time.Millisecond)
	}})
	cl := newClient(t, c)
	want := workload.Preload(t, cl, "pre", 20000)
	w := startWorkload(t, c, 4, 64, 30000)
	w.RunMore(t, 200)

	dn, err := c.AddDataNode()
	if err != nil {
		t.Fatal(err)
	}
	if err := c.WaitForTopology(ctxFor(t, 10*time.Second), func(t *topology.Topology) bool { return t.Index(dn.ID()) >= 0 }); err != nil {
		t.Fatal(err)
	}
	if err := c.WaitMigrated(ctxFor(t, 60*time.Second)); err != nil {
		t.Fatal(err)
	}
	top := c.Topology()
	i := top.Index(dn.ID())
	if i < 0 || top.Nodes[i].State != topology.Up || top.SlotCount(i) == 0 {
		t.Fatalf("new node after the join: %+v, %d slots", top.Nodes[i], top.SlotCount(i))
	}
	w.RunMore(t, 200)
	w.Check(t)
	workload.Verify(t, cl, want)
	if dn.MigrationLoad().SlotsMoved != 0 {
		t.Error("the new node handed slots off")
	}
	moved := int64(0)
	for _, d := range c.DataNodes() {
		moved += d.MigrationLoad().KeysMoved
	}
	if moved == 0 {
		t.Fatal("no keys moved to the new node")
	}
}

// A DataNode drains while clients read and write: it ends owning nothing
// and holding no keys, every key is still readable, no operation fails,
// and the history is linearizable.
func TestDrainUnderLoadLosesNothing(t *testing.T) {
	c := startCluster(t, Options{DataNodes: 3, DataNodeConfig: func(cfg *datanode.Config) {
		cfg.Hook = workload.SlowSlots(150 * time.Millisecond)
	}})
	cl := newClient(t, c)
	want := workload.Preload(t, cl, "pre", 20000)
	w := startWorkload(t, c, 4, 64, 30000)
	w.RunMore(t, 200)

	dn := ownerOf(c, "{w0}")
	if err := c.Drain(dn, false); err != nil {
		t.Fatal(err)
	}
	select {
	case <-dn.Drained():
	case <-ctxFor(t, 60*time.Second).Done():
		t.Fatalf("not drained; migration %+v", dn.MigrationLoad())
	}
	w.RunMore(t, 200)
	w.Check(t)
	workload.Verify(t, cl, want)
	if n := dn.Keys(); n != 0 {
		t.Fatalf("drained node still holds %d keys", n)
	}
	top := c.Topology()
	if i := top.Index(dn.ID()); top.Nodes[i].State != topology.Drained || top.SlotCount(i) != 0 || top.Migrating() {
		t.Fatalf("after the drain: %+v owns %d slots, migrating %v", top.Nodes[i], top.SlotCount(i), top.Migrating())
	}
}
