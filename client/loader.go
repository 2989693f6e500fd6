package client

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/singleflight"
)

// Defaults of a LoaderConfig.
const (
	// DefaultNegativeTTL is how long an absence the loader reported is
	// cached when LoaderConfig.NegativeTTL is zero.
	DefaultNegativeTTL = 5 * time.Second
	// DefaultLoadLease bounds how long other processes wait for the one
	// that loads a key when LoaderConfig.LoadLease is zero.
	DefaultLoadLease = 5 * time.Second
	// DefaultLoadTimeout bounds one load when LoaderConfig.LoadTimeout is
	// zero.
	DefaultLoadTimeout = 10 * time.Second
)

// Key prefixes of the Loader's own keys. A prefix holds no brace, so a key
// with a {hash tag} keeps its slot under it.
const (
	absentPrefix = "chkv:absent:"
	leasePrefix  = "chkv:loading:"
)

// leasePoll is how often a process waiting for another's load looks for
// its result.
var leasePoll = 20 * time.Millisecond

// LoadFunc loads key from the system of record (a database) on a cache
// miss. It returns ErrNotFound when the key does not exist there: the
// absence is then cached for LoaderConfig.NegativeTTL, so that requests
// for missing keys do not all reach the database. Any other error is
// returned to the callers and not cached.
type LoadFunc func(ctx context.Context, key string) (string, error)

// LoaderConfig describes a Loader.
type LoaderConfig struct {
	// Load is called on a miss. Required.
	Load LoadFunc
	// TTL is how long a loaded value stays in the cluster. Required.
	TTL time.Duration
	// NegativeTTL is how long an absence (Load returned ErrNotFound)
	// stays cached; zero takes DefaultNegativeTTL.
	NegativeTTL time.Duration
	// Refresh, when set, turns on stale-while-revalidate: a hit whose
	// value has less than Refresh left to live is returned at once, and
	// the key is reloaded in the background (once per process at a time).
	Refresh time.Duration
	// LoadLease bounds how long other processes wait for the one loading
	// a key (a SET NX PX lease in the cluster) before loading it
	// themselves; zero takes DefaultLoadLease, a negative value turns the
	// lease off.
	LoadLease time.Duration
	// LoadTimeout bounds one call of Load; zero takes DefaultLoadTimeout.
	LoadTimeout time.Duration
}

// LoaderStats counts what a Loader did since it was made.
type LoaderStats struct {
	// Hits are Gets answered by a value in the cluster.
	Hits int64
	// NegativeHits are Gets answered by a cached absence.
	NegativeHits int64
	// Misses are lookups that found neither.
	Misses int64
	// Loads are calls of Load; LoadErrors those that failed (ErrNotFound
	// is not a failure).
	Loads, LoadErrors int64
	// Coalesced are Gets that waited for a lookup or load of the same key
	// already running in this process.
	Coalesced int64
	// LeaseWaits are misses that waited for another process's load
	// instead of loading.
	LeaseWaits int64
	// Refreshes are background reloads started by Refresh.
	Refreshes int64
}

// Loader reads keys through the cluster, as groupcache does: a Get that
// misses calls the application's Load once, stores the value with a TTL,
// and returns it. Concurrent Gets of one key in a process share one
// lookup and one load; across processes a short lease in the cluster lets
// one of them load while the others wait for its result. An absence is
// cached too, for NegativeTTL. The cached absence of key is the key
// "chkv:absent:"+key, the lease "chkv:loading:"+key. It is safe for
// concurrent use; Close it when done.
type Loader struct {
	c      *Client
	cfg    LoaderConfig
	flight singleflight.Group // lookups and loads, by key
	// refreshing holds the keys being reloaded in the background.
	refreshing sync.Map
	ctx        context.Context // ends at Close; parent of background work
	stop       context.CancelFunc
	mu         sync.Mutex     // orders wg.Add after Close's Wait
	closed     bool           // guarded by mu
	wg         sync.WaitGroup // background refreshes

	hits, negativeHits, misses, loads, loadErrors atomic.Int64
	coalesced, leaseWaits, refreshes              atomic.Int64
}

