package datanode

import (
	"errors"
	"net"
	"sync/atomic"
	"time"

	"github.com/tidwall/redcon"

	"github.com/chkv/chkv/datanode/resp"
	"github.com/chkv/chkv/datanode/store"
)

const (
	// writeTimeout bounds how long a reply may wait for a client that does
	// not read; such a client is disconnected, as Redis's output buffer
	// limits do.
	writeTimeout = 30 * time.Second
	// flushThreshold is the reply-buffer size past which replies are sent
	// before the rest of a pipeline is processed, bounding memory.
	flushThreshold = 64 << 10
	// outBufferKeep is the reply buffer capacity kept between commands.
	outBufferKeep = 16 << 10
)

// client is one RESP connection. Fields without atomics belong to the
// connection's goroutine; CLIENT LIST and the cron read only the atomics.
type client struct {
	srv     *Server
	id      uint64
	conn    net.Conn
	rd      *resp.Reader
	out     []byte
	created time.Time

	authenticated bool
	closeAfter    bool // QUIT: close once the reply is sent
	writeDeadline time.Time
	readDeadline  bool // a read deadline is set (IOModelGoroutine)

	subs   clientSubs // Pub/Sub subscriptions, guarded by the server's pubsubHub
	outbox outbox     // messages published to the client, not yet in out

	multi      *multiState // the open transaction, nil outside MULTI
	spareMulti *multiState // the last one, kept for the next (recycleMulti)
	watching   *watchState // WATCHed keys, nil until the first WATCH
	held       *heldSlots  // the slots a running EXEC holds, else nil
	heldBuf    heldSlots   // what held points to, kept for the next EXEC
	readyKeys  []string    // keys written that clients may be blocked on (blocking.go)

	waiter atomic.Pointer[waiter] // the blocking command c waits in, else nil

	inScript  bool     // a script's redis.call runs the current command (MONITOR's "lua"; SORT orders a set then)
	postponed [][]byte // the command CLIENT PAUSE holds (pause.go)
	// errorCounted marks the error reply being written as counted in INFO
	// errorstats already (a script's reply of a redis.call error).
	errorCounted bool
	monitoring   atomic.Bool // in MONITOR mode (monitor.go)
	noEvict      atomic.Bool // CLIENT NO-EVICT on

	name       atomic.Pointer[string]
	lastActive atomic.Int64 // Unix ms of the last command
	lastCmd    atomic.Pointer[string]
	qbuf       atomic.Int64 // unparsed bytes in the read buffer
	multiLen   atomic.Int64 // commands queued in MULTI, -1 outside MULTI
	outLen     atomic.Int64 // bytes waiting in the reply buffer
	libName    atomic.Pointer[string]
	libVersion atomic.Pointer[string]
}

func newClient(s *Server, nc net.Conn, id uint64) *client {
	c := &client{
		srv:     s,
		id:      id,
		conn:    nc,
		rd:      resp.NewReader(wakeableReader{nc}, resp.DefaultBufferSize),
		out:     make([]byte, 0, outBufferKeep),
		created: time.Now(),
	}
	c.lastActive.Store(c.created.UnixMilli())
	c.multiLen.Store(-1)
	c.outbox.wake = c.interruptRead // an event loop sets its own
	// As in Redis, a client that connects while no password is required is
	// authenticated, and stays so if CONFIG SET requirepass adds one later.
	c.authenticated = s.settings.Load().RequirePass == ""
	return c
}

