package datanode

import (
	"errors"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/chkv/chkv/datanode/resp"
)

// outboxKeep is the outbox capacity kept after its bytes were taken.
const outboxKeep = 64 << 10

// outbox is a client's queue of pushed bytes: Pub/Sub messages that other
// goroutines (publishers) want written to the client's connection, which no
// command of the client asked for. It is how bytes reach a connection
// asynchronously without a data race on the reply buffer c.out, which only
// the connection's owner (its goroutine, or its event loop) touches, and
// without a publisher ever waiting for a slow subscriber:
//
//   - push (any goroutine) appends a message under the outbox's own lock,
//     after checking the client's output buffer limit; when the outbox turns
//     non-empty it calls wake, which tells the owner to look, and returns.
//     It never writes to the socket.
//   - takeOutbox (the owner only) moves everything queued to the end of c.out,
//     after the replies already there; the owner then writes c.out as it
//     writes any reply. The owner takes before it executes a command, before
//     it writes, and under the Pub/Sub hub's lock when (un)subscribing, so a
//     client sees a message and its own replies in the order they happened.
//
// wake depends on the I/O model. An event loop queues the connection and
// wakes its epoll_wait through the loop's pipe (eventLoop.notifyPush); the
// loop then takes and writes. A connection goroutine blocked in Read is
// interrupted by moving the connection's read deadline to the past:
// wakeableReader turns the deadline error into resp.ErrWouldBlock, which the
// goroutine answers by resetting the deadline, taking and writing.
//
// Memory is bounded by the client-output-buffer-limit of the pubsub class:
// queued bytes plus the reply bytes the socket has not taken yet. A push that
// would pass the hard limit, or finds the soft limit passed for longer than
// its seconds, drops the outbox and closes the connection instead.
type outbox struct {
	mu        sync.Mutex
	buf       []byte
	dropped   bool      // the client passed its limit and is being closed
	softSince time.Time // when the soft limit was first found passed; zero when under it
	// wake tells the connection's owner that buf turned non-empty. It is
	// set before the client runs its first command and never changes.
	wake func()
	// queued is len(buf), read without the lock by the owner's fast path.
	queued atomic.Int64
}

// push queues msg for the client and wakes the connection's owner if the
// queue was empty. lim is the limit of the client's class, now the time of
// the push (a parameter so that tests control the soft limit's clock). It
// reports false when the client passed the limit: msg was not queued and the
// connection is being closed. Any goroutine may call it; it never blocks on
// the connection. The caller adds the bytes queued to the server's total of
// client buffers (publish does it once for all subscribers: a shared
// counter updated per subscriber costs more than the copy).
func (c *client) push(msg []byte, lim outputBufferLimit, now time.Time) bool {
	o := &c.outbox
	o.mu.Lock()
	if o.dropped {
		o.mu.Unlock()
		return false
	}
	used := int64(len(o.buf)+len(msg)) + c.outLen.Load()
	if lim.exceeded(used, &o.softSince, now) {
		o.dropped = true
		c.srv.memory.clientBuffers.Add(-int64(len(o.buf)))
		o.buf = nil
		o.queued.Store(0)
		o.mu.Unlock()
		c.srv.log.Warn("closing client for overcoming of output buffer limits", "client", c.id, "addr", peerAddr(c.conn))
		c.conn.Close()
		return false
	}
	wasEmpty := len(o.buf) == 0
	o.buf = append(o.buf, msg...)
	o.queued.Store(int64(len(o.buf)))
	o.mu.Unlock()
	if wasEmpty {
		o.wake()
	}
	return true
}

// takeOutbox moves the queued bytes to the end of c.out. Only the
// connection's owner calls it.
func (c *client) takeOutbox() {
	o := &c.outbox
	if o.queued.Load() == 0 {
		return
	}
	o.mu.Lock()
	n := int64(len(o.buf))
	if len(c.out) == 0 && cap(o.buf) <= 4*outboxKeep {
		// Swap the buffers rather than copy the bytes.
		c.out, o.buf = o.buf, c.out[:0]
	} else {
		c.out = append(c.out, o.buf...)
		if cap(o.buf) > outboxKeep {
			o.buf = nil
		} else {
			o.buf = o.buf[:0]
		}
	}
	o.queued.Store(0)
	// The bytes now wait in c.out: they move to its count under the lock,
	// so that push never sees them in neither (until the owner's next
	// setOutputBuffer, the count may exceed what c.out holds, never fall
	// short of it). The server's total of client buffers is unchanged.
	c.outLen.Add(n)
	o.mu.Unlock()
}

// releaseOutbox drops what a closed client had queued.
func (c *client) releaseOutbox() {
	o := &c.outbox
	o.mu.Lock()
	o.dropped = true
	c.srv.memory.clientBuffers.Add(-int64(len(o.buf)))
	o.buf = nil
	o.queued.Store(0)
	o.mu.Unlock()
}

// interruptRead is the wake of a connection served by its own goroutine: it
// makes the goroutine's blocked Read return (see wakeableReader). A
// net.Conn's deadlines may be set from any goroutine.
func (c *client) interruptRead() {
	c.conn.SetReadDeadline(aLongTimeAgo)
}

// aLongTimeAgo is a read deadline that has passed, as net/http uses to
// abort a blocked Read.
var aLongTimeAgo = time.Unix(1, 0)

// wakeableReader reads a client's connection for its goroutine. A passed
// read deadline means a wake-up (interruptRead), or an idle timeout that the
// cron enforces by closing the connection, so it is reported as
// resp.ErrWouldBlock, which resp.Reader.Fill returns without keeping it.
type wakeableReader struct{ net.Conn }

func (r wakeableReader) Read(p []byte) (int, error) {
	n, err := r.Conn.Read(p)
	if err != nil && errors.Is(err, os.ErrDeadlineExceeded) {
		return n, resp.ErrWouldBlock
	}
	return n, err
}
