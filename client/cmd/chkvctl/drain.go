package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/urfave/cli/v2"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/chkv/chkv/common/topology"
	"github.com/chkv/chkv/proto/chkvpb"
)

// Pacing of drain's progress. Variables only so that tests can run faster.
var (
	// drainPollInterval is how often drain asks the NameNode for progress.
	drainPollInterval = 200 * time.Millisecond
	// drainLineInterval is the least time between two progress lines when
	// stdout is not a terminal, or with --output json.
	drainLineInterval = time.Second
)

// progressBarWidth is the number of cells of the progress bar.
const progressBarWidth = 20

// errStoppedWaiting ends a drain command interrupted (Ctrl-C) before the
// drain finished; the drain itself goes on.
var errStoppedWaiting = errors.New("stopped waiting")

// cmdDrain starts draining a DataNode and, unless --no-wait, shows its
// progress until the node owns no slots.
func cmdDrain(cc *cli.Context) error {
	if cc.NArg() != 1 {
		return fmt.Errorf("drain takes one DataNode ID or address")
	}
	s, err := settingsFrom(cc)
	if err != nil {
		return err
	}
	nns, err := dialNameNodes(s)
	if err != nil {
		return err
	}
	defer nns.Close()
	name := cc.Args().First()
	resp, err := nns.drain(cc.Context, cc.App.ErrWriter, name, cc.Bool(flagForce))
	if err != nil {
		return drainRefused(name, err)
	}
	if cc.Bool(flagNoWait) {
		return writeDrainStarted(cc.App.Writer, resp, s.json)
	}
	d := &drainWait{nns: nns, id: resp.GetNodeId(), initial: resp.GetSlots(), remaining: resp.GetSlots(),
		timeout: s.timeout, out: newProgressWriter(cc.App.Writer, s.json)}
	return d.run(cc.Context)
}

// drainRefused explains why the NameNode did not start the drain.
func drainRefused(name string, err error) error {
	switch status.Code(err) {
	case codes.NotFound:
		return fmt.Errorf("drain %s: no such DataNode (give its ID, RESP address or gRPC address, as chkvctl status lists them): %w", name, err)
	case codes.FailedPrecondition:
		return fmt.Errorf("drain %s refused: %w", name, err)
	}
	return fmt.Errorf("drain %s: %w", name, err)
}

// drainStarted is what drain --no-wait prints.
type drainStarted struct {
	Node    string `json:"node"`
	Slots   uint32 `json:"slots"`
	Epoch   uint64 `json:"epoch"`
	Version uint64 `json:"version"`
}

// writeDrainStarted reports a drain that drain --no-wait does not follow.
func writeDrainStarted(w io.Writer, r *chkvpb.DrainResponse, asJSON bool) error {
	if asJSON {
		return writeJSON(w, drainStarted{Node: r.GetNodeId(), Slots: r.GetSlots(), Epoch: r.GetEpoch(), Version: r.GetVersion()})
	}
	_, err := fmt.Fprintf(w, "%s is draining: %d slots to move (epoch %d, version %d); follow it with chkvctl status\n",
		r.GetNodeId(), r.GetSlots(), r.GetEpoch(), r.GetVersion())
	return err
}

// drainWait follows one drain until it ends.
type drainWait struct {
	nns       *nameNodes
	id        string        // the draining DataNode's ID
	initial   uint32        // slots it owned when the drain began
	remaining uint32        // slots it owned at the last answer
	timeout   time.Duration // how long the NameNodes may stay unreachable
	out       *progressWriter

	base   *chkvpb.Load // its migration totals at the first answer
	lastOK time.Time    // when the last answer came
	// When the drain was first seen done, and its progress then. The
	// node's totals come with its heartbeats, so drain waits for one more
	// before it prints the final figures.
	doneAt time.Time
	final  drainProgress
}

// run polls the NameNodes every drainPollInterval until the drain is
// done, the node goes down, the NameNodes stay unreachable longer than the
// timeout, or ctx ends (errStoppedWaiting).
func (d *drainWait) run(ctx context.Context) error {
	d.lastOK = time.Now()
	tick := time.NewTicker(drainPollInterval)
	defer tick.Stop()
	for {
		resp, err := d.nns.newestStatus(ctx)
		if ctx.Err() != nil {
			return d.stopped()
		}
		if done, err := d.observe(resp, err, time.Now()); done || err != nil {
			return err
		}
		select {
		case <-ctx.Done():
			return d.stopped()
		case <-tick.C:
		}
	}
}

