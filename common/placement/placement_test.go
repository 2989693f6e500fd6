package placement

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/chkv/chkv/common/ring"
	"github.com/chkv/chkv/common/slot"
)

// cluster is a membership and the placement over it, by node ID.
type cluster struct {
	members []ring.Member
	owner   []string // slot -> member ID, "" for none
}

// change places the slots over members, starting from c's placement.
func (c cluster) change(members []ring.Member) cluster {
	idx := map[string]int{}
	for i, m := range members {
		idx[m.ID] = i
	}
	var prev []int // nil: the first placement
	if c.owner != nil {
		prev = make([]int, slot.Count)
		for s := range prev {
			prev[s] = None
			if i, ok := idx[c.owner[s]]; ok {
				prev[s] = i
			}
		}
	}
	assign := Assign(ring.New(0, members), prev, nil)
	next := cluster{members: slices.Clone(members), owner: make([]string, slot.Count)}
	for s, m := range assign {
		if m != None {
			next.owner[s] = members[m].ID
		}
	}
	return next
}

func (c cluster) counts() map[string]int {
	n := map[string]int{}
	for _, o := range c.owner {
		n[o]++
	}
	return n
}

// deviation is the largest distance of a member's slots from its weighted
// share, in percent of that share.
func (c cluster) deviation() float64 {
	total := 0.0
	for _, m := range c.members {
		total += float64(max(m.Weight, 1))
	}
	n, worst := c.counts(), 0.0
	for _, m := range c.members {
		fair := slot.Count * float64(max(m.Weight, 1)) / total
		worst = max(worst, math.Abs(float64(n[m.ID])-fair)/fair*100)
	}
	return worst
}

// checkBalanced fails unless every slot has a member and each member holds
// its weighted share rounded down or up.
func checkBalanced(t *testing.T, c cluster) {
	t.Helper()
	total := 0
	for _, m := range c.members {
		total += int(max(m.Weight, 1))
	}
	n := c.counts()
	if n[""] != 0 {
		t.Fatalf("%d members: %d slots have no member", len(c.members), n[""])
	}
	for _, m := range c.members {
		share := slot.Count * int(max(m.Weight, 1))
		lo, hi := share/total, (share+total-1)/total
		if n[m.ID] < lo || n[m.ID] > hi {
			t.Fatalf("%d members: %s (weight %d) holds %d slots, want %d..%d", len(c.members), m.ID, m.Weight, n[m.ID], lo, hi)
		}
	}
}

// diff counts the slots whose member changed from a to b, and among them
// those that moved between two members that are both not only.
func diff(a, b cluster, only string) (moved, strays int) {
	for s := range a.owner {
		if a.owner[s] != b.owner[s] {
			moved++
			if a.owner[s] != only && b.owner[s] != only {
				strays++
			}
		}
	}
	return moved, strays
}

// moves counts the slots whose member changed from a to b and fails if any
// moved between two members that are both not only (the joiner or the
// leaver).
func moves(t *testing.T, a, b cluster, only string) int {
	t.Helper()
	moved, strays := diff(a, b, only)
	if strays > 0 {
		t.Fatalf("%d of %d slots moved between two members, neither of them %s", strays, moved, only)
	}
	return moved
}

func member(i int, weight uint32) ring.Member {
	return ring.Member{ID: fmt.Sprintf("dn-%02d", i), Weight: weight}
}

// grow joins nodes one at a time up to max, then removes them one at a
// time in a seeded random order, checking balance, locality and that each
// change moves exactly the minimum: the joiner's quota, the leaver's slots.
func grow(t *testing.T, maxNodes int, weight func(i int) uint32) {
	var c cluster
	for n := 1; n <= maxNodes; n++ {
		joiner := member(n-1, weight(n-1))
		next := c.change(append(slices.Clone(c.members), joiner))
		checkBalanced(t, next)
		if c.owner != nil {
			if got, want := moves(t, c, next, joiner.ID), next.counts()[joiner.ID]; got != want {
				t.Fatalf("join of %s to %d nodes moved %d slots, minimum %d", joiner.ID, n-1, got, want)
			}
		}
		c = next
	}
	rng := rand.New(rand.NewPCG(uint64(maxNodes), 7))
	for len(c.members) > 1 {
		i := rng.IntN(len(c.members))
		leaver := c.members[i].ID
		want := c.counts()[leaver]
		next := c.change(slices.Delete(slices.Clone(c.members), i, i+1))
		checkBalanced(t, next)
		if got := moves(t, c, next, leaver); got != want {
			t.Fatalf("leave of %s from %d nodes moved %d slots, minimum %d", leaver, len(c.members), got, want)
		}
		c = next
	}
}

func TestGrowTo64AndShrinkEqualWeights(t *testing.T) {
	grow(t, 64, func(int) uint32 { return 1 })
}

