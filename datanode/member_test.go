package datanode

import (
	"context"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	"github.com/chkv/chkv/common/slot"
	"github.com/chkv/chkv/common/topology"
	"github.com/chkv/chkv/helper/fakenamenode"
	"github.com/chkv/chkv/helper/testutil"
	"github.com/chkv/chkv/proto/chkvpb"
)

// fakeNameNode is a scripted NameNode: the shared fake NameNode with
// Register, Heartbeat, HeartbeatStream and Drain handlers that register
// DataNodes, grant leases, hand out whatever topology the test sets, and
// accept drains (the shared fake refuses them while Refuse's count lasts).
type fakeNameNode struct {
	*fakenamenode.NameNode

	mu         sync.Mutex
	top        *topology.Topology
	leaseMs    int64
	intervalMs int64
	silent     bool // answer nothing: heartbeats time out
	rejoin     bool
	refuse     bool // fail registrations
	behind     bool // fail heartbeats with FailedPrecondition
	registered map[string]*chkvpb.Node
	registers  []*chkvpb.RegisterRequest
	heartbeats int // answered
	streams    int // heartbeat streams opened
}

func startFakeNameNode(t *testing.T) *fakeNameNode {
	t.Helper()
	f := &fakeNameNode{NameNode: fakenamenode.New(t), leaseMs: 3000, intervalMs: 50, registered: map[string]*chkvpb.Node{}}
	f.SetID("fake-nn")
	f.SetHandlers(fakenamenode.Handlers{
		Register:        f.register,
		Heartbeat:       f.heartbeat,
		HeartbeatStream: f.heartbeatStream,
		Drain:           f.drain,
	})
	return f
}

// drain accepts every drain that the shared fake lets through.
func (f *fakeNameNode) drain(_ context.Context, req *chkvpb.DrainRequest) (*chkvpb.DrainResponse, error) {
	return &chkvpb.DrainResponse{NodeId: req.GetNode(), Slots: 7, Epoch: 1, Version: 2}, nil
}

func (f *fakeNameNode) register(_ context.Context, req *chkvpb.RegisterRequest) (*chkvpb.RegisterResponse, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.refuse {
		return nil, status.Error(codes.Unavailable, "fake namenode: refusing registrations")
	}
	f.registered[req.Node.Id] = req.Node
	f.registers = append(f.registers, req)
	resp := &chkvpb.RegisterResponse{HeartbeatIntervalMs: f.intervalMs, LeaseMs: f.leaseMs, Epoch: 1, NamenodeId: "fake-nn"}
	if f.top != nil {
		resp.Topology = f.top.Proto()
	}
	return resp, nil
}

func (f *fakeNameNode) heartbeat(ctx context.Context, req *chkvpb.HeartbeatRequest) (*chkvpb.HeartbeatResponse, error) {
	resp, err := f.reply(req)
	if resp == nil && err == nil { // silent
		<-ctx.Done()
		return nil, ctx.Err()
	}
	return resp, err
}

// heartbeatStream answers each request as heartbeat does; silent, it
// reads requests and answers none.
func (f *fakeNameNode) heartbeatStream(stream chkvpb.NameNode_HeartbeatStreamServer) error {
	f.mu.Lock()
	f.streams++
	f.mu.Unlock()
	for {
		req, err := stream.Recv()
		if err != nil {
			return nil
		}
		resp, err := f.reply(req)
		if err != nil {
			return err
		}
		if resp == nil {
			continue // silent
		}
		if err := stream.Send(resp); err != nil {
			return err
		}
	}
}

// reply is the answer to a heartbeat: nil, nil when silent.
func (f *fakeNameNode) reply(req *chkvpb.HeartbeatRequest) (*chkvpb.HeartbeatResponse, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	switch {
	case f.silent:
		return nil, nil
	case f.behind:
		return nil, status.Error(codes.FailedPrecondition, "fake namenode: behind")
	}
	f.heartbeats++
	resp := &chkvpb.HeartbeatResponse{LeaseMs: f.leaseMs, Rejoin: f.rejoin, Epoch: 1, Active: true, NamenodeId: "fake-nn"}
	if f.top != nil && (req.Epoch < f.top.Epoch || req.Epoch == f.top.Epoch && req.Version < f.top.Version) {
		resp.Topology = f.top.Proto()
	}
	return resp, nil
}

func (f *fakeNameNode) set(fn func(f *fakeNameNode)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	fn(f)
}

// splitTopology gives slots below split to node a and the rest to node b.
func splitTopology(version uint64, a, b topology.Node, split int) *topology.Topology {
	t := topology.Empty(1, 0)
	t.Version = version
	t.Nodes = []topology.Node{a, b}
	for s := range slot.Count {
		if s < split {
			t.Owners[s] = 0
		} else {
			t.Owners[s] = 1
		}
	}
	copy(t.Target, t.Owners)
	return t
}

