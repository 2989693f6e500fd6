package datanode

import (
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// monitorCommand is MONITOR.
func monitorCommand() *command {
	return &command{name: "monitor", arity: 1, flags: flagAdmin | flagNoScript | flagLoading | flagStale, run: cmdMonitor,
		doc: commandDoc{"server", "Listen for all requests received by the server in real time", "1.0.0", "O(1)", ""}}
}

// errMonitorInMulti is Redis's reply to MONITOR run by EXEC.
const errMonitorInMulti = "ERR MONITOR isn't allowed for DENY BLOCKING client"

// errMonitorKeyspace is Redis's reply to a monitor that sends a command
// touching the keyspace (a monitor is a replica to Redis).
const errMonitorKeyspace = "ERR Replica can't interact with the keyspace"

// DefaultMonitorOutputLimit bounds what may wait for a monitor when the
// client-output-buffer-limit of the normal class is 0 0 0 (Redis's
// default, unlimited): the pubsub class's defaults, so that a monitor that
// cannot keep up is disconnected rather than growing memory without bound.
var DefaultMonitorOutputLimit = DefaultOutputBufferLimits.PubSub

// monitors are the clients in MONITOR mode. n is read on every command
// without the lock: when it is 0, feeding costs one atomic load.
type monitors struct {
	n    atomic.Int32
	mu   sync.Mutex
	list []*client
}

// add makes c a monitor; false if it was one already.
func (m *monitors) add(c *client) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, x := range m.list {
		if x == c {
			return false
		}
	}
	m.list = append(m.list, c)
	m.n.Store(int32(len(m.list)))
	return true
}

// drop removes c, when it leaves MONITOR mode or disconnects.
func (m *monitors) drop(c *client) {
	m.mu.Lock()
	m.removeLocked(c)
	m.mu.Unlock()
}

func (m *monitors) removeLocked(c *client) {
	for i, x := range m.list {
		if x == c {
			m.list = append(m.list[:i], m.list[i+1:]...)
			m.n.Store(int32(len(m.list)))
			c.monitoring.Store(false)
			return
		}
	}
}

// cmdMonitor turns the connection into a monitor: it receives, through its
// outbox, every command the server runs from now on. A second MONITOR is
// ignored without a reply, as in Redis.
func cmdMonitor(c *client, _ [][]byte) {
	if c.held != nil { // run by EXEC
		c.replyError(errMonitorInMulti)
		return
	}
	if c.monitoring.Load() {
		return
	}
	c.monitoring.Store(true)
	c.srv.monitors.add(c)
	c.replyOK()
}

// maybeFeedMonitors feeds the monitors with args, which c ran with cmd,
// unless cmd (or its subcommand) is administrative or skip_monitor, as
// Redis's call does once the command has run.
func (s *Server) maybeFeedMonitors(c *client, cmd *command, args [][]byte) {
	flags := cmd.flags
	if cmd.subcommands != nil && len(args) > 1 {
		if sub := cmd.subcommand(args[1]); sub != nil {
			flags |= sub.flags
		}
	}
	if flags&(flagAdmin|flagSkipMonitor) != 0 {
		return
	}
	s.feedMonitors(c, args, c.inScript)
}

// monitorLimit is the output limit of monitors: the normal class's, or
// DefaultMonitorOutputLimit when that is unlimited.
func monitorLimit(st *Settings) outputBufferLimit {
	if l := st.OutputBufferLimits.Normal; l.Hard != 0 || l.Soft != 0 {
		return l
	}
	return DefaultMonitorOutputLimit
}

// feedMonitors sends args, run by c (from a script when fromScript), to
// every monitor, as Redis's replicationFeedMonitors. A monitor past its
// output limit is disconnected and dropped.
func (s *Server) feedMonitors(c *client, args [][]byte, fromScript bool) {
	m := &s.monitors
	lim := monitorLimit(s.settings.Load())
	var queued int64
	m.mu.Lock()
	now := time.Now()
	line := appendMonitorLine(make([]byte, 0, 64), now, c, redactArgs(args), fromScript)
	for i := 0; i < len(m.list); {
		mc := m.list[i]
		if mc.push(line, lim, now) {
			queued += int64(len(line))
			i++
			continue
		}
		m.removeLocked(mc)
	}
	m.mu.Unlock()
	s.memory.clientBuffers.Add(queued)
}

// appendMonitorLine appends MONITOR's line for args: a status reply with
// the time, the database and the client, and the arguments quoted as
// Redis's sdscatrepr.
func appendMonitorLine(b []byte, now time.Time, c *client, args [][]byte, fromScript bool) []byte {
	b = append(b, '+')
	b = strconv.AppendInt(b, now.Unix(), 10)
	b = append(b, '.')
	us := now.Nanosecond() / 1000
	for d := 100000; d > 1 && us < d; d /= 10 {
		b = append(b, '0')
	}
	b = strconv.AppendInt(b, int64(us), 10)
	b = append(b, " [0 "...)
	switch {
	case fromScript:
		b = append(b, "lua"...)
	default:
		if c.conn == nil { // the HTTP API's client
			b = append(b, "http"...)
		} else if a, ok := c.conn.LocalAddr().(*net.UnixAddr); ok {
			b = append(b, "unix:"...)
			b = append(b, a.Name...)
		} else {
			b = append(b, peerAddr(c.conn)...)
		}
	}
	b = append(b, ']')
	for _, a := range args {
		b = append(b, ' ')
		b = appendRepr(b, a)
	}
	return append(b, "\r\n"...)
}

// appendRepr appends s quoted as Redis's sdscatrepr.
func appendRepr(b, s []byte) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	for _, ch := range s {
		switch ch {
		case '\\', '"':
			b = append(b, '\\', ch)
		case '\n':
			b = append(b, '\\', 'n')
		case '\r':
			b = append(b, '\\', 'r')
		case '\t':
			b = append(b, '\\', 't')
		case '\a':
			b = append(b, '\\', 'a')
		case '\b':
			b = append(b, '\\', 'b')
		default:
			if ch >= 0x20 && ch < 0x7f {
				b = append(b, ch)
			} else {
				b = append(b, '\\', 'x', hex[ch>>4], hex[ch&15])
			}
		}
	}
	return append(b, '"')
}
