package localcluster

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/chkv/chkv/client"
	"github.com/chkv/chkv/common/slot"
	"github.com/chkv/chkv/common/topology"
	"github.com/chkv/chkv/datanode"

	"github.com/chkv/chkv/helper/workload"
)

// trap blocks the first migration step it matches until released, and
// says which node and slot it caught.
type trap struct {
	armed   atomic.Bool
	match   func(step string, slot int) bool
	reached chan trapped
	release chan struct{}
}

type trapped struct {
	node string
	slot int
}

func newTrap(match func(step string, slot int) bool) *trap {
	return &trap{match: match, reached: make(chan trapped, 1), release: make(chan struct{})}
}

// snapshotOfSlotWithKeys returns a trap matching the snapshot of a slot
// holding one of the keys the function it also returns is given.
func snapshotOfSlotWithKeys() (*trap, func(map[string]string)) {
	var slots atomic.Pointer[map[int]bool]
	tr := newTrap(func(step string, s int) bool {
		p := slots.Load()
		return step == "snapshot" && p != nil && (*p)[s]
	})
	return tr, func(keys map[string]string) {
		m := make(map[int]bool)
		for k := range keys {
			m[slot.OfString(k)] = true
		}
		slots.Store(&m)
	}
}

// hook returns the migration hook of node id.
func (tr *trap) hook(id string) func(string, int) {
	return func(step string, s int) {
		if tr.match(step, s) && tr.armed.CompareAndSwap(true, false) {
			tr.reached <- trapped{node: id, slot: s}
			<-tr.release
		}
	}
}

// wait returns where the trap caught a migration.
func (tr *trap) wait(t *testing.T) trapped {
	t.Helper()
	select {
	case at := <-tr.reached:
		return at
	case <-time.After(30 * time.Second):
		t.Fatal("no migration reached the trap")
		return trapped{}
	}
}

// startTrapped starts a cluster of n DataNodes, each moving slots with
// the given number of workers (0: the default), whose migrations go
// through tr.
func startTrapped(t *testing.T, tr *trap, n, workers int) *Cluster {
	return startCluster(t, Options{DataNodes: n, DataNodeConfig: func(cfg *datanode.Config) {
		cfg.Hook = tr.hook(cfg.ID)
		if workers > 0 {
			cfg.MigrationWorkers = workers
		}
	}})
}

func (c *Cluster) byID(id string) *DataNode {
	for _, dn := range c.DataNodes() {
		if dn.ID() == id {
			return dn
		}
	}
	return nil
}

func waitNodeState(t *testing.T, c *Cluster, id string, st topology.State) {
	t.Helper()
	err := c.WaitForTopology(ctxFor(t, 30*time.Second), func(top *topology.Topology) bool {
		i := top.Index(id)
		return i >= 0 && top.Nodes[i].State == st
	})
	if err != nil {
		t.Fatalf("%s never %v: %v", id, st, err)
	}
}

// The target of a migration dies after the snapshot, before the handoff:
// the source keeps the slot, the NameNode re-plans without the dead node,
// and no key is lost. One source with one worker: the trap catches the
// first slot holding keys before any such slot can have been handed off
// (a group snapshots all its slots before its cutover), so the target
// dies holding no key of its own. A second DataNode keeps the majority
// that the NameNode needs to declare the target down; its own moves to
// the target are held until the test ends, so it hands it nothing.
func TestTargetKilledMidSlotLosesNothing(t *testing.T) {
	tr, withKeys := snapshotOfSlotWithKeys()
	hold := make(chan struct{})
	var holding atomic.Bool
	c := startCluster(t, Options{DataNodes: 2, DataNodeConfig: func(cfg *datanode.Config) {
		cfg.MigrationWorkers = 1
		if cfg.ID == "datanode-1" {
			cfg.Hook = tr.hook(cfg.ID)
			return
		}
		cfg.Hook = func(step string, _ int) {
			if step == "begin" && holding.Load() {
				<-hold
			}
		}
	}})
	t.Cleanup(func() { close(hold) }) // before the cluster stops
	cl := newClient(t, c)
	want := workload.Preload(t, cl, "pre", 5000)
	withKeys(want)

	holding.Store(true)
	tr.armed.Store(true)
	target, err := c.AddDataNode()
	if err != nil {
		t.Fatal(err)
	}
	at := tr.wait(t)
	c.Kill(target)
	close(tr.release)
	waitNodeState(t, c, target.ID(), topology.Down)
	if err := c.WaitMigrated(ctxFor(t, 30*time.Second)); err != nil {
		t.Fatal(err)
	}
	if o := c.Topology().Owner(at.slot); o == nil || o.ID == target.ID() {
		t.Fatalf("slot %d caught mid-migration is owned by %v", at.slot, o)
	}
	workload.Verify(t, cl, want)
}