func startClusterNode(t *testing.T, nn *fakeNameNode, id string) *Server {
	t.Helper()
	grpcLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return startServer(t, func(c *Config) {
		c.ID = id
		c.NameNodes = []string{nn.Addr()}
		c.GRPCListener = grpcLn
	})
}

// ownEverySlot makes dn-a, served by s, the owner of every slot in version
// 1 of nn's topology, and returns a connection to s once s holds it.
func ownEverySlot(t *testing.T, nn *fakeNameNode, s *Server) *respConn {
	t.Helper()
	self := topology.Node{ID: "dn-a", RESPAddr: s.Addr().String(), State: topology.Up}
	nn.set(func(f *fakeNameNode) {
		f.top = splitTopology(1, self, topology.Node{ID: "dn-b", State: topology.Up}, slot.Count)
	})
	c := s.dial(t)
	testutil.Eventually(t, 5*time.Second, "topology", func() bool { return s.own.View().Top.Version == 1 })
	return c
}

// keyInSlotRange returns a key whose slot is in [lo, hi).
func keyInSlotRange(lo, hi int) string {
	for i := 0; ; i++ {
		k := "key:" + strconv.Itoa(i)
		if s := slot.OfString(k); s >= lo && s < hi {
			return k
		}
	}
}

func TestClusterModeRedirects(t *testing.T) {
	nn := startFakeNameNode(t)
	self := topology.Node{ID: "dn-a", State: topology.Up}
	other := topology.Node{ID: "dn-b", RESPAddr: "127.0.0.1:7777", State: topology.Up}
	s := startClusterNode(t, nn, "dn-a")
	c := s.dial(t)
	mine, theirs := keyInSlotRange(0, 8000), keyInSlotRange(8000, slot.Count)

	// Before any topology: nothing is served.
	testutil.Eventually(t, 5*time.Second, "registration", func() bool { return s.member.Registered() })
	if got := c.do("SET", mine, "v"); got != "(error) CLUSTERDOWN Hash slot not served" {
		t.Fatalf("SET with no topology = %s", got)
	}

	self.RESPAddr = s.Addr().String()
	nn.set(func(f *fakeNameNode) { f.top = splitTopology(1, self, other, 8000) })
	testutil.Eventually(t, 5*time.Second, "topology via heartbeat", func() bool { return s.own.View().Top.Version == 1 })

	if got := c.do("SET", mine, "v"); got != "OK" {
		t.Fatalf("SET own key = %s", got)
	}
	wantMoved := "(error) MOVED " + strconv.Itoa(slot.OfString(theirs)) + " 127.0.0.1:7777"
	if got := c.do("GET", theirs); got != wantMoved {
		t.Fatalf("GET foreign key = %s, want %s", got, wantMoved)
	}
	if got := c.do("MSET", mine, "1", theirs, "2"); got != "(error) CROSSSLOT Keys in request don't hash to the same slot" {
		t.Fatalf("cross-slot MSET = %s", got)
	}
	if got := c.do("PING"); got != "PONG" {
		t.Fatalf("keyless command = %s", got)
	}
	if got := c.do("DBSIZE"); got != "(integer) 1" {
		t.Fatalf("DBSIZE = %s", got)
	}

	// The node loses the slot of `mine`: its data is dropped, clients moved.
	nn.set(func(f *fakeNameNode) { f.top = splitTopology(2, self, other, 0) })
	testutil.Eventually(t, 5*time.Second, "version 2", func() bool { return s.own.View().Top.Version == 2 })
	if got := c.do("GET", mine); !strings.HasPrefix(got, "(error) MOVED ") {
		t.Fatalf("GET of a lost slot = %s", got)
	}
	testutil.Eventually(t, 5*time.Second, "the lost slot's keys to be freed", func() bool { return s.store.Len() == 0 })
}

func TestClusterModeStopsServingWhenLeaseEnds(t *testing.T) {
	nn := startFakeNameNode(t)
	nn.set(func(f *fakeNameNode) { f.leaseMs = 300 })
	s := startClusterNode(t, nn, "dn-a")
	c := ownEverySlot(t, nn, s)
	if got := c.do("SET", "k", "v"); got != "OK" {
		t.Fatalf("SET under lease = %s", got)
	}
	nn.set(func(f *fakeNameNode) { f.silent = true }) // the NameNode is cut off
	testutil.Eventually(t, 5*time.Second, "lease expiry", func() bool { return !s.member.LeaseValid() })
	if got := c.do("GET", "k"); got != "(error) CLUSTERDOWN The cluster is down" {
		t.Fatalf("GET after lease expiry = %s", got)
	}
	nn.set(func(f *fakeNameNode) { f.silent = false })
	testutil.Eventually(t, 5*time.Second, "lease renewal", func() bool { return s.member.LeaseValid() })
	if got := c.do("GET", "k"); got != `"v"` {
		t.Fatalf("GET after renewal = %s", got)
	}
	// The stalled stream was torn down and the lease renewed on a new one.
	nn.mu.Lock()
	streams := nn.streams
	nn.mu.Unlock()
	if streams < 2 {
		t.Fatalf("%d heartbeat streams opened, want the stalled one replaced", streams)
	}
}