// serveClient reads, executes and answers the client's commands until it
// disconnects, misbehaves or the server stops.
func (s *Server) serveClient(c *client) {
	defer func() {
		s.unregister(c) // first, as Redis drops subscriptions before closing
		c.conn.Close()
		c.unwatchAll()
		c.releaseBuffers()
	}()
	var limits resp.Limits
	for {
		st := s.settings.Load()
		limits = resp.Limits{
			MaxBulkLen:      st.ProtoMaxBulkLen,
			MaxQueryBuffer:  int(st.ClientQueryBufferLimit),
			Unauthenticated: st.RequirePass != "" && !c.authenticated,
		}
		args, err := c.parse(&limits)
		if errors.Is(err, resp.ErrIncomplete) {
			c.setQueryBuffer(int64(c.rd.Buffered()))
			// The deadline is set before flush takes the outbox: a push
			// after the take moves it to the past again (see outbox).
			c.setReadDeadline(st)
			if !c.flush() {
				return
			}
			if w := c.waiter.Load(); w != nil && w.done.Load() {
				continue // served after the deadline was set: no wake-up to wait for
			}
			n := c.rd.Buffered()
			if err := c.rd.Fill(&limits); err != nil {
				if errors.Is(err, resp.ErrWouldBlock) {
					// Woken by a publisher (or an idle deadline, which the
					// cron enforces): write what was pushed, then read on.
					c.readDeadline = true
					continue
				}
				var perr *resp.ProtocolError
				if errors.As(err, &perr) {
					c.replyError("ERR " + perr.Error())
					c.flush()
				} else if errors.Is(err, resp.ErrQueryBufferLimit) {
					s.log.Warn("closing client that reached max query buffer length", "client", c.id, "addr", c.conn.RemoteAddr().String())
				}
				return
			}
			s.stats.netInputBytes.Add(int64(c.rd.Buffered() - n))
			c.setQueryBuffer(int64(c.rd.Buffered()))
			continue
		}
		if err != nil {
			var perr *resp.ProtocolError
			if errors.As(err, &perr) {
				c.replyError("ERR " + perr.Error())
				c.flush()
			}
			return
		}
		if len(args) == 0 {
			continue
		}
		s.execute(c, args)
		if c.closeAfter {
			c.flush()
			return
		}
		if len(c.out) >= flushThreshold && !c.flush() {
			return
		}
	}
}

// setReadDeadline sets the read deadline of a connection served by its own
// goroutine: the idle timeout, which subscribed clients are exempt from as
// in Redis, or none, clearing a deadline a wake-up moved to the past.
func (c *client) setReadDeadline(st *Settings) {
	if st.Timeout > 0 && !c.inPubSub() {
		c.conn.SetReadDeadline(time.Now().Add(time.Duration(st.Timeout) * time.Second))
		c.readDeadline = true
	} else if c.readDeadline {
		c.conn.SetReadDeadline(time.Time{})
		c.readDeadline = false
	}
}

// flush sends the buffered replies, and the messages pushed to the client,
// and reports whether the connection is still usable.
func (c *client) flush() bool {
	c.takeOutbox()
	if len(c.out) == 0 {
		return true
	}
	now := time.Now()
	// Re-arm the write deadline only when less than half of it remains, so
	// that most flushes cost no timer update.
	if c.writeDeadline.Sub(now) < c.srv.writeTimeout/2 {
		c.writeDeadline = now.Add(c.srv.writeTimeout)
		c.conn.SetWriteDeadline(c.writeDeadline)
	}
	c.setOutputBuffer(int64(len(c.out))) // counted while the client keeps it waiting
	n, err := c.conn.Write(c.out)
	c.srv.stats.netOutputBytes.Add(int64(n))
	if cap(c.out) > 4*outBufferKeep {
		c.out = make([]byte, 0, outBufferKeep)
	} else {
		c.out = c.out[:0]
	}
	c.setOutputBuffer(0)
	return err == nil
}

// Reply helpers append one RESP2 value to the reply buffer.

func (c *client) replyOK()                 { c.out = redcon.AppendOK(c.out) }
func (c *client) replyStatus(s string)     { c.out = redcon.AppendString(c.out, s) }
func (c *client) replyError(msg string)    { c.out = redcon.AppendError(c.out, msg) }
func (c *client) replyInt(n int64)         { c.out = redcon.AppendInt(c.out, n) }
func (c *client) replyBulk(b []byte)       { c.out = redcon.AppendBulk(c.out, b) }
func (c *client) replyBulkString(s string) { c.out = redcon.AppendBulkString(c.out, s) }
func (c *client) replyNull()               { c.out = redcon.AppendNull(c.out) }
func (c *client) replyArray(n int)         { c.out = redcon.AppendArray(c.out, n) }

// replyStoreError answers a write the store refused.
func (c *client) replyStoreError(err error) {
	if errors.Is(err, store.ErrSlotFull) {
		c.replyError(errSlotFull)
		return
	}
	c.replyError("ERR " + err.Error())
}

func (c *client) replyBool(b bool) { c.replyInt(boolInt(b)) }

func (c *client) replyStrings(ss []string) {
	c.replyArray(len(ss))
	for _, s := range ss {
		c.replyBulkString(s)
	}
}

func boolInt(b bool) int64 {
	if b {
		return 1
	}
	return 0
}
