package client

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/chkv/chkv/common/nnset"
	"github.com/chkv/chkv/common/topology"
	"github.com/chkv/chkv/proto/chkvpb"
)

// WaitDrained follows the drain d (what Drain returned) until the node
// owns no slots, calling progress (when not nil) with each update, and
// returns the final progress, Done. The node's migration totals come
// with its heartbeats, so once the NameNodes show it owning nothing
// WaitDrained waits for one more heartbeat (up to the timeout) for the
// final figures. It fails when the node goes down, stops draining or is
// no longer listed, or when no NameNode answers for longer than the
// timeout; when ctx ends first it returns the last progress and an error
// wrapping ErrStoppedWaiting and ctx's error. The drain itself goes on in
// every case.
func (a *Admin) WaitDrained(ctx context.Context, d DrainStarted, progress func(DrainProgress)) (DrainProgress, error) {
	w := &drainWaiter{a: a, id: d.Node, initial: d.Slots, remaining: d.Slots, progress: progress, lastOK: time.Now()}
	w.last = DrainProgress{Node: d.Node, Draining: true, SlotsTotal: d.Slots, SlotsLeft: d.Slots}
	tick := time.NewTicker(a.opts.poll)
	defer tick.Stop()
	for {
		resp, err := a.set.NewestStatus(ctx)
		if ctx.Err() != nil {
			return w.stopped(ctx)
		}
		if errors.Is(err, nnset.ErrClosed) {
			return w.last, fmt.Errorf("client: %w", err)
		}
		if done, err := w.observe(resp, err, time.Now()); done || err != nil {
			return w.final, err
		}
		select {
		case <-ctx.Done():
			return w.stopped(ctx)
		case <-tick.C:
		}
	}
}

// drainWaiter is the state of one WaitDrained.
type drainWaiter struct {
	a         *Admin
	id        string // the draining DataNode's ID
	initial   int    // slots it owned when the drain began
	remaining int    // slots it owned at the last answer
	progress  func(DrainProgress)

	base   *chkvpb.Load  // its migration totals at the first answer
	lastOK time.Time     // when the last answer came
	last   DrainProgress // reported last
	// When the drain was first seen done, and its progress then.
	doneAt time.Time
	final  DrainProgress
}

// observe takes one answer (or failure) of Status received at now,
// reports the progress and whether the drain is done.
func (w *drainWaiter) observe(resp *chkvpb.StatusResponse, err error, now time.Time) (bool, error) {
	if !w.doneAt.IsZero() {
		return w.settle(resp, err, now), nil
	}
	if err != nil {
		if down := now.Sub(w.lastOK); down > w.a.timeout {
			return false, fmt.Errorf("NameNode unreachable for %v, longer than %s; the drain of %s may go on: %w",
				down.Round(time.Millisecond), w.a.timeoutName(), w.id, err)
		}
		return false, nil
	}
	w.lastOK = now
	p, err := w.progressOf(resp)
	if err != nil {
		return false, err
	}
	if p.Done {
		w.doneAt, w.final = now, p
		p.Done = false // until the totals are final
	}
	w.report(p)
	return false, nil
}

// settle takes an answer (or failure) of Status received at now, after
// the drain was seen done, and reports whether to stop: once the node has
// sent a heartbeat since, with its final totals, or when that can no
// longer be learnt (the node stopped, the NameNode is unreachable, the
// timeout passed). The drain is done either way.
func (w *drainWaiter) settle(resp *chkvpb.StatusResponse, err error, now time.Time) bool {
	var n *chkvpb.NodeStatus
	if err == nil {
		n = findNode(resp, w.id)
	}
	switch {
	case n == nil || !drainingOrDrained(n) || n.GetSlots() != 0:
		return true
	case n.GetHeartbeatAgeMs() >= 0 && now.Add(-time.Duration(n.GetHeartbeatAgeMs())*time.Millisecond).After(w.doneAt):
		if p, err := w.progressOf(resp); err == nil && p.Done {
			w.final = p
		}
		return true
	case now.Sub(w.doneAt) > w.a.timeout:
		return true
	}
	return false
}

// stopped ends a wait interrupted by ctx: with the drain's end when it is
// done, else with ErrStoppedWaiting.
func (w *drainWaiter) stopped(ctx context.Context) (DrainProgress, error) {
	if !w.doneAt.IsZero() {
		return w.final, nil
	}
	return w.last, fmt.Errorf("%w; the drain of %s goes on: %w", ErrStoppedWaiting, w.id, context.Cause(ctx))
}

func (w *drainWaiter) report(p DrainProgress) {
	w.last = p
	if w.progress != nil {
		w.progress(p)
	}
}

// progressOf computes the drain's progress from a NameNode's status, or
// fails when the node is no longer draining.
func (w *drainWaiter) progressOf(resp *chkvpb.StatusResponse) (DrainProgress, error) {
	n := findNode(resp, w.id)
	if n == nil {
		return DrainProgress{}, fmt.Errorf("%s is no longer listed by the NameNode, with %d of its %d slots not moved",
			w.id, w.remaining, w.initial)
	}
	st := topology.State(n.GetNode().GetState())
	switch st {
	case topology.Draining, topology.Drained:
	case topology.Down:
		return DrainProgress{}, fmt.Errorf("%s went down during the drain, with %d of its %d slots not moved",
			w.id, w.remaining, w.initial)
	default:
		return DrainProgress{}, fmt.Errorf("%s is %s, no longer draining, with %d of its %d slots not moved",
			w.id, st, w.remaining, w.initial)
	}
	load := n.GetNode().GetLoad()
	if w.base == nil {
		w.base = load
		if w.base == nil {
			w.base = &chkvpb.Load{}
		}
	}
	w.remaining = int(n.GetSlots())
	return DrainProgress{
		Node: w.id, State: st.String(), Draining: true,
		SlotsTotal: w.initial, SlotsLeft: w.remaining,
		SlotsMoving: int(load.GetMigratingSlots()), StuckSlots: int(load.GetStuckSlots()),
		KeysMoved:  max(0, load.GetKeysMoved()-w.base.GetKeysMoved()),
		BytesMoved: max(0, load.GetBytesMoved()-w.base.GetBytesMoved()),
		Done:       n.GetSlots() == 0 && n.GetSlotsOut() == 0,
	}, nil
}

// timeoutName names the timeout in errors.
func (a *Admin) timeoutName() string {
	if a.opts.timeoutName != "" {
		return a.opts.timeoutName
	}
	return a.timeout.String()
}

// drainingOrDrained reports whether n is draining or has been drained.
func drainingOrDrained(n *chkvpb.NodeStatus) bool {
	st := topology.State(n.GetNode().GetState())
	return st == topology.Draining || st == topology.Drained
}

// findNode returns the node of r with ID id, or nil.
func findNode(r *chkvpb.StatusResponse, id string) *chkvpb.NodeStatus {
	for _, n := range r.GetNodes() {
		if n.GetNode().GetId() == id {
			return n
		}
	}
	return nil
}
