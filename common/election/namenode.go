package election

import (
	"time"

	"github.com/chkv/chkv/common/timing"
	"github.com/chkv/chkv/common/topology"
)

// Majority reports whether yes holds more than half of voters; any set is
// a majority of none.
func Majority[V any](voters map[string]V, yes map[string]bool) bool {
	if len(voters) == 0 {
		return true
	}
	n := 0
	for id := range voters {
		if yes[id] {
			n++
		}
	}
	return 2*n > len(voters)
}

// Fresh reports whether a witness last heard from since ago still counts
// towards the active's quorum (the quorum window of common/timing).
func Fresh(since time.Duration, t timing.Timing) bool { return since <= t.Quorum }

// CandidateEpoch is the epoch a NameNode asks for in its next election
// round: above the epoch it holds or knows and above any it granted the
// peer, and at least its current candidacy's, so that grants add up over
// rounds until a witness reports a newer promise.
func CandidateEpoch(epoch, voted, candidate uint64) uint64 {
	return max(epoch+1, voted+1, candidate)
}

// Fencing is what a NameNode does when a witness reports a promise.
type Fencing int

const (
	// StepDown: a newer epoch was promised to another NameNode; an active
	// becomes a standby and stops changing the topology and granting
	// leases.
	StepDown Fencing = iota
	// Reelect: the active's own epoch was promised to a rival that lost
	// it; the active stays and re-elects itself at a higher epoch.
	Reelect
	// Stay: the promise is of the active's own re-election campaign.
	Stay
)

// OnPromise decides what a NameNode at epoch does when a witness reports
// that it promised promised to another NameNode incarnation (DESIGN.md §6,
// "split epochs are won back"). reelecting is the epoch of the active's
// running re-election campaign, 0 when none.
func OnPromise(active bool, epoch, reelecting, promised uint64) Fencing {
	switch {
	case !active:
		return StepDown
	case promised == epoch:
		return Reelect
	case promised > epoch && promised <= reelecting:
		return Stay
	}
	return StepDown
}

// Campaign is what a NameNode's decision to campaign depends on.
type Campaign struct {
	Active  bool // it is the active
	Reelect bool // an active asked to win a witness back
	// SinceStart is the time since the process started.
	SinceStart time.Duration
	// HeardAny: a DataNode has heartbeated it; PeerChecked: it tried to
	// follow its peer and found none to follow (or has no peer).
	HeardAny, PeerChecked bool
	// LeaderSeen: an active peer that hears from a majority was heard from
	// (or a vote granted, or it stepped down), SinceLeader ago.
	LeaderSeen  bool
	SinceLeader time.Duration
}

// ShouldCampaign reports whether a NameNode in state c seeks election. An
// active does only to win back a witness. After a start it waits
// StartupHeartbeats intervals, unless it has already heard from a
// DataNode to ask and found that the peer is not an active it can follow:
// then waiting would only let the DataNodes' leases lapse.
func ShouldCampaign(c Campaign, t timing.Timing) bool {
	switch {
	case c.Active:
		return c.Reelect
	case c.SinceStart < t.Startup && (!c.HeardAny || !c.PeerChecked):
		return false
	}
	return !c.LeaderSeen || c.SinceLeader >= t.FailoverSilence
}

// LeaseOver reports whether a lease granted for a request received
// sinceBase ago has surely run out on the DataNode's clock, so that the
// active may give its slots to another node: a lease and the margin.
func LeaseOver(sinceBase time.Duration, t timing.Timing) bool {
	return sinceBase >= t.Lease+t.Margin
}

// Numbering is the newest (epoch, version) a NameNode incarnation staged.
// A commit whose staging failed leaves its version staged on some
// witnesses; the retry must not stage a different topology under the same
// (epoch, version), or a witness holding the first would count as holding
// the second, and a later election could adopt the first in place of the
// committed second (DESIGN.md §9.6; found by helper/sim).
type Numbering struct{ Epoch, Version uint64 }

// Number gives t, about to be staged, a version above any staged before in
// its epoch, and records it.
func (n *Numbering) Number(t *topology.Topology) {
	if t.Epoch == n.Epoch && t.Version <= n.Version {
		t.Version = n.Version + 1
	}
	n.Epoch, n.Version = t.Epoch, t.Version
}

// RivalHolds reports whether a witness's promise of promised to holder,
// reported in a heartbeat, means that a rival holds the epoch of the active
// self: the active then re-elects itself to win the witness back
// (OnPromise), since the witness refuses its leases. A promise of a newer
// epoch is OnPromise's to judge; an unnamed holder is an older DataNode.
func RivalHolds(epoch uint64, self Ref, promised uint64, holder Ref) bool {
	return promised == epoch && holder.ID != "" && holder != self
}
