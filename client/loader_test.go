package client

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chkv/chkv/helper/testutil"
)

// countingLoad is a LoadFunc that counts its calls and answers with
// answer, after gate (when set) is closed.
type countingLoad struct {
	calls  atomic.Int64
	gate   chan struct{}
	mu     sync.Mutex
	answer func(call int64, key string) (string, error)
}

func (f *countingLoad) load(ctx context.Context, key string) (string, error) {
	n := f.calls.Add(1)
	if f.gate != nil {
		select {
		case <-f.gate:
		case <-ctx.Done():
			return "", ctx.Err()
		}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.answer(n, key)
}

func newLoader(t *testing.T, c *Client, cfg LoaderConfig) *Loader {
	t.Helper()
	l, err := c.NewLoader(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(l.Close)
	return l
}

// 1,000 concurrent misses of one key make exactly one load; every caller
// gets its value, and the value is then in the cluster with the TTL.
func TestLoaderOneLoadForConcurrentMisses(t *testing.T) {
	cl := newCluster(t, 2)
	c := newClient(t, []string{cl.nn.Addr()})
	db := &countingLoad{gate: make(chan struct{}), answer: func(_ int64, key string) (string, error) { return "v-" + key, nil }}
	l := newLoader(t, c, LoaderConfig{Load: db.load, TTL: time.Hour})
	ctx := testCtx(t)

	const callers = 1000
	var wg sync.WaitGroup
	errs := make(chan error, callers)
	for range callers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			v, err := l.Get(ctx, "user:1")
			if err == nil && v != "v-user:1" {
				err = errors.New("got " + v)
			}
			if err != nil {
				errs <- err
			}
		}()
	}
	testutil.Eventually(t, 10*time.Second, "the load starts and the other callers wait for it", func() bool {
		return db.calls.Load() == 1 && l.Stats().Misses == 1
	})
	close(db.gate)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if n := db.calls.Load(); n != 1 {
		t.Fatalf("%d loads for %d concurrent misses, want 1", n, callers)
	}
	st := l.Stats()
	if st.Loads != 1 || st.Misses != 1 || st.Hits+st.Coalesced != callers-1 {
		t.Fatalf("stats %+v: want 1 load, 1 miss, and the other callers hits or coalesced", st)
	}
	ttl, err := c.TTL(ctx, "user:1")
	if err != nil || ttl <= 59*time.Minute {
		t.Fatalf("TTL of the loaded key = %v, %v; want about an hour", ttl, err)
	}
	if _, err := c.Get(ctx, leasePrefix+"user:1"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("the load lease is still held: %v", err)
	}
}

// A key the loader says does not exist is cached as absent: a flood of
// requests for it reaches the loader once per NegativeTTL.
func TestLoaderNegativeCaching(t *testing.T) {
	cl := newCluster(t, 2)
	c := newClient(t, []string{cl.nn.Addr()})
	db := &countingLoad{answer: func(int64, string) (string, error) { return "", ErrNotFound }}
	l := newLoader(t, c, LoaderConfig{Load: db.load, TTL: time.Hour, NegativeTTL: time.Minute})
	ctx := testCtx(t)
	for i := range 100 {
		if _, err := l.Get(ctx, "missing"); !errors.Is(err, ErrNotFound) {
			t.Fatalf("Get %d of a missing key: %v, want ErrNotFound", i, err)
		}
	}
	if n := db.calls.Load(); n != 1 {
		t.Fatalf("%d loads of a missing key, want 1", n)
	}
	if st := l.Stats(); st.NegativeHits != 99 {
		t.Fatalf("stats %+v: want 99 negative hits", st)
	}
	ttl, err := c.TTL(ctx, absentPrefix+"missing")
	if err != nil || ttl > time.Minute || ttl < 50*time.Second {
		t.Fatalf("TTL of the cached absence = %v, %v; want about a minute", ttl, err)
	}
	if _, err := c.Get(ctx, "missing"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("the absence was stored under the key itself: %v", err)
	}
}

// A failed load is returned and not cached: the next Get loads again.
func TestLoaderErrorsAreNotCached(t *testing.T) {
	cl := newCluster(t, 1)
	c := newClient(t, []string{cl.nn.Addr()})
	boom := errors.New("database down")
	db := &countingLoad{answer: func(call int64, _ string) (string, error) {
		if call == 1 {
			return "", boom
		}
		return "back", nil
	}}
	l := newLoader(t, c, LoaderConfig{Load: db.load, TTL: time.Hour})
	ctx := testCtx(t)
	if _, err := l.Get(ctx, "k"); !errors.Is(err, boom) {
		t.Fatalf("first Get: %v, want the load's error", err)
	}
	if v, err := l.Get(ctx, "k"); err != nil || v != "back" {
		t.Fatalf("second Get = %q, %v; want a fresh load", v, err)
	}
	if st := l.Stats(); st.Loads != 2 || st.LoadErrors != 1 {
		t.Fatalf("stats %+v: want 2 loads, 1 error", st)
	}
}

