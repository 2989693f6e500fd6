package drainport

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"strings"
	"time"

	"github.com/chkv/chkv/common/netaddr"
)

// Lingering close: after its last reply a session discards up to
// lingerBytes of unread input for up to lingerTimeout, so closing does not
// reset the connection before the peer reads that reply.
const (
	lingerTimeout = 500 * time.Millisecond
	lingerBytes   = 64 << 10
)

// maxEcho bounds the part of an unknown command echoed back.
const maxEcho = 64

// Errors that end a session: quit, no input for the idle limit, and
// eviction to make room for a new connection.
var (
	errQuit    = errors.New("quit")
	errIdle    = errors.New("idle")
	errEvicted = errors.New("evicted")
)

// Retrying StartDrain while no NameNode is active: the first pause, and
// the longest.
const (
	startRetryMin = 100 * time.Millisecond
	startRetryMax = time.Second
)

// session is one connection's state; only its goroutine touches it.
type session struct {
	s   *Server
	nc  net.Conn
	st  *connState
	log *slog.Logger
	lr  lineReader
	// commanded: the peer has typed a command; until then the idle limit
	// is FirstCommandTimeout.
	commanded bool
	// watchUntil, when non-zero, is the read deadline instead of IdleTimeout.
	watchUntil time.Time
	// inputDone: the peer closed its side (EOF), though it may still read.
	inputDone bool
	// queued is a line typed while progress streamed, to run next.
	queued *string
}

func newSession(s *Server, nc net.Conn, st *connState) *session {
	c := &session{s: s, nc: nc, st: st, log: s.log.With("remote", nc.RemoteAddr().String())}
	c.lr = lineReader{r: c, p: newLineParser(s.cfg.MaxLineBytes)}
	return c
}

// Read reads from the connection under the current read deadline; outside
// watch it fails with errIdle after the idle limit without input. It fails
// with errEvicted once the server has evicted the session: the server sets
// the flag, then a past read deadline, so either the check here or the
// read sees it.
func (c *session) Read(p []byte) (int, error) {
	deadline := c.watchUntil
	if deadline.IsZero() {
		deadline = time.Now().Add(c.idleLimit())
	}
	if err := c.nc.SetReadDeadline(deadline); err != nil {
		return 0, err
	}
	if c.st.evicted.Load() {
		return 0, errEvicted
	}
	n, err := c.nc.Read(p)
	switch {
	case !errors.Is(err, os.ErrDeadlineExceeded):
	case c.st.evicted.Load():
		err = errEvicted
	case c.watchUntil.IsZero():
		err = errIdle
	}
	return n, err
}

// idleLimit is how long the session may wait for input outside watch:
// FirstCommandTimeout until the first command, then IdleTimeout.
func (c *session) idleLimit() time.Duration {
	if !c.commanded {
		return min(c.s.cfg.FirstCommandTimeout, c.s.cfg.IdleTimeout)
	}
	return c.s.cfg.IdleTimeout
}

// serve runs the session until the peer quits, fails or idles, or the
// server closes.
func (c *session) serve() {
	c.log.Debug("drain port connection")
	err := c.reply(c.greeting())
	for err == nil {
		var line string
		if line, err = c.nextLine(); err != nil {
			break
		}
		if c.s.setIdle(c.st, false) {
			err = errEvicted // evicted just as the line came: do not run it
			break
		}
		err = c.exec(line)
		c.s.setIdle(c.st, true)
	}
	switch {
	case errors.Is(err, errLineTooLong), errors.Is(err, errBinaryInput):
		c.log.Warn("drain port connection closed on bad input", "err", err)
		c.reply("ERR " + err.Error())
	case errors.Is(err, errEvicted):
		c.reply(fmt.Sprintf("ERR closing: %d connections are open and this one has waited longest for a command", c.s.cfg.MaxConns))
		return // no lingering: the room is for the new connection
	case errors.Is(err, errIdle) && !c.commanded && c.idleLimit() < c.s.cfg.IdleTimeout:
		c.reply(fmt.Sprintf("ERR no command within %v, closing", c.idleLimit()))
	case errors.Is(err, errIdle):
		c.reply(fmt.Sprintf("ERR idle for %v, closing", c.idleLimit()))
	}
	c.linger()
}

// nextLine returns the queued line, else reads one.
func (c *session) nextLine() (string, error) {
	if q := c.queued; q != nil {
		c.queued = nil
		return *q, nil
	}
	if c.inputDone {
		return "", io.EOF
	}
	return c.lr.readLine()
}

// exec runs one command line; an error ends the session.
func (c *session) exec(line string) error {
	fields := strings.Fields(line)
	if len(fields) == 0 {
		return nil
	}
	c.commanded = true
	switch strings.ToLower(fields[0]) {
	case "k":
		return c.drain(fields[1:])
	case "status":
		return c.reply(statusLine(c.s.cfg.Drainer.Progress(), c.s.cfg.PID))
	case "help", "?":
		return c.reply(c.help()...)
	case "quit", "exit":
		c.reply("bye")
		return errQuit
	}
	return c.reply(fmt.Sprintf("ERR unknown command '%s'; type 'help'", printable(fields[0], maxEcho)))
}