func TestClusterModeRejoinDropsData(t *testing.T) {
	nn := startFakeNameNode(t)
	s := startClusterNode(t, nn, "dn-a")
	c := ownEverySlot(t, nn, s)
	c.do("SET", "k", "v")
	nn.set(func(f *fakeNameNode) { f.rejoin = true })
	testutil.Eventually(t, 5*time.Second, "rejoin", func() bool { return s.store.Len() == 0 })
	nn.set(func(f *fakeNameNode) { f.rejoin = false })
	testutil.Eventually(t, 5*time.Second, "re-registration", func() bool {
		return s.member.Registered() && s.own.View().Top.Version == 1
	})
}

// TestClusterModeRejoiningNodeRedirects: a node told to rejoin drops its
// data, and until it has registered again it routes by the topology the
// rejoin reply brought: MOVED to the new owner of a slot it lost, and
// CLUSTERDOWN only for a slot that topology still gives to it.
func TestClusterModeRejoiningNodeRedirects(t *testing.T) {
	nn := startFakeNameNode(t)
	s := startClusterNode(t, nn, "dn-a")
	c := ownEverySlot(t, nn, s)
	mine, lost := keyInSlotRange(0, 1000), keyInSlotRange(1000, slot.Count)
	c.do("SET", lost, "v")
	self := topology.Node{ID: "dn-a", RESPAddr: s.Addr().String(), State: topology.Down}
	other := topology.Node{ID: "dn-b", RESPAddr: "127.0.0.1:7777", State: topology.Up}
	// Version 2, which only the rejoin reply brings: dn-b owns all but
	// slots [0, 1000), which are not reassigned yet. Registrations fail,
	// so the node stays rejoining.
	nn.set(func(f *fakeNameNode) {
		f.top = splitTopology(2, self, other, 1000)
		f.rejoin, f.refuse = true, true
	})
	testutil.Eventually(t, 5*time.Second, "rejoin", func() bool { return !s.member.Registered() && s.store.Len() == 0 })
	wantMoved := "(error) MOVED " + strconv.Itoa(slot.OfString(lost)) + " 127.0.0.1:7777"
	if got := c.do("GET", lost); got != wantMoved {
		t.Fatalf("GET of a slot dn-b took over, while rejoining = %s, want %s", got, wantMoved)
	}
	if got := c.do("GET", mine); got != "(error) CLUSTERDOWN Hash slot not served" {
		t.Fatalf("GET of a slot still given to the rejoining node = %s, want CLUSTERDOWN", got)
	}
	// Registered again with the same version: a member, serving what it
	// owns there, and still redirecting the rest.
	nn.set(func(f *fakeNameNode) { f.rejoin, f.refuse = false, false })
	testutil.Eventually(t, 5*time.Second, "re-registration", func() bool { return s.member.Registered() })
	if got := c.do("GET", lost); got != wantMoved {
		t.Fatalf("GET after re-registering = %s, want %s", got, wantMoved)
	}
	testutil.Eventually(t, 5*time.Second, "serving its own slots again", func() bool { return c.do("GET", mine) == "(nil)" })
}

