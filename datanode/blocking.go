package datanode

import (
	"math"
	"math/big"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/chkv/chkv/datanode/resp"
)

// Blocking commands (BLPOP, BLMOVE, BZPOPMIN...): a command that finds all
// its keys empty blocks its client until a write makes one of them ready,
// its timeout passes or the client goes, as Redis 7.0's blocking.c does.
//
//   - The blocked client reads no further command: its owner (goroutine or
//     event loop) sees c.waiter set and only reads the socket, to notice a
//     disconnection, until the waiter is done (c.stillBlocked).
//   - A write command of another client records its keys (call, when some
//     client is blocking) and, once the command or its whole transaction
//     completed, serves the clients blocked on them in arrival order
//     (serveReady), on its own goroutine, before it runs its next command:
//     as in Redis, the pushed element goes to the first blocked client.
//   - The reply of a served, timed-out or unblocked client is queued in its
//     outbox and its owner woken, exactly as a Pub/Sub message is delivered
//     (see outbox.go); done is set after the push, so that an owner that
//     sees done finds the reply queued.
//
// Lock order: the hub's lock, then slot locks. A blocking command tries
// its keys under the hub's lock and registers before releasing it; a
// writer counts as a possible waker when active was raised before the
// blocker looked at the keys, so no push goes unnoticed.

// blockHub is the server's registry of blocked clients.
type blockHub struct {
	mu      sync.Mutex
	waiters map[string][]*waiter // by key, in arrival order
	// active counts the clients blocked or about to try their keys; while
	// it is zero, writes record no ready keys.
	active atomic.Int64
	// blocked is INFO's blocked_clients, timed its clients_in_timeout_table:
	// those blocked with a timeout.
	blocked, timed atomic.Int64
}

// tryResult is what an attempt to serve a blocking command from one key did.
type tryResult int

const (
	tryEmpty  tryResult = iota // the key holds nothing to pop: nothing replied
	tryServed                  // the command was served and replied
	tryError                   // an error was replied (WRONGTYPE): a blocked client keeps waiting
	// tryFailed is an error replied that ends the command even when it was
	// blocked: BLMOVE's destination is not a list when the source gets an
	// element, which Redis answers with WRONGTYPE, leaving the element.
	tryFailed
)

// blockTry tries to serve a blocking command from key for c, locking what it
// needs; only on tryEmpty has it replied nothing.
type blockTry func(c *client, key []byte) tryResult

// waiter is one blocked client.
type waiter struct {
	c     *client
	keys  []string
	try   blockTry
	timer *time.Timer // nil when blocked forever
	// pushes names the key a served command pushes onto (BLMOVE's
	// destination), ready in turn once the waiter is served.
	pushes []byte
	// done is set once the waiter's reply is in its client's outbox.
	done atomic.Bool
	// paused marks a client postponed by CLIENT PAUSE (pause.go), which
	// is in no key's list and has no reply to wait for.
	paused bool
}

// Errors of the blocking commands' timeout argument.
const (
	errTimeoutFloat    = "ERR timeout is not a float or out of range"
	errTimeoutNegative = "ERR timeout is negative"
)

// nullArrayReply is the reply of a blocking command whose timeout passed.
const nullArrayReply = "*-1\r\n"

// parseBlockTimeout parses a timeout in seconds as Redis's
// getTimeoutFromObjectOrReply: a long double, truncated to milliseconds;
// zero means forever. A value whose milliseconds overflow a long long is
// negative, as the C conversion makes it on amd64. On false it replied.
func (c *client) parseBlockTimeout(arg []byte) (time.Duration, bool) {
	f, ok := parseLongDouble(arg)
	if !ok {
		c.replyError(errTimeoutFloat)
		return 0, false
	}
	ms := new(big.Float).Mul(f, big.NewFloat(1000))
	if ms.IsInf() || ms.Cmp(big.NewFloat(math.MaxInt64)) >= 0 {
		c.replyError(errTimeoutNegative)
		return 0, false
	}
	n, _ := ms.Int64() // truncated towards zero
	if n < 0 {
		c.replyError(errTimeoutNegative)
		return 0, false
	}
	if n > int64(math.MaxInt64/time.Millisecond) {
		return 0, true // beyond any Duration: as good as forever
	}
	return time.Duration(n) * time.Millisecond, true
}

