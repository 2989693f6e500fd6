package testutil

import (
	"testing"
	"time"
)

// pollEvery is how often Eventually re-checks its condition.
const pollEvery = 5 * time.Millisecond

// Eventually fails t unless cond holds within d, checking it every few
// milliseconds. what names the condition in the failure message. cond runs
// on the calling goroutine and must not block.
func Eventually(t testing.TB, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", d, what)
		}
		time.Sleep(pollEvery)
	}
}
