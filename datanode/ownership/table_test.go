package ownership

import (
	"io"
	"log/slog"
	"testing"

	"github.com/chkv/chkv/common/topology"
	"github.com/chkv/chkv/datanode/store"
)

// twoNodes returns a topology of nodes "a" and "b", slot 0 owned by a and
// slot 1 by b.
func twoNodes(version uint64) *topology.Topology {
	t := topology.Empty(1, 0)
	t.Version = version
	t.Nodes = []topology.Node{{ID: "a", RESPAddr: "a:1"}, {ID: "b", RESPAddr: "b:1"}}
	t.Owners[0], t.Owners[1] = 0, 1
	return t
}

func newTable(lease *bool) *Table {
	return New(Config{SelfID: "a", Store: store.New(store.Config{}),
		Log: slog.New(slog.NewTextHandler(io.Discard, nil)), LeaseValid: func() bool { return *lease }})
}

// TestAdmit checks the decisions the command path gets for each kind of
// slot.
func TestAdmit(t *testing.T) {
	lease := true
	tb := newTable(&lease)
	if _, reply := tb.Admit(0); reply != ErrSlotNotServed {
		t.Fatalf("empty table: got %q, want %q", reply, ErrSlotNotServed)
	}
	tb.SetView(tb.View(), &View{Top: twoNodes(1), Self: 0})
	gate, reply := tb.Admit(0)
	if reply != "" {
		t.Fatalf("own slot: got %q", reply)
	}
	gate.RUnlock()
	if _, reply := tb.Admit(1); reply != "MOVED 1 b:1" {
		t.Fatalf("other's slot: got %q", reply)
	}
	if _, reply := tb.Admit(2); reply != ErrSlotNotServed {
		t.Fatalf("unowned slot: got %q", reply)
	}
	lease = false
	if _, reply := tb.Admit(0); reply != ErrClusterDown {
		t.Fatalf("no lease: got %q", reply)
	}
	lease = true
	tb.Lock(0)
	tb.SetOut(0, &HandedOut{To: tb.View().Top.Nodes[1], Reply: "TRYAGAIN x", InDoubt: true})
	tb.Unlock(0)
	if _, reply := tb.Admit(0); reply != "TRYAGAIN x" {
		t.Fatalf("handed out: got %q", reply)
	}
	tb.Lock(1)
	tb.SetIn(1, &HandedIn{From: "b"})
	tb.Unlock(1)
	gate, reply = tb.Admit(1)
	if reply != "" {
		t.Fatalf("handed in: got %q", reply)
	}
	gate.RUnlock()
}

// TestSetViewReconciles checks that a view showing a handoff committed
// clears its overrides.
func TestSetViewReconciles(t *testing.T) {
	lease := true
	tb := newTable(&lease)
	tb.SetView(tb.View(), &View{Top: twoNodes(1), Self: 0})
	tb.Lock(0)
	tb.SetOut(0, &HandedOut{To: tb.View().Top.Nodes[1], Reply: "MOVED 0 b:1"})
	tb.Unlock(0)
	if tb.Serves(tb.View(), 0) {
		t.Fatal("serves a slot handed out")
	}
	next := twoNodes(2)
	next.Owners[0] = 1
	lost := tb.SetView(tb.View(), &View{Top: next, Self: 0})
	if tb.Out(0) != nil {
		t.Fatal("committed handoff still overrides the topology")
	}
	if len(lost) != 0 {
		t.Fatalf("lost %v: the slot was already not served", lost)
	}
}
