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

	"google.golang.org/grpc"

	"github.com/chkv/chkv/client/clienttest"
	"github.com/chkv/chkv/helper/fakenamenode"
	"github.com/chkv/chkv/helper/testutil"
)

// faultDialer dials gRPC addresses unless they are marked down.
type faultDialer struct {
	down     sync.Map // addr -> true
	attempts sync.Map // addr -> *atomic.Int64
}

func (f *faultDialer) dial(ctx context.Context, addr string) (net.Conn, error) {
	n, _ := f.attempts.LoadOrStore(addr, new(atomic.Int64))
	n.(*atomic.Int64).Add(1)
	if _, down := f.down.Load(addr); down {
		return nil, fmt.Errorf("faultDialer: %s is down", addr)
	}
	var d net.Dialer
	return d.DialContext(ctx, "tcp", addr)
}

func (f *faultDialer) attemptsTo(addr string) int64 {
	if n, ok := f.attempts.Load(addr); ok {
		return n.(*atomic.Int64).Load()
	}
	return 0
}

// With every NameNode gone the client serves from its last topology; when
// one answers again the client watches it and takes its new versions.
func TestNameNodeDown(t *testing.T) {
	dns := newCluster(t, 2) // its own NameNode is unused
	nn1 := fakenamenode.New(t)
	nn2 := fakenamenode.New(t)
	nn1.Push(clienttest.Split(1, 1, dns.addrs...))
	nn2.Push(clienttest.Split(1, 1, dns.addrs...))
	fd := &faultDialer{}
	fd.down.Store(nn2.Addr(), true)
	c := newClient(t, []string{nn1.Addr(), nn2.Addr()},
		WithGRPCDialOptions(grpc.WithContextDialer(fd.dial)),
		WithWatchBackoff(10*time.Millisecond, 50*time.Millisecond))
	ctx := testCtx(t)

	nn1.Stop()
	// Both NameNodes are unreachable: the watch keeps trying both.
	testutil.Eventually(t, 5*time.Second, "attempts to watch the second NameNode", func() bool {
		return fd.attemptsTo(nn2.Addr()) >= 2
	})
	for i := range 100 {
		k := fmt.Sprintf("k%d", i)
		if err := c.Set(ctx, k, "v"); err != nil {
			t.Fatalf("Set with no NameNode: %v", err)
		}
		if v, err := c.Get(ctx, k); err != nil || v != "v" {
			t.Fatalf("Get with no NameNode: %q, %v", v, err)
		}
	}

	nn2.Push(clienttest.Assign(1, 2, dns.addrs, allTo(1)))
	fd.down.Delete(nn2.Addr())
	waitVersion(t, c, 2)
	k := keyOnNode(clienttest.Split(1, 1, dns.addrs...), 0, 0)
	if err := c.Set(ctx, k, "new"); err != nil {
		t.Fatal(err)
	}
	if v, err := direct(t, dns.addrs[1]).Get(ctx, k).Result(); err != nil || v != "new" {
		t.Fatalf("version 2 routes %s to node 1, which holds %q, %v", k, v, err)
	}
	nn2.Push(clienttest.Assign(1, 3, dns.addrs, allTo(0)))
	waitVersion(t, c, 3)
}

// A broken Watch stream is opened again, and later versions arrive.
func TestWatchStreamBroken(t *testing.T) {
	cl := newCluster(t, 1)
	c := newClient(t, []string{cl.nn.Addr()}, WithWatchBackoff(10*time.Millisecond, 50*time.Millisecond))
	for i := range 3 {
		cl.nn.Break()
		testutil.Eventually(t, 5*time.Second, "a new Watch", func() bool { return cl.nn.WatchCalls() >= int64(i+2) })
	}
	cl.nn.Push(clienttest.Split(1, 2, cl.addrs...))
	waitVersion(t, c, 2)
}

