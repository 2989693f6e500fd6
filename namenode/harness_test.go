package namenode

import (
	"context"
	"fmt"
	"net"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	"github.com/chkv/chkv/common/clustertoken"
	"github.com/chkv/chkv/common/topology"
	"github.com/chkv/chkv/proto/chkvpb"
)

// fakeClock is a controlled clock for failure detection.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newFakeClock() *fakeClock {
	return &fakeClock{t: time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// Advance moves the clock forward by d and returns the new time.
func (c *fakeClock) Advance(d time.Duration) time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
	return c.t
}

// testNameNode is a NameNode on a loopback port with a fake clock and no
// detector loop: the test calls detectOnce.
type testNameNode struct {
	*Server
	clock *fakeClock
}

func startNameNode(t testing.TB, mutate func(*Config)) *testNameNode {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	clock := newFakeClock()
	cfg := DefaultConfig()
	cfg.ID = "nn-test"
	cfg.Listener = ln
	cfg.HTTP = ""
	cfg.now = clock.Now
	cfg.manualDetect = true
	cfg.manualElection = true
	cfg.probeTimeout = 100 * time.Millisecond
	cfg.pushTimeout = time.Second
	if mutate != nil {
		mutate(&cfg)
	}
	s, err := New(cfg)
	if err != nil {
		ln.Close()
		t.Fatal(err)
	}
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Stop)
	// Alone and knowing no DataNode, it wins its first election at once.
	if !s.campaign(context.Background()) {
		t.Fatal("the namenode did not become active")
	}
	return &testNameNode{Server: s, clock: clock}
}

// client dials the NameNode, with token when it is not empty.
func (n *testNameNode) client(t testing.TB, token string) chkvpb.NameNodeClient {
	t.Helper()
	return chkvpb.NewNameNodeClient(dialConn(t, n.Addr().String(), token))
}

