package namenode

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/protobuf/encoding/protowire"

	"github.com/chkv/chkv/helper/testutil"
	"github.com/chkv/chkv/proto/chkvpb"
)

// peekVersion reads (epoch, version) from a marshaled Topology without
// decoding the rest: fields 1 and 2 come first in Go's encoding.
func peekVersion(b []byte) (epoch, version uint64, err error) {
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return 0, 0, protowire.ParseError(n)
		}
		b = b[n:]
		if typ != protowire.VarintType || num > 2 {
			return epoch, version, nil
		}
		v, n := protowire.ConsumeVarint(b)
		if n < 0 {
			return 0, 0, protowire.ParseError(n)
		}
		b = b[n:]
		if num == 1 {
			epoch = v
		} else {
			version = v
		}
	}
	return epoch, version, nil
}

// recvVersion receives events up to the next version and returns it,
// skipping beats.
func recvVersion(stream chkvpb.NameNode_WatchClient) (uint64, error) {
	for {
		ev, err := stream.Recv()
		if err != nil {
			return 0, err
		}
		if ev.GetBeatMs() > 0 {
			continue
		}
		_, v, err := peekVersion(ev.GetTopology())
		return v, err
	}
}

// commitDirect commits k versions without going through gRPC, by changing
// dn's RESP address, and returns the last version.
func (n *testNameNode) commitDirect(t testing.TB, dn *fakeDataNode, k int) uint64 {
	t.Helper()
	var last uint64
	for range k {
		node := dn.node()
		node.RespAddr = fmt.Sprintf("resp-%s-%d:6379", dn.id, n.Topology().Version+1)
		v, err := n.register(&chkvpb.RegisterRequest{Node: node})
		if err != nil {
			t.Fatal(err)
		}
		last = v.topo.Version
	}
	return last
}

// collector reads a watch stream into a list of versions.
type collector struct {
	mu       sync.Mutex
	versions []uint64
	err      error
}

func (c *collector) run(stream chkvpb.NameNode_WatchClient) {
	for {
		v, err := recvVersion(stream)
		c.mu.Lock()
		if err != nil {
			c.err = err
			c.mu.Unlock()
			return
		}
		c.versions = append(c.versions, v)
		c.mu.Unlock()
	}
}

func (c *collector) last() uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.versions) == 0 {
		return 0
	}
	return c.versions[len(c.versions)-1]
}

// check fails unless the versions strictly increase, contiguous when
// contiguous is set.
func (c *collector) check(t *testing.T, name string, contiguous bool) {
	t.Helper()
	c.mu.Lock()
	defer c.mu.Unlock()
	for i := 1; i < len(c.versions); i++ {
		prev, v := c.versions[i-1], c.versions[i]
		if v <= prev || (contiguous && v != prev+1) {
			t.Fatalf("%s received version %d after %d (all: %v)", name, v, prev, c.versions)
		}
	}
}

func startWatch(t testing.TB, ctx context.Context, c chkvpb.NameNodeClient) chkvpb.NameNode_WatchClient {
	t.Helper()
	stream, err := c.Watch(ctx, &chkvpb.WatchRequest{})
	if err != nil {
		t.Fatal(err)
	}
	return stream
}

func TestWatchCurrentThenEveryVersionInOrder(t *testing.T) {
	nn := startNameNode(t, nil)
	c := nn.client(t, "")
	dn := startFakeDataNode(t, "a", "")
	register(t, c, dn.node(), nil)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	cols := make([]*collector, 3)
	for i := range cols {
		stream := startWatch(t, ctx, c)
		v, err := recvVersion(stream)
		if err != nil || v != nn.Topology().Version {
			t.Fatalf("watcher's first event: version %d, %v; want the current %d at once", v, err, nn.Topology().Version)
		}
		cols[i] = &collector{versions: []uint64{v}}
		go cols[i].run(stream)
	}
	// Paced: each version reaches every watcher before the next commit.
	var last uint64
	for range 5 {
		last = nn.commitDirect(t, dn, 1)
		for i, col := range cols {
			testutil.Eventually(t, 5*time.Second, fmt.Sprintf("watcher %d to receive %d", i, last), func() bool { return col.last() == last })
		}
	}
	// A burst, shorter than the backlog: still every version, in order.
	last = nn.commitDirect(t, dn, watchBacklog-2)
	for i, col := range cols {
		testutil.Eventually(t, 10*time.Second, fmt.Sprintf("watcher %d to receive %d", i, last), func() bool { return col.last() == last })
		col.check(t, fmt.Sprintf("watcher %d", i), true)
	}
	// A watcher arriving now starts from the newest version.
	stream := startWatch(t, ctx, c)
	if v, err := recvVersion(stream); err != nil || v != last {
		t.Fatalf("late watcher's first event: %d, %v; want %d", v, err, last)
	}
}

