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

	"github.com/chkv/chkv/client"
	"github.com/chkv/chkv/common/bytesize"
)

// Pacing of drain's progress. Variables only so that tests can run faster.
var (
	// drainPollInterval is how often drain asks the NameNode for progress.
	drainPollInterval = client.DefaultDrainPoll
	// drainLineInterval is the least time between two progress lines when
	// stdout is not a terminal, or with --output json.
	drainLineInterval = time.Second
)

// progressBarWidth is the number of cells of the progress bar.
const progressBarWidth = 20

// errStoppedWaiting ends a drain command interrupted (Ctrl-C) before the
// drain finished; the drain itself goes on.
var errStoppedWaiting = client.ErrStoppedWaiting

// cmdDrain starts draining a DataNode and, unless --no-wait, shows its
// progress until the node owns no slots.
func cmdDrain(cc *cli.Context) error {
	if cc.NArg() != 1 {
		return fmt.Errorf("drain takes one DataNode ID or address")
	}
	return withAdmin(cc, func(s settings, a *client.Admin) error {
		name := cc.Args().First()
		started, err := a.Drain(cc.Context, name, cc.Bool(flagForce))
		if err != nil {
			return drainRefused(name, err)
		}
		if cc.Bool(flagNoWait) {
			return writeDrainStarted(cc.App.Writer, started, s.json)
		}
		return waitDrained(cc.Context, a, started, newProgressWriter(cc.App.Writer, s.json))
	})
}

// waitDrained shows the progress of the drain started until it ends.
func waitDrained(ctx context.Context, a *client.Admin, started client.DrainStarted, out *progressWriter) error {
	final, err := a.WaitDrained(ctx, started, func(p client.DrainProgress) { out.update(progressView(p), time.Now()) })
	switch {
	case errors.Is(err, client.ErrStoppedWaiting):
		out.abort()
		return fmt.Errorf("%w; the drain of %s goes on: follow it with chkvctl status, or chkvctl drain %s again",
			errStoppedWaiting, started.Node, started.Node)
	case err != nil:
		out.abort()
		return err
	}
	return out.finish(progressView(final))
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
func writeDrainStarted(w io.Writer, r client.DrainStarted, asJSON bool) error {
	if asJSON {
		return writeJSON(w, drainStarted{Node: r.Node, Slots: uint32(r.Slots), Epoch: r.Epoch, Version: r.Version})
	}
	_, err := fmt.Fprintf(w, "%s is draining: %d slots to move (epoch %d, version %d); follow it with chkvctl status\n",
		r.Node, r.Slots, r.Epoch, r.Version)
	return err
}

// drainProgress is how chkvctl shows one progress update of a drain, and
// its --output json form.
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

// progressView is how chkvctl shows p.
func progressView(p client.DrainProgress) drainProgress {
	return drainProgress{
		Node: p.Node, InitialSlots: uint32(p.SlotsTotal), Slots: uint32(max(p.SlotsLeft, 0)),
		SlotsMoved: uint32(p.SlotsMoved()), Percent: p.Percent(),
		KeysMoved: p.KeysMoved, BytesMoved: p.BytesMoved,
		MigratingSlots: int64(p.SlotsMoving), StuckSlots: int64(p.StuckSlots), Done: p.Done,
	}
}

// line renders p as one line of text.
func (p drainProgress) line() string {
	s := fmt.Sprintf("draining %s %s %5.1f%%  %d/%d slots  %d keys  %s moved", p.Node, bar(p.Percent),
		p.Percent, p.SlotsMoved, p.InitialSlots, p.KeysMoved, bytesize.Binary(p.BytesMoved))
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