// Two processes (two Clients) missing one key at once: the one holding the
// lease loads, the other waits for its value instead of loading too.
func TestLoaderLeaseAcrossProcesses(t *testing.T) {
	cl := newCluster(t, 2)
	db := &countingLoad{gate: make(chan struct{}), answer: func(_ int64, key string) (string, error) { return "v", nil }}
	a := newLoader(t, newClient(t, []string{cl.nn.Addr()}), LoaderConfig{Load: db.load, TTL: time.Hour, LoadLease: time.Minute})
	b := newLoader(t, newClient(t, []string{cl.nn.Addr()}), LoaderConfig{Load: db.load, TTL: time.Hour, LoadLease: time.Minute})
	ctx := testCtx(t)
	got := make(chan error, 2)
	get := func(l *Loader) {
		v, err := l.Get(ctx, "shared")
		if err == nil && v != "v" {
			err = errors.New("got " + v)
		}
		got <- err
	}
	go get(a)
	testutil.Eventually(t, 10*time.Second, "the first process loads", func() bool { return db.calls.Load() == 1 })
	go get(b)
	testutil.Eventually(t, 10*time.Second, "the second process waits for the lease", func() bool { return b.Stats().LeaseWaits == 1 })
	close(db.gate)
	for range 2 {
		if err := <-got; err != nil {
			t.Fatal(err)
		}
	}
	if n := db.calls.Load(); n != 1 {
		t.Fatalf("%d loads by two processes, want 1", n)
	}
}

// A holder of the lease that never stores (it died) delays the others by
// at most the lease: then they load themselves.
func TestLoaderLeaseExpires(t *testing.T) {
	cl := newCluster(t, 1)
	c := newClient(t, []string{cl.nn.Addr()})
	ctx := testCtx(t)
	if err := c.Set(ctx, leasePrefix+"orphan", "dead-process", WithTTL(time.Hour)); err != nil {
		t.Fatal(err)
	}
	db := &countingLoad{answer: func(int64, string) (string, error) { return "v", nil }}
	l := newLoader(t, c, LoaderConfig{Load: db.load, TTL: time.Hour, LoadLease: 100 * time.Millisecond})
	if v, err := l.Get(ctx, "orphan"); err != nil || v != "v" {
		t.Fatalf("Get = %q, %v", v, err)
	}
	if st := l.Stats(); st.LeaseWaits != 1 || st.Loads != 1 {
		t.Fatalf("stats %+v: want one wait for the lease, then one load", st)
	}
}

// With Refresh, a hit about to expire is answered at once and reloaded in
// the background; a value without expiry is not.
func TestLoaderStaleWhileRevalidate(t *testing.T) {
	cl := newCluster(t, 1)
	c := newClient(t, []string{cl.nn.Addr()})
	ctx := testCtx(t)
	if err := c.Set(ctx, "page", "old", WithTTL(30*time.Second)); err != nil {
		t.Fatal(err)
	}
	if err := c.Set(ctx, "pinned", "kept"); err != nil {
		t.Fatal(err)
	}
	db := &countingLoad{answer: func(int64, string) (string, error) { return "new", nil }}
	l := newLoader(t, c, LoaderConfig{Load: db.load, TTL: time.Hour, Refresh: time.Minute})
	if v, err := l.Get(ctx, "page"); err != nil || v != "old" {
		t.Fatalf("Get = %q, %v; want the stale value at once", v, err)
	}
	testutil.Eventually(t, 10*time.Second, "the background refresh stores the new value", func() bool {
		v, err := c.Get(ctx, "page")
		return err == nil && v == "new"
	})
	if ttl, err := c.TTL(ctx, "page"); err != nil || ttl < 59*time.Minute {
		t.Fatalf("TTL after the refresh = %v, %v; want about an hour", ttl, err)
	}
	if v, err := l.Get(ctx, "pinned"); err != nil || v != "kept" {
		t.Fatalf("Get of a key without expiry = %q, %v", v, err)
	}
	if st := l.Stats(); st.Refreshes != 1 || st.Loads != 1 {
		t.Fatalf("stats %+v: want one refresh and its load", st)
	}
}

// A caller whose context ends stops waiting; the shared load goes on and
// its value serves the next Get.
func TestLoaderCallerGivesUp(t *testing.T) {
	cl := newCluster(t, 1)
	c := newClient(t, []string{cl.nn.Addr()})
	db := &countingLoad{gate: make(chan struct{}), answer: func(int64, string) (string, error) { return "v", nil }}
	l := newLoader(t, c, LoaderConfig{Load: db.load, TTL: time.Hour})
	ctx, cancel := context.WithCancel(testCtx(t))
	done := make(chan error, 1)
	go func() {
		_, err := l.Get(ctx, "slow")
		done <- err
	}()
	testutil.Eventually(t, 10*time.Second, "the load starts", func() bool { return db.calls.Load() == 1 })
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("Get after its context ended: %v", err)
	}
	close(db.gate)
	testutil.Eventually(t, 10*time.Second, "the load completes and is cached", func() bool {
		v, err := c.Get(testCtx(t), "slow")
		return err == nil && v == "v"
	})
	if v, err := l.Get(testCtx(t), "slow"); err != nil || v != "v" || db.calls.Load() != 1 {
		t.Fatalf("Get = %q, %v after %d loads; want the cached value", v, err, db.calls.Load())
	}
}

func TestLoaderConfigRefused(t *testing.T) {
	cl := newCluster(t, 1)
	c := newClient(t, []string{cl.nn.Addr()})
	load := func(context.Context, string) (string, error) { return "", nil }
	for name, cfg := range map[string]LoaderConfig{
		"no load":          {TTL: time.Second},
		"no TTL":           {Load: load},
		"refresh over TTL": {Load: load, TTL: time.Second, Refresh: time.Second},
		"negative":         {Load: load, TTL: time.Second, NegativeTTL: -1},
	} {
		if _, err := c.NewLoader(cfg); !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: %v, want ErrInvalid", name, err)
		}
	}
}
