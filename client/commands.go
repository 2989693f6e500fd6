package client

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
)

// NoExpiry is what TTL returns for a key that exists and has no expiry.
const NoExpiry time.Duration = -1

// SetOption modifies one Set.
type SetOption func(*setArgs)

type setArgs struct {
	ttl    time.Duration
	ttlSet bool
	nx, xx bool
}

// WithTTL makes the key expire after d (millisecond precision; d must be
// positive).
func WithTTL(d time.Duration) SetOption { return func(a *setArgs) { a.ttl, a.ttlSet = d, true } }

// NX writes only if the key does not exist; otherwise Set returns
// ErrNotSet.
func NX() SetOption { return func(a *setArgs) { a.nx = true } }

// XX writes only if the key exists; otherwise Set returns ErrNotSet.
func XX() SetOption { return func(a *setArgs) { a.xx = true } }

func buildSetArgs(opts []SetOption) (setArgs, error) {
	var a setArgs
	for _, o := range opts {
		o(&a)
	}
	switch {
	case a.nx && a.xx:
		return a, fmt.Errorf("%w: NX and XX together", ErrInvalid)
	case a.ttlSet && a.ttl <= 0:
		return a, fmt.Errorf("%w: TTL %v must be positive", ErrInvalid, a.ttl)
	}
	return a, nil
}

// idempotent reports whether sending this SET twice has the effect of
// sending it once: true without NX or XX.
func (a setArgs) idempotent() bool { return !a.nx && !a.xx }

// redisArgs returns the go-redis form of a.
func (a setArgs) redisArgs() redis.SetArgs {
	sa := redis.SetArgs{TTL: a.ttl}
	switch {
	case a.nx:
		sa.Mode = "NX"
	case a.xx:
		sa.Mode = "XX"
	}
	return sa
}

// Get returns the value of key, or ErrNotFound when it does not exist.
// Get is retried on connection failures.
func (c *Client) Get(ctx context.Context, key string) (string, error) {
	var v string
	err := c.do(ctx, key, true, func(ctx context.Context, rc *redis.Client) error {
		var err error
		v, err = rc.Get(ctx, key).Result()
		return err
	})
	return v, err
}

// Set writes value at key. With NX or XX it returns ErrNotSet when the
// condition did not hold; a plain Set never does. A plain Set is retried on
// connection failures (writing the same value twice is harmless); with NX
// or XX it is retried only when it surely was not sent, and otherwise
// fails with ErrUncertain.
func (c *Client) Set(ctx context.Context, key, value string, opts ...SetOption) error {
	a, err := buildSetArgs(opts)
	if err != nil {
		return err
	}
	if a.idempotent() {
		return c.do(ctx, key, true, func(ctx context.Context, rc *redis.Client) error {
			return rc.Set(ctx, key, value, a.ttl).Err()
		})
	}
	sa := a.redisArgs()
	err = c.do(ctx, key, false, func(ctx context.Context, rc *redis.Client) error {
		return rc.SetArgs(ctx, key, value, sa).Err()
	})
	if errors.Is(err, ErrNotFound) {
		return ErrNotSet
	}
	return err
}

// Incr adds one to the integer at key (absent counts as 0) and returns the
// result. It is not retried after a send that may have been applied: such
// failures wrap ErrUncertain.
func (c *Client) Incr(ctx context.Context, key string) (int64, error) {
	var v int64
	err := c.do(ctx, key, false, func(ctx context.Context, rc *redis.Client) error {
		var err error
		v, err = rc.Incr(ctx, key).Result()
		return err
	})
	return v, err
}

// IncrBy adds delta to the integer at key (absent counts as 0) and returns
// the result. Like Incr, it is never sent twice.
func (c *Client) IncrBy(ctx context.Context, key string, delta int64) (int64, error) {
	var v int64
	err := c.do(ctx, key, false, func(ctx context.Context, rc *redis.Client) error {
		var err error
		v, err = rc.IncrBy(ctx, key, delta).Result()
		return err
	})
	return v, err
}

// Expire makes key expire after ttl (millisecond precision) and reports
// whether the key exists. A retried Expire counts ttl from the retry.
func (c *Client) Expire(ctx context.Context, key string, ttl time.Duration) (bool, error) {
	if ttl <= 0 {
		return false, fmt.Errorf("%w: TTL %v must be positive", ErrInvalid, ttl)
	}
	var ok bool
	err := c.do(ctx, key, true, func(ctx context.Context, rc *redis.Client) error {
		var err error
		ok, err = rc.PExpire(ctx, key, ttl).Result()
		return err
	})
	return ok, err
}

