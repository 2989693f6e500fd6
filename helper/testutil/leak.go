package testutil

import (
	"fmt"
	"os"
	"testing"

	"go.uber.org/goleak"
)

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
// left running. goleak retries for a few seconds first, so goroutines that
// are stopping do not count.
func RunAndVerify(m *testing.M, opts ...goleak.Option) int {
	code := m.Run()
	if code != 0 {
		return code // the failures say more than a leak report would
	}
	if err := goleak.Find(opts...); err != nil {
		fmt.Fprintf(os.Stderr, "goleak: goroutines left running after the tests passed: %v\n", err)
		return 1
	}
	return 0
}
