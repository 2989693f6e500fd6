package datanode

import (
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// Pause types of CLIENT PAUSE, in increasing strength.
const (
	pauseOff   int32 = iota
	pauseWrite       // only commands that may change data wait
	pauseAll         // every command waits
)

// clientPause is CLIENT PAUSE's state. While a pause is on, a client whose
// command must wait is postponed as a blocked client is (see blocking.go):
// its owner keeps the command aside in c.postponed, reads no further
// command, and holds no lock, so the event loop goes on serving its other
// clients. When the pause ends (CLIENT UNPAUSE or its timer), every
// postponed client is woken and its owner runs the command again.
type clientPause struct {
	kind atomic.Int32 // pauseOff, pauseWrite or pauseAll; read per command
	mu   sync.Mutex
	end  time.Time   // when the pause ends
	tmr  *time.Timer // ends it
	// waiting are the postponed clients, in arrival order.
	waiting []*waiter
	// ended is closed when the current pause ends; the HTTP API's
	// clients, which have no connection owner to postpone them, wait on it.
	ended chan struct{}
}

// mayReplicateCommands are the commands that CLIENT PAUSE WRITE holds
// besides those flagged write: Redis's "may-replicate" ones.
var mayReplicateCommands = map[string]bool{
	"eval": true, "evalsha": true, "publish": true, "spublish": true, "pfcount": true,
}

// pauses reports whether cmd, run by c, must wait for a pause of kind
// to end. A monitor is never paused (it is a replica to Redis).
func (c *client) pauses(kind int32, cmd *command) bool {
	if c.monitoring.Load() {
		return false
	}
	if kind == pauseAll {
		return true
	}
	if cmd.flags&flagWrite != 0 || mayReplicateCommands[cmd.name] {
		return true
	}
	if cmd.name == "exec" && c.multi != nil {
		for _, q := range c.multi.cmds {
			if q.cmd.flags&flagWrite != 0 || mayReplicateCommands[q.cmd.name] {
				return true
			}
		}
	}
	return false
}

// postpone makes c wait for the end of the pause before running args,
// which it copies (the read buffer moves on). It reports false when the
// pause ended meanwhile: then the caller runs the command now.
func (s *Server) postpone(c *client, args [][]byte) bool {
	p := &s.pause
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.kind.Load() == pauseOff {
		return false
	}
	for c.conn == nil && p.kind.Load() != pauseOff {
		// The HTTP API's client: its request's goroutine waits here,
		// holding no lock, and then runs the command.
		ended := p.ended
		p.mu.Unlock()
		<-ended
		p.mu.Lock()
	}
	if c.conn == nil {
		return false
	}
	c.postponed = make([][]byte, len(args))
	for i, a := range args {
		c.postponed[i] = slices.Clone(a)
	}
	w := &waiter{c: c, paused: true}
	c.waiter.Store(w)
	p.waiting = append(p.waiting, w)
	return true
}

// pauseClients starts or extends a pause: the stronger kind and the later
// end win, as in Redis 7.0.
func (s *Server) pauseClients(kind int32, d time.Duration) {
	p := &s.pause
	p.mu.Lock()
	defer p.mu.Unlock()
	end := time.Now().Add(d)
	if p.kind.Load() == pauseOff {
		p.ended = make(chan struct{})
	}
	if kind > p.kind.Load() {
		p.kind.Store(kind)
	}
	if end.After(p.end) {
		p.end = end
		if p.tmr != nil {
			p.tmr.Stop()
		}
		p.tmr = time.AfterFunc(d, s.unpauseIfDue)
	}
}

// unpauseIfDue ends the pause if its end has come (its timer fires).
func (s *Server) unpauseIfDue() {
	p := &s.pause
	p.mu.Lock()
	due := !time.Now().Before(p.end)
	p.mu.Unlock()
	if due {
		s.unpauseClients()
	}
}

// unpauseClients ends the pause and wakes the postponed clients, whose
// owners then run their commands.
func (s *Server) unpauseClients() {
	p := &s.pause
	p.mu.Lock()
	p.kind.Store(pauseOff)
	p.end = time.Time{}
	if p.tmr != nil {
		p.tmr.Stop()
		p.tmr = nil
	}
	waiting := p.waiting
	p.waiting = nil
	if p.ended != nil {
		close(p.ended)
		p.ended = nil
	}
	p.mu.Unlock()
	for _, w := range waiting {
		w.done.Store(true)
		w.c.outbox.wake()
	}
}

// stopPause ends any pause when the server stops, stopping its timer and
// releasing the HTTP requests that wait.
func (s *Server) stopPause() { s.unpauseClients() }

// dropPaused forgets a postponed client that disconnected.
func (s *Server) dropPaused(c *client) {
	p := &s.pause
	p.mu.Lock()
	p.waiting = slices.DeleteFunc(p.waiting, func(w *waiter) bool { return w.c == c })
	p.mu.Unlock()
}

// takePostponed returns the command c kept aside while paused, once its
// wait is over, or nil. Only c's owner calls it.
func (c *client) takePostponed() [][]byte {
	args := c.postponed
	c.postponed = nil
	return args
}

// cmdClientPause is CLIENT PAUSE timeout [WRITE|ALL].
func cmdClientPause(c *client, args [][]byte) {
	kind := pauseAll
	if len(args) == 4 {
		switch {
		case equalFold(args[3], "write"):
			kind = pauseWrite
		case equalFold(args[3], "all"):
		default:
			c.replyError("ERR CLIENT PAUSE mode must be WRITE or ALL")
			return
		}
	} else if len(args) != 3 {
		c.replyError(fmt.Sprintf("ERR unknown subcommand or wrong number of arguments for '%s'. Try CLIENT HELP.", args[1]))
		return
	}
	ms, ok := parseInt(args[2])
	switch {
	case !ok:
		c.replyError("ERR timeout is not an integer or out of range")
		return
	case ms < 0:
		c.replyError("ERR timeout is negative")
		return
	}
	d := time.Duration(min(ms, int64(maxPause/time.Millisecond))) * time.Millisecond
	c.srv.pauseClients(kind, d)
	c.replyOK()
}

// maxPause caps a pause's duration where time.Duration would overflow.
const maxPause = 100 * 365 * 24 * time.Hour

func cmdClientUnpause(c *client, _ [][]byte) {
	c.srv.unpauseClients()
	c.replyOK()
}

// cmdClientNoEvict is CLIENT NO-EVICT on|off: accepted and shown in CLIENT
// LIST's flags; CHKV never evicts clients.
func cmdClientNoEvict(c *client, args [][]byte) {
	switch {
	case equalFold(args[2], "on"):
		c.noEvict.Store(true)
	case equalFold(args[2], "off"):
		c.noEvict.Store(false)
	default:
		c.replyError(errSyntax)
		return
	}
	c.replyOK()
}