// A NameNode that stops sending without closing its stream, as a paused
// process does, is given up once it misses its beats: the client watches
// the other NameNode and takes its newer version, though nothing asked it
// to refresh.
func TestWatchedNameNodeStalls(t *testing.T) {
	dns := newCluster(t, 2) // its own NameNode is unused
	nn1 := fakenamenode.New(t)
	nn2 := fakenamenode.New(t)
	nn1.SetBeat(20 * time.Millisecond)
	nn1.Push(clienttest.Split(1, 1, dns.addrs...))
	c := newClient(t, []string{nn1.Addr(), nn2.Addr()}, WithWatchBackoff(10*time.Millisecond, 50*time.Millisecond))
	nn2.Push(clienttest.Split(2, 2, dns.addrs...))
	// Once a beat has told the client the period, silence is measured in
	// beats (floored at minWatchSilence), not in the 10 s allowed before.
	testutil.Eventually(t, 5*time.Second, "a beat", func() bool { return nn1.BeatsSent() > 0 })
	nn1.Stall()
	waitVersion(t, c, 2) // within 5 s
	if err := c.watchErr.Load(); err == nil || !errors.Is(*err, errSilent) {
		t.Fatalf("the watch of the stalled NameNode ended with %v, want %v", err, errSilent)
	}
}

// A killed DataNode: commands on its slots fail to connect, wait for the
// topology that moves the slots, and succeed at the new owner. INCR is
// retried too, since the failed dial proves it was never sent.
func TestDataNodeKilled(t *testing.T) {
	cl := newCluster(t, 2)
	c := newClient(t, []string{cl.nn.Addr()})
	fresh := newClient(t, []string{cl.nn.Addr()}) // has no connection to node 0 yet
	ctx := testCtx(t)
	topo := c.Topology()
	k := keyOnNode(topo, 0, 0)
	ctr := keyOnNode(topo, 0, 1)
	if err := c.Set(ctx, k, "old"); err != nil {
		t.Fatal(err)
	}
	// The data "migrated" to node 1 before node 0 died.
	if err := direct(t, cl.addrs[1]).Set(ctx, k, "moved", 0).Err(); err != nil {
		t.Fatal(err)
	}
	cl.dns[0].Stop()

	var pushed atomic.Bool
	go func() {
		time.Sleep(200 * time.Millisecond)
		pushed.Store(true)
		cl.nn.Push(clienttest.Assign(1, 2, cl.addrs, allTo(1)))
	}()
	type result struct {
		v      string
		n      int64
		err    error
		pushed bool // when the call returned
	}
	gets, incrs := make(chan result), make(chan result)
	go func() {
		v, err := c.Get(ctx, k)
		gets <- result{v: v, err: err, pushed: pushed.Load()}
	}()
	go func() {
		n, err := fresh.Incr(ctx, ctr)
		incrs <- result{n: n, err: err, pushed: pushed.Load()}
	}()
	if r := <-gets; r.err != nil || r.v != "moved" || !r.pushed {
		t.Errorf("Get = %q, %v (new topology pushed: %v), want the new owner's value", r.v, r.err, r.pushed)
	}
	if r := <-incrs; r.err != nil || r.n != 1 || !r.pushed {
		t.Errorf("Incr = %d, %v (new topology pushed: %v)", r.n, r.err, r.pushed)
	}
	if v, err := direct(t, cl.addrs[1]).Get(ctx, ctr).Result(); err != nil || v != "1" {
		t.Errorf("the new owner holds counter %q, %v", v, err)
	}

	// Without a new topology the failure surfaces as ErrUnavailable when
	// the call's time is up.
	c2 := newClient(t, []string{cl.nn.Addr()})
	cl.dns[1].Stop()
	short, cancel := context.WithTimeout(ctx, 150*time.Millisecond)
	defer cancel()
	if _, err := c2.Get(short, k); !errors.Is(err, ErrUnavailable) || !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Get with its DataNode down = %v, want ErrUnavailable", err)
	}
}
