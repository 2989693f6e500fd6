package sim

import (
	"flag"
	"testing"
	"time"
)

var (
	seedFlag  = flag.Uint64("seed", 0, "replay this seed (TestReplay)")
	seedsFlag = flag.Int("seeds", 0, "run this many seeds (TestSeeds; default a fixed budget)")
	firstFlag = flag.Uint64("first", 1, "the first seed TestSeeds runs")
	loneFlag  = flag.Bool("lone", false, "NameNodes take over alone from a crashed peer (Config.LoneTakeover)")
)

// config is the configuration the flags ask for.
func config() Config {
	c := DefaultConfig()
	c.LoneTakeover = *loneFlag
	return c
}

// ciSeeds is the budget of seeds `go test` runs: well under a minute with
// -race on a small machine.
const ciSeeds = 30

// TestSeeds runs a fixed budget of seeds and fails with the first seed
// that violates a property, and how to replay it.
func TestSeeds(t *testing.T) {
	n := ciSeeds
	if *seedsFlag > 0 {
		n = *seedsFlag
	}
	if testing.Short() {
		n = min(n, 10)
	}
	var simulated time.Duration
	var commits, epochs uint64
	faults := map[string]int{}
	start := time.Now()
	for seed := *firstFlag; seed < *firstFlag+uint64(n); seed++ {
		res, err := Run(seed, config())
		if err != nil {
			t.Fatal(err)
		}
		simulated += res.Simulated
		commits += res.Commits
		epochs += res.Epochs
		for k, v := range res.Faults {
			faults[k] += v
		}
	}
	t.Logf("%d seeds, %.1f simulated hours in %v: %d commits, %d epochs led, faults %v",
		n, simulated.Hours(), time.Since(start).Round(time.Millisecond), commits, epochs, faults)
}

// TestReplay replays one seed (-seed N) with its trace.
func TestReplay(t *testing.T) {
	if *seedFlag == 0 {
		t.Skip("no -seed given")
	}
	res, err := Run(*seedFlag, config())
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("seed %d: %+v", *seedFlag, res)
}

// TestDeterministic checks that a seed replays exactly: two runs take the
// same steps and end in the same state.
func TestDeterministic(t *testing.T) {
	a, errA := Run(7, DefaultConfig())
	b, errB := Run(7, DefaultConfig())
	if a.Steps != b.Steps || a.Sent != b.Sent || a.Lost != b.Lost || a.Commits != b.Commits || (errA == nil) != (errB == nil) {
		t.Fatalf("seed 7 ran differently twice: %+v %v / %+v %v", a, errA, b, errB)
	}
}
