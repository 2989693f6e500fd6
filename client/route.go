package client

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/chkv/chkv/common/slot"
	"github.com/chkv/chkv/common/topology"
)

// node is the connection pool to one DataNode address.
type node struct {
	addr string
	rc   *redis.Client
	// closed is set once rc is closed; a table still pointing here routes
	// through a fresh node for the same address instead.
	closed atomic.Bool
	// retiring is when the address left the topology (or, for an address
	// learnt from MOVED, when it was first used); zero while the topology
	// names it. Guarded by router.mu.
	retiring time.Time
}

// table is the routing state of one topology version: the node of every
// slot, found with one array index.
type table struct {
	topo *topology.Topology
	// slots holds each slot's node, nil when the slot is unowned. A MOVED
	// reply overwrites its slot's entry, so later calls go straight to the
	// new owner until the next topology replaces the whole table.
	slots [slot.Count]atomic.Pointer[node]
	// superseded is closed when a newer table replaces this one.
	superseded chan struct{}
}

// router owns the current table and the pools of every DataNode address.
type router struct {
	newRC   func(addr string) *redis.Client
	current atomic.Pointer[table]

	mu     sync.Mutex
	pools  map[string]*node
	closed bool
}

func newRouter(newRC func(addr string) *redis.Client) *router {
	return &router{newRC: newRC, pools: make(map[string]*node)}
}

// pool returns the node of addr, creating it when needed; go-redis opens
// connections lazily, on first use. It returns nil once the router is
// closed.
func (r *router) pool(addr string) *node {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return nil
	}
	return r.poolLocked(addr, time.Now())
}

func (r *router) poolLocked(addr string, now time.Time) *node {
	if n, ok := r.pools[addr]; ok {
		return n
	}
	// Not (yet) in a topology: retire it unless install adopts it.
	n := &node{addr: addr, rc: r.newRC(addr), retiring: now}
	r.pools[addr] = n
	return n
}

// install makes t, which the caller has checked is newer than the current
// topology, the routing table. Pools of addresses t no longer names are
// marked to be closed by sweepOnce. It returns false once the router is
// closed.
func (r *router) install(t *topology.Topology, now time.Time) bool {
	tb := &table{topo: t, superseded: make(chan struct{})}
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return false
	}
	byIndex := make([]*node, len(t.Nodes))
	named := make(map[string]bool, len(t.Nodes))
	for i, n := range t.Nodes {
		if n.RESPAddr == "" {
			continue
		}
		p := r.poolLocked(n.RESPAddr, now)
		p.retiring = time.Time{}
		byIndex[i] = p
		named[n.RESPAddr] = true
	}
	for addr, p := range r.pools {
		if !named[addr] && p.retiring.IsZero() {
			p.retiring = now
		}
	}
	r.mu.Unlock()
	for s, o := range t.Owners {
		if o != topology.Unowned {
			tb.slots[s].Store(byIndex[o])
		}
	}
	if old := r.current.Swap(tb); old != nil {
		close(old.superseded)
	}
	return true
}

// route returns the node of slot s in tb, or nil when s is unowned or the
// router is closed. It replaces a closed node by a fresh one for the same
// address.
func (r *router) route(tb *table, s int) *node {
	n := tb.slots[s].Load()
	if n == nil || !n.closed.Load() {
		return n
	}
	fresh := r.pool(n.addr)
	if fresh == nil {
		return nil
	}
	tb.slots[s].CompareAndSwap(n, fresh)
	return fresh
}

// redirect records that slot s moved from the node from to the node to,
// when tb is still the current table.
func (r *router) redirect(tb *table, s int, from, to *node) {
	if r.current.Load() == tb {
		tb.slots[s].CompareAndSwap(from, to)
	}
}

// forget undoes a remembered redirect of slot s to n, which could not be
// reached, so that s routes by tb's topology again.
func (r *router) forget(tb *table, s int, n *node) {
	if r.current.Load() != tb || tb.slots[s].Load() != n {
		return
	}
	owner := tb.topo.Owner(s)
	if owner == nil || owner.RESPAddr == n.addr {
		return
	}
	if p := r.pool(owner.RESPAddr); p != nil {
		tb.slots[s].CompareAndSwap(n, p)
	}
}

// sweepOnce closes the pools that have been retiring for at least grace,
// and returns how many it closed.
func (r *router) sweepOnce(now time.Time, grace time.Duration) int {
	var done []*node
	r.mu.Lock()
	for addr, n := range r.pools {
		if !n.retiring.IsZero() && now.Sub(n.retiring) >= grace {
			delete(r.pools, addr)
			done = append(done, n)
		}
	}
	r.mu.Unlock()
	for _, n := range done {
		n.closed.Store(true)
		n.rc.Close()
	}
	return len(done)
}

// close closes every pool; pool, install and route return nil or false
// from then on.
func (r *router) close() {
	r.mu.Lock()
	r.closed = true
	pools := r.pools
	r.pools = nil
	r.mu.Unlock()
	for _, n := range pools {
		n.closed.Store(true)
		n.rc.Close()
	}
}

// addrs returns the addresses that have a pool, for tests and logs.
func (r *router) addrs() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]string, 0, len(r.pools))
	for addr := range r.pools {
		out = append(out, addr)
	}
	return out
}

// attemptFunc sends one command once to rc and stores its result.
type attemptFunc func(ctx context.Context, rc *redis.Client) error

// retryState is what one command carries across its attempts.
type retryState struct {
	slot      int
	idem      bool  // may be sent again after a send that may have been applied
	redirects int   // MOVED replies followed
	target    *node // where the next attempt goes, after a MOVED
	last      failure
}

