package linearize

import (
	"fmt"
	"math"
	"os"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/anishathalye/porcupine"
)

// Kind is the kind of a key-value operation.
type Kind int

const (
	// Get reads a key; its outcome is OkGet(value, found).
	Get Kind = iota
	// Set writes a key; its outcome is Ok() when acknowledged.
	Set
	// Del removes a key; its outcome is OkDel(deleted) with deleted 0 or 1.
	Del
)

// String returns the command name of k.
func (k Kind) String() string {
	switch k {
	case Get:
		return "GET"
	case Set:
		return "SET"
	case Del:
		return "DEL"
	}
	return fmt.Sprintf("Kind(%d)", int(k))
}

type status int

const (
	open    status = iota
	done           // Ok: the output is known
	failed         // Fail: dropped from the history
	unknown        // Unknown: writes may apply at any time after the call
)

// input is a porcupine operation input.
type input struct {
	kind       Kind
	key, value string
}

// output is a porcupine operation output; unknown outputs match any result.
type output struct {
	value   string
	found   bool
	deleted int64
	unknown bool
}

// state is the model state of one key.
type state struct {
	value   string
	present bool
}

type op struct {
	client    int
	in        input
	out       output
	call, ret int64
	status    status
}

// Recorder collects a history of operations. It is safe for concurrent use by
// many client goroutines and bounded: Begin refuses operations once maxOps
// have been begun.
type Recorder struct {
	now    func() int64 // monotonic nanoseconds; replaced in tests
	maxOps int

	mu  sync.Mutex
	ops []op
}

// NewRecorder returns an empty Recorder that accepts at most maxOps calls to
// Begin.
func NewRecorder(maxOps int) *Recorder {
	start := time.Now()
	return &Recorder{
		now:    func() int64 { return time.Since(start).Nanoseconds() },
		maxOps: maxOps,
	}
}

// Pending is the handle of one begun operation. Exactly one of OkGet, Ok,
// OkDel (matching its kind), Fail or Unknown must be called, once; misuse
// panics.
type Pending struct {
	r *Recorder
	i int
}

// Begin records the call of an operation of kind by client (a small
// non-negative int, one per goroutine) on key; value is the written value for
// Set and ignored otherwise. It returns false, and a nil Pending, once the
// Recorder is full: the caller should stop issuing operations.
func (r *Recorder) Begin(client int, kind Kind, key, value string) (*Pending, bool) {
	if kind == Get || kind == Del {
		value = ""
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.ops) >= r.maxOps {
		return nil, false
	}
	r.ops = append(r.ops, op{client: client, in: input{kind, key, value}, call: r.now()})
	return &Pending{r: r, i: len(r.ops) - 1}, true
}

// OkGet records the reply of a Get: the value, when found.
func (p *Pending) OkGet(value string, found bool) {
	if !found {
		value = ""
	}
	p.finish(Get, done, output{value: value, found: found})
}

// Ok records that a Set was acknowledged.
func (p *Pending) Ok() { p.finish(Set, done, output{}) }

// OkDel records the reply of a Del: the number of keys removed, 0 or 1.
func (p *Pending) OkDel(deleted int64) { p.finish(Del, done, output{deleted: deleted}) }

// Fail records that the operation definitely took no effect; it is dropped
// from the history.
func (p *Pending) Fail() { p.finish(-1, failed, output{}) }

// Unknown records that the outcome is unknown, e.g. a timeout after sending.
// A Set or Del may then take effect at any time after its call; a Get is
// dropped. Operations still open at Check are treated the same way.
func (p *Pending) Unknown() { p.finish(-1, unknown, output{unknown: true}) }

// finish completes the operation; kind, unless -1, must be the operation's.
func (p *Pending) finish(kind Kind, s status, out output) {
	t := p.r.now()
	p.r.mu.Lock()
	defer p.r.mu.Unlock()
	o := &p.r.ops[p.i]
	if o.status != open {
		panic("linearize: operation completed twice")
	}
	if kind != -1 && kind != o.in.kind {
		panic(fmt.Sprintf("linearize: %s completed as %s", o.in.kind, kind))
	}
	o.status, o.out, o.ret = s, out, t
}

// Len returns how many operations Begin has recorded, whatever their outcome.
func (r *Recorder) Len() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.ops)
}

