package election

import (
	"testing"
	"time"

	"github.com/chkv/chkv/common/timing"
)

// TestMajority checks the count: more than half, and any set is a
// majority of no voters.
func TestMajority(t *testing.T) {
	voters := map[string]string{"a": "", "b": "", "c": "", "d": ""}
	if Majority(voters, map[string]bool{"a": true, "b": true}) {
		t.Fatal("two of four counted as a majority")
	}
	if !Majority(voters, map[string]bool{"a": true, "b": true, "c": true, "x": true}) {
		t.Fatal("three of four not a majority")
	}
	if Majority(voters, map[string]bool{"a": true, "b": true, "x": true, "y": true}) {
		t.Fatal("non-voters counted")
	}
	if !Majority(map[string]string{}, nil) {
		t.Fatal("no voters: any set must be a majority")
	}
}

// TestOnPromise checks DESIGN.md §6: a promise of the active's own epoch
// is won back, one of its running re-election is its own, anything newer
// fences it.
func TestOnPromise(t *testing.T) {
	cases := []struct {
		active                      bool
		epoch, reelecting, promised uint64
		want                        Fencing
	}{
		{true, 5, 0, 5, Reelect},
		{true, 5, 6, 6, Stay},
		{true, 5, 6, 7, StepDown},
		{true, 5, 0, 6, StepDown},
		{false, 5, 0, 5, StepDown},
	}
	for _, c := range cases {
		if got := OnPromise(c.active, c.epoch, c.reelecting, c.promised); got != c.want {
			t.Errorf("OnPromise(%v, %d, %d, %d) = %d, want %d", c.active, c.epoch, c.reelecting, c.promised, got, c.want)
		}
	}
}

// TestShouldCampaign checks the start-up wait, the failover silence and
// the active's re-election.
func TestShouldCampaign(t *testing.T) {
	tm := timing.For(time.Second)
	cases := []struct {
		name string
		c    Campaign
		want bool
	}{
		{"just started", Campaign{SinceStart: time.Second}, false},
		{"just started, heard and peer checked", Campaign{SinceStart: time.Second, HeardAny: true, PeerChecked: true}, true},
		{"after start-up", Campaign{SinceStart: 3 * time.Second}, true},
		{"active peer heard", Campaign{SinceStart: time.Minute, LeaderSeen: true, SinceLeader: tm.FailoverSilence / 2}, false},
		{"active peer silent", Campaign{SinceStart: time.Minute, LeaderSeen: true, SinceLeader: tm.FailoverSilence}, true},
		{"active", Campaign{Active: true, SinceStart: time.Minute}, false},
		{"active winning back a witness", Campaign{Active: true, Reelect: true}, true},
	}
	for _, c := range cases {
		if got := ShouldCampaign(c.c, tm); got != c.want {
			t.Errorf("%s: got %v", c.name, got)
		}
	}
}

// TestCandidateEpochAndLease checks the candidate epoch and lease expiry.
func TestCandidateEpochAndLease(t *testing.T) {
	if e := CandidateEpoch(4, 6, 0); e != 7 {
		t.Fatalf("candidate epoch %d, want above the epoch voted for", e)
	}
	if e := CandidateEpoch(4, 0, 9); e != 9 {
		t.Fatalf("candidate epoch %d, want the running candidacy's", e)
	}
	tm := timing.For(time.Second)
	if LeaseOver(tm.Lease, tm) || !LeaseOver(tm.Lease+tm.Margin, tm) {
		t.Fatal("a lease is over only a lease and a margin after its base")
	}
}