// blockingCommand runs a blocking command of c on keys, tried in order: the
// first key that serves it ends it. When none does, c blocks on them all for
// timeout (0: forever), after which it gets a null array, unless it runs
// inside EXEC, where the command behaves as its non-blocking form and
// replies emptyReply at once. pushes is the key the command pushes onto
// when served, if any.
func (c *client) blockingCommand(keys [][]byte, timeout time.Duration, emptyReply string, pushes []byte, try blockTry) {
	if c.held != nil {
		for _, k := range keys {
			if try(c, k) != tryEmpty {
				return
			}
		}
		c.out = append(c.out, emptyReply...)
		return
	}
	hub := &c.srv.blocking
	hub.active.Add(1)
	hub.mu.Lock()
	defer hub.mu.Unlock()
	for _, k := range keys {
		if try(c, k) != tryEmpty {
			hub.active.Add(-1)
			return
		}
	}
	w := &waiter{c: c, try: try, pushes: slices.Clone(pushes)}
	if hub.waiters == nil {
		hub.waiters = make(map[string][]*waiter)
	}
	for _, k := range keys {
		key := string(k)
		if slices.Contains(w.keys, key) {
			continue
		}
		w.keys = append(w.keys, key)
		hub.waiters[key] = append(hub.waiters[key], w)
	}
	if timeout > 0 {
		w.timer = time.AfterFunc(timeout, func() { hub.expire(w) })
		hub.timed.Add(1)
	}
	hub.blocked.Add(1)
	c.waiter.Store(w)
}

// expire answers w with its timeout reply, unless it was served already.
func (h *blockHub) expire(w *waiter) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if !w.done.Load() {
		h.release(w, []byte(nullArrayReply))
	}
}

// release unblocks w with reply, under h.mu: w leaves the registry, its
// timer stops, and reply goes to its client's outbox. A nil reply is for
// a client that left.
func (h *blockHub) release(w *waiter, reply []byte) {
	for _, key := range w.keys {
		ws := slices.DeleteFunc(h.waiters[key], func(x *waiter) bool { return x == w })
		if len(ws) == 0 {
			delete(h.waiters, key)
		} else {
			h.waiters[key] = ws
		}
	}
	if w.timer != nil {
		w.timer.Stop()
		h.timed.Add(-1)
	}
	h.blocked.Add(-1)
	h.active.Add(-1)
	if reply != nil {
		c := w.c
		if c.push(reply, outputBufferLimit{}, time.Now()) {
			c.srv.memory.clientBuffers.Add(int64(len(reply)))
		}
		w.done.Store(true)
		c.outbox.wake() // again: the owner may have taken the reply before done
		return
	}
	w.done.Store(true)
}

// dropClient forgets c's wait when it disconnects.
func (h *blockHub) dropClient(c *client) {
	w := c.waiter.Load()
	if w == nil || w.paused {
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if !w.done.Load() {
		h.release(w, nil)
	}
}

// stillBlocked reports whether c waits for a blocking command's reply; once
// the waiter is done, the reply is in c's outbox, and c runs commands again.
// Only c's owner calls it.
func (c *client) stillBlocked() bool {
	w := c.waiter.Load()
	if w == nil {
		return false
	}
	if !w.done.Load() {
		return true
	}
	c.waiter.Store(nil)
	return false
}

// parse parses c's next command, as resp.Reader.Parse, unless c is blocked:
// then it reports resp.ErrIncomplete, and c's owner only reads, to notice a
// disconnection.
func (c *client) parse(limits *resp.Limits) ([][]byte, error) {
	if c.stillBlocked() {
		return nil, resp.ErrIncomplete
	}
	if c.postponed != nil {
		return c.takePostponed(), nil
	}
	return c.rd.Parse(limits)
}

// blockedNow reports, for CLIENT LIST, whether c is blocked.
func (c *client) blockedNow() bool {
	w := c.waiter.Load()
	return w != nil && !w.done.Load()
}

// noteReady records, after a write command of c ran, its keys as ready for
// the clients blocked on them; serveReady serves them once the command
// (or its transaction) completed.
func (c *client) noteReady(cmd *command, args [][]byte) {
	if cmd.flags&flagWrite == 0 || c.srv.blocking.active.Load() == 0 {
		return
	}
	for _, i := range cmd.callKeys(args) {
		c.readyKeys = append(c.readyKeys, string(args[i]))
	}
}

// serveReady serves the clients blocked on the keys c's last command made
// ready, each key's in arrival order, while the key can serve them.
func (s *Server) serveReady(c *client) {
	h := &s.blocking
	h.mu.Lock()
	defer h.mu.Unlock()
	sc := &client{srv: s} // replies are written here, then pushed
	for i := 0; i < len(c.readyKeys); i++ {
		key := c.readyKeys[i]
		ws := h.waiters[key]
		if len(ws) == 0 {
			continue
		}
		for _, w := range slices.Clone(ws) {
			if w.done.Load() {
				continue
			}
			sc.out = sc.out[:0]
			r := w.try(sc, []byte(key))
			if r == tryEmpty {
				break
			}
			if r == tryFailed {
				h.release(w, sc.out)
			}
			if r == tryServed {
				h.release(w, sc.out)
				if w.pushes != nil {
					c.readyKeys = append(c.readyKeys, string(w.pushes))
				}
			}
		}
	}
	clear(c.readyKeys)
	c.readyKeys = c.readyKeys[:0]
}
