package client

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/chkv/chkv/client/clienttest"
	"github.com/chkv/chkv/common/slot"
	"github.com/chkv/chkv/common/topology"
	"github.com/chkv/chkv/helper/fakenamenode"
	"github.com/chkv/chkv/helper/testutil"
)

// ownerOf returns the index in addrs of the DataNode that holds key.
func ownerOf(t *testing.T, addrs []string, key string) int {
	t.Helper()
	found := -1
	for i, a := range addrs {
		n, err := direct(t, a).Exists(context.Background(), key).Result()
		if err != nil {
			t.Fatal(err)
		}
		if n == 1 {
			if found >= 0 {
				t.Fatalf("%s is on nodes %d and %d", key, found, i)
			}
			found = i
		}
	}
	return found
}

// A new version re-routes; versions reach WithOnTopology in order; an older
// version pushed after a newer one is ignored.
func TestTopologyUpdates(t *testing.T) {
	cl := newCluster(t, 2)
	var (
		mu   sync.Mutex
		seen []uint64
	)
	c := newClient(t, []string{cl.nn.Addr()}, WithOnTopology(func(tp *topology.Topology) {
		mu.Lock()
		seen = append(seen, tp.Version)
		mu.Unlock()
	}))
	ctx := testCtx(t)
	all := func(i int) func(int) int { return func(int) int { return i } }

	if err := c.Set(ctx, "k1", "v"); err != nil {
		t.Fatal(err)
	}
	want1 := c.Topology().Owners[slot.OfString("k1")]
	if got := ownerOf(t, cl.addrs, "k1"); got != want1 {
		t.Fatalf("k1 on node %d, want %d", got, want1)
	}

	for v := uint64(2); v <= 4; v++ {
		cl.nn.Push(clienttest.Assign(1, v, cl.addrs, all(int(v%2))))
	}
	waitVersion(t, c, 4)
	if err := c.Set(ctx, "k2", "v"); err != nil {
		t.Fatal(err)
	}
	if got := ownerOf(t, cl.addrs, "k2"); got != 0 {
		t.Fatalf("k2 on node %d after version 4 gave node 0 everything", got)
	}

	// Older: version 3 of epoch 1, then version 9 of epoch 0.
	cl.nn.Push(clienttest.Assign(1, 3, cl.addrs, all(1)))
	cl.nn.Push(clienttest.Assign(0, 9, cl.addrs, all(1)))
	// A newer epoch wins over a higher version.
	cl.nn.Push(clienttest.Assign(2, 1, cl.addrs, all(1)))
	testutil.Eventually(t, 5*time.Second, "epoch 2", func() bool { return c.Topology().Epoch == 2 })
	if err := c.Set(ctx, "k3", "v"); err != nil {
		t.Fatal(err)
	}
	if got := ownerOf(t, cl.addrs, "k3"); got != 1 {
		t.Fatalf("k3 on node %d after epoch 2 gave node 1 everything", got)
	}
	mu.Lock()
	defer mu.Unlock()
	if want := []uint64{1, 2, 3, 4, 1}; !slices.Equal(seen, want) {
		t.Fatalf("OnTopology saw versions %v, want %v", seen, want)
	}
}

// countHandler is a slog.Handler that counts records by message.
type countHandler struct {
	mu sync.Mutex
	n  map[string]int
}

func (h *countHandler) Enabled(context.Context, slog.Level) bool { return true }
func (h *countHandler) Handle(_ context.Context, r slog.Record) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.n[r.Message]++
	return nil
}
func (h *countHandler) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h *countHandler) WithGroup(string) slog.Handler      { return h }
func (h *countHandler) count(msg string) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.n[msg]
}

// An older version pushed after a newer one does not change routing.
func TestOlderVersionIgnored(t *testing.T) {
	cl := newCluster(t, 2)
	logs := &countHandler{n: map[string]int{}}
	c := newClient(t, []string{cl.nn.Addr()}, WithLogger(slog.New(logs)))
	ctx := testCtx(t)
	cl.nn.Push(clienttest.Assign(1, 5, cl.addrs, allTo(0)))
	waitVersion(t, c, 5)
	cl.nn.Push(clienttest.Assign(1, 4, cl.addrs, allTo(1)))
	cl.nn.Push(clienttest.Assign(1, 5, cl.addrs, allTo(1))) // same version: ignored too
	cl.nn.Push(clienttest.Assign(0, 9, cl.addrs, allTo(1))) // older epoch
	testutil.Eventually(t, 5*time.Second, "three versions ignored", func() bool {
		return logs.count("client: ignored topology") == 3
	})
	if v := c.Topology().Version; v != 5 {
		t.Fatalf("routing by version %d", v)
	}
	for i := range 50 {
		k := keyOnNode(c.Topology(), 0, i)
		if err := c.Set(ctx, k, "v"); err != nil {
			t.Fatal(err)
		}
		if got := ownerOf(t, cl.addrs, k); got != 0 {
			t.Fatalf("%s on node %d", k, got)
		}
	}
}