func dialConn(t testing.TB, addr, token string) *grpc.ClientConn {
	t.Helper()
	opts := append([]grpc.DialOption{grpc.WithTransportCredentials(insecure.NewCredentials())}, clustertoken.DialOptions(token)...)
	conn, err := grpc.NewClient(addr, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

// fakeDataNode is an in-process DataNode gRPC server that records what the
// NameNode sends it.
type fakeDataNode struct {
	chkvpb.UnimplementedDataNodeServer
	id    string
	addr  string
	token string

	mu      sync.Mutex
	srv     *grpc.Server
	pushes  []uint64 // versions received, in order
	stages  int      // stage requests answered
	holding *chkvpb.Topology

	probes    atomic.Int64
	probeFail atomic.Bool   // answer probes with an error
	pushFail  atomic.Int64  // fail this many more pushes
	pushGate  chan struct{} // when set, each push waits for a token
	probeGate chan struct{} // when set, each probe waits for it to close
	pushed    chan struct{} // signalled after each recorded push
	lastEpoch atomic.Uint64 // epoch of the newest probe

	// witness makes the fake keep promises as a DataNode witness does:
	// each epoch belongs to one NameNode incarnation, promiseTo. Without
	// it, every vote is granted and every push and stage accepted.
	witness   bool
	promise   uint64
	promiseTo fakeRef
	voteGate  chan struct{} // when set, each vote waits for it to close
}

// fakeRef names a NameNode incarnation to a witness fake.
type fakeRef struct {
	id          string
	incarnation uint64
}

// startWitness starts a fake DataNode that keeps promises as a witness.
func startWitness(t testing.TB, id string) *fakeDataNode {
	f := startFakeDataNode(t, id, "")
	f.mu.Lock()
	f.witness = true
	f.mu.Unlock()
	return f
}

// promised returns the fake witness's promise.
func (f *fakeDataNode) promised() (uint64, fakeRef) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.promise, f.promiseTo
}

// promiseLocked makes epoch the promise to who. The caller holds f.mu.
func (f *fakeDataNode) promiseLocked(epoch uint64, who fakeRef) {
	f.promise, f.promiseTo = epoch, who
}

// acceptLocked reports whether a witness takes a call of who at epoch,
// promising the epoch to who if it is new. The caller holds f.mu.
func (f *fakeDataNode) acceptLocked(epoch uint64, who fakeRef) bool {
	if !f.witness {
		return true
	}
	if epoch < f.promise || (epoch == f.promise && f.promiseTo.id != "" && who != f.promiseTo) {
		return false
	}
	if epoch > f.promise || f.promiseTo.id == "" {
		f.promiseLocked(epoch, who)
	}
	return true
}

func startFakeDataNode(t testing.TB, id, token string) *fakeDataNode {
	t.Helper()
	f := &fakeDataNode{id: id, token: token, pushed: make(chan struct{}, 1)}
	f.listen(t, "127.0.0.1:0")
	t.Cleanup(f.stop)
	return f
}

func (f *fakeDataNode) listen(t testing.TB, addr string) {
	t.Helper()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer(clustertoken.ServerOptions(f.token)...)
	chkvpb.RegisterDataNodeServer(srv, f)
	f.mu.Lock()
	f.srv, f.addr = srv, ln.Addr().String()
	f.mu.Unlock()
	go srv.Serve(ln)
}

// stop makes the node unreachable: connections are refused.
func (f *fakeDataNode) stop() {
	f.mu.Lock()
	srv := f.srv
	f.srv = nil
	f.mu.Unlock()
	if srv != nil {
		srv.Stop()
	}
}

// restart serves again on the same address.
func (f *fakeDataNode) restart(t testing.TB) { f.listen(t, f.addr) }

func (f *fakeDataNode) Probe(ctx context.Context, req *chkvpb.ProbeRequest) (*chkvpb.ProbeResponse, error) {
	f.probes.Add(1)
	f.lastEpoch.Store(req.GetEpoch())
	f.mu.Lock()
	gate := f.probeGate
	f.mu.Unlock()
	if gate != nil {
		select {
		case <-gate:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	if f.probeFail.Load() {
		return nil, status.Error(codes.Unavailable, "fake: probe refused")
	}
	return &chkvpb.ProbeResponse{NodeId: f.id}, nil
}

func (f *fakeDataNode) PushTopology(ctx context.Context, req *chkvpb.PushTopologyRequest) (*chkvpb.PushTopologyResponse, error) {
	f.mu.Lock()
	accepted := f.acceptLocked(req.GetTopology().GetEpoch(), fakeRef{req.GetNamenodeId(), req.GetIncarnation()})
	promise := f.promise
	f.mu.Unlock()
	if !accepted {
		return &chkvpb.PushTopologyResponse{Stale: true, PromisedEpoch: promise}, nil
	}
	if req.GetStage() {
		// Staging always succeeds: the fake holds the staged version.
		tp := req.GetTopology()
		f.mu.Lock()
		defer f.mu.Unlock()
		f.stages++
		return &chkvpb.PushTopologyResponse{Epoch: tp.GetEpoch(), Version: tp.GetVersion()}, nil
	}
	if gate := f.gate(); gate != nil {
		select {
		case <-gate:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	if f.pushFail.Add(-1) >= 0 {
		return nil, status.Error(codes.Unavailable, "fake: push refused")
	}
	if _, err := topology.FromProto(req.GetTopology()); err != nil {
		return nil, status.Error(codes.InvalidArgument, err.Error())
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	tp := req.GetTopology()
	f.pushes = append(f.pushes, tp.GetVersion())
	if f.holding == nil || before(f.holding.GetEpoch(), f.holding.GetVersion(), tp.GetEpoch(), tp.GetVersion()) {
		f.holding = tp
	}
	select {
	case f.pushed <- struct{}{}:
	default:
	}
	return &chkvpb.PushTopologyResponse{Epoch: f.holding.GetEpoch(), Version: f.holding.GetVersion()}, nil
}

// Elect sends the newest topology pushed and grants the vote; a witness
// grants it only for an epoch it has not promised to another NameNode
// incarnation.
func (f *fakeDataNode) Elect(ctx context.Context, req *chkvpb.ElectRequest) (*chkvpb.ElectResponse, error) {
	f.mu.Lock()
	gate := f.voteGate
	f.mu.Unlock()
	if gate != nil {
		select {
		case <-gate:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	granted := f.acceptLocked(req.GetEpoch(), fakeRef{req.GetCandidateId(), req.GetIncarnation()})
	return &chkvpb.ElectResponse{Granted: granted, PromisedEpoch: f.promise, Topology: f.holding}, nil
}

func (f *fakeDataNode) gate() chan struct{} {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.pushGate
}

// held returns the version of the newest topology pushed, 0 if none.
func (f *fakeDataNode) held() uint64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.holding.GetVersion()
}

func (f *fakeDataNode) pushLog() []uint64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.pushes)
}

// node is how the fake describes itself when registering.
func (f *fakeDataNode) node() *chkvpb.Node {
	return &chkvpb.Node{Id: f.id, RespAddr: "resp-" + f.id + ":6379", GrpcAddr: f.addr}
}

func register(t testing.TB, c chkvpb.NameNodeClient, n *chkvpb.Node, held *chkvpb.Topology) *chkvpb.RegisterResponse {
	t.Helper()
	resp, err := c.Register(context.Background(), &chkvpb.RegisterRequest{Node: n, Topology: held})
	if err != nil {
		t.Fatalf("register %s: %v", n.GetId(), err)
	}
	return resp
}

func heartbeat(t testing.TB, c chkvpb.NameNodeClient, id string, epoch, version uint64) *chkvpb.HeartbeatResponse {
	t.Helper()
	resp, err := c.Heartbeat(context.Background(), &chkvpb.HeartbeatRequest{NodeId: id, Epoch: epoch, Version: version})
	if err != nil {
		t.Fatalf("heartbeat %s: %v", id, err)
	}
	return resp
}

// owners counts the slots each node ID owns in t.
func owners(t *topology.Topology) map[string]int {
	out := make(map[string]int)
	for _, o := range t.Owners {
		id := "<unowned>"
		if o != topology.Unowned {
			id = t.Nodes[o].ID
		}
		out[id]++
	}
	return out
}

func mustTopology(t testing.TB, p *chkvpb.Topology) *topology.Topology {
	t.Helper()
	tp, err := topology.FromProto(p)
	if err != nil {
		t.Fatal(err)
	}
	return tp
}

func nodeIDs(n int) []string {
	ids := make([]string, n)
	for i := range ids {
		ids[i] = fmt.Sprintf("dn-%d", i)
	}
	return ids
}