// slowClient dials the NameNode with fixed 64 KiB flow-control windows
// (which turns off gRPC's dynamic windows).
func slowClient(t testing.TB, nn *testNameNode) chkvpb.NameNodeClient {
	t.Helper()
	conn, err := grpc.NewClient(nn.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithInitialWindowSize(64<<10), grpc.WithInitialConnWindowSize(64<<10))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return chkvpb.NewNameNodeClient(conn)
}

func TestSlowWatcherDoesNotDelayOthers(t *testing.T) {
	nn := startNameNode(t, nil)
	c := nn.client(t, "")
	var dns []*fakeDataNode
	for _, id := range nodeIDs(3) {
		dn := startFakeDataNode(t, id, "")
		dns = append(dns, dn)
		register(t, c, dn.node(), nil)
	}
	frameSize := len(nn.cur.Load().frame)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	// Slow watchers read the first event and then nothing. One has its own
	// connection, with fixed 64 KiB flow-control windows so that its stream
	// fills after a few versions; the other shares the fast watchers'
	// connection, whose windows grow.
	var slows []chkvpb.NameNode_WatchClient
	for _, client := range []chkvpb.NameNodeClient{slowClient(t, nn), c} {
		stream := startWatch(t, ctx, client)
		if _, err := recvVersion(stream); err != nil {
			t.Fatal(err)
		}
		slows = append(slows, stream)
	}
	fast := make([]*collector, 5)
	for i := range fast {
		stream := startWatch(t, ctx, c)
		fast[i] = &collector{}
		go fast[i].run(stream)
	}
	// Commit far more than a stream holds, in bursts shorter than the
	// backlog; the fast watchers get every version of each burst promptly.
	batches := max(4, 1+(1<<20)/(frameSize*(watchBacklog/2)))
	var last uint64
	for range batches {
		start := time.Now()
		last = nn.commitDirect(t, dns[0], watchBacklog/2)
		for i, col := range fast {
			testutil.Eventually(t, 5*time.Second, fmt.Sprintf("fast watcher %d to receive %d", i, last), func() bool { return col.last() == last })
		}
		if d := time.Since(start); d > 5*time.Second {
			t.Fatalf("a burst took %v to reach the fast watchers", d)
		}
	}
	for i, col := range fast {
		col.check(t, fmt.Sprintf("fast watcher %d", i), true)
	}
	// The slow watchers resume: in order, never older, ending at the newest,
	// and skipping what fell out of the backlog while they were stuck.
	for i, stream := range slows {
		col := &collector{}
		done := make(chan struct{})
		go func() { defer close(done); col.run(stream) }()
		testutil.Eventually(t, 10*time.Second, fmt.Sprintf("slow watcher %d to reach %d", i, last), func() bool { return col.last() == last })
		col.check(t, fmt.Sprintf("slow watcher %d", i), false)
		if n := len(col.versions); i == 0 && uint64(n) >= last {
			t.Errorf("slow watcher %d received all %d versions: its stream never filled", i, n)
		}
	}
	if got := nn.status().GetWatchers(); got != int64(len(fast)+len(slows)) {
		t.Fatalf("status counts %d watchers, want %d", got, len(fast)+len(slows))
	}
}

// fleet is many watchers over a few connections, for the scale test and
// the benchmark. Each records when it received each version.
type fleet struct {
	n        int
	maxVer   uint64
	received []atomic.Int64 // by version: how many watchers got it
	arrivals [][]int64      // by version, by watcher: UnixNano of receipt
	errs     atomic.Int64
	wg       sync.WaitGroup
	cancel   context.CancelFunc
}

// startFleet opens n watch streams spread over conns connections and
// returns once every stream has been opened.
func startFleet(t testing.TB, nn *testNameNode, n, conns int, maxVer uint64) *fleet {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	f := &fleet{n: n, maxVer: maxVer, received: make([]atomic.Int64, maxVer+1),
		arrivals: make([][]int64, maxVer+1), cancel: cancel}
	for v := range f.arrivals {
		f.arrivals[v] = make([]int64, n)
	}
	clients := make([]chkvpb.NameNodeClient, conns)
	for i := range clients {
		conn, err := grpc.NewClient(nn.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()),
			grpc.WithDefaultCallOptions(grpc.ForceCodecV2(peekCodec{newCodec(nil)})))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { conn.Close() })
		clients[i] = chkvpb.NewNameNodeClient(conn)
	}
	var open sync.WaitGroup
	var openErr atomic.Value
	const openers = 8
	for o := range openers {
		open.Add(1)
		go func() {
			defer open.Done()
			for i := o; i < n; i += openers {
				stream, err := clients[i%conns].Watch(ctx, &chkvpb.WatchRequest{})
				if err != nil {
					openErr.Store(err)
					return
				}
				f.wg.Add(1)
				go f.run(i, stream)
			}
		}()
	}
	open.Wait()
	if err := openErr.Load(); err != nil {
		cancel()
		t.Fatalf("opening watch streams: %v", err)
	}
	t.Cleanup(f.stop)
	return f
}

