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

// Errors that end a session: quit, and IdleTimeout without input.
var (
	errQuit = errors.New("quit")
	errIdle = errors.New("idle")
)

// session is one connection's state; only its goroutine touches it.
type session struct {
	s   *Server
	nc  net.Conn
	log *slog.Logger
	lr  lineReader
	// watchUntil, when non-zero, is the read deadline instead of IdleTimeout.
	watchUntil time.Time
	// inputDone: the peer closed its side (EOF), though it may still read.
	inputDone bool
	// queued is a line typed while progress streamed, to run next.
	queued *string
}

func newSession(s *Server, nc net.Conn) *session {
	c := &session{s: s, nc: nc, log: s.log.With("remote", nc.RemoteAddr().String())}
	c.lr = lineReader{r: c, p: newLineParser(s.cfg.MaxLineBytes)}
	return c
}

// Read reads from the connection under the current read deadline; outside
// watch it fails with errIdle after IdleTimeout without input.
func (c *session) Read(p []byte) (int, error) {
	deadline := c.watchUntil
	if deadline.IsZero() {
		deadline = time.Now().Add(c.s.cfg.IdleTimeout)
	}
	if err := c.nc.SetReadDeadline(deadline); err != nil {
		return 0, err
	}
	n, err := c.nc.Read(p)
	if c.watchUntil.IsZero() && errors.Is(err, os.ErrDeadlineExceeded) {
		err = errIdle
	}
	return n, err
}

// serve runs the session until the peer quits, fails or idles, or the
// server closes.
func (c *session) serve() {
	c.log.Debug("drain port connection")
	err := c.reply(c.greeting())
	for err == nil {
		var line string
		if line, err = c.nextLine(); err == nil {
			err = c.exec(line)
		}
	}
	switch {
	case errors.Is(err, errLineTooLong), errors.Is(err, errBinaryInput):
		c.log.Warn("drain port connection closed on bad input", "err", err)
		c.reply("ERR " + err.Error())
	case errors.Is(err, errIdle):
		c.reply(fmt.Sprintf("ERR idle for %v, closing", c.s.cfg.IdleTimeout))
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

// drain runs k: it checks the token, starts the drain and watches it.
func (c *session) drain(args []string) error {
	cfg := &c.s.cfg
	if len(args) > 1 {
		return c.reply("ERR usage: " + c.kUsage())
	}
	if cfg.Token != "" {
		if len(args) == 0 {
			return c.reply("ERR authentication required: k <cluster-token>")
		}
		if !tokenEqual(args[0], cfg.Token) {
			c.log.Warn("drain port: wrong token")
			return c.reply("ERR wrong token")
		}
	}
	ctx, cancel := context.WithTimeout(c.s.ctx, cfg.StartTimeout)
	err := cfg.Drainer.StartDrain(ctx)
	cancel()
	if err != nil {
		c.log.Warn("drain port: drain failed to start", "err", err)
		return c.reply("ERR " + printable(err.Error(), 512))
	}
	c.log.Info("drain port: drain requested")
	return c.watch()
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
