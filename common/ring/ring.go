// Package ring places hash slots on a consistent-hash ring.
//
// Each member has vnodes×weight virtual nodes at xxhash64(id + "#" + i).
// Slot s sits at ring point s·2^64/16384, and its owner is the member of the
// first virtual node clockwise from that point. Adding a member therefore
// moves only the slots that the new member's virtual nodes capture, and
// removing one moves only its own slots, each to its ring successor.
package ring

import (
	"slices"
	"strconv"

	"github.com/cespare/xxhash/v2"

	"github.com/chkv/chkv/common/slot"
)

// DefaultVNodes is the number of virtual nodes per unit of weight.
const DefaultVNodes = 256

// slotShift turns a slot number into its ring point: s·2^64/16384.
const slotShift = 64 - 14

// Member is one participant of the ring.
type Member struct {
	ID     string
	Weight uint32 // relative capacity; 0 counts as 1
}

type vnode struct {
	pos    uint64
	member int
}

// Ring is an immutable consistent-hash ring.
type Ring struct {
	members []Member
	vnodes  []vnode    // sorted by pos
	points  [][]uint64 // per member, its vnode positions, sorted
}

// New builds a ring of members with vnodes virtual nodes per unit of weight
// (DefaultVNodes when vnodes ≤ 0). Member IDs must be distinct.
func New(vnodes int, members []Member) *Ring {
	if vnodes <= 0 {
		vnodes = DefaultVNodes
	}
	r := &Ring{members: slices.Clone(members), points: make([][]uint64, len(members))}
	total := 0
	for _, mem := range members {
		total += vnodes * int(max(mem.Weight, 1))
	}
	r.vnodes = make([]vnode, 0, total)
	for m, mem := range members {
		n := vnodes * int(max(mem.Weight, 1))
		for i := range n {
			r.vnodes = append(r.vnodes, vnode{pos: Position(mem.ID, i), member: m})
		}
		r.points[m] = make([]uint64, 0, n)
	}
	slices.SortFunc(r.vnodes, func(a, b vnode) int {
		switch {
		case a.pos < b.pos:
			return -1
		case a.pos > b.pos:
			return 1
		}
		return 0
	})
	// Equal positions (vanishingly rare): order by member ID so every
	// party computes the same ring.
	for i := 0; i < len(r.vnodes); {
		j := i + 1
		for j < len(r.vnodes) && r.vnodes[j].pos == r.vnodes[i].pos {
			j++
		}
		if j-i > 1 {
			slices.SortFunc(r.vnodes[i:j], func(a, b vnode) int {
				if c := compareStrings(r.members[a.member].ID, r.members[b.member].ID); c != 0 {
					return c
				}
				return a.member - b.member
			})
		}
		i = j
	}
	for _, v := range r.vnodes { // sorted, so each member's points are too
		r.points[v.member] = append(r.points[v.member], v.pos)
	}
	return r
}

func compareStrings(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// Position is the ring position of virtual node i of member id.
func Position(id string, i int) uint64 {
	var buf [128]byte
	b := append(append(append(buf[:0], id...), '#'), strconv.Itoa(i)...)
	return xxhash.Sum64(b)
}

// Members returns the ring's members in the order given to New.
func (r *Ring) Members() []Member { return slices.Clone(r.members) }

// Owner returns the index into Members of slot s's owner, or -1 for an
// empty ring.
func (r *Ring) Owner(s int) int {
	if len(r.vnodes) == 0 {
		return -1
	}
	return r.vnodes[r.first(s)].member
}

// first returns the index of the first virtual node clockwise from slot
// s's point. The ring must not be empty.
func (r *Ring) first(s int) int {
	point := uint64(s) << slotShift
	i, _ := slices.BinarySearchFunc(r.vnodes, point, func(v vnode, p uint64) int {
		switch {
		case v.pos < p:
			return -1
		case v.pos > p:
			return 1
		}
		return 0
	})
	if i == len(r.vnodes) {
		i = 0 // wrap around clockwise
	}
	return i
}

// Walk calls visit with the member index of each virtual node clockwise
// from slot s's point, starting with s's owner, once around the ring or
// until visit returns false. A member appears once per virtual node.
func (r *Ring) Walk(s int, visit func(member int) bool) {
	if len(r.vnodes) == 0 {
		return
	}
	start := r.first(s)
	for k := range len(r.vnodes) {
		if !visit(r.vnodes[(start+k)%len(r.vnodes)].member) {
			return
		}
	}
}

// Gaps returns, for every slot s, the clockwise distance on the ring from
// s's point to member m's nearest virtual node: 0 when one sits on the
// point, small when the ring puts s near m. The slots with the smallest
// gaps to m are the ones it owns on a ring of m alone.
func (r *Ring) Gaps(m int) []uint64 {
	out := make([]uint64, slot.Count)
	pts := r.points[m]
	i := 0
	for s := range out {
		point := uint64(s) << slotShift
		for i < len(pts) && pts[i] < point {
			i++
		}
		next := pts[0] // past the last virtual node: wrap around
		if i < len(pts) {
			next = pts[i]
		}
		out[s] = next - point // modulo 2^64
	}
	return out
}

// Assign returns the owner index of every slot, -1 for an empty ring.
func (r *Ring) Assign() []int {
	out := make([]int, slot.Count)
	if len(r.vnodes) == 0 {
		for s := range out {
			out[s] = -1
		}
		return out
	}
	// Slots and virtual nodes are both sorted: walk them together.
	v := 0
	for s := range out {
		point := uint64(s) << slotShift
		for v < len(r.vnodes) && r.vnodes[v].pos < point {
			v++
		}
		if v == len(r.vnodes) {
			out[s] = r.vnodes[0].member
		} else {
			out[s] = r.vnodes[v].member
		}
	}
	return out
}
