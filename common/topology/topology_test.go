package topology

import (
	"errors"
	"fmt"
	"slices"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/chkv/chkv/common/slot"
	"github.com/chkv/chkv/proto/chkvpb"
)

func nodes(n int, state State) []Node {
	out := make([]Node, n)
	for i := range out {
		out[i] = Node{ID: fmt.Sprintf("dn-%d", i), RESPAddr: fmt.Sprintf("127.0.0.1:%d", 10100+i), State: state}
	}
	return out
}

func TestNextAssignsEverySlotToALiveNode(t *testing.T) {
	ns := nodes(3, Up)
	ns[1].State = Down
	top := Empty(1, 64).Next(1, ns)
	if top.Version != 1 || top.Epoch != 1 {
		t.Fatalf("version %d epoch %d", top.Version, top.Epoch)
	}
	for s := range slot.Count {
		o := top.Owner(s)
		if o == nil || o.State != Up {
			t.Fatalf("slot %d owned by %+v", s, o)
		}
	}
	if top.SlotCount(1) != 0 {
		t.Fatal("down node owns slots")
	}
	if top.SlotCount(0)+top.SlotCount(2) != slot.Count {
		t.Fatal("slots missing")
	}
}

func TestEmptyOwnsNothing(t *testing.T) {
	top := Empty(3, 0)
	if top.Owner(0) != nil || len(Ranges(top.Owners)) != 0 {
		t.Fatal("empty topology owns slots")
	}
}

func TestCompare(t *testing.T) {
	a := &Topology{Epoch: 1, Version: 9}
	b := &Topology{Epoch: 2, Version: 1}
	c := &Topology{Epoch: 2, Version: 2}
	if !b.NewerThan(a) || !c.NewerThan(b) || a.NewerThan(c) || Compare(c, c) != 0 || !a.NewerThan(nil) {
		t.Fatal("(epoch, version) ordering wrong")
	}
}

func TestProtoRoundTrip(t *testing.T) {
	ns := nodes(4, Up)
	ns[3].State = Draining
	ns[0].Load = Load{Keys: 5, UsedMemoryBytes: 6, OpsPerSec: 7}
	ns[2].Weight = 2
	top := Empty(2, 32).Next(2, ns)
	wire, err := proto.Marshal(top.Proto())
	if err != nil {
		t.Fatal(err)
	}
	var p chkvpb.Topology
	if err := proto.Unmarshal(wire, &p); err != nil {
		t.Fatal(err)
	}
	back, err := FromProto(&p)
	if err != nil {
		t.Fatal(err)
	}
	if back.Epoch != top.Epoch || back.Version != top.Version || back.VNodes != top.VNodes ||
		!slices.Equal(back.Nodes, top.Nodes) || !slices.Equal(back.Owners, top.Owners) || !slices.Equal(back.Target, top.Target) {
		t.Fatal("round trip changed the topology")
	}
	// Run-length encoding keeps a version small: about 3 bytes per run.
	if runs := len(Ranges(top.Owners)); len(wire) > 4*runs+1024 {
		t.Errorf("4-node topology with %d runs is %d bytes on the wire", runs, len(wire))
	}
}

func TestFromProtoRejectsGarbage(t *testing.T) {
	for name, p := range map[string]*chkvpb.Topology{
		"nil":            nil,
		"duplicate node": {Nodes: []*chkvpb.Node{{Id: "a"}, {Id: "a"}}},
		"empty id":       {Nodes: []*chkvpb.Node{{Id: ""}}},
		"too many slots": {Nodes: []*chkvpb.Node{{Id: "a"}}, Owners: []uint32{slot.Count + 1, 1}},
		"too few slots":  {Nodes: []*chkvpb.Node{{Id: "a"}}, Owners: []uint32{100, 1}},
		"empty run":      {Nodes: []*chkvpb.Node{{Id: "a"}}, Owners: []uint32{0, 1, slot.Count, 1}},
		"odd runs":       {Nodes: []*chkvpb.Node{{Id: "a"}}, Owners: []uint32{slot.Count}},
		"unknown node":   {Nodes: []*chkvpb.Node{{Id: "a"}}, Target: []uint32{slot.Count, 2}},
	} {
		if _, err := FromProto(p); !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: error %v, want ErrInvalid", name, err)
		}
	}
}

