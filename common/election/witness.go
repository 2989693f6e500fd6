package election

import (
	"fmt"
	"time"

	"github.com/chkv/chkv/common/topology"
)

// Ref names one incarnation of one NameNode: its ID and the random
// incarnation number its process chose when it started. An empty ID is a
// caller that did not say who it is (an old NameNode or a test).
type Ref struct {
	ID          string
	Incarnation uint64
}

func (r Ref) String() string { return fmt.Sprintf("%s (incarnation %x)", r.ID, r.Incarnation) }

// Witness is a DataNode's part in the NameNode pair (DESIGN.md §6): it
// votes in elections, fences NameNodes of older epochs, and keeps the
// versions the active stages before committing them. A NameNode epoch
// belongs to one incarnation of one NameNode: the one the witness promised
// it to, or the first that used it. A NameNode restarted under the same ID
// is another incarnation and gets a fresh epoch.
//
// The zero Witness has promised nothing. It is not safe for concurrent
// use; the caller serialises its calls.
type Witness struct {
	promised   uint64 // the highest epoch promised
	promisedTo Ref    // the NameNode incarnation that holds it
	// heardAt is the send time of the newest request the active answered
	// with a lease, or the time of the newest vote granted; valid when
	// heard is set. Pushes and staging do not count: the vote hold runs
	// from the same instant as the lease (see common/timing).
	heardAt time.Duration
	heard   bool
	staged  *topology.Topology // newest version staged, nil when none
}

// Epoch returns the promised epoch.
func (w *Witness) Epoch() uint64 { return w.promised }

// PromisedTo returns the NameNode incarnation the epoch is promised to.
func (w *Witness) PromisedTo() Ref { return w.promisedTo }

// Staged returns the newest version staged and not yet applied, or nil.
func (w *Witness) Staged() *topology.Topology { return w.staged }

// Follows reports whether the node takes orders from namenode at epoch,
// and if so makes epoch and namenode the promise: false when a higher
// epoch was promised, or the same one to another incarnation.
func (w *Witness) Follows(epoch uint64, namenode Ref) bool {
	switch {
	case epoch < w.promised:
		return false
	case epoch == w.promised && w.promisedTo.ID != "" && namenode.ID != "" && namenode != w.promisedTo:
		return false
	}
	if epoch > w.promised || w.promisedTo.ID == "" {
		w.promised, w.promisedTo = epoch, namenode
	}
	return true
}

// FromActive records a lease granted by the active namenode at epoch, in
// reply to a request sent at sentAt. It reports whether the node follows
// it (see Follows); only then does the lease count.
func (w *Witness) FromActive(epoch uint64, namenode Ref, sentAt time.Duration) bool {
	if !w.Follows(epoch, namenode) {
		return false
	}
	if !w.heard || sentAt > w.heardAt {
		w.heardAt, w.heard = sentAt, true
	}
	return true
}

// Ballot is a witness's answer to a candidate.
type Ballot struct {
	Granted bool
	// Promised is the epoch promised after the answer: a candidate
	// refused moves above it.
	Promised uint64
	// Reason says why a vote was refused.
	Reason string
	// Newest is the newer of the applied and the staged topology, which
	// the candidate adopts if it is newer than its own.
	Newest *topology.Topology
}

// Vote answers candidate's request for epoch at time now: it promises the
// epoch to the candidate unless it promised a higher one, or the same one
// to another NameNode incarnation, or, within hold of a lease granted or a
// vote won by another NameNode incarnation, that one may still lead. The
// incarnation it follows may always be re-elected; a restarted process of
// the same ID is another incarnation, so it never gets the epoch its
// predecessor held. held is the applied topology.
func (w *Witness) Vote(epoch uint64, candidate Ref, now, hold time.Duration, held *topology.Topology) Ballot {
	b := Ballot{Newest: w.newest(held)}
	switch {
	case epoch < w.promised || (epoch == w.promised && w.promisedTo.ID != "" && candidate != w.promisedTo):
		b.Reason = fmt.Sprintf("epoch %d already promised to %s", w.promised, w.promisedTo)
	case epoch > w.promised && candidate != w.promisedTo && w.heard && now-w.heardAt < hold:
		b.Reason = fmt.Sprintf("heard from %s (epoch %d) %v ago", w.promisedTo, w.promised, (now - w.heardAt).Round(time.Millisecond))
	default:
		// The first grant to a candidate holds the vote for it as hearing
		// from an active would: a rival cannot take it back before the
		// candidate has had time to lead. Later grants to the same
		// candidate (its next rounds) do not renew the hold: two
		// candidates that split the witnesses would otherwise each keep
		// its half for ever, every round renewing the hold against the
		// other (found by helper/sim).
		if candidate != w.promisedTo || !w.heard {
			w.heardAt, w.heard = now, true
		}
		w.promised, w.promisedTo = epoch, candidate
		b.Granted = true
	}
	b.Promised = w.promised
	return b
}

// Stage keeps t, sent by namenode, unless its epoch is fenced or belongs
// to another incarnation. It returns the newest of the staged and held
// versions, and false when fenced.
func (w *Witness) Stage(t *topology.Topology, namenode Ref, held *topology.Topology) (*topology.Topology, bool) {
	if !w.Follows(t.Epoch, namenode) {
		return nil, false
	}
	newest := w.newest(held)
	if t.NewerThan(newest) {
		w.staged, newest = t, t
	}
	return newest, true
}

// Applied forgets a staged version no newer than the applied t.
func (w *Witness) Applied(t *topology.Topology) {
	if w.staged != nil && !w.staged.NewerThan(t) {
		w.staged = nil
	}
}

// MayApply reports whether a committed topology t may replace held: it is
// newer, and not of an epoch below the promised one.
func (w *Witness) MayApply(t, held *topology.Topology) bool {
	return t.NewerThan(held) && t.Epoch >= w.promised
}

// newest returns the newer of held and the staged version.
func (w *Witness) newest(held *topology.Topology) *topology.Topology {
	if w.staged != nil && w.staged.NewerThan(held) {
		return w.staged
	}
	return held
}