func TestGrowTo64AndShrinkUnequalWeights(t *testing.T) {
	// Weights 1, 2, 3: the smallest share at 64 nodes is 128 slots.
	grow(t, 64, func(i int) uint32 { return uint32(i%3 + 1) })
}

func TestLargestShareWithinOnePercent(t *testing.T) {
	for _, n := range []int{1, 2, 3, 5, 10, 32, 64} {
		for _, weighted := range []bool{false, true} {
			var ms []ring.Member
			for i := range n {
				w := uint32(1)
				if weighted {
					w = uint32(i%3 + 1)
				}
				ms = append(ms, member(i, w))
			}
			c := cluster{}.change(ms)
			checkBalanced(t, c)
			if d := c.deviation(); d > 1 {
				t.Errorf("%d nodes (weighted %v): largest deviation %.2f %%", n, weighted, d)
			}
		}
	}
}

func TestSimultaneousJoins(t *testing.T) {
	three := []ring.Member{member(0, 1), member(1, 1), member(2, 1)}
	c := cluster{}.change(three) // the first topology: three at once
	checkBalanced(t, c)
	five := cluster{}.change(append(slices.Clone(three), member(3, 1), member(4, 1)))
	grown := c.change(five.members)
	checkBalanced(t, grown)
	moved := 0
	for s := range c.owner {
		if c.owner[s] != grown.owner[s] {
			moved++
			if to := grown.owner[s]; to != "dn-03" && to != "dn-04" {
				t.Fatalf("slot %d moved from %s to %s, not to a joiner", s, c.owner[s], to)
			}
		}
	}
	if want := grown.counts()["dn-03"] + grown.counts()["dn-04"]; moved != want {
		t.Fatalf("two joins moved %d slots, minimum %d", moved, want)
	}
}

func TestWeightChangeMovesOnlyToOrFromThatNode(t *testing.T) {
	ms := []ring.Member{member(0, 1), member(1, 1), member(2, 1), member(3, 1)}
	c := cluster{}.change(ms)
	heavier := slices.Clone(ms)
	heavier[2].Weight = 2
	up := c.change(heavier)
	checkBalanced(t, up)
	if got, want := moves(t, c, up, "dn-02"), up.counts()["dn-02"]-c.counts()["dn-02"]; got != want {
		t.Fatalf("doubling dn-02's weight moved %d slots, minimum %d", got, want)
	}
	down := up.change(ms)
	checkBalanced(t, down)
	if got, want := moves(t, up, down, "dn-02"), up.counts()["dn-02"]-down.counts()["dn-02"]; got != want {
		t.Fatalf("halving dn-02's weight moved %d slots, minimum %d", got, want)
	}
}

func TestDeterministicAndIndependentOfMemberOrder(t *testing.T) {
	ms := []ring.Member{member(0, 1), member(1, 2), member(2, 1), member(3, 3), member(4, 1)}
	a := cluster{}.change(ms[:3]).change(ms)
	b := cluster{}.change(ms[:3]).change(ms)
	if !slices.Equal(a.owner, b.owner) {
		t.Fatal("the same inputs gave two placements")
	}
	rev := slices.Clone(ms)
	slices.Reverse(rev)
	firstRev := slices.Clone(ms[:3])
	slices.Reverse(firstRev)
	c := cluster{}.change(firstRev).change(rev)
	if !slices.Equal(a.owner, c.owner) {
		t.Fatal("the placement depends on the order of the members")
	}
}

func TestEmptyRingPlacesNothing(t *testing.T) {
	for s, m := range Assign(ring.New(0, nil), nil, nil) {
		if m != None {
			t.Fatalf("slot %d placed on %d with no members", s, m)
		}
	}
}

func TestPrevOutsideTheMembersIsPlacedAfresh(t *testing.T) {
	prev := make([]int, slot.Count)
	for s := range prev {
		prev[s] = []int{None, 7, -5, 0}[s%4]
	}
	r := ring.New(0, []ring.Member{member(0, 1), member(1, 1)})
	checkBalanced(t, cluster{members: r.Members(), owner: ids(r, Assign(r, prev, nil))})
}

func ids(r *ring.Ring, assign []int) []string {
	out := make([]string, len(assign))
	for s, m := range assign {
		out[s] = r.Members()[m].ID
	}
	return out
}

func TestQuotasSumToTheSlotCount(t *testing.T) {
	for n := 1; n <= 100; n++ {
		var ms []ring.Member
		for i := range n {
			ms = append(ms, member(i, uint32(i%7)))
		}
		sum := 0
		for _, q := range Quotas(ms, nil) {
			sum += q
		}
		if sum != slot.Count {
			t.Fatalf("%d members: quotas sum to %d", n, sum)
		}
	}
}

