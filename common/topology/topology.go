// Package topology is the cluster's layout: which DataNodes exist, in what
// state, and which node owns each hash slot, stamped with (epoch, version).
//
// A Topology is immutable once built; share it by pointer. Receivers keep
// the newest by (epoch, version) and ignore older ones.
package topology

import (
	"errors"
	"fmt"
	"slices"

	"github.com/chkv/chkv/common/placement"
	"github.com/chkv/chkv/common/ring"
	"github.com/chkv/chkv/common/slot"
	"github.com/chkv/chkv/proto/chkvpb"
)

// ErrInvalid is returned for a topology that does not describe a cluster.
var ErrInvalid = errors.New("topology: invalid")

// Unowned marks a slot that no node serves.
const Unowned = -1

// State is a DataNode's place in its life cycle.
type State int

// DataNode states.
const (
	Joining  State = State(chkvpb.NodeState_NODE_STATE_JOINING)
	Up       State = State(chkvpb.NodeState_NODE_STATE_UP)
	Draining State = State(chkvpb.NodeState_NODE_STATE_DRAINING)
	Down     State = State(chkvpb.NodeState_NODE_STATE_DOWN)
	// Drained: a drain finished. The node owns nothing, is the target of
	// nothing and is not a witness.
	Drained State = State(chkvpb.NodeState_NODE_STATE_DRAINED)
)

// String returns the state's lower-case name.
func (s State) String() string {
	switch s {
	case Joining:
		return "joining"
	case Up:
		return "up"
	case Draining:
		return "draining"
	case Down:
		return "down"
	case Drained:
		return "drained"
	}
	return fmt.Sprintf("state(%d)", int(s))
}

// Load is what a DataNode reports of itself.
type Load struct {
	Keys            int64
	UsedMemoryBytes int64
	OpsPerSec       int64
	Migration       MigrationLoad
}

// MigrationLoad is a DataNode's outgoing migration: slots moving now, slots
// whose move keeps failing, and totals handed off since it started.
type MigrationLoad struct {
	MigratingSlots, StuckSlots        int64
	SlotsMoved, KeysMoved, BytesMoved int64
}

// LoadFromProto converts a wire Load; nil gives the zero Load.
func LoadFromProto(l *chkvpb.Load) Load {
	return Load{
		Keys: l.GetKeys(), UsedMemoryBytes: l.GetUsedMemoryBytes(), OpsPerSec: l.GetOpsPerSec(),
		Migration: MigrationLoad{
			MigratingSlots: l.GetMigratingSlots(), StuckSlots: l.GetStuckSlots(),
			SlotsMoved: l.GetSlotsMoved(), KeysMoved: l.GetKeysMoved(), BytesMoved: l.GetBytesMoved(),
		},
	}
}

// Proto converts l to its wire form.
func (l Load) Proto() *chkvpb.Load {
	m := l.Migration
	return &chkvpb.Load{
		Keys: l.Keys, UsedMemoryBytes: l.UsedMemoryBytes, OpsPerSec: l.OpsPerSec,
		MigratingSlots: m.MigratingSlots, StuckSlots: m.StuckSlots,
		SlotsMoved: m.SlotsMoved, KeysMoved: m.KeysMoved, BytesMoved: m.BytesMoved,
	}
}

// Node is one DataNode.
type Node struct {
	ID       string
	RESPAddr string // given to clients
	GRPCAddr string // control and migration
	HTTPAddr string // the HTTP key-value API; empty when the node does not serve it
	State    State
	Load     Load
	Weight   uint32
}

// Topology is one committed version of the cluster layout.
type Topology struct {
	Epoch   uint64
	Version uint64
	VNodes  int
	Nodes   []Node
	// Owners holds, for every slot, the index into Nodes of its current
	// owner, or Unowned.
	Owners []int
	// Target is where the slots should be (package placement), in the same
	// form; Owners converge to it by migration.
	Target []int
}