// drain runs k: it checks who may drain, starts the drain and watches it.
// k alone is accepted only from a loopback peer; k <token> only when the
// token is configured and matches.
func (c *session) drain(args []string) error {
	cfg := &c.s.cfg
	switch {
	case len(args) > 1:
		return c.reply("ERR usage: " + c.kUsage())
	case len(args) == 1 && cfg.Token == "":
		return c.reply("ERR this node has no cluster token: type k alone, from the node itself")
	case len(args) == 1 && !tokenEqual(args[0], cfg.Token):
		c.log.Warn("drain port: wrong token")
		return c.reply("ERR wrong token")
	case len(args) == 0 && !netaddr.IsLoopback(c.nc.RemoteAddr()):
		c.log.Warn("drain port: k without the token from a remote peer")
		return c.reply("ERR authentication required: k <cluster-token> (k alone only from the node itself)")
	}
	if err := c.startDrain(); err != nil {
		c.log.Warn("drain port: drain failed to start", "err", err)
		return c.reply("ERR " + printable(err.Error(), 512))
	}
	c.log.Info("drain port: drain requested")
	return c.watch()
}

// startDrain calls Drainer.StartDrain within StartTimeout, retrying while
// it answers ErrNoActiveNameNode (a NameNode failover is under way), and
// tells the peer it is waiting.
func (c *session) startDrain() error {
	cfg := &c.s.cfg
	ctx, cancel := context.WithTimeout(c.s.ctx, cfg.StartTimeout)
	defer cancel()
	pause, waiting := startRetryMin, false
	for {
		err := cfg.Drainer.StartDrain(ctx)
		if err == nil || !errors.Is(err, ErrNoActiveNameNode) {
			return err
		}
		if !waiting {
			waiting = true
			c.log.Info("drain port: waiting for an active NameNode", "err", err)
			if werr := c.reply("waiting for an active NameNode"); werr != nil {
				return werr
			}
		}
		t := time.NewTimer(pause)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("no active NameNode within %v: %w", cfg.StartTimeout, err)
		}
		pause = min(2*pause, startRetryMax)
	}
}

// watch prints progress every ProgressInterval until the drain is done or
// stops, or the peer types a line: then it queues that line and returns.
func (c *session) watch() error {
	cfg := &c.s.cfg
	sawDraining := false
	for {
		p := cfg.Drainer.Progress()
		switch {
		case p.Done:
			c.log.Info("drain port: node drained")
			return c.reply(progressLine(p), fmt.Sprintf("drained: node %s owns no slots and can be stopped (pid %d)", c.nodeName(), cfg.PID))
		case p.Draining:
			sawDraining = true
		case sawDraining:
			return c.reply(fmt.Sprintf("ERR the drain stopped before the node was drained (state %s)", printable(p.State, maxEcho)))
		}
		if err := c.reply(progressLine(p)); err != nil {
			return err
		}
		deadline := time.Now().Add(cfg.ProgressInterval)
		if !c.inputDone {
			c.watchUntil = deadline
			line, err := c.lr.readLine()
			c.watchUntil = time.Time{}
			switch {
			case err == nil:
				c.queued = &line
				return c.reply("stopped watching; the drain goes on (type 'status' or 'k' to see it)")
			case errors.Is(err, os.ErrDeadlineExceeded):
				continue
			case err == io.EOF: // half-closed: keep streaming until a write fails
				c.inputDone = true
			default:
				return err
			}
		}
		t := time.NewTimer(time.Until(deadline))
		select {
		case <-t.C:
		case <-c.s.ctx.Done():
			t.Stop()
			return ErrClosed
		}
	}
}

// reply writes lines, each ended by \r\n, under WriteTimeout.
func (c *session) reply(lines ...string) error {
	var b strings.Builder
	for _, l := range lines {
		b.WriteString(l)
		b.WriteString("\r\n")
	}
	if err := c.nc.SetWriteDeadline(time.Now().Add(c.s.cfg.WriteTimeout)); err != nil {
		return err
	}
	_, err := io.WriteString(c.nc, b.String())
	return err
}

// linger half-closes the connection and discards what the peer still
// sends, within bounds, so the last reply is not lost to a reset.
func (c *session) linger() {
	if c.s.ctx.Err() != nil {
		return
	}
	if cw, ok := c.nc.(interface{ CloseWrite() error }); ok {
		cw.CloseWrite()
	}
	c.nc.SetReadDeadline(time.Now().Add(lingerTimeout))
	io.CopyN(io.Discard, c.nc, lingerBytes)
}

func (c *session) nodeName() string {
	if c.s.cfg.NodeID == "" {
		return "(unnamed)"
	}
	return printable(c.s.cfg.NodeID, maxEcho)
}

func (c *session) greeting() string {
	return fmt.Sprintf("CHKV DataNode %s drain port. Type 'help'.", c.nodeName())
}

func (c *session) kUsage() string {
	if c.s.cfg.Token != "" {
		return "k <cluster-token>"
	}
	return "k"
}

func (c *session) help() []string {
	return []string{
		"commands:",
		fmt.Sprintf("  %-19s drain this node: move all its slots away, watching progress", c.kUsage()),
		"                      (type any line to stop watching; the drain goes on)",
		"  status              show the node's state and drain progress",
		"  help                show this help",
		"  quit                close the connection (exit works too)",
	}
}

// tokenEqual compares tokens in constant time, their lengths included.
func tokenEqual(got, want string) bool {
	g, w := sha256.Sum256([]byte(got)), sha256.Sum256([]byte(want))
	return subtle.ConstantTimeCompare(g[:], w[:]) == 1
}
