// Package timing holds, in one place, the timing of leases, vote holds and
// NameNode elections (DESIGN.md §6, §7), and the inequalities between them
// that safety and failover without unavailability depend on. Everything is
// a multiple of the heartbeat interval; Validate checks the inequalities.
//
// The instants, for a DataNode d and the active A killed at K:
//
//   - d sends a heartbeat every Interval. When A answers one sent at s,
//     d serves until s+Lease and refuses to vote for any other NameNode
//     incarnation until s+VoteHold. Both run from the same instant, so the
//     hold always ends Lease-VoteHold before the lease. Pushes and staging
//     renew neither.
//   - The standby campaigns once it has not heard from A for
//     FailoverSilence, retrying every CampaignPeriod at most. It wins when
//     a majority's holds have ended: by K plus max(FailoverSilence,
//     VoteHold) plus CampaignPeriod. Staging the new epoch's first version makes every
//     DataNode heartbeat at once, and the reply carries a lease: every
//     lease is renewed within TakeoverBudget of the election.
//   - The earliest lease to lapse was granted for a heartbeat sent up to
//     an Interval before K, so it lasts until K - Interval + Lease. The
//     election and the renewal must come before (FailoverFitsInLease).
//   - A lease A granted lasts at most Lease from its grant. A grants leases
//     only while it heard from a majority within Quorum; a DataNode that
//     promised the new epoch makes A step down on its next heartbeat. The
//     new active counts a full Lease from its takeover as still granted by
//     A, and reassigns a silent node's slots only Lease+Margin after that
//     (Margin covers clock-rate differences up to DriftPPM each way), so no
//     two DataNodes serve a slot at once (OldLeasesRunOut).
package timing

import (
	"fmt"
	"time"
)

// The timing in heartbeat intervals.
const (
	// LeaseHeartbeats is the lease a NameNode grants with each answered
	// heartbeat, counted by the DataNode from when it sent it.
	LeaseHeartbeats = 4
	// QuorumHeartbeats is the window within which the active must have
	// heard from a majority of the DataNodes to commit and grant leases.
	QuorumHeartbeats = 2
	// FailoverHeartbeats is how long a standby waits without a beat from an
	// active peer that hears from a majority before it campaigns.
	FailoverHeartbeats = 1
	// StartupHeartbeats is how long a NameNode listens to heartbeats after
	// it starts before it first campaigns.
	StartupHeartbeats = 2
	// MarginHeartbeats is added to a lease before a silent node's slots are
	// reassigned (clock-rate differences).
	MarginHeartbeats = 1
	// MaxDriftPPM bounds, in parts per million, how much faster or slower
	// than true time any node's monotonic clock runs: 1 %, far above the
	// 100 ppm of ordinary quartz. The margin must cover the difference it
	// makes over a lease (OldLeasesRunOut); the simulator (helper/sim)
	// drifts its clocks by up to this much.
	MaxDriftPPM = 10_000
)

// Timing is the timing of a cluster whose DataNodes heartbeat every
// Interval.
type Timing struct {
	Interval time.Duration
	// Lease is granted with each answered heartbeat.
	Lease time.Duration
	// VoteHold is how long a DataNode refuses to vote for another NameNode
	// after a lease, counted from the same instant as the lease.
	VoteHold time.Duration
	// Quorum is the window of QuorumHeartbeats.
	Quorum time.Duration
	// FailoverSilence is the window of FailoverHeartbeats.
	FailoverSilence time.Duration
	// CampaignPeriod is the longest pause between two election rounds of a
	// candidate (the loop waits between a quarter and a half interval).
	CampaignPeriod time.Duration
	// TakeoverBudget is the time a won election has to renew every lease:
	// staging the first version, which makes each DataNode heartbeat at
	// once, and the heartbeat's round trip.
	TakeoverBudget time.Duration
	// Margin is added to a lease before reassigning a node's slots.
	Margin time.Duration
	// Startup is the window of StartupHeartbeats.
	Startup time.Duration
	// DriftPPM is the clock-rate bound of MaxDriftPPM.
	DriftPPM int64
}

// For returns the timing of heartbeat interval iv.
func For(iv time.Duration) Timing {
	return Timing{
		Interval:        iv,
		Lease:           LeaseHeartbeats * iv,
		VoteHold:        3 * iv / 2,
		Quorum:          QuorumHeartbeats * iv,
		FailoverSilence: FailoverHeartbeats * iv,
		CampaignPeriod:  iv / 2,
		TakeoverBudget:  iv / 2,
		Margin:          MarginHeartbeats * iv,
		Startup:         StartupHeartbeats * iv,
		DriftPPM:        MaxDriftPPM,
	}
}

// Validate reports the first inequality that does not hold.
func (t Timing) Validate() error {
	// Renewals come every Interval; a quarter more absorbs delays, so a
	// healthy active keeps both its majority and the DataNodes' votes.
	steady := t.Interval + t.Interval/4
	electedBy := max(t.FailoverSilence, t.VoteHold) + t.CampaignPeriod
	switch {
	case t.VoteHold < steady:
		return fmt.Errorf("timing: vote hold %v is shorter than a heartbeat interval and a quarter (%v): a rival could win while the active is healthy", t.VoteHold, steady)
	case t.Quorum < steady:
		return fmt.Errorf("timing: quorum window %v is shorter than %v: a healthy active would lose its majority", t.Quorum, steady)
	case electedBy+t.TakeoverBudget > t.Lease-t.Interval:
		// FailoverFitsInLease
		return fmt.Errorf("timing: a failover elects by %v and renews leases by %v after the kill, but the earliest lease lapses %v after it", electedBy, electedBy+t.TakeoverBudget, t.Lease-t.Interval)
	case t.Quorum > t.Lease+t.Margin:
		// OldLeasesRunOut: the old active's last grant is at most Quorum
		// after the takeover and lasts Lease; the new one waits
		// Lease (takeover grace) + Lease + Margin.
		return fmt.Errorf("timing: the old active may grant leases until %v after a takeover, beyond the %v the new active waits", t.Quorum+t.Lease, 2*t.Lease+t.Margin)
	case t.DriftPPM < 0 || t.DriftPPM >= 1e6/2:
		return fmt.Errorf("timing: clock drift bound %d ppm is out of range", t.DriftPPM)
	case int64(t.Margin)*(1e6-t.DriftPPM) < 2*t.DriftPPM*int64(t.Lease):
		// OldLeasesRunOut with drift: the NameNode waits Lease+Margin on
		// a clock up to DriftPPM fast; the DataNode's lease runs Lease
		// on a clock up to DriftPPM slow.
		return fmt.Errorf("timing: margin %v does not cover a lease of %v on clocks %d ppm apart", t.Margin, t.Lease, 2*t.DriftPPM)
	case t.Margin < t.Lease/10:
		return fmt.Errorf("timing: margin %v is below a tenth of the lease %v", t.Margin, t.Lease)
	}
	return nil
}