// Full reports whether Begin has recorded maxOps operations and accepts no
// more.
func (r *Recorder) Full() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.ops) >= r.maxOps
}

// history returns the porcupine operations to check.
func (r *Recorder) history() []porcupine.Operation {
	r.mu.Lock()
	defer r.mu.Unlock()
	hist := make([]porcupine.Operation, 0, len(r.ops))
	for _, o := range r.ops {
		ret, out := o.ret, o.out
		switch {
		case o.status == failed:
			continue
		case o.status == done:
		case o.in.kind == Get: // unknown or open read: no constraint
			continue
		default: // unknown or open write
			ret, out = math.MaxInt64, output{unknown: true}
		}
		hist = append(hist, porcupine.Operation{
			ClientId: o.client, Input: o.in, Call: o.call, Output: out, Return: ret,
		})
	}
	return hist
}

// partitionByKey splits a history into one partition per key, in key order.
func partitionByKey(hist []porcupine.Operation) [][]porcupine.Operation {
	byKey := make(map[string][]porcupine.Operation)
	for _, o := range hist {
		k := o.Input.(input).key
		byKey[k] = append(byKey[k], o)
	}
	keys := make([]string, 0, len(byKey))
	for k := range byKey {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([][]porcupine.Operation, len(keys))
	for i, k := range keys {
		parts[i] = byKey[k]
	}
	return parts
}

// Check runs porcupine on the history with a per-key register model, for at
// most timeout. It returns nil when the history is linearizable, an error
// wrapping ErrNotLinearizable that names the bad keys and the path of an HTML
// visualization written to os.TempDir(), or an error wrapping ErrTimeout
// when porcupine gave no verdict in time.
func (r *Recorder) Check(timeout time.Duration) error {
	hist := r.history()
	parts := partitionByKey(hist) // the same partitions, in the same order, as porcupine's
	res, info := porcupine.CheckOperationsVerbose(model, hist, timeout)
	switch res {
	case porcupine.Ok:
		return nil
	case porcupine.Unknown:
		return fmt.Errorf("%w after %v (%d operations on %d keys)", ErrTimeout, timeout, len(hist), len(parts))
	}
	// A partition is linearizable iff some linearization covers all of it.
	var bad []string
	for i, lins := range info.PartialLinearizations() {
		longest := 0
		for _, l := range lins {
			longest = max(longest, len(l))
		}
		if longest < len(parts[i]) {
			bad = append(bad, fmt.Sprintf("%q", parts[i][0].Input.(input).key))
		}
	}
	viz := "not written: "
	if f, err := os.CreateTemp("", "linearize-*.html"); err != nil {
		viz += err.Error()
	} else {
		err = porcupine.Visualize(model, info, f)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			viz += err.Error()
		} else {
			viz = f.Name()
		}
	}
	return fmt.Errorf("%w: keys %s; visualization: %s", ErrNotLinearizable, strings.Join(bad, ", "), viz)
}

// model is the sequential specification of one key.
var model = porcupine.Model{
	Partition: partitionByKey,
	Init:      func() any { return state{} },
	Step: func(s, in, out any) (bool, any) {
		st, i, o := s.(state), in.(input), out.(output)
		switch i.kind {
		case Get:
			return o.found == st.present && o.value == st.value, st
		case Set:
			return true, state{value: i.value, present: true}
		default: // Del
			var n int64
			if st.present {
				n = 1
			}
			return o.unknown || o.deleted == n, state{}
		}
	},
	DescribeOperation: func(in, out any) string {
		i, o := in.(input), out.(output)
		switch {
		case o.unknown:
			return fmt.Sprintf("%s(%q %q) -> ?", i.kind, i.key, i.value)
		case i.kind == Get && o.found:
			return fmt.Sprintf("GET(%q) -> %q", i.key, o.value)
		case i.kind == Get:
			return fmt.Sprintf("GET(%q) -> nil", i.key)
		case i.kind == Set:
			return fmt.Sprintf("SET(%q %q) -> OK", i.key, i.value)
		default:
			return fmt.Sprintf("DEL(%q) -> %d", i.key, o.deleted)
		}
	},
	DescribeState: func(s any) string {
		if st := s.(state); st.present {
			return fmt.Sprintf("%q", st.value)
		}
		return "nil"
	},
}
