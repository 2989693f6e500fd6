package ring

import (
	"fmt"
	"math"
	"testing"

	"github.com/chkv/chkv/common/slot"
)

func members(n int) []Member {
	out := make([]Member, n)
	for i := range out {
		out[i] = Member{ID: fmt.Sprintf("node-%d", i)}
	}
	return out
}

// owners maps each slot to its owner's ID.
func owners(r *Ring) []string {
	ms := r.Members()
	out := make([]string, slot.Count)
	for s, m := range r.Assign() {
		out[s] = ms[m].ID
	}
	return out
}

func TestAssignAgreesWithOwner(t *testing.T) {
	r := New(16, members(5))
	assign := r.Assign()
	for s := range slot.Count {
		if got := r.Owner(s); got != assign[s] {
			t.Fatalf("slot %d: Owner %d, Assign %d", s, got, assign[s])
		}
	}
}

func TestAddingANodeMovesOnlySlotsToIt(t *testing.T) {
	for n := 1; n <= 9; n++ {
		before := owners(New(0, members(n)))
		after := owners(New(0, members(n+1)))
		newID := fmt.Sprintf("node-%d", n)
		moved := 0
		for s := range before {
			if before[s] != after[s] {
				if after[s] != newID {
					t.Fatalf("n=%d: slot %d moved from %s to %s, not to the new node", n, s, before[s], after[s])
				}
				moved++
			}
		}
		want := float64(slot.Count) / float64(n+1)
		if math.Abs(float64(moved)-want) > 0.25*want {
			t.Errorf("adding node %d moved %d slots, want about %.0f", n+1, moved, want)
		}
	}
}

func TestRemovingANodeMovesOnlyItsSlots(t *testing.T) {
	all := members(6)
	before := owners(New(0, all))
	gone := all[2].ID
	after := owners(New(0, append(append([]Member{}, all[:2]...), all[3:]...)))
	for s := range before {
		if before[s] != gone && before[s] != after[s] {
			t.Fatalf("slot %d moved from %s to %s though %s was removed", s, before[s], after[s], gone)
		}
		if after[s] == gone {
			t.Fatalf("slot %d still owned by removed node", s)
		}
	}
}

func TestBalanceWithTenEqualNodes(t *testing.T) {
	counts := map[string]int{}
	for _, id := range owners(New(0, members(10))) {
		counts[id]++
	}
	mean := float64(slot.Count) / 10
	for id, c := range counts {
		if float64(c) > 1.15*mean {
			t.Errorf("%s owns %d slots, more than 15%% above the mean %.0f", id, c, mean)
		}
	}
	if len(counts) != 10 {
		t.Errorf("%d of 10 nodes own slots", len(counts))
	}
}

func TestWeightScalesShare(t *testing.T) {
	ms := []Member{{ID: "small", Weight: 1}, {ID: "big", Weight: 3}}
	counts := map[string]int{}
	for _, id := range owners(New(0, ms)) {
		counts[id]++
	}
	share := float64(counts["big"]) / slot.Count
	if share < 0.65 || share > 0.85 {
		t.Fatalf("weight-3 node owns %.2f of slots, want about 0.75", share)
	}
}

func TestEmptyRing(t *testing.T) {
	r := New(0, nil)
	if r.Owner(5) != -1 || r.Assign()[5] != -1 {
		t.Fatal("empty ring has an owner")
	}
}

func TestDeterministicAcrossMemberOrder(t *testing.T) {
	a := owners(New(0, []Member{{ID: "x"}, {ID: "y"}, {ID: "z"}}))
	b := owners(New(0, []Member{{ID: "z"}, {ID: "x"}, {ID: "y"}}))
	for s := range a {
		if a[s] != b[s] {
			t.Fatalf("slot %d: %s vs %s depending on member order", s, a[s], b[s])
		}
	}
}

func BenchmarkAssign100Nodes(b *testing.B) {
	ms := members(100)
	for b.Loop() {
		New(0, ms).Assign()
	}
}