// NewLoader returns a Loader reading through c.
func (c *Client) NewLoader(cfg LoaderConfig) (*Loader, error) {
	switch {
	case cfg.Load == nil:
		return nil, fmt.Errorf("%w: a Loader needs a Load function", ErrInvalid)
	case cfg.TTL <= 0:
		return nil, fmt.Errorf("%w: Loader TTL %v must be positive", ErrInvalid, cfg.TTL)
	case cfg.NegativeTTL < 0 || cfg.Refresh < 0 || cfg.LoadTimeout < 0:
		return nil, fmt.Errorf("%w: Loader durations must not be negative", ErrInvalid)
	case cfg.Refresh >= cfg.TTL:
		return nil, fmt.Errorf("%w: Loader Refresh %v must be below its TTL %v", ErrInvalid, cfg.Refresh, cfg.TTL)
	}
	if cfg.NegativeTTL == 0 {
		cfg.NegativeTTL = DefaultNegativeTTL
	}
	if cfg.LoadLease == 0 {
		cfg.LoadLease = DefaultLoadLease
	}
	if cfg.LoadTimeout == 0 {
		cfg.LoadTimeout = DefaultLoadTimeout
	}
	l := &Loader{c: c, cfg: cfg}
	l.ctx, l.stop = context.WithCancel(context.Background())
	return l, nil
}

// Close stops the background refreshes and waits for them to end. Gets
// still work afterwards, without refreshes.
func (l *Loader) Close() {
	l.mu.Lock()
	l.closed = true
	l.mu.Unlock()
	l.stop()
	l.wg.Wait()
}

// Stats returns what the Loader did so far.
func (l *Loader) Stats() LoaderStats {
	return LoaderStats{
		Hits: l.hits.Load(), NegativeHits: l.negativeHits.Load(), Misses: l.misses.Load(),
		Loads: l.loads.Load(), LoadErrors: l.loadErrors.Load(), Coalesced: l.coalesced.Load(),
		LeaseWaits: l.leaseWaits.Load(), Refreshes: l.refreshes.Load(),
	}
}

// Get returns the value of key: from the cluster, or loaded on a miss.
// It returns ErrNotFound when Load reported the key absent (now or within
// NegativeTTL), and Load's error when it failed. ctx bounds the caller's
// wait; a lookup or load shared with other callers goes on if ctx ends.
func (l *Loader) Get(ctx context.Context, key string) (string, error) {
	led := false // set when this caller's function is the one that runs
	ch := l.flight.DoChan(key, func() (any, error) {
		led = true
		// Shared by every caller of this key meanwhile: it must not end
		// with the first caller's context.
		fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), l.cfg.LoadTimeout+l.leaseWait())
		defer cancel()
		return l.fetch(fctx, key)
	})
	select {
	case r := <-ch:
		if r.Shared && !led { // the send of r orders led's write before this read
			l.coalesced.Add(1)
		}
		if r.Err != nil {
			return "", r.Err
		}
		return r.Val.(string), nil
	case <-ctx.Done():
		return "", context.Cause(ctx)
	}
}

// leaseWait is how long a miss may wait for another process's load.
func (l *Loader) leaseWait() time.Duration { return max(l.cfg.LoadLease, 0) }

// fetch looks key up in the cluster and loads it on a miss.
func (l *Loader) fetch(ctx context.Context, key string) (string, error) {
	v, found, err := l.lookup(ctx, key, true)
	if found || err != nil {
		return v, err
	}
	l.misses.Add(1)
	if l.cfg.LoadLease > 0 {
		token, err := newLeaseToken()
		if err != nil {
			return "", err
		}
		err = l.c.Set(ctx, leasePrefix+key, token, NX(), WithTTL(l.cfg.LoadLease))
		switch {
		case errors.Is(err, ErrNotSet):
			// Another process is loading key: wait for its result, up
			// to its lease, then load it ourselves.
			l.leaseWaits.Add(1)
			if v, found, err := l.awaitLoad(ctx, key); found || err != nil {
				return v, err
			}
		case err != nil:
			return "", err
		default:
			// The lease is released by expiry, or by our Del below: the
			// cluster has no compare-and-delete, so a load slower than
			// the lease may at worst let one other process load too.
			defer l.release(ctx, key)
		}
	}
	return l.load(ctx, key)
}

