package client

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tidwall/redcon"

	"github.com/chkv/chkv/client/clienttest"
	"github.com/chkv/chkv/common/slot"
	"github.com/chkv/chkv/common/topology"
	"github.com/chkv/chkv/helper/fakenamenode"
	"github.com/chkv/chkv/helper/testutil"
)

// movedTo answers every command with MOVED to addr.
func movedTo(addr string) clienttest.RESPHandler {
	return func(conn redcon.Conn, args []string) {
		s := 0
		if len(args) > 1 {
			s = slot.OfString(args[1])
		}
		conn.WriteError(fmt.Sprintf("MOVED %d %s", s, addr))
	}
}

// allTo gives every slot to node i.
func allTo(i int) func(int) int { return func(int) int { return i } }

// A MOVED reply is followed to the named node, remembered for the slot, and
// triggers a refresh of the topology.
func TestMovedFollowed(t *testing.T) {
	dn := clienttest.StartDataNode(t)
	real := dn.Addr().String()
	stale := clienttest.NewRESPServer(t, movedTo(real))
	nn := fakenamenode.New(t)
	nn.Push(clienttest.Assign(1, 1, []string{stale.Addr(), real}, allTo(0)))
	c := newClient(t, []string{nn.Addr()}, WithRefreshAfter(50*time.Millisecond))
	ctx := testCtx(t)

	if err := c.Set(ctx, "k", "v"); err != nil {
		t.Fatalf("Set: %v", err)
	}
	if v, err := direct(t, real).Get(ctx, "k").Result(); err != nil || v != "v" {
		t.Fatalf("the owner holds %q, %v", v, err)
	}
	if v, err := c.Get(ctx, "k"); err != nil || v != "v" {
		t.Fatalf("Get = %q, %v", v, err)
	}
	if n := stale.Calls.Load(); n != 1 {
		t.Fatalf("the stale node saw %d commands, want 1: the redirect was not remembered", n)
	}
	// The topology did not change: the watch is restarted to look for one.
	testutil.Eventually(t, 5*time.Second, "a second Watch", func() bool { return nn.WatchCalls() >= 2 })

	// Batches follow MOVED per command.
	var keys []string
	for i := range 20 {
		keys = append(keys, fmt.Sprintf("m%d", i))
		if err := direct(t, real).Set(ctx, keys[i], "x"+keys[i], 0).Err(); err != nil {
			t.Fatal(err)
		}
	}
	vals, err := c.MGet(ctx, keys...)
	if err != nil {
		t.Fatalf("MGet: %v", err)
	}
	for i, v := range vals {
		if !v.Found || v.Val != "x"+keys[i] {
			t.Fatalf("MGet[%d] = %+v", i, v)
		}
	}
	p := c.Pipeline()
	for _, k := range keys {
		p.Incr(k + "-n") // MOVED means not applied: even INCR follows it
	}
	res, err := p.Exec(ctx)
	if err != nil {
		t.Fatalf("Exec: %v", err)
	}
	for i, r := range res {
		if n, err := r.Int(); n != 1 || err != nil {
			t.Fatalf("Incr %d = %d, %v", i, n, err)
		}
	}
}

// Redirect loops end with ErrTooManyRedirects.
func TestTooManyRedirects(t *testing.T) {
	var a, b *clienttest.RESPServer
	var bAddr atomic.Value
	a = clienttest.NewRESPServer(t, func(conn redcon.Conn, args []string) { movedTo(bAddr.Load().(string))(conn, args) })
	b = clienttest.NewRESPServer(t, movedTo(a.Addr()))
	bAddr.Store(b.Addr())
	nn := fakenamenode.New(t)
	nn.Push(clienttest.Assign(1, 1, []string{a.Addr()}, allTo(0)))
	c := newClient(t, []string{nn.Addr()}, WithMaxRedirects(3))

	_, err := c.Get(testCtx(t), "k")
	if !errors.Is(err, ErrTooManyRedirects) {
		t.Fatalf("Get = %v, want ErrTooManyRedirects", err)
	}
	if n := a.Calls.Load() + b.Calls.Load(); n != 4 {
		t.Fatalf("%d attempts, want 4 (1 + 3 redirects)", n)
	}
	_, err = c.MGet(testCtx(t), "k", "j")
	if !errors.Is(err, ErrTooManyRedirects) {
		t.Fatalf("MGet = %v, want ErrTooManyRedirects", err)
	}
}