// TTL returns the time key has left to live, NoExpiry when it has no
// expiry, or ErrNotFound when it does not exist.
func (c *Client) TTL(ctx context.Context, key string) (time.Duration, error) {
	var ms int64
	err := c.do(ctx, key, true, func(ctx context.Context, rc *redis.Client) error {
		var err error
		ms, err = rc.Do(ctx, "pttl", key).Int64()
		return err
	})
	if err != nil {
		return 0, err
	}
	return pttlDuration(ms)
}

func pttlDuration(ms int64) (time.Duration, error) {
	switch {
	case ms == -2:
		return 0, ErrNotFound
	case ms < 0:
		return NoExpiry, nil
	}
	return time.Duration(ms) * time.Millisecond, nil
}

// Value is one result of MGet.
type Value struct {
	// Val is the value; empty when the key was not found.
	Val string
	// Found reports whether the key exists.
	Found bool
}

// MGet returns the values of keys, in the order of keys. The keys may be in
// any slots: they are read with one MGET per slot, pipelined per DataNode,
// all DataNodes in parallel. It is not atomic across slots.
func (c *Client) MGet(ctx context.Context, keys ...string) ([]Value, error) {
	out := make([]Value, len(keys))
	if len(keys) == 0 {
		return out, nil
	}
	b := c.newBatch()
	for _, g := range groupBySlot(keys) {
		args := make([]any, 0, 1+len(g.idx))
		args = append(args, "mget")
		for _, i := range g.idx {
			args = append(args, keys[i])
		}
		b.add(g.slot, true, args, func(v any, err error) (any, error) {
			if err != nil {
				return nil, err
			}
			vals, ok := v.([]any)
			if !ok || len(vals) != len(g.idx) {
				return nil, fmt.Errorf("client: MGET: unexpected reply %T", v)
			}
			for j, i := range g.idx {
				if s, ok := vals[j].(string); ok {
					out[i] = Value{Val: s, Found: true}
				}
			}
			return nil, nil
		})
	}
	if err := b.run(ctx); err != nil {
		return nil, err
	}
	return out, b.firstErr()
}

// MSet writes every key of values. The keys may be in any slots: they are
// written with one MSET per slot, pipelined per DataNode, all DataNodes in
// parallel. Each slot's part is atomic; the whole is not, and on error
// some parts may have been written.
func (c *Client) MSet(ctx context.Context, values map[string]string) error {
	if len(values) == 0 {
		return nil
	}
	keys := make([]string, 0, len(values))
	for k := range values {
		keys = append(keys, k)
	}
	b := c.newBatch()
	for _, g := range groupBySlot(keys) {
		args := make([]any, 0, 1+2*len(g.idx))
		args = append(args, "mset")
		for _, i := range g.idx {
			args = append(args, keys[i], values[keys[i]])
		}
		b.add(g.slot, true, args, nil)
	}
	if err := b.run(ctx); err != nil {
		return err
	}
	return b.firstErr()
}

// Del deletes keys and returns how many existed. The keys may be in any
// slots, as for MGet. A DEL retried after a connection failure may count
// keys its first attempt already deleted as missing.
func (c *Client) Del(ctx context.Context, keys ...string) (int64, error) {
	return c.count(ctx, "del", keys)
}

// Exists returns how many of keys exist (a key named twice counts twice).
// The keys may be in any slots, as for MGet.
func (c *Client) Exists(ctx context.Context, keys ...string) (int64, error) {
	return c.count(ctx, "exists", keys)
}

// count runs a multi-key command that returns an integer per slot and
// sums the integers.
func (c *Client) count(ctx context.Context, name string, keys []string) (int64, error) {
	if len(keys) == 0 {
		return 0, fmt.Errorf("%w: %s needs at least one key", ErrInvalid, name)
	}
	var total int64
	b := c.newBatch()
	for _, g := range groupBySlot(keys) {
		args := make([]any, 0, 1+len(g.idx))
		args = append(args, name)
		for _, i := range g.idx {
			args = append(args, keys[i])
		}
		b.add(g.slot, true, args, func(v any, err error) (any, error) {
			if err != nil {
				return nil, err
			}
			n, ok := v.(int64)
			if !ok {
				return nil, fmt.Errorf("client: %s: unexpected reply %T", name, v)
			}
			total += n
			return nil, nil
		})
	}
	if err := b.run(ctx); err != nil {
		return 0, err
	}
	return total, b.firstErr()
}
