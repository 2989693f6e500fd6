package sim

import (
	"container/heap"
	"fmt"
	"math/rand/v2"
	"time"
)

// event is something that happens at true time at: a timer firing or a
// message arriving. seq orders events of the same instant.
type event struct {
	at   time.Duration
	seq  uint64
	node string // the node it happens on; "" for the simulator's own
	fn   func()
}

type eventHeap []*event

func (h eventHeap) Len() int { return len(h) }
func (h eventHeap) Less(i, j int) bool {
	if h[i].at != h[j].at {
		return h[i].at < h[j].at
	}
	return h[i].seq < h[j].seq
}
func (h eventHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *eventHeap) Push(x any)   { *h = append(*h, x.(*event)) }
func (h *eventHeap) Pop() any {
	old := *h
	e := old[len(old)-1]
	*h = old[:len(old)-1]
	return e
}

// host is what the engine knows of a node: whether it runs, whether it is
// paused and until when, and its process generation (a restart makes the
// old process's timers and messages void).
type host struct {
	id       string
	clk      clock
	up       bool
	pausedTo time.Duration // paused until this true time; 0 when running
	gen      int
}

// engine runs events in true-time order.
type engine struct {
	now   time.Duration
	seq   uint64
	queue eventHeap
	rng   *rand.Rand
	hosts map[string]*host
	trace []string // the last events, for a failure report
	steps int
}

const traceLen = 60

// at schedules fn on node at true time at, for the node's current
// process: it is dropped if the process crashed or was restarted, and
// deferred while the node is paused.
func (e *engine) at(at time.Duration, node string, fn func()) {
	if at < e.now {
		at = e.now
	}
	if node != "" {
		h := e.hosts[node]
		gen := h.gen
		inner := fn
		fn = func() {
			switch {
			case !h.up || h.gen != gen:
			case h.pausedTo > e.now:
				e.at(h.pausedTo, "", func() { e.deliverLater(h, gen, inner) })
			default:
				inner()
			}
		}
		node = ""
	}
	e.seq++
	heap.Push(&e.queue, &event{at: at, seq: e.seq, fn: fn})
}

// deliverLater runs fn on h after a pause, if the process still runs.
func (e *engine) deliverLater(h *host, gen int, fn func()) {
	switch {
	case !h.up || h.gen != gen:
	case h.pausedTo > e.now:
		e.at(h.pausedTo, "", func() { e.deliverLater(h, gen, fn) })
	default:
		fn()
	}
}

// after schedules fn on node after d on the node's own clock.
func (e *engine) after(node string, d time.Duration, fn func()) {
	h := e.hosts[node]
	e.at(h.clk.global(h.clk.local(e.now)+d), node, fn)
}

// localNow is node's clock reading now.
func (e *engine) localNow(node string) time.Duration { return e.hosts[node].clk.local(e.now) }

// step runs the next event; false when none is left before end.
func (e *engine) step(end time.Duration) bool {
	if len(e.queue) == 0 || e.queue[0].at > end {
		return false
	}
	ev := heap.Pop(&e.queue).(*event)
	e.now = ev.at
	e.steps++
	ev.fn()
	return true
}

// logf records a line in the trace.
func (e *engine) logf(format string, args ...any) {
	line := fmt.Sprintf("%9.3fs ", e.now.Seconds()) + fmt.Sprintf(format, args...)
	if len(e.trace) == traceLen {
		copy(e.trace, e.trace[1:])
		e.trace = e.trace[:traceLen-1]
	}
	e.trace = append(e.trace, line)
}

// jitter returns a duration uniform in [lo, hi].
func (e *engine) jitter(lo, hi time.Duration) time.Duration {
	if hi <= lo {
		return lo
	}
	return lo + time.Duration(e.rng.Int64N(int64(hi-lo)+1))
}

// chance reports true with probability p.
func (e *engine) chance(p float64) bool { return e.rng.Float64() < p }