// observe takes one answer (or failure) of Status received at now, prints
// the progress and reports whether the drain is done.
func (d *drainWait) observe(resp *chkvpb.StatusResponse, err error, now time.Time) (bool, error) {
	if !d.doneAt.IsZero() {
		return d.settle(resp, err, now)
	}
	if err != nil {
		if down := now.Sub(d.lastOK); down > d.timeout {
			d.out.abort()
			return false, fmt.Errorf("NameNode unreachable for %v, longer than --%s; the drain of %s may go on: %w",
				down.Round(time.Millisecond), flagTimeout, d.id, err)
		}
		return false, nil
	}
	d.lastOK = now
	p, err := d.progress(resp)
	if err != nil {
		d.out.abort()
		return false, err
	}
	if p.Done {
		d.doneAt, d.final = now, p
		p.Done = false // until the totals are final
	}
	d.out.update(p, now)
	return false, nil
}

// settle takes an answer (or failure) of Status received at now, after the
// drain was seen done, and reports whether to stop: once the node has sent
// a heartbeat since, with its final totals, or when that can no longer be
// learnt (the node stopped, the NameNode is unreachable, the timeout
// passed). The drain is done either way.
func (d *drainWait) settle(resp *chkvpb.StatusResponse, err error, now time.Time) (bool, error) {
	var n *chkvpb.NodeStatus
	if err == nil {
		n = findNode(resp, d.id)
	}
	switch {
	case n == nil || !drainingOrDrained(n) || n.GetSlots() != 0:
		return true, d.out.finish(d.final)
	case n.GetHeartbeatAgeMs() >= 0 && now.Add(-time.Duration(n.GetHeartbeatAgeMs())*time.Millisecond).After(d.doneAt):
		p, err := d.progress(resp)
		if err != nil || !p.Done {
			p = d.final
		}
		return true, d.out.finish(p)
	case now.Sub(d.doneAt) > d.timeout:
		return true, d.out.finish(d.final)
	}
	return false, nil
}

// stopped ends a wait interrupted by its context: with the drain's end
// when it is done, else with errStoppedWaiting.
func (d *drainWait) stopped() error {
	if !d.doneAt.IsZero() {
		return d.out.finish(d.final)
	}
	d.out.abort()
	return fmt.Errorf("%w; the drain of %s goes on: follow it with chkvctl status, or chkvctl drain %s again",
		errStoppedWaiting, d.id, d.id)
}

