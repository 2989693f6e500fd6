package datanode

import (
	"math/bits"
	"sync"
	"sync/atomic"
	"time"
)

// result is how a command ended, the "result" label of
// chkv_datanode_commands_total.
type result uint8

// Command results. Redirects are told apart because operators watch them
// during migrations; every other error reply is resultError.
const (
	resultOK          result = iota // a reply that is not an error
	resultError                     // an error reply not listed below
	resultMoved                     // -MOVED: the slot is another node's
	resultTryAgain                  // -TRYAGAIN: the slot is being handed off
	resultClusterDown               // -CLUSTERDOWN: no lease or no owner
	resultCrossSlot                 // -CROSSSLOT: keys of several slots
	numResults
)

// resultNames are the label values of the results, by result.
var resultNames = [numResults]string{"ok", "error", "moved", "tryagain", "clusterdown", "crossslot"}

// classifyError returns the result of an error reply's text (without the
// leading '-').
func classifyError[T string | []byte](msg T) result {
	switch {
	case hasPrefix(msg, "MOVED "):
		return resultMoved
	case hasPrefix(msg, "TRYAGAIN"):
		return resultTryAgain
	case hasPrefix(msg, "CLUSTERDOWN"):
		return resultClusterDown
	case hasPrefix(msg, "CROSSSLOT"):
		return resultCrossSlot
	}
	return resultError
}

// hasPrefix is strings.HasPrefix for a string or a byte slice, without
// allocating.
func hasPrefix[T string | []byte](s T, prefix string) bool {
	return len(s) >= len(prefix) && string(s[:len(prefix)]) == prefix
}

// Latency histogram layout: bucket i counts durations up to
// 2^(latencyBaseShift+i) ns (8.192 µs, 16.4 µs, ..., about 2.1 s); the last
// bucket is +Inf.
const (
	latencyBaseShift = 13
	latencyBuckets   = 19
)

// latencyBounds are the upper bounds of the finite buckets, in seconds.
var latencyBounds = func() []float64 {
	b := make([]float64, latencyBuckets-1)
	for i := range b {
		b[i] = float64(uint64(1)<<(latencyBaseShift+i)) / 1e9
	}
	return b
}()

// latencyBucket returns the bucket of a duration.
func latencyBucket(d time.Duration) int {
	if d <= 0 {
		return 0
	}
	return min(bits.Len64(uint64(d-1)>>latencyBaseShift), latencyBuckets-1)
}

// cmdStat holds one command's counters: replies by result, and the
// latency histogram of the runs. Every field is updated with one atomic
// add and no allocation, so that counting costs the hot path a few
// nanoseconds; scrapes read them.
type cmdStat struct {
	results [numResults]atomic.Uint64
	buckets [latencyBuckets]atomic.Uint64
	sumNs   atomic.Uint64
	// rejected counts the runs refused before they ran, failed the runs
	// that answered an error: INFO commandstats' rejected_calls and
	// failed_calls.
	rejected atomic.Uint64
	failed   atomic.Uint64
	// pad keeps two commands' counters off one cache line.
	_ [64]byte
}

// observe records one run of the command that took d.
func (st *cmdStat) observe(d time.Duration) {
	st.buckets[latencyBucket(d)].Add(1)
	st.sumNs.Add(uint64(max(d, 0)))
}

// cmdTotals are one command's counters at one moment, as INFO
// commandstats reports them.
type cmdTotals struct {
	calls, sumNs, rejected, failed uint64
}

// snapshot reads the command's counters.
func (st *cmdStat) snapshot() cmdTotals {
	var t cmdTotals
	for i := range st.buckets {
		t.calls += st.buckets[i].Load()
	}
	t.sumNs = st.sumNs.Load()
	t.rejected = st.rejected.Load()
	t.failed = st.failed.Load()
	return t
}

// minus returns the counts since base.
func (t cmdTotals) minus(base cmdTotals) cmdTotals {
	return cmdTotals{t.calls - base.calls, t.sumNs - base.sumNs, t.rejected - base.rejected, t.failed - base.failed}
}

// cmdStats are the per-command counters of a server, indexed by command
// id; the last entry counts unknown commands. The counters only grow (they
// are Prometheus counters); CONFIG RESETSTAT records them in base, which
// INFO commandstats subtracts.
type cmdStats struct {
	names []string // by id: the command's name; "unknown" last
	stats []cmdStat
	mu    sync.Mutex
	base  []cmdTotals // by id: the counters at the last CONFIG RESETSTAT
	// subNames, sub and subBase are the same for subcommands, indexed by
	// the subcommand's id: INFO commandstats reports subcommands, as
	// Redis does (cmdstat_client|list), where the metrics report their
	// container.
	subNames []string
	sub      []cmdStat
	subBase  []cmdTotals
	hasSubs  []bool // by id: the command is a container
}

// reset makes INFO commandstats start from zero.
func (cs *cmdStats) reset() {
	cs.mu.Lock()
	for id := range cs.stats {
		cs.base[id] = cs.stats[id].snapshot()
	}
	for id := range cs.sub {
		cs.subBase[id] = cs.sub[id].snapshot()
	}
	cs.mu.Unlock()
}

// observeSub records, for INFO commandstats, the run of the subcommand
// args[1] of the container cmd that took d: refused if its arity is wrong
// (the container's run answered the error), else failed or not.
func (cs *cmdStats) observeSub(cmd *command, args [][]byte, d time.Duration, failed bool) {
	if len(args) < 2 {
		return
	}
	sub := cmd.subcommand(args[1])
	if sub == nil {
		return
	}
	st := &cs.sub[sub.id]
	switch {
	case !sub.arityOK(len(args)):
		st.rejected.Add(1)
	case failed:
		st.failed.Add(1)
		fallthrough
	default:
		st.observe(d)
	}
}

// unknownCommand is the command label of commands the node does not know.
const unknownCommand = "unknown"

// newCmdStats numbers the commands of table (each container once, its
// subcommands under it) and returns their counters.
func newCmdStats(table map[string]*command) *cmdStats {
	cs := &cmdStats{}
	for _, cmd := range table {
		cmd.id = len(cs.names)
		cs.names = append(cs.names, cmd.name)
		cs.hasSubs = append(cs.hasSubs, cmd.subcommands != nil)
		for _, sub := range cmd.subcommands {
			sub.id = len(cs.subNames)
			cs.subNames = append(cs.subNames, sub.name)
		}
	}
	cs.names = append(cs.names, unknownCommand)
	cs.hasSubs = append(cs.hasSubs, false)
	cs.stats = make([]cmdStat, len(cs.names))
	cs.base = make([]cmdTotals, len(cs.names))
	cs.sub = make([]cmdStat, len(cs.subNames))
	cs.subBase = make([]cmdTotals, len(cs.subNames))
	return cs
}

// unknown is the counters of unknown commands.
func (cs *cmdStats) unknown() *cmdStat { return &cs.stats[len(cs.stats)-1] }