func (f *fleet) run(i int, stream chkvpb.NameNode_WatchClient) {
	defer f.wg.Done()
	for {
		v, err := recvVersion(stream)
		if err != nil {
			return
		}
		if v <= f.maxVer {
			f.arrivals[v][i] = time.Now().UnixNano()
			f.received[v].Add(1)
		} else {
			f.errs.Add(1)
		}
	}
}

func (f *fleet) stop() {
	f.cancel()
	f.wg.Wait()
}

// waitAll waits until every watcher received version v.
func (f *fleet) waitAll(t testing.TB, v uint64, timeout time.Duration) {
	t.Helper()
	testutil.Eventually(t, timeout, fmt.Sprintf("%d watchers to receive version %d", f.n, v), func() bool {
		return f.received[v].Load() == int64(f.n)
	})
}

// startSmallCluster starts a NameNode with k DataNodes registered and
// returns the first DataNode, used to commit more versions.
func startSmallCluster(t testing.TB, k, vnodes int, mutate ...func(*Config)) (*testNameNode, *fakeDataNode) {
	nn := startNameNode(t, func(c *Config) {
		c.VNodes = vnodes
		for _, m := range mutate {
			m(c)
		}
	})
	c := nn.client(t, "")
	var first *fakeDataNode
	for _, id := range nodeIDs(k) {
		dn := startFakeDataNode(t, id, "")
		if first == nil {
			first = dn
		}
		register(t, c, dn.node(), nil)
	}
	return nn, first
}

func TestTenThousandWatchers(t *testing.T) {
	const watchers = 10000
	// A 5 s interval: with 10,000 streams open and beating in this one
	// process under -race, staging to the fake DataNodes can take longer
	// than the default interval's 1 s staging timeout on 2 cores. The
	// NameNode's clock is the harness's fake one, so leases and quorum do
	// not depend on it.
	nn, dn := startSmallCluster(t, 3, 16, func(c *Config) { c.HeartbeatInterval = 5 * time.Second })
	v0 := nn.Topology().Version
	start := time.Now()
	f := startFleet(t, nn, watchers, 4, v0+2)
	// Generous bounds: this asserts that every watcher gets every version,
	// not how fast (BenchmarkWatchPush10k measures that); on a loaded 2-core
	// machine under -race opening 10,000 streams alone can take 40 s.
	f.waitAll(t, v0, 2*time.Minute)
	t.Logf("%d watchers open and at version %d after %v", watchers, v0, time.Since(start))
	if got := nn.status().GetWatchers(); got != watchers {
		t.Fatalf("status counts %d watchers, want %d", got, watchers)
	}
	for v := v0 + 1; v <= v0+2; v++ {
		start := time.Now()
		nn.commitDirect(t, dn, 1)
		f.waitAll(t, v, time.Minute)
		t.Logf("version %d reached all %d watchers in %v", v, watchers, time.Since(start))
	}
	if n := f.errs.Load(); n != 0 {
		t.Fatalf("%d events with unexpected versions", n)
	}
}

// TestWatchBeats: a watcher receives the current version, then beats
// carrying the beat period while nothing is committed, so it can tell a
// quiet NameNode from a stalled one.
func TestWatchBeats(t *testing.T) {
	const interval = 50 * time.Millisecond
	nn := startNameNode(t, func(c *Config) { c.HeartbeatInterval = interval })
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	stream := startWatch(t, ctx, nn.client(t, ""))
	first, err := stream.Recv()
	if err != nil {
		t.Fatal(err)
	}
	if first.GetBeatMs() != 0 || len(first.GetTopology()) == 0 {
		t.Fatalf("first event %v, want the current topology", first)
	}
	const beats = 4
	var start time.Time
	for i := range beats {
		ev, err := stream.Recv()
		if err != nil {
			t.Fatal(err)
		}
		if ev.GetBeatMs() != uint32(interval.Milliseconds()) || len(ev.GetTopology()) != 0 {
			t.Fatalf("event %d with nothing committed: %v, want a beat of %v", i, ev, interval)
		}
		if i == 0 {
			start = time.Now()
		}
	}
	// The first beat comes at once, the others one interval apart: the last
	// is sent 3 intervals after the first. The first may reach us late (a
	// loaded machine), so allow one interval of that and still catch a
	// NameNode that beats without waiting.
	if elapsed := time.Since(start); elapsed < (beats-2)*interval {
		t.Fatalf("%d beats in %v after the first: sent faster than every %v", beats-1, elapsed, interval)
	}
}