func TestRanges(t *testing.T) {
	assign := []int{0, 0, Unowned, 1, 1, 0}
	got := Ranges(assign)
	want := []Range{{0, 1, 0}, {3, 4, 1}, {5, 5, 0}}
	if !slices.Equal(got, want) {
		t.Fatalf("Ranges = %v, want %v", got, want)
	}
}

// A joining node is targeted but owns nothing until handoffs; a handoff
// moves a slot only from its current owner to a live node; the joining
// node is up once it owns all its targets.
func TestNextPlansMigrationsAndAppliesHandoffs(t *testing.T) {
	one := Empty(1, 64).Next(1, nodes(1, Up))
	two := one.Next(1, append(slices.Clone(one.Nodes), Node{ID: "dn-1", State: Joining}))
	if two.SlotCount(0) != slot.Count || !two.Migrating() || two.Nodes[1].State != Joining {
		t.Fatalf("join: dn-0 owns %d, migrating %v, dn-1 %v", two.SlotCount(0), two.Migrating(), two.Nodes[1].State)
	}
	var hs []Handoff
	for s, tg := range two.Target {
		if tg == 1 {
			hs = append(hs, Handoff{Slot: s, From: "dn-0", To: "dn-1"})
		}
	}
	stale := Handoff{Slot: hs[len(hs)-1].Slot, From: "dn-1", To: "dn-0"} // dn-1 does not own it
	half := two.Next(1, two.Nodes, append(hs[:len(hs)/2:len(hs)/2], stale)...)
	if got := half.SlotCount(1); got != len(hs)/2 || half.Nodes[1].State != Joining {
		t.Fatalf("after half the handoffs dn-1 owns %d of %d, %v", got, len(hs), half.Nodes[1].State)
	}
	done := half.Next(1, half.Nodes, hs...)
	if done.Migrating() || done.Nodes[1].State != Up {
		t.Fatalf("after every handoff: migrating %v, dn-1 %v", done.Migrating(), done.Nodes[1].State)
	}

	// Draining dn-1 targets its slots at dn-0; it keeps them until handed off.
	ns := slices.Clone(done.Nodes)
	ns[1].State = Draining
	drain := done.Next(1, ns)
	if drain.SlotCount(1) != len(hs) || slices.Contains(drain.Target, 1) {
		t.Fatalf("drain: dn-1 owns %d, targeted %v", drain.SlotCount(1), slices.Contains(drain.Target, 1))
	}
	// A node that dies mid-drain loses its slots to their targets at once.
	ns[1].State = Down
	if dead := drain.Next(1, ns); dead.SlotCount(0) != slot.Count || dead.Migrating() {
		t.Fatal("a dead draining node's slots did not go to their targets")
	}
	// Draining the last node (forced) leaves its slots unowned: no target.
	last := slices.Clone(done.Nodes[:1])
	last[0].State = Draining
	if forced := one.Next(1, last); slices.ContainsFunc(forced.Owners, func(o int) bool { return o != Unowned }) {
		t.Fatal("the last node kept slots with no target")
	}
}

// targetIDs maps each slot's target to its node ID.
func targetIDs(t *Topology) []string {
	out := make([]string, slot.Count)
	for s, i := range t.Target {
		if i != Unowned {
			out[s] = t.Nodes[i].ID
		}
	}
	return out
}