// lookup reads key and its cached absence. found reports an answer: a
// value, or ErrNotFound for a cached absence. With refresh, a value about
// to expire is reloaded in the background.
func (l *Loader) lookup(ctx context.Context, key string, refresh bool) (v string, found bool, err error) {
	p := l.c.Pipeline()
	p.Get(key)
	p.TTL(key)
	p.Get(absentPrefix + key)
	res, err := p.Exec(ctx)
	if err != nil {
		return "", false, err
	}
	if v, err := res[0].Text(); err == nil {
		l.hits.Add(1)
		left, err := res[1].Duration()
		if refresh && l.cfg.Refresh > 0 && (err != nil || (left != NoExpiry && left < l.cfg.Refresh)) {
			l.refresh(key)
		}
		return v, true, nil
	}
	if _, err := res[2].Text(); err == nil {
		l.negativeHits.Add(1)
		return "", true, ErrNotFound
	}
	return "", false, nil
}

// awaitLoad waits, up to the lease, for another process's load of key to
// land in the cluster.
func (l *Loader) awaitLoad(ctx context.Context, key string) (string, bool, error) {
	deadline := time.NewTimer(l.cfg.LoadLease)
	defer deadline.Stop()
	tick := time.NewTicker(leasePoll)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return "", false, context.Cause(ctx)
		case <-deadline.C:
			return "", false, nil
		case <-tick.C:
		}
		if v, found, err := l.lookup(ctx, key, false); found || err != nil {
			return v, found, err
		}
	}
}

// load calls Load and caches what it says: the value for TTL, or the
// absence for NegativeTTL. Load's errors are not cached.
func (l *Loader) load(ctx context.Context, key string) (string, error) {
	l.loads.Add(1)
	lctx, cancel := context.WithTimeout(ctx, l.cfg.LoadTimeout)
	v, err := l.cfg.Load(lctx, key)
	cancel()
	switch {
	case errors.Is(err, ErrNotFound):
		if err := l.c.Set(ctx, absentPrefix+key, "1", WithTTL(l.cfg.NegativeTTL)); err != nil {
			return "", fmt.Errorf("client: caching the absence of %q: %w", key, err)
		}
		return "", ErrNotFound
	case err != nil:
		l.loadErrors.Add(1)
		return "", fmt.Errorf("client: loading %q: %w", key, err)
	}
	if err := l.c.Set(ctx, key, v, WithTTL(l.cfg.TTL)); err != nil {
		return "", fmt.Errorf("client: caching %q: %w", key, err)
	}
	return v, nil
}

// refresh reloads key in the background unless it is being reloaded, or
// the Loader is closed.
func (l *Loader) refresh(key string) {
	if _, busy := l.refreshing.LoadOrStore(key, struct{}{}); busy {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		l.refreshing.Delete(key)
		return
	}
	l.refreshes.Add(1)
	l.wg.Add(1)
	go func() {
		defer l.wg.Done()
		defer l.refreshing.Delete(key)
		ctx, cancel := context.WithTimeout(l.ctx, l.cfg.LoadTimeout)
		defer cancel()
		_, err := l.load(ctx, key)
		if errors.Is(err, ErrNotFound) {
			// Gone from the system of record: drop the stale value.
			_, err = l.c.Del(ctx, key)
		}
		if err != nil {
			l.c.opts.logger.Warn("client: background refresh failed; the value expires by itself", "key", key, "err", err)
		}
	}()
}

// release deletes the load lease of key. The lease expires by itself, so
// a failure only delays other processes' loads.
func (l *Loader) release(ctx context.Context, key string) {
	if _, err := l.c.Del(ctx, leasePrefix+key); err != nil {
		l.c.opts.logger.Debug("client: releasing a load lease failed; it expires by itself", "key", key, "err", err)
	}
}

// newLeaseToken returns a random token naming one load.
func newLeaseToken() (string, error) {
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("client: lease token: %w", err)
	}
	return hex.EncodeToString(b[:]), nil
}
