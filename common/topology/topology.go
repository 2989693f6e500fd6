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
	}
	return fmt.Sprintf("state(%d)", int(s))
}

// Load is what a DataNode reports of itself.
type Load struct {
	Keys            int64
	UsedMemoryBytes int64
	OpsPerSec       int64
}

// Node is one DataNode.
type Node struct {
	ID       string
	RESPAddr string // given to clients
	GRPCAddr string // control and migration
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
	// Target is the ring's assignment, in the same form.
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

// Next returns the topology that follows t with nodes as the membership:
// version t.Version+1 in the given epoch, each slot assigned by the ring
// over the nodes that are joining or up. Draining and down nodes own
// nothing. t is not modified.
func (t *Topology) Next(epoch uint64, nodes []Node) *Topology {
	next := &Topology{
		Epoch:   epoch,
		Version: t.Version + 1,
		VNodes:  t.VNodes,
		Nodes:   slices.Clone(nodes),
	}
	var members []ring.Member
	var index []int // member -> node index
	for i, n := range next.Nodes {
		if n.State == Joining || n.State == Up {
			members = append(members, ring.Member{ID: n.ID, Weight: n.Weight})
			index = append(index, i)
		}
	}
	assign := ring.New(t.VNodes, members).Assign()
	next.Target = make([]int, slot.Count)
	for s, m := range assign {
		next.Target[s] = Unowned
		if m >= 0 {
			next.Target[s] = index[m]
		}
	}
	next.Owners = slices.Clone(next.Target)
	return next
}

// Proto converts t to its wire form.
func (t *Topology) Proto() *chkvpb.Topology {
	p := &chkvpb.Topology{Epoch: t.Epoch, Version: t.Version, Vnodes: uint32(t.VNodes)}
	for _, n := range t.Nodes {
		p.Nodes = append(p.Nodes, &chkvpb.Node{
			Id: n.ID, RespAddr: n.RESPAddr, GrpcAddr: n.GRPCAddr,
			State:  chkvpb.NodeState(n.State),
			Load:   &chkvpb.Load{Keys: n.Load.Keys, UsedMemoryBytes: n.Load.UsedMemoryBytes, OpsPerSec: n.Load.OpsPerSec},
			Weight: n.Weight,
		})
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
		t.Nodes = append(t.Nodes, Node{
			ID: n.GetId(), RESPAddr: n.GetRespAddr(), GRPCAddr: n.GetGrpcAddr(),
			State: State(n.GetState()), Weight: n.GetWeight(),
			Load: Load{Keys: n.GetLoad().GetKeys(), UsedMemoryBytes: n.GetLoad().GetUsedMemoryBytes(), OpsPerSec: n.GetLoad().GetOpsPerSec()},
		})
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
