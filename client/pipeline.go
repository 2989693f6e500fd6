package client

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/chkv/chkv/common/slot"
)

// Result is the outcome of one command of a Pipeline.
type Result struct {
	// Val is the command's value: a string for Get, an int64 for Incr,
	// IncrBy, Del and Exists, a bool for Expire, a time.Duration for TTL,
	// nil for Set and for any failed command.
	Val any
	// Err is the command's error, as the Client method of the same name
	// would return it (ErrNotFound, ErrNotSet, ...), or nil.
	Err error
}

// Text returns the value of a Get.
func (r Result) Text() (string, error) { return as[string](r) }

// Int returns the value of an Incr, IncrBy, Del or Exists.
func (r Result) Int() (int64, error) { return as[int64](r) }

// Bool returns the value of an Expire.
func (r Result) Bool() (bool, error) { return as[bool](r) }

// Duration returns the value of a TTL.
func (r Result) Duration() (time.Duration, error) { return as[time.Duration](r) }

func as[T any](r Result) (T, error) {
	var zero T
	if r.Err != nil {
		return zero, r.Err
	}
	v, ok := r.Val.(T)
	if !ok {
		return zero, fmt.Errorf("%w: result is %T, not %T", ErrInvalid, r.Val, zero)
	}
	return v, nil
}

// Pipeline queues single-key commands and sends them with Exec: each to the
// DataNode that owns its key, pipelined per DataNode, all DataNodes in
// parallel, with the redirects and retries of the Client methods. A
// Pipeline is not safe for concurrent use; reuse it after Exec.
type Pipeline struct {
	c *Client
	b *batch
}

// Pipeline returns an empty Pipeline on c.
func (c *Client) Pipeline() *Pipeline { return &Pipeline{c: c, b: c.newBatch()} }

// Len returns the number of queued commands.
func (p *Pipeline) Len() int { return len(p.b.ops) }

// Get queues a Get of key.
func (p *Pipeline) Get(key string) {
	p.b.add(slot.OfString(key), true, []any{"get", key}, func(v any, err error) (any, error) {
		if err != nil {
			return nil, err
		}
		return v, nil
	})
}

// Set queues a Set of key, with Set's options and retry rules.
func (p *Pipeline) Set(key, value string, opts ...SetOption) {
	a, err := buildSetArgs(opts)
	if err != nil {
		p.b.fail(err)
		return
	}
	args := []any{"set", key, value}
	if a.ttlSet {
		args = append(args, "px", strconv.FormatInt(max(a.ttl.Milliseconds(), 1), 10))
	}
	switch {
	case a.nx:
		args = append(args, "nx")
	case a.xx:
		args = append(args, "xx")
	}
	p.b.add(slot.OfString(key), a.idempotent(), args, func(_ any, err error) (any, error) {
		if errors.Is(err, ErrNotFound) {
			return nil, ErrNotSet
		}
		return nil, err
	})
}

// Del queues a Del of key.
func (p *Pipeline) Del(key string) { p.int(key, true, "del", key) }

// Exists queues an Exists of key.
func (p *Pipeline) Exists(key string) { p.int(key, true, "exists", key) }

// Incr queues an Incr of key.
func (p *Pipeline) Incr(key string) { p.int(key, false, "incr", key) }

// IncrBy queues an IncrBy of key.
func (p *Pipeline) IncrBy(key string, delta int64) { p.int(key, false, "incrby", key, delta) }

func (p *Pipeline) int(key string, idem bool, args ...any) {
	p.b.add(slot.OfString(key), idem, args, func(v any, err error) (any, error) {
		if err != nil {
			return nil, err
		}
		if _, ok := v.(int64); !ok {
			return nil, fmt.Errorf("client: %v: unexpected reply %T", args[0], v)
		}
		return v, nil
	})
}

// Expire queues an Expire of key.
func (p *Pipeline) Expire(key string, ttl time.Duration) {
	if ttl <= 0 {
		p.b.fail(fmt.Errorf("%w: TTL %v must be positive", ErrInvalid, ttl))
		return
	}
	p.b.add(slot.OfString(key), true, []any{"pexpire", key, max(ttl.Milliseconds(), 1)}, func(v any, err error) (any, error) {
		if err != nil {
			return nil, err
		}
		return v == int64(1), nil
	})
}

// TTL queues a TTL of key.
func (p *Pipeline) TTL(key string) {
	p.b.add(slot.OfString(key), true, []any{"pttl", key}, func(v any, err error) (any, error) {
		if err != nil {
			return nil, err
		}
		ms, ok := v.(int64)
		if !ok {
			return nil, fmt.Errorf("client: pttl: unexpected reply %T", v)
		}
		d, err := pttlDuration(ms)
		if err != nil {
			return nil, err
		}
		return d, nil
	})
}

// Exec sends the queued commands and returns their results in the order
// they were queued; the Pipeline is then empty. Each Result has its own
// error; Exec's error is the first of them other than ErrNotFound and
// ErrNotSet, or ErrClosed.
func (p *Pipeline) Exec(ctx context.Context) ([]Result, error) {
	b := p.b
	p.b = p.c.newBatch()
	if err := b.run(ctx); err != nil {
		return nil, err
	}
	out := make([]Result, len(b.ops))
	for i, o := range b.ops {
		out[i] = o.res
	}
	return out, b.firstErr()
}

// op is one command of a batch.
type op struct {
	st     retryState
	args   []any
	decode func(v any, err error) (any, error) // nil: the value is dropped
	cmd    *redis.Cmd                          // the current attempt's
	node   *node                               // where the current attempt went
	res    Result
}

