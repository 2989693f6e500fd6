package testutil

import (
	"sync/atomic"
	"testing"
	"time"
)

func TestMain(m *testing.M) { VerifyTestMain(m) }

// recorder is a testing.TB that records Fatalf instead of stopping the
// goroutine, so Eventually's failure path can be observed.
type recorder struct {
	testing.TB
	failed atomic.Bool
}

func (r *recorder) Helper() {}

func (r *recorder) Fatalf(format string, args ...any) {
	r.failed.Store(true)
	panic(r) // Eventually must not return normally after a Fatalf
}

func run(r *recorder, d time.Duration, cond func() bool) {
	defer func() {
		if p := recover(); p != nil && p != r {
			panic(p)
		}
	}()
	Eventually(r, d, "the condition", cond)
}

func TestEventuallyWaitsForCondition(t *testing.T) {
	var calls atomic.Int32
	r := &recorder{TB: t}
	run(r, 5*time.Second, func() bool { return calls.Add(1) >= 3 })
	if r.failed.Load() {
		t.Fatalf("Eventually failed a condition that held on the third check")
	}
	if got := calls.Load(); got != 3 {
		t.Errorf("condition checked %d times, want 3 (stop as soon as it holds)", got)
	}
}

func TestEventuallyFailsAfterDeadline(t *testing.T) {
	r := &recorder{TB: t}
	start := time.Now()
	run(r, 50*time.Millisecond, func() bool { return false })
	if !r.failed.Load() {
		t.Fatal("Eventually returned for a condition that never held")
	}
	if el := time.Since(start); el < 50*time.Millisecond {
		t.Errorf("gave up after %v, before the 50ms deadline", el)
	}
}