// TestStagingOfANewEpochHeartbeatsAtOnce: a NameNode of an epoch newer
// than the node's lease that stages a version has just taken over; the
// node heartbeats at once rather than at its next tick, so that the new
// active's reply renews its lease before the old one's runs out.
func TestStagingOfANewEpochHeartbeatsAtOnce(t *testing.T) {
	nn := startFakeNameNode(t)
	nn.set(func(f *fakeNameNode) { f.intervalMs = 60_000 }) // ticks never come
	s := startClusterNode(t, nn, "dn-a")
	testutil.Eventually(t, 5*time.Second, "registration", func() bool { return s.member.Registered() })
	beats := func() int {
		nn.mu.Lock()
		defer nn.mu.Unlock()
		return nn.heartbeats
	}
	before := beats()
	conn, err := grpc.NewClient(s.grpcAdvertiseAddr(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	top := topology.Empty(1, 0)
	top.Version = 1
	stage := func(epoch uint64, from string, incarnation uint64) {
		t.Helper()
		next := top.Next(epoch, nil)
		if resp, err := chkvpb.NewDataNodeClient(conn).PushTopology(ctx, &chkvpb.PushTopologyRequest{
			Topology: next.Proto(), Stage: true, NamenodeId: from, Incarnation: incarnation,
		}); err != nil || resp.GetStale() {
			t.Fatalf("stage at epoch %d: %v %v", epoch, resp, err)
		}
	}
	// The lease is of epoch 1 (the fake's): staging in epoch 1 is no
	// takeover.
	stage(1, "fake-nn", 0)
	if got := beats(); got != before {
		t.Fatalf("%d heartbeats after staging in the lease's epoch, want none", got-before)
	}
	stage(2, "nn-new", 9)
	testutil.Eventually(t, 5*time.Second, "a heartbeat right after the new epoch staged", func() bool { return beats() > before })
}

func TestPushTopologyAppliesOnlyNewer(t *testing.T) {
	nn := startFakeNameNode(t)
	s := startClusterNode(t, nn, "dn-a")
	conn, err := grpc.NewClient(s.grpcAdvertiseAddr(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	dn := chkvpb.NewDataNodeClient(conn)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	a := topology.Node{ID: "dn-a", State: topology.Up}
	b := topology.Node{ID: "dn-b", State: topology.Up}
	push := func(top *topology.Topology) *chkvpb.PushTopologyResponse {
		t.Helper()
		resp, err := dn.PushTopology(ctx, &chkvpb.PushTopologyRequest{Topology: top.Proto()})
		if err != nil {
			t.Fatal(err)
		}
		return resp
	}
	if r := push(splitTopology(5, a, b, 100)); r.Version != 5 {
		t.Fatalf("after pushing v5 node holds v%d", r.Version)
	}
	if r := push(splitTopology(3, a, b, 200)); r.Version != 5 {
		t.Fatalf("older v3 replaced v5: node holds v%d", r.Version)
	}
	if got := s.own.View().Top.SlotCount(0); got != 100 {
		t.Fatalf("node owns %d slots, want 100 from v5", got)
	}
	if _, err := dn.PushTopology(ctx, &chkvpb.PushTopologyRequest{}); err == nil {
		t.Fatal("empty topology accepted")
	}
	if resp, err := dn.Probe(ctx, &chkvpb.ProbeRequest{Epoch: 1}); err != nil || resp.NodeId != "dn-a" {
		t.Fatalf("Probe = %v, %v", resp, err)
	}
}

// TestHeartbeatsShareOneStream checks that a DataNode heartbeats over one
// long-lived stream per NameNode, renewing its lease with each reply.
func TestHeartbeatsShareOneStream(t *testing.T) {
	nn := startFakeNameNode(t)
	s := startClusterNode(t, nn, "dn-a")
	count := func() (beats, streams int) {
		nn.mu.Lock()
		defer nn.mu.Unlock()
		return nn.heartbeats, nn.streams
	}
	testutil.Eventually(t, 5*time.Second, "10 heartbeats", func() bool { b, _ := count(); return b >= 10 })
	if _, streams := count(); streams != 1 {
		t.Fatalf("%d heartbeat streams opened, want 1", streams)
	}
	if !s.member.LeaseValid() {
		t.Fatal("no lease after 10 heartbeats")
	}
	if rest := s.member.LeaseRemaining(); rest > 3*time.Second {
		t.Fatalf("lease runs %v more, beyond the 3s granted when a request was sent", rest)
	}
}

// TestClusterModeReRegistersKeepingDataWhenNameNodeBehind checks that a
// FailedPrecondition on the stream makes the node register again with its
// topology, keeping its data.
func TestClusterModeReRegistersKeepingDataWhenNameNodeBehind(t *testing.T) {
	nn := startFakeNameNode(t)
	s := startClusterNode(t, nn, "dn-a")
	c := ownEverySlot(t, nn, s)
	if got := c.do("SET", "k", "v"); got != "OK" {
		t.Fatalf("SET = %s", got)
	}
	registers := func() int {
		nn.mu.Lock()
		defer nn.mu.Unlock()
		return len(nn.registers)
	}
	before := registers()
	nn.set(func(f *fakeNameNode) { f.behind = true })
	testutil.Eventually(t, 5*time.Second, "registering again", func() bool { return registers() > before })
	nn.set(func(f *fakeNameNode) { f.behind = false })
	nn.mu.Lock()
	last := nn.registers[len(nn.registers)-1]
	nn.mu.Unlock()
	if last.GetTopology().GetVersion() != 1 {
		t.Fatalf("re-registration sent topology %v, want version 1", last.GetTopology())
	}
	testutil.Eventually(t, 5*time.Second, "registered", func() bool { return s.member.Registered() })
	if got := c.do("GET", "k"); got != `"v"` {
		t.Fatalf("GET after re-registration = %s, want the kept value", got)
	}
}
