package timing

import (
	"strings"
	"testing"
	"time"
)

// TestTimingHolds checks the inequalities for the intervals in use: the
// production one, the tests' and the local cluster's.
func TestTimingHolds(t *testing.T) {
	for _, iv := range []time.Duration{10 * time.Millisecond, 250 * time.Millisecond, 500 * time.Millisecond, time.Second, 5 * time.Second} {
		tm := For(iv)
		if err := tm.Validate(); err != nil {
			t.Errorf("interval %v: %v", iv, err)
		}
		// The margin covers the clock drift over a lease: what the
		// NameNode waits, on a clock fast by the bound, outlasts a
		// lease on a DataNode clock slow by it.
		fast, slow := 1+float64(tm.DriftPPM)/1e6, 1-float64(tm.DriftPPM)/1e6
		if float64(tm.Lease+tm.Margin)/fast < float64(tm.Lease)/slow {
			t.Errorf("interval %v: margin %v does not cover the drift over a lease", iv, tm.Margin)
		}
		// The hold ends before the lease, by more than a heartbeat
		// interval: an election can land while every lease still runs.
		if tm.Lease-tm.VoteHold <= tm.Interval {
			t.Errorf("interval %v: hold %v ends too close to the lease %v", iv, tm.VoteHold, tm.Lease)
		}
	}
}

// TestTimingRefusesUnsafe checks that Validate catches each violated
// inequality, so that the test above can fail.
func TestTimingRefusesUnsafe(t *testing.T) {
	base := For(time.Second)
	cases := []struct {
		name   string
		mutate func(*Timing)
		want   string
	}{
		{"hold shorter than an interval", func(t *Timing) { t.VoteHold = t.Interval }, "vote hold"},
		{"quorum shorter than an interval", func(t *Timing) { t.Quorum = t.Interval }, "quorum window"},
		{"hold as long as before (2 intervals, lease 3)", func(t *Timing) { t.VoteHold, t.Lease = 2*t.Interval, 3*t.Interval }, "earliest lease lapses"},
		{"no takeover budget left", func(t *Timing) { t.TakeoverBudget = 2 * t.Interval }, "earliest lease lapses"},
		{"old active outlives the grace", func(t *Timing) { t.Quorum = 6 * t.Interval }, "old active"},
		{"no margin", func(t *Timing) { t.Margin = 0 }, "margin"},
		{"drift beyond the margin", func(t *Timing) { t.DriftPPM = 150_000 }, "does not cover"},
		{"drift out of range", func(t *Timing) { t.DriftPPM = -1 }, "drift bound"},
	}
	for _, c := range cases {
		tm := base
		c.mutate(&tm)
		err := tm.Validate()
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: got %v, want an error about %q", c.name, err, c.want)
		}
	}
}
