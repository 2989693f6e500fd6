package fakenamenode

import (
	"context"
	"net"
	"sync"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/chkv/chkv/proto/chkvpb"
)

// DefaultID is the ID a NameNode from New answers with until SetID.
const DefaultID = "nn-fake"

// Handlers are answers the test supplies. A nil field keeps the fake's own
// behaviour: UNIMPLEMENTED for Register, Heartbeat and HeartbeatStream, the
// node table for Drain. The fake calls them without holding its lock, from
// gRPC's goroutines, so they may call the NameNode's methods and must be
// safe for concurrent use.
type Handlers struct {
	// Register answers Register.
	Register func(context.Context, *chkvpb.RegisterRequest) (*chkvpb.RegisterResponse, error)
	// Heartbeat answers Heartbeat.
	Heartbeat func(context.Context, *chkvpb.HeartbeatRequest) (*chkvpb.HeartbeatResponse, error)
	// HeartbeatStream serves one HeartbeatStream until it returns.
	HeartbeatStream func(chkvpb.NameNode_HeartbeatStreamServer) error
	// Drain answers a Drain call that the role and Refuse let through, in
	// place of the node table's answer.
	Drain func(context.Context, *chkvpb.DrainRequest) (*chkvpb.DrainResponse, error)
}

// NameNode is a fake NameNode serving gRPC on 127.0.0.1. Its methods are
// safe for concurrent use. It starts active, with ID DefaultID, epoch 1,
// version 0, no DataNodes and no topology.
type NameNode struct {
	chkvpb.UnimplementedNameNodeServer

	srv  *grpc.Server
	addr string

	mu       sync.Mutex
	id       string
	standby  bool
	activeID string             // the active a standby names
	peer     *chkvpb.PeerStatus // the peer a standby names
	epoch    uint64
	version  uint64
	refuse   int // Drain calls still to refuse as UNAVAILABLE
	handlers Handlers

	nodes  []*chkvpb.NodeStatus
	step   uint32                                     // slots a Status call moves off each draining node
	hook   func(poll int, nodes []*chkvpb.NodeStatus) // runs at each Status call, before it answers
	status *chkvpb.StatusResponse                     // when set, what Status answers
	polls  int                                        // Status calls so far
	drains []*chkvpb.DrainRequest                     // Drain calls so far

	watch // Watch streams and their topology
}

// New starts a fake NameNode with opts (e.g. the cluster token's
// clustertoken.ServerOptions) and stops it when the test ends.
func New(t testing.TB, opts ...grpc.ServerOption) *NameNode {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	n := &NameNode{srv: grpc.NewServer(opts...), addr: ln.Addr().String(), id: DefaultID, epoch: 1}
	n.watch.init()
	chkvpb.RegisterNameNodeServer(n.srv, n)
	go n.srv.Serve(ln)
	t.Cleanup(n.Stop)
	return n
}

// Addr returns the NameNode's gRPC address.
func (n *NameNode) Addr() string { return n.addr }

// ID returns the NameNode's ID.
func (n *NameNode) ID() string {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.id
}

// SetID sets the ID the NameNode answers with.
func (n *NameNode) SetID(id string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.id = id
}

// SetActive makes the NameNode the active: it takes drains and says so in
// Status.
func (n *NameNode) SetActive() {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.standby, n.activeID, n.peer = false, "", nil
}

// StandbyOf makes the NameNode a standby that names active, and its address,
// as the active in Status and in its Drain refusals; with active nil it is
// a standby that knows no active, as during an election.
func (n *NameNode) StandbyOf(active *NameNode) {
	var id string
	if active != nil {
		id = active.ID()
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	n.standby, n.activeID, n.peer = true, "", nil
	if active != nil {
		n.activeID, n.peer = id, &chkvpb.PeerStatus{Id: id, Addr: active.addr}
	}
}

// SetVersion sets the epoch and version of the NameNode's table, which
// Status and Drain report. A Drain that starts draining a node, and a
// Status call that moves slots, add one to the version.
func (n *NameNode) SetVersion(epoch, version uint64) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.epoch, n.version = epoch, version
}

// Refuse makes the next k Drain calls that reach an active fail with
// UNAVAILABLE "no majority of the datanodes", as during an election.
func (n *NameNode) Refuse(k int) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.refuse = k
}

// SetHandlers replaces the handlers the test supplies (see Handlers).
func (n *NameNode) SetHandlers(h Handlers) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.handlers = h
}

// Stop stops the NameNode for good: its streams end and its address
// refuses connections. It is safe to call twice, and from a Status hook
// only in a goroutine of its own (Stop waits for the calls in progress).
func (n *NameNode) Stop() {
	n.stopOnce.Do(func() {
		n.Break()
		n.srv.Stop()
	})
}