// Empty returns the topology before any DataNode exists.
func Empty(epoch uint64, vnodes int) *Topology {
	t := &Topology{Epoch: epoch, VNodes: vnodes, Owners: make([]int, slot.Count), Target: make([]int, slot.Count)}
	for s := range t.Owners {
		t.Owners[s], t.Target[s] = Unowned, Unowned
	}
	return t
}

// Compare orders topologies by (epoch, version): -1 if a is older than b,
// 1 if newer, 0 if the same. A nil topology is older than any other.
func Compare(a, b *Topology) int {
	switch {
	case a == nil && b == nil:
		return 0
	case a == nil:
		return -1
	case b == nil:
		return 1
	case a.Epoch != b.Epoch:
		return cmp(a.Epoch, b.Epoch)
	}
	return cmp(a.Version, b.Version)
}

func cmp(a, b uint64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// NewerThan reports whether t is newer than o by (epoch, version).
func (t *Topology) NewerThan(o *Topology) bool { return Compare(t, o) > 0 }

// Owner returns the node that serves slot s, or nil when none does.
func (t *Topology) Owner(s int) *Node {
	if i := t.Owners[s]; i != Unowned {
		return &t.Nodes[i]
	}
	return nil
}

// Index returns the index of the node with the given ID, or -1.
func (t *Topology) Index(id string) int {
	return slices.IndexFunc(t.Nodes, func(n Node) bool { return n.ID == id })
}

// SlotCount returns how many slots node index i owns.
func (t *Topology) SlotCount(i int) int {
	n := 0
	for _, o := range t.Owners {
		if o == i {
			n++
		}
	}
	return n
}

// Range is a run of consecutive slots with one owner.
type Range struct {
	Start, End int // inclusive
	Node       int // index into Nodes
}

// Ranges returns the owned runs of an assignment (Owners or Target) in
// slot order.
func Ranges(assign []int) []Range {
	var out []Range
	for s := 0; s < len(assign); {
		e := s
		for e+1 < len(assign) && assign[e+1] == assign[s] {
			e++
		}
		if assign[s] != Unowned {
			out = append(out, Range{Start: s, End: e, Node: assign[s]})
		}
		s = e + 1
	}
	return out
}

// Handoff is a slot that moved from one DataNode to another: the target
// has taken it and serves it.
type Handoff struct {
	Slot     int
	From, To string // node IDs
}

// Live reports whether a node in state st holds data that must be moved
// rather than dropped: it is joining, up or draining.
func (st State) Live() bool { return st == Joining || st == Up || st == Draining }

// Witness reports whether a node in state st is a witness of the NameNode
// pair: it votes in elections and counts towards the majority that must
// stage a version before it is committed and that the active must hear
// from. The witnesses are the joining, up and draining nodes; drained and
// down nodes are not, so stopping them never costs quorum.
func (st State) Witness() bool { return st == Joining || st == Up || st == Draining }

// Witnesses returns t's witnesses by ID, with their gRPC addresses.
func (t *Topology) Witnesses() map[string]string {
	v := make(map[string]string, len(t.Nodes))
	for _, n := range t.Nodes {
		if n.State.Witness() {
			v[n.ID] = n.GRPCAddr
		}
	}
	return v
}

// Next returns the topology that follows t with nodes as the membership:
// version t.Version+1 in the given epoch. t is not modified.
//
// Target is the placement over the joining and up nodes, derived from t's. A slot
// keeps its current owner while that owner is live and the slot has a
// target, so its data can be migrated; each handoff whose From still owns
// the slot moves it to To when To is live. A slot with no live owner goes
// straight to its target: there is nothing to move. A joining node that
// owns every slot the ring gives it becomes up; a draining node that owns
// no slot (it is never a target) becomes drained, and with that stops
// being a witness in the same version.
func (t *Topology) Next(epoch uint64, nodes []Node, handoffs ...Handoff) *Topology {
	next := &Topology{
		Epoch:   epoch,
		Version: t.Version + 1,
		VNodes:  t.VNodes,
		Nodes:   slices.Clone(nodes),
	}
	byID := make(map[string]int, len(next.Nodes))
	for i, n := range next.Nodes {
		byID[n.ID] = i
	}
	live := func(id string) int {
		if i, ok := byID[id]; ok && next.Nodes[i].State.Live() {
			return i
		}
		return Unowned
	}
	next.Target = t.nextTarget(next)
	// liveNow maps t's node indices to next's, for owners that are live.
	liveNow := make([]int, len(t.Nodes))
	for i, n := range t.Nodes {
		liveNow[i] = live(n.ID)
	}
	next.Owners = make([]int, slot.Count)
	for s, tg := range next.Target {
		next.Owners[s] = tg
		if o := t.Owners[s]; o != Unowned && tg != Unowned && liveNow[o] != Unowned {
			next.Owners[s] = liveNow[o]
		}
	}
	for _, h := range handoffs {
		if h.Slot < 0 || h.Slot >= slot.Count {
			continue
		}
		from, to := live(h.From), live(h.To)
		if from != Unowned && to != Unowned && next.Owners[h.Slot] == from {
			next.Owners[h.Slot] = to
		}
	}
	pending := make([]bool, len(next.Nodes)) // still has slots to receive
	for s, tg := range next.Target {
		if tg != Unowned && next.Owners[s] != tg {
			pending[tg] = true
		}
	}
	owns := make([]bool, len(next.Nodes))
	for _, o := range next.Owners {
		if o != Unowned {
			owns[o] = true
		}
	}
	for i := range next.Nodes {
		switch st := next.Nodes[i].State; {
		case st == Joining && !pending[i]:
			next.Nodes[i].State = Up
		case st == Draining && !owns[i] && !pending[i]:
			next.Nodes[i].State = Drained
		}
	}
	return next
}

// nextTarget returns the placement of the slots over next's joining and up
// nodes, computed from t's target (see package placement): balanced to
// within a slot of each node's weighted share, moving only the slots the
// membership change requires. It reuses t's when the ring has the same
// members at the same indices, which is the common case of a commit that
// only moves owners.
func (t *Topology) nextTarget(next *Topology) []int {
	if t.sameRing(next) {
		return slices.Clone(t.Target)
	}
	var members []ring.Member
	var index []int            // member -> node index in next
	member := map[string]int{} // node ID -> member
	for i, n := range next.Nodes {
		if n.State == Joining || n.State == Up {
			member[n.ID] = len(members)
			members = append(members, ring.Member{ID: n.ID, Weight: n.Weight})
			index = append(index, i)
		}
	}
	// prev and holder: t's target and owners, as members of next.
	asMember := func(i int) int {
		if i != Unowned && i < len(t.Nodes) {
			if m, ok := member[t.Nodes[i].ID]; ok {
				return m
			}
		}
		return placement.None
	}
	prev, holder := make([]int, slot.Count), make([]int, slot.Count)
	for s := range prev {
		prev[s], holder[s] = asMember(t.Target[s]), asMember(t.Owners[s])
	}
	assign := placement.Assign(ring.New(t.VNodes, members), prev, holder)
	target := make([]int, slot.Count)
	for s, m := range assign {
		target[s] = Unowned
		if m != placement.None {
			target[s] = index[m]
		}
	}
	return target
}

// sameRing reports whether t and next place the same ring members at the
// same node indices.
func (t *Topology) sameRing(next *Topology) bool {
	if len(t.Nodes) != len(next.Nodes) || t.VNodes != next.VNodes || t.Version == 0 {
		return false
	}
	for i, n := range next.Nodes {
		o := t.Nodes[i]
		inRing := n.State == Joining || n.State == Up
		wasInRing := o.State == Joining || o.State == Up
		if n.ID != o.ID || inRing != wasInRing || (inRing && n.Weight != o.Weight) {
			return false
		}
	}
	return true
}

// Migrating reports whether any slot's owner differs from its target.
func (t *Topology) Migrating() bool { return !slices.Equal(t.Owners, t.Target) }

// Proto converts n to its wire form.
func (n Node) Proto() *chkvpb.Node {
	return &chkvpb.Node{
		Id: n.ID, RespAddr: n.RESPAddr, GrpcAddr: n.GRPCAddr, HttpAddr: n.HTTPAddr,
		State:  chkvpb.NodeState(n.State),
		Load:   n.Load.Proto(),
		Weight: n.Weight,
	}
}

// NodeFromProto converts a wire node; it does not validate it.
func NodeFromProto(p *chkvpb.Node) Node {
	return Node{
		ID: p.GetId(), RESPAddr: p.GetRespAddr(), GRPCAddr: p.GetGrpcAddr(), HTTPAddr: p.GetHttpAddr(),
		State: State(p.GetState()), Weight: p.GetWeight(),
		Load: LoadFromProto(p.GetLoad()),
	}
}

// Proto converts t to its wire form.
func (t *Topology) Proto() *chkvpb.Topology {
	p := &chkvpb.Topology{Epoch: t.Epoch, Version: t.Version, Vnodes: uint32(t.VNodes)}
	for _, n := range t.Nodes {
		p.Nodes = append(p.Nodes, n.Proto())
	}
	p.Owners = encodeRuns(t.Owners)
	if !slices.Equal(t.Owners, t.Target) {
		p.Target = encodeRuns(t.Target)
	}
	return p
}

// encodeRuns run-length encodes an assignment as (count, owner+1) pairs.
func encodeRuns(assign []int) []uint32 {
	var out []uint32
	for s := 0; s < len(assign); {
		e := s + 1
		for e < len(assign) && assign[e] == assign[s] {
			e++
		}
		out = append(out, uint32(e-s), uint32(assign[s]+1))
		s = e
	}
	return out
}

// FromProto converts and validates a wire topology.
func FromProto(p *chkvpb.Topology) (*Topology, error) {
	if p == nil {
		return nil, fmt.Errorf("%w: missing", ErrInvalid)
	}
	t := Empty(p.Epoch, int(p.Vnodes))
	t.Version = p.Version
	seen := make(map[string]bool, len(p.Nodes))
	for _, n := range p.Nodes {
		if n.GetId() == "" || seen[n.GetId()] {
			return nil, fmt.Errorf("%w: empty or duplicate node ID %q", ErrInvalid, n.GetId())
		}
		seen[n.GetId()] = true
		t.Nodes = append(t.Nodes, NodeFromProto(n))
	}
	if len(p.Owners) > 0 {
		if err := decodeRuns(t.Owners, p.Owners, len(t.Nodes)); err != nil {
			return nil, err
		}
	}
	if len(p.Target) > 0 {
		if err := decodeRuns(t.Target, p.Target, len(t.Nodes)); err != nil {
			return nil, err
		}
	} else {
		copy(t.Target, t.Owners)
	}
	return t, nil
}

// decodeRuns fills assign from (count, owner+1) pairs, which must cover
// every slot exactly.
func decodeRuns(assign []int, runs []uint32, nodes int) error {
	if len(runs)%2 != 0 {
		return fmt.Errorf("%w: odd run-length encoding", ErrInvalid)
	}
	s := 0
	for i := 0; i < len(runs); i += 2 {
		count, owner := int(runs[i]), int(runs[i+1])
		if count == 0 || count > len(assign)-s || owner > nodes {
			return fmt.Errorf("%w: run of %d slots at %d -> node %d of %d", ErrInvalid, count, s, owner-1, nodes)
		}
		for end := s + count; s < end; s++ {
			assign[s] = owner - 1
		}
	}
	if s != len(assign) {
		return fmt.Errorf("%w: runs cover %d of %d slots", ErrInvalid, s, len(assign))
	}
	return nil
}