// progress computes the drain's progress from the NameNode's status, or
// fails when the node is no longer draining.
func (d *drainWait) progress(resp *chkvpb.StatusResponse) (drainProgress, error) {
	n := findNode(resp, d.id)
	if n == nil {
		return drainProgress{}, fmt.Errorf("%s is no longer listed by the NameNode, with %d of its %d slots not moved",
			d.id, d.remaining, d.initial)
	}
	switch st := topology.State(n.GetNode().GetState()); st {
	case topology.Draining, topology.Drained:
	case topology.Down:
		return drainProgress{}, fmt.Errorf("%s went down during the drain, with %d of its %d slots not moved",
			d.id, d.remaining, d.initial)
	default:
		return drainProgress{}, fmt.Errorf("%s is %s, no longer draining, with %d of its %d slots not moved",
			d.id, st, d.remaining, d.initial)
	}
	load := n.GetNode().GetLoad()
	if d.base == nil {
		d.base = load
		if d.base == nil {
			d.base = &chkvpb.Load{}
		}
	}
	d.remaining = n.GetSlots()
	moved := d.initial - min(d.remaining, d.initial)
	p := drainProgress{
		Node: d.id, InitialSlots: d.initial, Slots: d.remaining, SlotsMoved: moved, Percent: 100,
		KeysMoved:      max(0, load.GetKeysMoved()-d.base.GetKeysMoved()),
		BytesMoved:     max(0, load.GetBytesMoved()-d.base.GetBytesMoved()),
		MigratingSlots: load.GetMigratingSlots(),
		StuckSlots:     load.GetStuckSlots(),
		Done:           n.GetSlots() == 0 && n.GetSlotsOut() == 0,
	}
	if d.initial > 0 {
		p.Percent = 100 * float64(moved) / float64(d.initial)
	}
	return p, nil
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

// drainProgress is one progress update of a drain.
type drainProgress struct {
	Node         string `json:"node"`
	InitialSlots uint32 `json:"initial_slots"`
	// Slots the node still owns, and those it has handed off in this drain.
	Slots      uint32  `json:"slots"`
	SlotsMoved uint32  `json:"slots_moved"`
	Percent    float64 `json:"percent"`
	// Keys and bytes the node has handed off since the first update.
	KeysMoved  int64 `json:"keys_moved"`
	BytesMoved int64 `json:"bytes_moved"`
	// Slots moving right now, and those whose move keeps failing.
	MigratingSlots int64 `json:"migrating_slots"`
	StuckSlots     int64 `json:"stuck_slots"`
	Done           bool  `json:"done"`
}

// line renders p as one line of text.
func (p drainProgress) line() string {
	s := fmt.Sprintf("draining %s %s %5.1f%%  %d/%d slots  %d keys  %s moved", p.Node, bar(p.Percent),
		p.Percent, p.SlotsMoved, p.InitialSlots, p.KeysMoved, humanBytes(p.BytesMoved))
	if p.StuckSlots > 0 {
		s += fmt.Sprintf("  %d stuck", p.StuckSlots)
	}
	return s
}

// bar draws pct (0 to 100) as [####......].
func bar(pct float64) string {
	n := min(max(int(pct/100*progressBarWidth), 0), progressBarWidth)
	return "[" + strings.Repeat("#", n) + strings.Repeat(".", progressBarWidth-n) + "]"
}

// progressMode is how a progressWriter prints.
type progressMode int

const (
	// modeTerminal redraws one line with \r at each change.
	modeTerminal progressMode = iota
	// modeLines prints a line per change, at most every drainLineInterval.
	modeLines
	// modeJSON prints a JSON object per change, at most every
	// drainLineInterval.
	modeJSON
)

// progressWriter prints a drain's progress.
type progressWriter struct {
	w       io.Writer
	mode    progressMode
	last    drainProgress // printed last
	printed bool          // anything at all
	at      time.Time     // when last was printed
	width   int           // of the terminal line
}

// newProgressWriter prints to w: JSON when asJSON, else a redrawn line
// when w is a terminal, else plain lines.
func newProgressWriter(w io.Writer, asJSON bool) *progressWriter {
	mode := modeLines
	switch {
	case asJSON:
		mode = modeJSON
	case isTerminal(w):
		mode = modeTerminal
	}
	return &progressWriter{w: w, mode: mode}
}

// isTerminal reports whether w is a terminal.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// update prints p, received at now, if it differs from what was printed
// last: at once on a terminal, otherwise no sooner than drainLineInterval
// after the previous line (a later update prints it).
func (pw *progressWriter) update(p drainProgress, now time.Time) {
	if pw.printed && p == pw.last {
		return
	}
	if pw.mode != modeTerminal && pw.printed && now.Sub(pw.at) < drainLineInterval {
		return
	}
	pw.print(p)
	pw.last, pw.printed, pw.at = p, true, now
}

// print writes p in the writer's mode.
func (pw *progressWriter) print(p drainProgress) {
	switch pw.mode {
	case modeJSON:
		b, _ := json.Marshal(p)
		fmt.Fprintf(pw.w, "%s\n", b)
	case modeTerminal:
		line := p.line()
		fmt.Fprintf(pw.w, "\r%-*s", pw.width, line) // pads over a longer previous line
		pw.width = len(line)
	default:
		fmt.Fprintln(pw.w, p.line())
	}
}

// finish prints the final progress p (Done) and, except in JSON, that the
// node can be stopped.
func (pw *progressWriter) finish(p drainProgress) error {
	if pw.mode == modeJSON {
		b, err := json.Marshal(p)
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(pw.w, "%s\n", b)
		return err
	}
	shown := pw.last
	shown.Done = p.Done
	if pw.mode == modeTerminal || !pw.printed || shown != p {
		pw.print(p) // the last line shows 100%, once
	}
	pw.abort()
	_, err := fmt.Fprintf(pw.w, "%s drained: owns no slots and can be stopped\n", p.Node)
	return err
}

// abort ends the terminal line, so that what follows starts on its own.
func (pw *progressWriter) abort() {
	if pw.mode == modeTerminal && pw.width > 0 {
		fmt.Fprintln(pw.w)
		pw.width = 0
	}
}
