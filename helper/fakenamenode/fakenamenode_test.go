package fakenamenode

import (
	"context"
	"errors"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	"github.com/chkv/chkv/common/topology"
	"github.com/chkv/chkv/helper/testutil"
	"github.com/chkv/chkv/proto/chkvpb"
)

// dial returns a client of n, closed when the test ends.
func dial(t *testing.T, n *NameNode) chkvpb.NameNodeClient {
	t.Helper()
	cc, err := grpc.NewClient(n.Addr(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cc.Close() })
	return chkvpb.NewNameNodeClient(cc)
}

func ctxFor(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// A standby names its active in Status and in its Drain refusals.
func TestStandbyNamesTheActive(t *testing.T) {
	ctx := ctxFor(t)
	a, b := New(t), New(t)
	a.SetID("nn-a")
	b.SetID("nn-b")
	b.StandbyOf(a)
	st, err := dial(t, b).Status(ctx, &chkvpb.StatusRequest{})
	if err != nil || st.Role != chkvpb.NameNodeRole_NAMENODE_ROLE_STANDBY || st.ActiveId != "nn-a" ||
		st.GetPeer().GetAddr() != a.Addr() || st.NamenodeId != "nn-b" {
		t.Fatalf("standby status %v, %v", st, err)
	}
	_, err = dial(t, b).Drain(ctx, &chkvpb.DrainRequest{Node: "dn-0"})
	if status.Code(err) != codes.Unavailable ||
		status.Convert(err).Message() != "namenode: not the active namenode: nn-b is standby; the active is nn-a" {
		t.Fatalf("drain on the standby: %v", err)
	}
	b.StandbyOf(nil)
	if _, err = dial(t, b).Drain(ctx, &chkvpb.DrainRequest{Node: "dn-0"}); status.Convert(err).Message() != "namenode: not the active namenode: nn-b is standby" {
		t.Fatalf("drain on a standby knowing no active: %v", err)
	}
	if st, err := dial(t, a).Status(ctx, &chkvpb.StatusRequest{}); err != nil || st.Role != chkvpb.NameNodeRole_NAMENODE_ROLE_ACTIVE || st.ActiveId != "nn-a" {
		t.Fatalf("active status %v, %v", st, err)
	}
	b.SetActive()
	if st, err := dial(t, b).Status(ctx, &chkvpb.StatusRequest{}); err != nil || st.Role != chkvpb.NameNodeRole_NAMENODE_ROLE_ACTIVE || st.Peer != nil {
		t.Fatalf("status after SetActive %v, %v", st, err)
	}
	if got := len(b.Drains()); got != 2 {
		t.Fatalf("%d drains recorded, want 2", got)
	}
}

// Drain validates against the table; each Status call then moves a step.
func TestDrainFromTheTable(t *testing.T) {
	ctx := ctxFor(t)
	n := New(t)
	n.AddDataNodes(10, 5, 0)
	n.SetStep(4)
	n.SetVersion(1, 7)
	n.Refuse(1)
	nn := dial(t, n)
	if _, err := nn.Drain(ctx, &chkvpb.DrainRequest{Node: "dn-1"}); status.Convert(err).Message() != "namenode: no majority of the datanodes" {
		t.Fatalf("refused drain: %v", err)
	}
	r, err := nn.Drain(ctx, &chkvpb.DrainRequest{Node: "10.0.0.1:6379"})
	if err != nil || r.NodeId != "dn-1" || r.Slots != 5 || r.Epoch != 1 || r.Version != 8 {
		t.Fatalf("drain: %v, %v", r, err)
	}
	if r, err := nn.Drain(ctx, &chkvpb.DrainRequest{Node: "10.0.0.1:7379"}); err != nil || r.Version != 8 {
		t.Fatalf("drain again: %v, %v (want the same version)", r, err)
	}
	var left []uint32
	var versions []uint64
	for range 3 {
		st, err := nn.Status(ctx, &chkvpb.StatusRequest{})
		if err != nil {
			t.Fatal(err)
		}
		left, versions = append(left, st.Nodes[1].Slots), append(versions, st.Version)
	}
	if left[0] != 5 || left[1] != 1 || left[2] != 0 || versions[0] != 8 || versions[1] != 9 || versions[2] != 10 {
		t.Fatalf("slots left %v at versions %v", left, versions)
	}
	n.UpdateNodes(func(nodes []*chkvpb.NodeStatus) {
		if nodes[1].Node.Load.KeysMoved != 50 {
			t.Errorf("keys moved %d, want 50", nodes[1].Node.Load.KeysMoved)
		}
		nodes[2].Node.State = chkvpb.NodeState_NODE_STATE_DOWN
	})
	for node, want := range map[string]codes.Code{"dn-9": codes.NotFound, "dn-2": codes.FailedPrecondition, "dn-0": codes.FailedPrecondition} {
		if _, err := nn.Drain(ctx, &chkvpb.DrainRequest{Node: node}); status.Code(err) != want {
			t.Errorf("drain %s: %v, want %v", node, err, want)
		}
	}
	if r, err := nn.Drain(ctx, &chkvpb.DrainRequest{Node: "dn-0", Force: true}); err != nil || r.Slots != 10 {
		t.Fatalf("forced drain of the last node: %v, %v", r, err)
	}
	if d := n.Drains(); len(d) != 7 || d[1].Node != "10.0.0.1:6379" || !d[6].Force || n.StatusCalls() != 3 {
		t.Fatalf("recorded drains %v, %d status calls", d, n.StatusCalls())
	}
}

// SetStatus overrides the answer; the hook sees every call first.
func TestStatusOverrideAndHook(t *testing.T) {
	ctx := ctxFor(t)
	n := New(t)
	n.AddDataNodes(3)
	var polls []int
	n.OnStatus(func(poll int, nodes []*chkvpb.NodeStatus) {
		polls = append(polls, poll)
		nodes[0].HeartbeatAgeMs = int64(poll)
	})
	nn := dial(t, n)
	if st, err := nn.Status(ctx, &chkvpb.StatusRequest{}); err != nil || st.Nodes[0].HeartbeatAgeMs != 1 {
		t.Fatalf("status %v, %v", st, err)
	}
	n.SetStatus(&chkvpb.StatusResponse{NamenodeId: "nn-x", Version: 42})
	if st, err := nn.Status(ctx, &chkvpb.StatusRequest{}); err != nil || st.NamenodeId != "nn-x" || st.Version != 42 || len(st.Nodes) != 0 {
		t.Fatalf("overridden status %v, %v", st, err)
	}
	n.SetStatus(nil)
	if st, err := nn.Status(ctx, &chkvpb.StatusRequest{}); err != nil || st.NamenodeId != DefaultID || st.Nodes[0].HeartbeatAgeMs != 3 {
		t.Fatalf("status after SetStatus(nil) %v, %v", st, err)
	}
	n.OnStatus(nil)
	if len(polls) != 3 || polls[2] != 3 {
		t.Fatalf("hook saw polls %v", polls)
	}
}

// Handlers answer what the fake does not script, and Drain in its place.
func TestHandlers(t *testing.T) {
	ctx := ctxFor(t)
	n := New(t)
	nn := dial(t, n)
	if _, err := nn.Register(ctx, &chkvpb.RegisterRequest{}); status.Code(err) != codes.Unimplemented {
		t.Fatalf("register without a handler: %v", err)
	}
	boom := status.Error(codes.NotFound, "boom")
	n.SetHandlers(Handlers{
		Register: func(_ context.Context, req *chkvpb.RegisterRequest) (*chkvpb.RegisterResponse, error) {
			return &chkvpb.RegisterResponse{NamenodeId: "hello " + req.GetNode().GetId()}, nil
		},
		Heartbeat: func(context.Context, *chkvpb.HeartbeatRequest) (*chkvpb.HeartbeatResponse, error) {
			return &chkvpb.HeartbeatResponse{LeaseMs: 7}, nil
		},
		HeartbeatStream: func(s chkvpb.NameNode_HeartbeatStreamServer) error {
			if _, err := s.Recv(); err != nil {
				return err
			}
			return s.Send(&chkvpb.HeartbeatResponse{LeaseMs: 9})
		},
		Drain: func(context.Context, *chkvpb.DrainRequest) (*chkvpb.DrainResponse, error) { return nil, boom },
	})
	if r, err := nn.Register(ctx, &chkvpb.RegisterRequest{Node: &chkvpb.Node{Id: "dn-a"}}); err != nil || r.NamenodeId != "hello dn-a" {
		t.Fatalf("register: %v, %v", r, err)
	}
	if r, err := nn.Heartbeat(ctx, &chkvpb.HeartbeatRequest{}); err != nil || r.LeaseMs != 7 {
		t.Fatalf("heartbeat: %v, %v", r, err)
	}
	hs, err := nn.HeartbeatStream(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := hs.Send(&chkvpb.HeartbeatRequest{}); err != nil {
		t.Fatal(err)
	}
	if r, err := hs.Recv(); err != nil || r.LeaseMs != 9 {
		t.Fatalf("heartbeat stream: %v, %v", r, err)
	}
	n.Refuse(1)
	if _, err := nn.Drain(ctx, &chkvpb.DrainRequest{}); status.Code(err) != codes.Unavailable {
		t.Fatalf("the handler answered before the refusal: %v", err)
	}
	if _, err := nn.Drain(ctx, &chkvpb.DrainRequest{}); status.Convert(err).Message() != "boom" {
		t.Fatalf("drain handler: %v", err)
	}
}

// Watch streams the pushed topologies and beats; Break ends the streams,
// Stall silences them.
func TestWatch(t *testing.T) {
	ctx := ctxFor(t)
	n := New(t)
	n.Push(topology.Empty(1, 16))
	n.SetBeat(time.Millisecond)
	ws, err := dial(t, n).Watch(ctx, &chkvpb.WatchRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if ev, err := ws.Recv(); err != nil || len(ev.Topology) == 0 {
		t.Fatalf("first event %v, %v: want the current topology", ev, err)
	}
	if ev, err := ws.Recv(); err != nil || ev.BeatMs != 1 {
		t.Fatalf("second event %v, %v: want a beat", ev, err)
	}
	next := topology.Empty(1, 16)
	next.Version = 2
	n.Push(next)
	for {
		ev, err := ws.Recv()
		if err != nil {
			t.Fatal(err)
		}
		if len(ev.Topology) > 0 {
			break
		}
	}
	if n.Watchers() != 1 || n.WatchCalls() != 1 || n.BeatsSent() == 0 {
		t.Fatalf("watchers %d, calls %d, beats %d", n.Watchers(), n.WatchCalls(), n.BeatsSent())
	}
	n.Break()
	for {
		_, err := ws.Recv()
		if err != nil {
			if status.Code(err) != codes.Unavailable {
				t.Fatalf("broken stream: %v", err)
			}
			break
		}
	}
	n.Stall()
	ws, err = dial(t, n).Watch(ctx, &chkvpb.WatchRequest{})
	if err != nil {
		t.Fatal(err)
	}
	testutil.Eventually(t, 5*time.Second, "the second stream opened", func() bool { return n.Watchers() == 1 })
	beats := n.BeatsSent()
	got := make(chan error, 1)
	go func() {
		_, err := ws.Recv()
		got <- err
	}()
	n.Stop()
	if err := <-got; status.Code(err) != codes.Unavailable || errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("stalled stream, then Stop: %v", err)
	}
	if n.BeatsSent() != beats {
		t.Fatal("a stalled stream sent beats")
	}
}