// fresh places the slots over members ignoring any history: plain ring
// when bounded is false, else consistent hashing with bounded loads
// (Mirrokni et al.) at capacity ceil(share).
func fresh(members []ring.Member, bounded bool) cluster {
	if bounded {
		return cluster{}.change(members)
	}
	r := ring.New(0, members)
	return cluster{members: slices.Clone(members), owner: ids(r, r.Assign())}
}

// TestPlacementTable prints, for the three ways of placing slots, the
// largest deviation from the weighted share, the slots a join (of the last
// node) and a leave (of dn-00) move against the minimum, and how many of
// those moved between two other nodes; run with -v. It fails if this
// package's placement misses its bounds.
func TestPlacementTable(t *testing.T) {
	t.Logf("%-30s %5s %8s %12s %12s %s", "placement", "nodes", "max dev", "join/min", "leave/min", "moved between others (join, leave)")
	for _, weighted := range []bool{false, true} {
		suffix := ""
		if weighted {
			suffix = " w=1,2,3"
		}
		var ms []ring.Member
		var grown cluster
		for n := 1; n <= 64; n++ {
			w := uint32(1)
			if weighted {
				w = uint32((n-1)%3 + 1)
			}
			before := grown
			ms = append(ms, member(n-1, w))
			grown = grown.change(ms)
			if !slices.Contains([]int{3, 5, 10, 32, 64}, n) {
				continue
			}
			joiner, rest := ms[n-1].ID, ms[1:]
			row := func(name string, before, after, left cluster, check bool) {
				join, joinStrays := diff(before, after, joiner)
				leave, leaveStrays := diff(after, left, ms[0].ID)
				joinMin, leaveMin := after.counts()[joiner], after.counts()[ms[0].ID]
				t.Logf("%-30s %5d %7.2f%% %5d/%-5d %5d/%-5d %d, %d", name+suffix, n, after.deviation(), join, joinMin, leave, leaveMin, joinStrays, leaveStrays)
				if check && (after.deviation() > 1 || join*10 > joinMin*11 || leave*10 > leaveMin*11 || joinStrays+leaveStrays > 0) {
					t.Errorf("%s with %d nodes misses its bounds", name, n)
				}
			}
			row("ring", fresh(ms[:n-1], false), fresh(ms, false), fresh(rest, false), false)
			row("bounded loads", fresh(ms[:n-1], true), fresh(ms, true), fresh(rest, true), false)
			row("incremental (chosen)", before, grown, grown.change(rest), true)
		}
	}
}

func TestReturningNodeTakesBackMostOfItsSlots(t *testing.T) {
	ms := []ring.Member{member(0, 1), member(1, 1), member(2, 1), member(3, 1), member(4, 1)}
	c := cluster{}.change(ms)
	gone := c.change(slices.Delete(slices.Clone(ms), 2, 3))
	back := gone.change(ms)
	checkBalanced(t, back)
	moves(t, gone, back, "dn-02")
	had, again := 0, 0
	for s := range c.owner {
		if c.owner[s] == "dn-02" {
			had++
			if back.owner[s] == "dn-02" {
				again++
			}
		}
	}
	t.Logf("dn-02 took back %d of its %d slots", again, had)
	if again*10 < had*9 {
		t.Fatalf("dn-02 took back %d of its %d slots, want at least 90%%", again, had)
	}
}

func TestSlotsWithoutAMemberGoBackToTheirHolder(t *testing.T) {
	// Five nodes joined one at a time, then a sixth joins and dies while
	// the others still hold all its slots: they keep them, nothing moves.
	var ms []ring.Member
	var before []int
	for i := range 5 {
		ms = append(ms, member(i, 1))
		before = Assign(ring.New(0, ms), before, nil)
	}
	joined := Assign(ring.New(0, append(slices.Clone(ms), member(5, 1))), before, nil)
	prev := make([]int, slot.Count)
	for s, m := range joined {
		prev[s] = m
		if m == 5 {
			prev[s] = None
		}
	}
	after := Assign(ring.New(0, ms), prev, before)
	moved := 0
	for s := range after {
		if after[s] != before[s] {
			moved++
		}
	}
	if moved > 0 {
		t.Fatalf("the failed join left %d slots to move between the nodes that hold them", moved)
	}
}

// BenchmarkJoin places the slots after a 64th DataNode joins 63, as the
// NameNode does at the join's commit.
func BenchmarkJoin(b *testing.B) {
	var ms []ring.Member
	for i := range 64 {
		ms = append(ms, member(i, 1))
	}
	prev := Assign(ring.New(0, ms[:63]), nil, nil)
	for b.Loop() {
		Assign(ring.New(0, ms), prev, prev)
	}
}

func TestSlotBitsHoldEverySlot(t *testing.T) {
	if 1<<slotBits != slot.Count {
		t.Fatalf("slotBits %d for %d slots", slotBits, slot.Count)
	}
}