// TRYAGAIN is retried with backoff until it clears.
func TestTryAgainThenSuccess(t *testing.T) {
	var n atomic.Int64
	f := clienttest.NewRESPServer(t, func(conn redcon.Conn, args []string) {
		if n.Add(1) <= 3 {
			conn.WriteError("TRYAGAIN Slot is being migrated")
			return
		}
		conn.WriteBulkString("v")
	})
	nn := fakenamenode.New(t)
	nn.Push(clienttest.Assign(1, 1, []string{f.Addr()}, allTo(0)))
	c := newClient(t, []string{nn.Addr()})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	start := time.Now()
	v, err := c.Get(ctx, "k")
	if err != nil || v != "v" {
		t.Fatalf("Get = %q, %v", v, err)
	}
	if calls := f.Calls.Load(); calls != 4 {
		t.Fatalf("%d attempts, want 4", calls)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("took %v", d)
	}
}

// CLUSTERDOWN is retried until the deadline, then reported as
// ErrClusterDown: not before the deadline, and not much after.
func TestClusterDownUntilDeadline(t *testing.T) {
	f := clienttest.NewRESPServer(t, func(conn redcon.Conn, args []string) {
		conn.WriteError("CLUSTERDOWN Hash slot not served")
	})
	nn := fakenamenode.New(t)
	nn.Push(clienttest.Assign(1, 1, []string{f.Addr()}, allTo(0)))
	c := newClient(t, []string{nn.Addr()}, WithRetryTimeout(200*time.Millisecond))

	const deadline = 300 * time.Millisecond
	check := func(name string, wait time.Duration, call func(ctx context.Context) error) {
		t.Helper()
		start := time.Now()
		ctx, cancel := context.WithTimeout(context.Background(), deadline)
		defer cancel()
		err := call(ctx)
		end := time.Now()
		if !errors.Is(err, ErrClusterDown) || !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("%s = %v, want ErrClusterDown and DeadlineExceeded", name, err)
		}
		// Not before the time is up (deadlines are set from the start),
		// and not much after.
		if d := end.Sub(start); d < wait || d > wait+time.Second {
			t.Errorf("%s returned after %v, want %v", name, d, wait)
		}
	}
	before := f.Calls.Load()
	check("Get", deadline, func(ctx context.Context) error { _, err := c.Get(ctx, "k"); return err })
	if n := f.Calls.Load() - before; n < 3 {
		t.Errorf("only %d attempts in %v", n, deadline)
	}
	check("Incr", deadline, func(ctx context.Context) error { _, err := c.Incr(ctx, "k"); return err })
	check("MSet", deadline, func(ctx context.Context) error { return c.MSet(ctx, map[string]string{"a": "1", "b": "2"}) })
	// Without a deadline, WithRetryTimeout bounds the wait.
	check("Get without deadline", 200*time.Millisecond, func(context.Context) error {
		_, err := c.Get(context.Background(), "k")
		return err
	})
}

// A slot no one owns waits for a topology that gives it an owner.
func TestUnownedSlotWaitsForTopology(t *testing.T) {
	dn := clienttest.StartDataNode(t)
	nn := fakenamenode.New(t)
	addrs := []string{dn.Addr().String()}
	nn.Push(clienttest.Assign(1, 1, addrs, allTo(topology.Unowned)))
	c := newClient(t, []string{nn.Addr()})
	ctx := testCtx(t)

	short, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
	defer cancel()
	if err := c.Set(short, "k", "v"); !errors.Is(err, ErrClusterDown) {
		t.Fatalf("Set on an unowned slot = %v, want ErrClusterDown", err)
	}
	var pushed atomic.Bool
	go func() {
		time.Sleep(100 * time.Millisecond)
		pushed.Store(true)
		nn.Push(clienttest.Assign(1, 2, addrs, allTo(0)))
	}()
	if err := c.Set(ctx, "k", "v"); err != nil {
		t.Fatalf("Set = %v", err)
	}
	if !pushed.Load() {
		t.Fatal("Set succeeded before the slot had an owner")
	}
}

