// Package placement decides which DataNode each hash slot should live on.
//
// Plain consistent hashing (package ring) moves few slots but balances
// poorly: with 3 nodes of 256 virtual nodes the largest share is about 12 %
// above the mean. The NameNode keeps the whole slot table anyway, so
// placement assigns incrementally from the previous assignment, guided by
// the ring:
//
//   - every member gets a quota, its weighted share of the slots rounded to
//     a neighbouring integer (the quotas sum to the slot count);
//   - a slot stays where it is while its owner is still a member;
//   - a slot without an owner (first assignment, or its owner left) goes
//     back to the member holding its data, if any, while that one is below
//     quota; else to the first member clockwise on the ring that is below
//     its quota, which is consistent hashing with bounded loads;
//   - a member still below quota (one that joined, or whose weight grew)
//     takes the rest from the members above theirs, choosing the slots the
//     ring gives it first, then those the ring puts nearest to it.
//
// So every member ends within one slot of its weighted share, a join moves
// slots only to the joining node and a leave only away from the leaving one
// (while shares change by at least a slot), and each moves the minimum: the
// joiner's quota, or the leaver's slots. The result depends only on the
// ring, the previous assignment and the slots' holders, so every party
// computes the same one.
package placement

import (
	"cmp"
	"slices"

	"github.com/chkv/chkv/common/ring"
	"github.com/chkv/chkv/common/slot"
)

// None marks a slot with no member, in Assign's input and output.
const None = -1

// slotBits is the width of a slot number: slot.Count is 1<<slotBits.
const slotBits = 14

// Assign returns, for every slot, the index into r.Members() of the member
// that should own it. prev is the previous assignment in the same member
// indices; an entry that is not a member index (such as None), or a nil or
// short prev, marks a slot to place afresh. holder, which may be nil, says
// in the same indices which member holds each slot's data now: a slot to
// place goes back to its holder while that one is below quota, so a join
// undone before its moves finished moves nothing more. Every slot is None
// when the ring has no members.
func Assign(r *ring.Ring, prev, holder []int) []int {
	members := r.Members()
	out := make([]int, slot.Count)
	count := make([]int, len(members))
	for s := range out {
		out[s] = None
		if s < len(prev) && prev[s] >= 0 && prev[s] < len(members) {
			out[s] = prev[s]
			count[prev[s]]++
		}
	}
	if len(members) == 0 {
		return out
	}
	quota := Quotas(members, count)
	// Slots without a member: their holder if below quota, else the first
	// member clockwise below its quota.
	for s := range out {
		if out[s] != None || s >= len(holder) {
			continue
		}
		if h := holder[s]; h >= 0 && h < len(members) && count[h] < quota[h] {
			out[s] = h
			count[h]++
		}
	}
	for s := range out {
		if out[s] != None {
			continue
		}
		r.Walk(s, func(m int) bool {
			if count[m] < quota[m] {
				out[s] = m
				count[m]++
				return false
			}
			return true
		})
	}
	// Members still below quota, in ID order, take from those above
	// theirs, nearest slots first. The deficits now equal the surpluses.
	byID := make([]int, len(members))
	for i := range byID {
		byID[i] = i
	}
	slices.SortFunc(byID, func(a, b int) int { return cmp.Compare(members[a].ID, members[b].ID) })
	var natural []int // the plain ring's owners, computed when first needed
	for _, u := range byID {
		need := quota[u] - count[u]
		if need <= 0 {
			continue
		}
		if natural == nil {
			natural = r.Assign()
		}
		// First the slots the ring gives u, then the others, each nearest
		// first: a node that returns takes back mostly what it had. One
		// sortable key per slot: 0 or 1 (not the ring's) in the top bit,
		// then the gap's top 49 bits, then the slot (14 bits).
		gaps := r.Gaps(u)
		var keys []uint64
		for s, o := range out {
			if count[o] > quota[o] {
				k := gaps[s]>>15<<slotBits | uint64(s)
				if natural[s] != u {
					k |= 1 << 63
				}
				keys = append(keys, k)
			}
		}
		slices.Sort(keys)
		for _, k := range keys {
			if need == 0 {
				break
			}
			s := int(k & (1<<slotBits - 1))
			if o := out[s]; count[o] > quota[o] {
				out[s] = u
				count[o]--
				count[u]++
				need--
			}
		}
	}
	return out
}

// Quotas returns each member's number of slots: its weighted share
// (weight 0 counts as 1) rounded down, plus one for as many members as the
// rounding left slots over. Those extra slots go first to the members that
// hold most above their rounded-down share (holding counts slots), so as few
// slots as possible move; then by the larger fraction; then by ID. The
// quotas sum to slot.Count.
func Quotas(members []ring.Member, holding []int) []int {
	var total uint64
	for _, m := range members {
		total += uint64(max(m.Weight, 1))
	}
	quota := make([]int, len(members))
	rem := make([]uint64, len(members))
	left := slot.Count
	var extra []int
	for i, m := range members {
		share := uint64(slot.Count) * uint64(max(m.Weight, 1))
		quota[i], rem[i] = int(share/total), share%total
		left -= quota[i]
		if rem[i] > 0 {
			extra = append(extra, i)
		}
	}
	held := func(i int) int {
		if i < len(holding) {
			return holding[i] - quota[i]
		}
		return 0
	}
	slices.SortFunc(extra, func(a, b int) int {
		if c := cmp.Compare(held(b), held(a)); c != 0 {
			return c
		}
		if c := cmp.Compare(rem[b], rem[a]); c != 0 {
			return c
		}
		return cmp.Compare(members[a].ID, members[b].ID)
	})
	for _, i := range extra[:left] {
		quota[i]++
	}
	return quota
}