// finish records the outcome of o.
func (o *op) finish(v any, err error) {
	if o.decode != nil {
		v, err = o.decode(v, err)
	} else {
		v = nil
	}
	o.res = Result{Val: v, Err: err}
}

// batch runs commands of any slots with the Client's routing and retry
// rules: MGet, MSet, Del, Exists and Pipeline are batches.
type batch struct {
	c   *Client
	ops []*op
}

func (c *Client) newBatch() *batch { return &batch{c: c} }

// add queues a command on slot s; decode turns its reply into its result
// and is called in the goroutine of run.
func (b *batch) add(s int, idem bool, args []any, decode func(v any, err error) (any, error)) {
	b.ops = append(b.ops, &op{st: retryState{slot: s, idem: idem}, args: args, decode: decode})
}

// fail queues a command that is refused before sending with err.
func (b *batch) fail(err error) {
	b.ops = append(b.ops, &op{res: Result{Err: err}})
}

// firstErr returns the first error of the results that is not ErrNotFound
// or ErrNotSet.
func (b *batch) firstErr() error {
	for _, o := range b.ops {
		if err := o.res.Err; err != nil && !errors.Is(err, ErrNotFound) && !errors.Is(err, ErrNotSet) {
			return err
		}
	}
	return nil
}

// run sends every command and retries those that are redirected or fail
// in a retriable way, until each has a result. It returns an error only
// when the client is closed.
func (b *batch) run(ctx context.Context) error {
	c := b.c
	if c.closed.Load() {
		return ErrClosed
	}
	pending := make([]*op, 0, len(b.ops))
	for _, o := range b.ops {
		if o.res.Err == nil {
			pending = append(pending, o)
		}
	}
	var (
		bo       = backoff{min: c.opts.retryBackoffMin, max: c.opts.retryBackoffMax}
		budgeted bool
		groups   = make(map[*node][]*op)
	)
	tb := c.router.current.Load()
	for len(pending) > 0 {
		clear(groups)
		for _, o := range pending {
			n := o.st.target
			o.st.target = nil
			if n == nil {
				n = c.router.route(tb, o.st.slot)
			}
			o.node, o.cmd = n, nil
			if n != nil {
				groups[n] = append(groups[n], o)
			} else if c.closed.Load() {
				return ErrClosed
			}
		}
		c.send(ctx, groups)

		next := pending[:0:0]
		wait := false
		for _, o := range pending {
			f := unowned(o.st.slot)
			if o.node != nil {
				err := o.cmd.Err()
				if err == nil {
					o.finish(o.cmd.Val(), nil)
					continue
				}
				f = classify(err, o.node.addr)
				if ended(ctx) && f.class != classFinal {
					if f.class == classMaybeSent && !o.st.idem {
						o.finish(nil, fmt.Errorf("%w: %w", ErrUncertain, f.err))
					} else {
						if o.st.last.err == nil {
							o.st.last = f
						}
						o.finish(nil, c.expired(ctx, &o.st))
					}
					continue
				}
			}
			done, w, err := c.decide(&o.st, tb, o.node, f)
			if done {
				o.finish(nil, err)
				continue
			}
			next = append(next, o)
			wait = wait || w
		}
		pending = next
		if len(pending) == 0 {
			break
		}
		if wait {
			if !budgeted {
				budgeted = true
				if _, ok := ctx.Deadline(); !ok {
					var cancel context.CancelFunc
					ctx, cancel = context.WithTimeout(ctx, c.opts.retryTimeout)
					defer cancel()
				}
			}
			if !pause(ctx, tb, bo.next()) {
				for _, o := range pending {
					o.finish(nil, c.expired(ctx, &o.st))
				}
				break
			}
		}
		if c.closed.Load() {
			return ErrClosed
		}
		tb = c.router.current.Load()
	}
	return nil
}

// send sends each node's commands as one pipeline, the nodes in parallel,
// and returns when every reply (or error) is in.
func (c *Client) send(ctx context.Context, groups map[*node][]*op) {
	var wg sync.WaitGroup
	i := 0
	for n, ops := range groups {
		i++
		if i == len(groups) {
			sendTo(ctx, n, ops) // the last group runs here
			continue
		}
		wg.Add(1)
		if !c.group.Go(func(context.Context) {
			defer wg.Done()
			sendTo(ctx, n, ops)
		}) {
			wg.Done() // closing: the pools refuse, quickly
			sendTo(ctx, n, ops)
		}
	}
	wg.Wait()
}

// sendTo sends ops to n, pipelined when there are several.
func sendTo(ctx context.Context, n *node, ops []*op) {
	if len(ops) == 1 {
		ops[0].cmd = n.rc.Do(ctx, ops[0].args...)
		return
	}
	pipe := n.rc.Pipeline()
	for _, o := range ops {
		o.cmd = pipe.Do(ctx, o.args...)
	}
	_, _ = pipe.Exec(ctx) // each command carries its own error
}

// slotGroup is the positions of the keys of one slot.
type slotGroup struct {
	slot int
	idx  []int
}

// groupBySlot groups the positions of keys by slot, in order of first
// appearance.
func groupBySlot(keys []string) []slotGroup {
	var out []slotGroup
	at := make(map[int]int)
	for i, k := range keys {
		s := slot.OfString(k)
		g, ok := at[s]
		if !ok {
			g = len(out)
			at[s] = g
			out = append(out, slotGroup{slot: s})
		}
		out[g].idx = append(out[g].idx, i)
	}
	return out
}
