package testutil

import (
	"fmt"
	"os"
	"testing"
	"time"

	"go.uber.org/goleak"
)

// leakGrace is how long RunAndVerify lets goroutines that are stopping
// finish before it reports them. goleak's own retries last under half a
// second, too short on a loaded 2-core machine, where a goroutine told to
// stop by a test's cleanup may not be scheduled for a while.
const leakGrace = 5 * time.Second

// VerifyTestMain runs the package's tests, then fails the run if any
// goroutine started during it is still running. Call it from the package's
// TestMain. opts are extra goleak options for that package; each must say
// in a comment why the goroutine it ignores is not a leak.
func VerifyTestMain(m *testing.M, opts ...goleak.Option) {
	os.Exit(RunAndVerify(m, opts...))
}

// RunAndVerify is VerifyTestMain for a TestMain with cleanup to do before
// it exits: it runs the tests and returns the exit code to pass to os.Exit,
// non-zero when a test failed or, after passing tests, when goroutines were
// left running. Goroutines that exit within leakGrace do not count.
func RunAndVerify(m *testing.M, opts ...goleak.Option) int {
	code := m.Run()
	if code != 0 {
		return code // the failures say more than a leak report would
	}
	deadline := time.Now().Add(leakGrace)
	for {
		err := goleak.Find(opts...) // sleeps between its own retries
		if err == nil {
			return 0
		}
		if time.Now().After(deadline) {
			fmt.Fprintf(os.Stderr, "goleak: goroutines left running after the tests passed: %v\n", err)
			return 1
		}
	}
}