func TestTargetBalancedAndMovesOnlyWhatTheChangeRequires(t *testing.T) {
	ns := nodes(3, Up)
	three := Empty(1, 0).Next(1, ns)
	for i := range ns {
		if c := three.SlotCount(i); c < slot.Count/3 || c > slot.Count/3+1 {
			t.Fatalf("dn-%d owns %d slots of %d", i, c, slot.Count)
		}
	}
	joined := three.Next(1, append(slices.Clone(ns), Node{ID: "dn-3", State: Joining}))
	before, after := targetIDs(three), targetIDs(joined)
	moved := 0
	for s := range before {
		if before[s] != after[s] {
			moved++
			if after[s] != "dn-3" {
				t.Fatalf("join: slot %d's target moved from %s to %s", s, before[s], after[s])
			}
		}
	}
	if moved != slot.Count/4 {
		t.Fatalf("join moved %d targets, want %d", moved, slot.Count/4)
	}
	down := slices.Clone(joined.Nodes)
	down[1].State = Down
	left := joined.Next(1, down)
	before, after = after, targetIDs(left)
	for s := range before {
		if (before[s] != after[s]) != (before[s] == "dn-1") || after[s] == "dn-1" {
			t.Fatalf("down: slot %d's target moved from %s to %s", s, before[s], after[s])
		}
	}
	for _, i := range []int{0, 2, 3} {
		if c := countTarget(left, i); c < slot.Count/3 || c > slot.Count/3+1 {
			t.Fatalf("dn-%d has %d target slots after dn-1 went down", i, countTarget(left, i))
		}
	}
}

func countTarget(t *Topology, i int) int {
	n := 0
	for _, o := range t.Target {
		if o == i {
			n++
		}
	}
	return n
}

// A draining node becomes drained in the version where it owns nothing,
// and stops being a witness in that same version.
func TestDrainingBecomesDrainedWhenItOwnsNothing(t *testing.T) {
	ns := nodes(3, Up)
	top := Empty(1, 64).Next(1, ns)
	ns[2].State = Draining
	draining := top.Next(1, ns)
	if st := draining.Nodes[2].State; st != Draining || draining.SlotCount(2) == 0 {
		t.Fatalf("while its slots move: %v with %d slots, want draining with some", st, draining.SlotCount(2))
	}
	if _, ok := draining.Witnesses()["dn-2"]; !ok {
		t.Fatal("a draining node is not a witness")
	}
	var hs []Handoff
	for s, o := range draining.Owners {
		if o == 2 {
			hs = append(hs, Handoff{Slot: s, From: "dn-2", To: draining.Nodes[draining.Target[s]].ID})
		}
	}
	// Every slot but one handed off: still draining.
	partial := draining.Next(1, draining.Nodes, hs[1:]...)
	if st := partial.Nodes[2].State; st != Draining || partial.SlotCount(2) != 1 {
		t.Fatalf("one slot left: %v with %d slots", st, partial.SlotCount(2))
	}
	drained := partial.Next(1, partial.Nodes, hs[0])
	if st := drained.Nodes[2].State; st != Drained || drained.SlotCount(2) != 0 || slices.Contains(drained.Target, 2) {
		t.Fatalf("all handed off: %v with %d slots", st, drained.SlotCount(2))
	}
	if w := drained.Witnesses(); len(w) != 2 || hasKey(w, "dn-2") {
		t.Fatalf("witnesses %v, want dn-0 and dn-1", w)
	}
	// Made joining again, it is a witness and a target once more.
	ns = slices.Clone(drained.Nodes)
	ns[2].State = Joining
	back := drained.Next(1, ns)
	if _, ok := back.Witnesses()["dn-2"]; !ok || !slices.Contains(back.Target, 2) || back.Nodes[2].State != Joining {
		t.Fatalf("undrained: %v, target %v", back.Nodes[2].State, slices.Contains(back.Target, 2))
	}
	if Drained.String() != "drained" || Drained.Live() || Drained.Witness() {
		t.Fatal("drained is named, not live and no witness")
	}
}

func hasKey(m map[string]string, k string) bool {
	_, ok := m[k]
	return ok
}
