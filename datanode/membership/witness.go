package membership

import (
	"sync"
	"time"

	"github.com/chkv/chkv/common/election"
	"github.com/chkv/chkv/common/timing"
	"github.com/chkv/chkv/common/topology"
	"github.com/chkv/chkv/proto/chkvpb"
)

// nameNodeRef names one incarnation of one NameNode (election.Ref).
type nameNodeRef = election.Ref

// witness is the DataNode's part in the NameNode pair (DESIGN.md §6): the
// rules of common/election's Witness, serialised by a mutex and translated
// to and from the wire. The member's clock is the monotonic lease clock.
type witness struct {
	mu   sync.Mutex
	core election.Witness
}

// epoch returns the promised epoch.
func (w *witness) epoch() uint64 {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.core.Epoch()
}

// promise returns the promised epoch and the NameNode incarnation that
// holds it.
func (w *witness) promise() (uint64, nameNodeRef) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.core.Epoch(), w.core.PromisedTo()
}

// follows reports whether the node takes orders from namenode at epoch,
// promising the epoch to it if it is new.
func (w *witness) follows(epoch uint64, namenode nameNodeRef) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.core.Follows(epoch, namenode)
}

// fromActive records a lease granted by the active namenode at epoch, in
// reply to a request sent at sentAt. It reports whether the node follows
// it: false when the epoch has been promised to another NameNode
// incarnation or a newer epoch was promised.
func (w *witness) fromActive(epoch uint64, namenode nameNodeRef, sentAt time.Duration) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.core.FromActive(epoch, namenode, sentAt)
}

// vote answers an election request at time now (election.Witness.Vote).
// held is the applied topology; the reply carries the newer of it and the
// staged one.
func (w *witness) vote(req *chkvpb.ElectRequest, now, hold time.Duration, held *topology.Topology) *chkvpb.ElectResponse {
	w.mu.Lock()
	b := w.core.Vote(req.GetEpoch(), nameNodeRef{ID: req.GetCandidateId(), Incarnation: req.GetIncarnation()}, now, hold, held)
	w.mu.Unlock()
	resp := &chkvpb.ElectResponse{Granted: b.Granted, PromisedEpoch: b.Promised, Reason: b.Reason}
	if b.Newest.Version > 0 {
		resp.Topology = b.Newest.Proto()
	}
	return resp
}

// stage keeps t, sent by namenode, unless its epoch is fenced or belongs
// to another incarnation. It returns the newest of the staged and held
// versions, and false when fenced.
func (w *witness) stage(t *topology.Topology, namenode nameNodeRef, held *topology.Topology) (*topology.Topology, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.core.Stage(t, namenode, held)
}

// applied forgets a staged version no newer than the applied t.
func (w *witness) applied(t *topology.Topology) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.core.Applied(t)
}

// staged returns the version staged and not yet applied, or nil.
func (w *witness) staged() *topology.Topology {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.core.Staged()
}

// voteHold is how long the node refuses to vote after a lease.
func (m *Member) voteHold() time.Duration {
	return timing.For(time.Duration(m.interval.Load())).VoteHold
}