// The source of a migration dies mid-slot: its slots are reassigned as for
// any dead node, the target does not serve the partial copy of the slot it
// was receiving, and the other nodes' keys are all there.
func TestSourceKilledMidSlotDropsPartialCopy(t *testing.T) {
	tr, withKeys := snapshotOfSlotWithKeys()
	c := startTrapped(t, tr, 3, 0)
	cl := newClient(t, c)
	want := workload.Preload(t, cl, "pre", 5000)
	withKeys(want)
	before := c.Topology()

	tr.armed.Store(true)
	if _, err := c.AddDataNode(); err != nil {
		t.Fatal(err)
	}
	at := tr.wait(t)
	source := c.byID(at.node)
	// The source dies: its links go first, so the migration the trap
	// holds cannot finish once released; then the process stops (Stop
	// waits for that worker).
	source.ToPeers.Cut()
	source.Isolate()
	close(tr.release)
	c.Kill(source)
	waitNodeState(t, c, source.ID(), topology.Down)
	if err := c.WaitMigrated(ctxFor(t, 30*time.Second)); err != nil {
		t.Fatal(err)
	}
	kept := make(map[string]string)
	caught := 0
	for k, v := range want {
		s := slot.OfString(k)
		switch {
		case before.Owner(s).ID != source.ID():
			kept[k] = v
		case s == at.slot:
			caught++
			// The slot the target was receiving: nothing of it may show.
			if got, err := cl.Get(ctxFor(t, 5*time.Second), k); !errors.Is(err, client.ErrNotFound) {
				t.Fatalf("key %s of the slot caught mid-copy reads %q, %v: a partial copy is served", k, got, err)
			}
		}
	}
	if caught == 0 {
		t.Fatalf("slot %d caught mid-copy held none of the keys", at.slot)
	}
	workload.Verify(t, cl, kept)
}

// A link slowed to a crawl slows the migration down but does not stop it,
// and clients see no error.
func TestSlowLinkDrainCompletes(t *testing.T) {
	c := startCluster(t, Options{DataNodes: 3})
	cl := newClient(t, c)
	want := workload.Preload(t, cl, "pre", 5000)
	w := startWorkload(t, c, 2, 64, 20000)
	dn := c.DataNodes()[0]
	dn.ToPeers.SetDelay(2 * time.Millisecond) // every write of its migration streams
	if err := c.Drain(dn, false); err != nil {
		t.Fatal(err)
	}
	select {
	case <-dn.Drained():
	case <-ctxFor(t, 60*time.Second).Done():
		t.Fatalf("not drained over the slow link; migration %+v", dn.MigrationLoad())
	}
	w.Check(t)
	workload.Verify(t, cl, want)
}

// A 100 MB value moves in chunks while writes to its slot and to the
// node's other slots go on between the chunks; it arrives intact.
func TestLargeValueMovesWhileSmallWritesContinue(t *testing.T) {
	if testing.Short() {
		t.Skip("moves 100 MB")
	}
	tr := newTrap(func(step string, _ int) bool { return step == "chunk" })
	c := startTrapped(t, tr, 3, 0)
	const big = "{big}value"
	dn := ownerOf(c, big)
	// 100 MB under the race detector, with other tests running, takes
	// longer than go-redis's default 3s timeouts.
	slowClient := func(dn *DataNode) *redis.Client {
		rdb := redis.NewClient(&redis.Options{Addr: dn.RESPAddr(), MaxRetries: -1, ReadTimeout: time.Minute, WriteTimeout: time.Minute})
		t.Cleanup(func() { rdb.Close() })
		return rdb
	}
	rdb := slowClient(dn)
	ctx := ctxFor(t, 120*time.Second)
	value := bytes.Repeat([]byte("0123456789abcdef"), 100<<20/16)
	if err := rdb.Set(ctx, big, value, 0).Err(); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(value)
	value = nil

	tr.armed.Store(true)
	if err := c.Drain(dn, false); err != nil {
		t.Fatal(err)
	}
	tr.wait(t) // the value is part-way through
	// With the migration held between two chunks, the value's slot and
	// the node's other slots take writes.
	same, other := "{big}small", ""
	for i := 0; other == ""; i++ {
		if k := fmt.Sprintf("small-%d", i); ownerOf(c, k) == dn && slot.OfString(k) != slot.OfString(big) {
			other = k
		}
	}
	for _, k := range []string{same, other} {
		wctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		err := rdb.Set(wctx, k, "v", 0).Err()
		cancel()
		if err != nil {
			t.Fatalf("write to %s while the large value moves: %v", k, err)
		}
	}
	close(tr.release)
	select {
	case <-dn.Drained():
	case <-ctx.Done():
		t.Fatalf("not drained; migration %+v", dn.MigrationLoad())
	}
	owner := ownerOf(c, big)
	got, err := slowClient(owner).Get(ctx, big).Bytes()
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 100<<20 || sha256.Sum256(got) != sum {
		t.Fatalf("the value arrived as %d bytes with another digest", len(got))
	}
	for _, k := range []string{same, other} {
		if v, err := direct(t, ownerOf(c, k)).Get(ctx, k).Result(); err != nil || v != "v" {
			t.Fatalf("%s after the drain: %q, %v", k, v, err)
		}
	}
}