// Drains returns copies of the Drain requests received so far, refused
// ones included.
func (n *NameNode) Drains() []*chkvpb.DrainRequest {
	n.mu.Lock()
	defer n.mu.Unlock()
	out := make([]*chkvpb.DrainRequest, len(n.drains))
	for i, r := range n.drains {
		out[i] = proto.Clone(r).(*chkvpb.DrainRequest)
	}
	return out
}

// StatusCalls returns the number of Status calls received so far.
func (n *NameNode) StatusCalls() int {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.polls
}

// Register implements chkvpb.NameNodeServer with Handlers.Register.
func (n *NameNode) Register(ctx context.Context, req *chkvpb.RegisterRequest) (*chkvpb.RegisterResponse, error) {
	if h := n.handlerSet().Register; h != nil {
		return h(ctx, req)
	}
	return n.UnimplementedNameNodeServer.Register(ctx, req)
}

// Heartbeat implements chkvpb.NameNodeServer with Handlers.Heartbeat.
func (n *NameNode) Heartbeat(ctx context.Context, req *chkvpb.HeartbeatRequest) (*chkvpb.HeartbeatResponse, error) {
	if h := n.handlerSet().Heartbeat; h != nil {
		return h(ctx, req)
	}
	return n.UnimplementedNameNodeServer.Heartbeat(ctx, req)
}

// HeartbeatStream implements chkvpb.NameNodeServer with
// Handlers.HeartbeatStream.
func (n *NameNode) HeartbeatStream(stream chkvpb.NameNode_HeartbeatStreamServer) error {
	if h := n.handlerSet().HeartbeatStream; h != nil {
		return h(stream)
	}
	return n.UnimplementedNameNodeServer.HeartbeatStream(stream)
}

func (n *NameNode) handlerSet() Handlers {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.handlers
}

// Drain implements chkvpb.NameNodeServer: a standby refuses it as
// UNAVAILABLE with the real NameNode's words, as does an active while
// Refuse's count lasts; then Handlers.Drain answers, or the node table as
// the NameNode would.
func (n *NameNode) Drain(ctx context.Context, req *chkvpb.DrainRequest) (*chkvpb.DrainResponse, error) {
	n.mu.Lock()
	n.drains = append(n.drains, proto.Clone(req).(*chkvpb.DrainRequest))
	switch {
	case n.standby && n.activeID != "":
		defer n.mu.Unlock()
		return nil, status.Errorf(codes.Unavailable, "namenode: not the active namenode: %s is standby; the active is %s", n.id, n.activeID)
	case n.standby:
		defer n.mu.Unlock()
		return nil, status.Errorf(codes.Unavailable, "namenode: not the active namenode: %s is standby", n.id)
	case n.refuse > 0:
		defer n.mu.Unlock()
		n.refuse--
		return nil, status.Error(codes.Unavailable, "namenode: no majority of the datanodes")
	}
	h := n.handlers.Drain
	if h != nil {
		n.mu.Unlock()
		return h(ctx, req)
	}
	defer n.mu.Unlock()
	return n.drainNode(req)
}

// Status implements chkvpb.NameNodeServer: after the hook of OnStatus,
// what SetStatus set, or the NameNode's role, version and node table; then
// a step of migration.
func (n *NameNode) Status(context.Context, *chkvpb.StatusRequest) (*chkvpb.StatusResponse, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.polls++
	if n.hook != nil {
		n.hook(n.polls, n.nodes)
	}
	if n.status != nil {
		return proto.Clone(n.status).(*chkvpb.StatusResponse), nil
	}
	r := &chkvpb.StatusResponse{NamenodeId: n.id, Epoch: n.epoch, Version: n.version,
		Role: chkvpb.NameNodeRole_NAMENODE_ROLE_ACTIVE, ActiveId: n.id}
	if n.standby {
		r.Role, r.ActiveId, r.Peer = chkvpb.NameNodeRole_NAMENODE_ROLE_STANDBY, n.activeID, n.peer
	}
	for _, ns := range n.nodes {
		r.Nodes = append(r.Nodes, proto.Clone(ns).(*chkvpb.NodeStatus))
	}
	n.migrate()
	return r, nil
}

// SetStatus makes Status answer s (a copy of it) whatever the role and
// table; nil goes back to answering from them.
func (n *NameNode) SetStatus(s *chkvpb.StatusResponse) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.status = nil
	if s != nil {
		n.status = proto.Clone(s).(*chkvpb.StatusResponse)
	}
}

// OnStatus sets the hook each Status call runs first, with the call's
// number (1 for the first) and the node table, under the NameNode's lock:
// it may change the table but must not call the NameNode's methods.
func (n *NameNode) OnStatus(hook func(poll int, nodes []*chkvpb.NodeStatus)) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.hook = hook
}