// do runs fn against the node that owns key's slot and handles redirects,
// backoff and retries. idem says whether the command may be sent again
// after an attempt that may have reached the DataNode.
func (c *Client) do(ctx context.Context, key string, idem bool, fn attemptFunc) error {
	if c.closed.Load() {
		return ErrClosed
	}
	tb := c.router.current.Load()
	st := retryState{slot: slot.OfString(key), idem: idem}
	n := tb.slots[st.slot].Load()
	if n == nil {
		return c.retry(ctx, &st, fn, tb, nil, unowned(st.slot))
	}
	err := fn(ctx, n.rc)
	if err == nil {
		return nil
	}
	f := classify(err, n.addr)
	if f.class == classFinal {
		return c.finalErr(f.err)
	}
	return c.retry(ctx, &st, fn, tb, n, f)
}

// retry is do's slow path: the first attempt, at n routed by tb, failed
// with f.
func (c *Client) retry(ctx context.Context, st *retryState, fn attemptFunc, tb *table, n *node, f failure) error {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, c.opts.retryTimeout)
		defer cancel()
	}
	b := backoff{min: c.opts.retryBackoffMin, max: c.opts.retryBackoffMax}
	for {
		done, wait, err := c.decide(st, tb, n, f)
		if done {
			return err
		}
		if wait && !pause(ctx, tb, b.next()) {
			return c.expired(ctx, st)
		}
		if c.closed.Load() {
			return ErrClosed
		}
		tb = c.router.current.Load()
		n, st.target = st.target, nil
		if n == nil {
			n = c.router.route(tb, st.slot)
		}
		if n == nil {
			if c.closed.Load() {
				return ErrClosed
			}
			f = unowned(st.slot)
			continue
		}
		err = fn(ctx, n.rc)
		if err == nil {
			return nil
		}
		f = classify(err, n.addr)
		if ended(ctx) && f.class != classFinal {
			// The deadline cut the attempt short.
			if f.class == classMaybeSent && !st.idem {
				return fmt.Errorf("%w: %w", ErrUncertain, f.err)
			}
			if st.last.err == nil {
				st.last = f
			}
			return c.expired(ctx, st)
		}
	}
}

// decide says what to do after an attempt of st, routed by tb to n, failed
// with f: return err (done), or try again, after a pause when wait is set.
func (c *Client) decide(st *retryState, tb *table, n *node, f failure) (done, wait bool, err error) {
	switch f.class {
	case classFinal:
		return true, false, c.finalErr(f.err)
	case classMoved:
		st.redirects++
		if st.redirects > c.opts.maxRedirects {
			return true, false, fmt.Errorf("%w (%d): %w", ErrTooManyRedirects, c.opts.maxRedirects, f.err)
		}
		to := c.router.pool(f.addr)
		if to == nil {
			return true, false, ErrClosed
		}
		if n != nil {
			c.router.redirect(tb, st.slot, n, to)
		}
		st.target = to
		c.refresh()
		return false, false, nil
	case classTryAgain, classClusterDown:
		st.last = f
		return false, true, nil
	case classNotSent:
		if n != nil && n.closed.Load() {
			// The pool was retired under us: route again, at once.
			return false, false, nil
		}
	case classMaybeSent:
		if !st.idem {
			return true, false, fmt.Errorf("%w: %w", ErrUncertain, f.err)
		}
	}
	// A connection failure: the topology may be stale, and so may a
	// remembered MOVED (a DataNode that has not yet applied the version we
	// route by can redirect to a node that is gone).
	if n != nil {
		c.router.forget(tb, st.slot, n)
	}
	st.last = f
	c.refresh()
	return false, true, nil
}

// expired returns the error of a command whose retries ran out of time:
// the reason it was being retried, and the context's error.
func (c *Client) expired(ctx context.Context, st *retryState) error {
	if c.closed.Load() {
		return ErrClosed
	}
	cause := context.Cause(ctx)
	if cause == nil { // the deadline passed; ctx does not know yet
		cause = context.DeadlineExceeded
	}
	return fmt.Errorf("%w: %w", st.last.err, cause)
}

// ended reports whether ctx is done or its deadline has passed: an attempt
// that failed then failed because of it (socket deadlines come from ctx's
// and may fire before ctx's own timer).
func ended(ctx context.Context) bool {
	if ctx.Err() != nil {
		return true
	}
	d, ok := ctx.Deadline()
	return ok && !time.Now().Before(d)
}

// finalErr turns a final error into ErrClosed once the client is closed.
func (c *Client) finalErr(err error) error {
	if c.closed.Load() && !errors.Is(err, ErrNotFound) {
		return ErrClosed
	}
	return err
}

// unowned is the failure of routing to a slot the topology gives no one.
func unowned(s int) failure {
	return failure{class: classClusterDown, err: fmt.Errorf("%w: slot %d has no owner in the topology", ErrClusterDown, s)}
}

// pause sleeps for d, or less when a topology newer than tb arrives, and
// reports whether ctx is still alive.
func pause(ctx context.Context, tb *table, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-tb.superseded:
		return ctx.Err() == nil
	case <-t.C:
		return true
	}
}

// backoff is a capped exponential delay with jitter.
type backoff struct {
	min, max time.Duration
	cur      time.Duration
}

// next returns the next delay: between half and all of min, 2*min, 4*min...
// up to max.
func (b *backoff) next() time.Duration {
	if b.cur == 0 {
		b.cur = b.min
	} else {
		b.cur = min(2*b.cur, b.max)
	}
	half := b.cur / 2
	return half + rand.N(b.cur-half+1)
}

// reset starts the delays again from min.
func (b *backoff) reset() { b.cur = 0 }
