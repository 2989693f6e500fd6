package membership

import (
	"fmt"
	"sync"
	"time"

	"github.com/chkv/chkv/common/timing"
	"github.com/chkv/chkv/common/topology"
	"github.com/chkv/chkv/proto/chkvpb"
)

// nameNodeRef names one incarnation of one NameNode: its ID and the
// random incarnation number its process chose when it started. An empty id
// is a caller that did not say who it is (an old NameNode or a test).
type nameNodeRef struct {
	id          string
	incarnation uint64
}

func (r nameNodeRef) String() string { return fmt.Sprintf("%s (incarnation %x)", r.id, r.incarnation) }

// witness is the DataNode's part in the NameNode pair (DESIGN.md §6): it
// votes in elections, fences NameNodes of older epochs, and keeps the
// versions the active stages before committing them. A NameNode epoch
// belongs to one incarnation of one NameNode (DESIGN.md §6): the one the
// witness promised it to, or the first that used it. A NameNode restarted
// under the same ID is another incarnation and gets a fresh epoch.
type witness struct {
	mu         sync.Mutex
	promised   uint64      // the highest epoch promised
	promisedTo nameNodeRef // the NameNode incarnation that holds it
	// heardAt is the member-clock send time of the newest request the
	// active answered with a lease, or the time of the newest vote
	// granted; valid when heard is set. Pushes and staging do not count:
	// the vote hold runs from the same instant as the lease (see
	// common/timing).
	heardAt time.Duration
	heard   bool
	staged  *topology.Topology // newest version staged, nil when none
}

// epoch returns the promised epoch.
func (w *witness) epoch() uint64 {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.promised
}

// acceptLocked reports whether a call of namenode at epoch may act on the
// node, and if so makes epoch and namenode the promise. The caller holds
// w.mu.
func (w *witness) acceptLocked(epoch uint64, namenode nameNodeRef) bool {
	switch {
	case epoch < w.promised:
		return false
	case epoch == w.promised && w.promisedTo.id != "" && namenode.id != "" && namenode != w.promisedTo:
		return false
	}
	if epoch > w.promised || w.promisedTo.id == "" {
		w.promised, w.promisedTo = epoch, namenode
	}
	return true
}

// follows reports whether the node takes orders from namenode at epoch,
// promising the epoch to it if it is new.
func (w *witness) follows(epoch uint64, namenode nameNodeRef) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.acceptLocked(epoch, namenode)
}

// fromActive records a lease granted by the active namenode at epoch, in
// reply to a request sent at sentAt. It reports whether the node follows
// it: false when the epoch has been promised to another NameNode
// incarnation or a newer epoch was promised.
func (w *witness) fromActive(epoch uint64, namenode nameNodeRef, sentAt time.Duration) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.acceptLocked(epoch, namenode) {
		return false
	}
	w.heardLocked(sentAt)
	return true
}

// heardLocked records hearing from the active for a request sent at
// sentAt. The caller holds w.mu.
func (w *witness) heardLocked(sentAt time.Duration) {
	if !w.heard || sentAt > w.heardAt {
		w.heardAt, w.heard = sentAt, true
	}
}

// vote answers an election request at time now: it promises the epoch to
// the candidate unless it promised a higher one, or the same one to
// another NameNode incarnation, or, within hold of a lease granted or a
// vote won by another NameNode incarnation, that one may still lead. The
// incarnation it follows may always be re-elected; a restarted process of
// the same ID is another incarnation, so it never gets the epoch its
// predecessor held. held is the applied topology; the reply carries the
// newer of it and the staged one.
func (w *witness) vote(req *chkvpb.ElectRequest, now, hold time.Duration, held *topology.Topology) *chkvpb.ElectResponse {
	w.mu.Lock()
	defer w.mu.Unlock()
	resp := &chkvpb.ElectResponse{}
	newest := held
	if w.staged != nil && w.staged.NewerThan(newest) {
		newest = w.staged
	}
	if newest.Version > 0 {
		resp.Topology = newest.Proto()
	}
	e, who := req.GetEpoch(), nameNodeRef{req.GetCandidateId(), req.GetIncarnation()}
	switch {
	case e < w.promised || (e == w.promised && w.promisedTo.id != "" && who != w.promisedTo):
		resp.Reason = fmt.Sprintf("epoch %d already promised to %s", w.promised, w.promisedTo)
	case e > w.promised && who != w.promisedTo && w.heard && now-w.heardAt < hold:
		resp.Reason = fmt.Sprintf("heard from %s (epoch %d) %v ago", w.promisedTo, w.promised, (now - w.heardAt).Round(time.Millisecond))
	default:
		// The grant holds the vote for the candidate as hearing from an
		// active would: a rival cannot take it back before the candidate
		// has had time to lead.
		w.promised, w.promisedTo = e, who
		w.heardAt, w.heard = now, true
		resp.Granted = true
	}
	resp.PromisedEpoch = w.promised
	return resp
}

// stage keeps t, sent by namenode, unless its epoch is fenced or belongs
// to another incarnation. It returns the newest of the staged and held
// versions, and false when fenced.
func (w *witness) stage(t *topology.Topology, namenode nameNodeRef, held *topology.Topology) (*topology.Topology, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.acceptLocked(t.Epoch, namenode) {
		return nil, false
	}
	newest := held
	if w.staged != nil && w.staged.NewerThan(newest) {
		newest = w.staged
	}
	if t.NewerThan(newest) {
		w.staged, newest = t, t
	}
	return newest, true
}

// applied forgets a staged version no newer than the applied t.
func (w *witness) applied(t *topology.Topology) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.staged != nil && !w.staged.NewerThan(t) {
		w.staged = nil
	}
}

// voteHold is how long the node refuses to vote after a lease.
func (m *Member) voteHold() time.Duration {
	return timing.For(time.Duration(m.interval.Load())).VoteHold
}