// A connection that drops after the command was sent: idempotent commands
// are retried, others fail with ErrUncertain and are sent only once.
func TestAmbiguousFailure(t *testing.T) {
	var (
		mu    sync.Mutex
		calls = map[string]int{} // by key
	)
	f := clienttest.NewRESPServer(t, func(conn redcon.Conn, args []string) {
		mu.Lock()
		calls[args[1]]++
		first := calls[args[1]] == 1
		mu.Unlock()
		if first {
			conn.Close() // drop the connection without a reply
			return
		}
		switch args[0] {
		case "get":
			conn.WriteBulkString("v")
		case "incr":
			conn.WriteInt(1)
		default:
			conn.WriteString("OK")
		}
	})
	nn := fakenamenode.New(t)
	nn.Push(clienttest.Assign(1, 1, []string{f.Addr()}, allTo(0)))
	c := newClient(t, []string{nn.Addr()})
	ctx := testCtx(t)

	if v, err := c.Get(ctx, "get"); err != nil || v != "v" {
		t.Errorf("Get = %q, %v", v, err)
	}
	if err := c.Set(ctx, "set", "v"); err != nil {
		t.Errorf("Set = %v", err)
	}
	if _, err := c.Incr(ctx, "incr"); !errors.Is(err, ErrUncertain) || !errors.Is(err, ErrUnavailable) {
		t.Errorf("Incr = %v, want ErrUncertain", err)
	}
	if err := c.Set(ctx, "setnx", "v", NX()); !errors.Is(err, ErrUncertain) {
		t.Errorf("Set NX = %v, want ErrUncertain", err)
	}
	p := c.Pipeline()
	p.Incr("pincr")
	p.Get("pget")
	res, err := p.Exec(ctx)
	if !errors.Is(err, ErrUncertain) || !errors.Is(res[0].Err, ErrUncertain) {
		t.Errorf("pipelined Incr = %v, %v", res, err)
	}
	if v, err := res[1].Text(); v != "v" || err != nil {
		t.Errorf("pipelined Get = %q, %v", v, err)
	}
	mu.Lock()
	defer mu.Unlock()
	want := map[string]int{"get": 2, "set": 2, "incr": 1, "setnx": 1, "pincr": 1, "pget": 2}
	for k, n := range want {
		if calls[k] != n {
			t.Errorf("%s sent %d times, want %d", k, calls[k], n)
		}
	}
}

// A DataNode that has not yet applied the topology the client routes by
// can redirect to a node that is gone. The client must not remember that
// redirect: once the owner catches up, the command succeeds there.
func TestStaleRedirectToDeadNodeIsForgotten(t *testing.T) {
	dn := clienttest.StartDataNode(t)
	owner := dn.Addr().String()
	// The node the lagging owner points at has died: its port refuses.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	deadAddr := ln.Addr().String()
	ln.Close()

	var caughtUp atomic.Bool
	var redirected atomic.Int32
	lagging := clienttest.NewRESPServer(t, func(conn redcon.Conn, args []string) {
		if !caughtUp.Load() {
			redirected.Add(1)
			conn.WriteError(fmt.Sprintf("MOVED %d %s", slot.OfString(args[1]), deadAddr))
			return
		}
		conn.WriteString("OK")
	})
	nn := fakenamenode.New(t)
	nn.Push(clienttest.Assign(1, 1, []string{lagging.Addr(), owner}, allTo(0)))
	c := newClient(t, []string{nn.Addr()}, WithRetryBackoff(5*time.Millisecond, 20*time.Millisecond))
	ctx := testCtx(t)
	done := make(chan error, 1)
	go func() { done <- c.Set(ctx, "k", "v") }()
	testutil.Eventually(t, 5*time.Second, "a redirect to the dead node", func() bool { return redirected.Load() >= 1 })
	caughtUp.Store(true)
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Set = %v, want success once the owner caught up", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Set kept going to the dead node after the owner caught up")
	}
}