// Pools of DataNodes that left the topology are closed after the grace.
func TestDepartedNodePoolClosed(t *testing.T) {
	cl := newCluster(t, 2)
	c := newClient(t, []string{cl.nn.Addr()}, withRetireGrace(20*time.Millisecond))
	if got := c.router.addrs(); len(got) != 2 {
		t.Fatalf("pools %v, want 2", got)
	}
	cl.nn.Push(clienttest.Split(1, 2, cl.addrs[1]))
	waitVersion(t, c, 2)
	testutil.Eventually(t, 5*time.Second, "pool of the departed node closed", func() bool {
		got := c.router.addrs()
		return len(got) == 1 && got[0] == cl.addrs[1]
	})
	if err := c.Set(testCtx(t), "x", "y"); err != nil {
		t.Fatal(err)
	}
}

// New gives up with ErrNoTopology when its context ends first.
func TestNewWithoutTopology(t *testing.T) {
	nn := fakenamenode.New(t) // serves Watch but never pushes
	start := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	c, err := New(ctx, Config{NameNodes: []string{nn.Addr()}})
	if !errors.Is(err, ErrNoTopology) || !errors.Is(err, context.DeadlineExceeded) || c != nil {
		t.Fatalf("New = %v, %v; want ErrNoTopology and DeadlineExceeded", c, err)
	}
	if d := time.Since(start); d < 200*time.Millisecond || d > 3*time.Second {
		t.Fatalf("New returned after %v", d)
	}
	if _, err := New(ctx, Config{}); !errors.Is(err, ErrInvalid) {
		t.Fatalf("New with no NameNodes: %v", err)
	}
	if _, err := New(ctx, Config{NameNodes: []string{nn.Addr()}}, WithPoolSize(0)); !errors.Is(err, ErrInvalid) {
		t.Fatalf("New with pool size 0: %v", err)
	}
}

// Close is idempotent, stops the watch, and later calls fail with ErrClosed.
func TestClose(t *testing.T) {
	cl := newCluster(t, 1)
	c := newClient(t, []string{cl.nn.Addr()})
	ctx := testCtx(t)
	if err := c.Set(ctx, "a", "b"); err != nil {
		t.Fatal(err)
	}
	testutil.Eventually(t, 5*time.Second, "one watcher", func() bool { return cl.nn.Watchers() == 1 })
	c.Close()
	c.Close()
	testutil.Eventually(t, 5*time.Second, "no watcher", func() bool { return cl.nn.Watchers() == 0 })
	if _, err := c.Get(ctx, "a"); !errors.Is(err, ErrClosed) {
		t.Errorf("Get after Close: %v", err)
	}
	if _, err := c.MGet(ctx, "a", "b"); !errors.Is(err, ErrClosed) {
		t.Errorf("MGet after Close: %v", err)
	}
	p := c.Pipeline()
	p.Get("a")
	if _, err := p.Exec(ctx); !errors.Is(err, ErrClosed) {
		t.Errorf("Exec after Close: %v", err)
	}
	if _, err := c.Status(ctx); !errors.Is(err, ErrClosed) {
		t.Errorf("Status after Close: %v", err)
	}
}

// A slot redirected to an address outside the topology keeps working when
// that address's pool is retired: the next call opens a fresh one.
func TestRetiredRedirectTarget(t *testing.T) {
	dn := clienttest.StartDataNode(t)
	real := dn.Addr().String()
	stale := clienttest.NewRESPServer(t, movedTo(real))
	nn := fakenamenode.New(t)
	nn.Push(clienttest.Assign(1, 1, []string{stale.Addr()}, allTo(0)))
	c := newClient(t, []string{nn.Addr()}, withRetireGrace(10*time.Millisecond))
	ctx := testCtx(t)
	if err := c.Set(ctx, "k", "v"); err != nil {
		t.Fatal(err)
	}
	// The pool of the MOVED target, not in the topology, is retired.
	testutil.Eventually(t, 5*time.Second, "the redirect target's pool closed", func() bool {
		return !slices.Contains(c.router.addrs(), real)
	})
	start := time.Now()
	if v, err := c.Get(ctx, "k"); err != nil || v != "v" {
		t.Fatalf("Get = %q, %v", v, err)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Fatalf("Get took %v", d)
	}
	if n := stale.Calls.Load(); n != 1 {
		t.Fatalf("the stale node saw %d commands, want 1", n)
	}
}
