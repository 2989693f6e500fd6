package client

import (
	"context"
	"errors"
	"net"
	"reflect"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/chkv/chkv/common/topology"
	"github.com/chkv/chkv/helper/fakenamenode"
	"github.com/chkv/chkv/proto/chkvpb"
)

// activeStatus is an active NameNode's answer with two DataNodes, one of
// them draining.
func activeStatus() *chkvpb.StatusResponse {
	return &chkvpb.StatusResponse{
		NamenodeId: "nn-a", Role: chkvpb.NameNodeRole_NAMENODE_ROLE_ACTIVE, Epoch: 3, Version: 42, Quorum: true,
		Watchers: 2, Peer: &chkvpb.PeerStatus{Id: "nn-b", Addr: "10.0.0.9:10102", LagVersions: 1, AgeMs: 150},
		Witnesses: []string{"dn-0", "dn-1", "dn-2"}, SilentWitnesses: []string{"dn-2"},
		Nodes: []*chkvpb.NodeStatus{
			{Node: &chkvpb.Node{Id: "dn-0", RespAddr: "10.0.0.1:6379", GrpcAddr: "10.0.0.1:7379", State: chkvpb.NodeState_NODE_STATE_DRAINING,
				Load: &chkvpb.Load{Keys: 10, UsedMemoryBytes: 3 << 20, OpsPerSec: 7, MigratingSlots: 8, StuckSlots: 2,
					SlotsMoved: 4000, KeysMoved: 40000, BytesMoved: 5 << 20}},
				Slots: 1461, SlotsOut: 1461, HeartbeatAgeMs: 100},
			{Node: &chkvpb.Node{Id: "dn-1", RespAddr: "10.0.0.2:6379", State: chkvpb.NodeState_NODE_STATE_UP,
				Load: &chkvpb.Load{Keys: 20, StuckSlots: 1}}, Slots: 7000, SlotsIn: 700, HeartbeatAgeMs: -1},
		},
	}
}

// The NameNodes' answers become Go types: every field, the view of the
// active, and why a NameNode did not answer.
func TestPairStatusConversion(t *testing.T) {
	standby := &chkvpb.StatusResponse{NamenodeId: "nn-b", Role: chkvpb.NameNodeRole_NAMENODE_ROLE_STANDBY, Epoch: 3, Version: 41,
		Reason: "following nn-a"}
	unreachable := &NameNodeError{Addr: "10.0.0.10:10101", Err: status.Error(codes.Unavailable, "connection refused")}
	st, err := pairStatus([]string{"10.0.0.9:10102", "10.0.0.8:10101", "10.0.0.10:10101"},
		[]*chkvpb.StatusResponse{standby, activeStatus(), nil}, []error{nil, nil, unreachable})
	if err != nil {
		t.Fatal(err)
	}
	wantNN := []NameNodeStatus{
		{Address: "10.0.0.9:10102", ID: "nn-b", Role: RoleStandby, Epoch: 3, Version: 41, Reason: "following nn-a"},
		{Address: "10.0.0.8:10101", ID: "nn-a", Role: RoleActive, Epoch: 3, Version: 42, Quorum: true, StandbyLag: 1, StandbyAge: 150 * time.Millisecond},
		{Address: "10.0.0.10:10101", Role: RoleUnreachable, Err: unreachable},
	}
	if !reflect.DeepEqual(st.NameNodes, wantNN) {
		t.Fatalf("NameNodes\n%+v\nwant\n%+v", st.NameNodes, wantNN)
	}
	for i, want := range []string{"following nn-a", "standby lag 1 versions, acked 150ms ago",
		"NameNode 10.0.0.10:10101: connection refused (Unavailable)"} {
		if got := st.NameNodes[i].Note(); got != want {
			t.Errorf("note %d = %q, want %q", i, got, want)
		}
	}
	wantDN := []DataNodeStatus{
		{ID: "dn-0", Address: "10.0.0.1:6379", GRPCAddress: "10.0.0.1:7379", State: topology.Draining, Slots: 1461, Keys: 10,
			UsedMemory: 3 << 20, OpsPerSec: 7, HeartbeatAge: 100 * time.Millisecond, SlotsOut: 1461,
			MigratingSlots: 8, StuckSlots: 2, SlotsMoved: 4000, KeysMoved: 40000, BytesMoved: 5 << 20},
		{ID: "dn-1", Address: "10.0.0.2:6379", State: topology.Up, Slots: 7000, Keys: 20, HeartbeatAge: -time.Millisecond,
			SlotsIn: 700, StuckSlots: 1},
	}
	if !reflect.DeepEqual(st.DataNodes, wantDN) {
		t.Fatalf("DataNodes\n%+v\nwant\n%+v", st.DataNodes, wantDN)
	}
	if st.NameNode != "nn-a" || st.Epoch != 3 || st.Version != 42 || st.Watchers != 2 ||
		st.MigratingSlots != 1461 || st.StuckSlots != 3 || st.MayFail != 1 ||
		!reflect.DeepEqual(st.Witnesses, []string{"dn-0", "dn-1", "dn-2"}) || !reflect.DeepEqual(st.SilentWitnesses, []string{"dn-2"}) {
		t.Fatalf("status %+v", st)
	}
	if m := st.DataNodes[0].Migration(); m != "8 moving, 2 stuck" {
		t.Errorf("migration %q", m)
	}
	noQuorum := NameNodeStatus{Role: RoleActive}
	if n := noQuorum.Note(); n != "no majority of datanodes: not changing the topology" {
		t.Errorf("note without quorum %q", n)
	}
}

// With no NameNode answering, Status fails with their errors.
func TestPairStatusNoAnswer(t *testing.T) {
	e := &NameNodeError{Addr: "a:1", Err: status.Error(codes.Unavailable, "down")}
	if _, err := pairStatus([]string{"a:1"}, []*chkvpb.StatusResponse{nil}, []error{e}); !errors.Is(err, e) {
		t.Fatalf("err %v", err)
	}
}

// closedAddr is an address where nothing listens.
func closedAddr(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// Admin.Status asks every NameNode over gRPC: the active's view, and the
// one that did not answer listed as unreachable.
func TestAdminStatus(t *testing.T) {
	nn := fakenamenode.New(t)
	nn.SetStatus(activeStatus())
	down := closedAddr(t)
	a, err := NewAdmin(Config{NameNodes: []string{down, nn.Addr()}}, WithAdminTimeout(2*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	st, err := a.Status(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(st.NameNodes) != 2 || st.NameNodes[0].Role != RoleUnreachable || st.NameNodes[0].Err == nil ||
		!strings.HasPrefix(st.NameNodes[0].Note(), "NameNode "+down+": ") || st.NameNodes[1].Role != RoleActive ||
		st.NameNode != "nn-a" || len(st.DataNodes) != 2 || st.DataNodes[0].State != topology.Draining {
		t.Fatalf("status %+v", st)
	}
}

func TestAdminRefusesBadInput(t *testing.T) {
	if _, err := NewAdmin(Config{}); !errors.Is(err, ErrInvalid) {
		t.Fatalf("no NameNodes: %v", err)
	}
	if _, err := NewAdmin(DefaultConfig(), WithAdminTimeout(0)); !errors.Is(err, ErrInvalid) {
		t.Fatalf("zero timeout: %v", err)
	}
	a, err := NewAdmin(Config{NameNodes: []string{closedAddr(t)}})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	if _, err := a.Recover(context.Background(), false); !errors.Is(err, ErrInvalid) {
		t.Fatalf("recover without accepting data loss: %v", err)
	}
}

// drainStatus is a NameNode's answer with dn-1 in state st owning slots,
// slotsOut of them going elsewhere, its load, and heartbeat age.
func drainStatus(st chkvpb.NodeState, slots, slotsOut uint32, load *chkvpb.Load, ageMs int64) *chkvpb.StatusResponse {
	return &chkvpb.StatusResponse{Nodes: []*chkvpb.NodeStatus{
		{Node: &chkvpb.Node{Id: "dn-0", State: chkvpb.NodeState_NODE_STATE_UP}, Slots: 100},
		{Node: &chkvpb.Node{Id: "dn-1", State: st, Load: load}, Slots: slots, SlotsOut: slotsOut, HeartbeatAgeMs: ageMs},
	}}
}

// WaitDrained's progress: relative to the node's totals at the first
// answer, not done until a heartbeat after the node owns nothing.
func TestWaitDrainedProgress(t *testing.T) {
	var got []DrainProgress
	w := &drainWaiter{a: &Admin{timeout: time.Second}, id: "dn-1", initial: 8192, remaining: 8192,
		progress: func(p DrainProgress) { got = append(got, p) }}
	t0 := time.Now()
	draining := chkvpb.NodeState_NODE_STATE_DRAINING
	steps := []struct {
		resp *chkvpb.StatusResponse
		at   time.Duration
		done bool
	}{
		{drainStatus(draining, 8192, 8192, &chkvpb.Load{KeysMoved: 500, BytesMoved: 1000}, 0), 0, false},
		{drainStatus(draining, 5192, 5192, &chkvpb.Load{KeysMoved: 30500, BytesMoved: 31000, MigratingSlots: 8, StuckSlots: 1}, 0), time.Millisecond, false},
		// Owns nothing, with the totals of a heartbeat sent before.
		{drainStatus(chkvpb.NodeState_NODE_STATE_DRAINED, 0, 0, &chkvpb.Load{KeysMoved: 60500, BytesMoved: 61000}, 0), 2 * time.Millisecond, false},
		// Its heartbeat is older than the drain's end: wait.
		{drainStatus(chkvpb.NodeState_NODE_STATE_DRAINED, 0, 0, &chkvpb.Load{KeysMoved: 60500, BytesMoved: 61000}, 10), 3 * time.Millisecond, false},
		// A heartbeat after the end, with the final totals.
		{drainStatus(chkvpb.NodeState_NODE_STATE_DRAINED, 0, 0, &chkvpb.Load{KeysMoved: 82420, BytesMoved: 82920}, 0), 4 * time.Millisecond, true},
	}
	for i, s := range steps {
		done, err := w.observe(s.resp, nil, t0.Add(s.at))
		if err != nil || done != s.done {
			t.Fatalf("step %d: done %v, err %v; want done %v", i, done, err, s.done)
		}
	}
	want := []DrainProgress{
		{Node: "dn-1", State: "draining", Draining: true, SlotsTotal: 8192, SlotsLeft: 8192},
		{Node: "dn-1", State: "draining", Draining: true, SlotsTotal: 8192, SlotsLeft: 5192, SlotsMoving: 8, StuckSlots: 1, KeysMoved: 30000, BytesMoved: 30000},
		{Node: "dn-1", State: "drained", Draining: true, SlotsTotal: 8192, KeysMoved: 60000, BytesMoved: 60000},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("progress\n%+v\nwant\n%+v", got, want)
	}
	final := DrainProgress{Node: "dn-1", State: "drained", Draining: true, SlotsTotal: 8192, KeysMoved: 81920, BytesMoved: 81920, Done: true}
	if w.final != final || w.final.Percent() != 100 || w.final.SlotsMoved() != 8192 {
		t.Fatalf("final %+v, want %+v", w.final, final)
	}
}

// A drain that ends badly, or NameNodes silent for longer than the
// timeout, end WaitDrained with an error saying so.
func TestWaitDrainedFailures(t *testing.T) {
	t0 := time.Now()
	newWaiter := func() *drainWaiter {
		return &drainWaiter{a: &Admin{timeout: time.Second, opts: adminOptions{timeoutName: "--timeout"}}, id: "dn-1",
			initial: 8192, remaining: 8192, lastOK: t0}
	}
	for _, tc := range []struct {
		resp *chkvpb.StatusResponse
		want string
	}{
		{drainStatus(chkvpb.NodeState_NODE_STATE_DOWN, 100, 0, nil, 0), "dn-1 went down during the drain, with 8192 of its 8192 slots not moved"},
		{drainStatus(chkvpb.NodeState_NODE_STATE_UP, 100, 0, nil, 0), "dn-1 is up, no longer draining, with 8192 of its 8192 slots not moved"},
		{&chkvpb.StatusResponse{}, "dn-1 is no longer listed by the NameNode, with 8192 of its 8192 slots not moved"},
	} {
		if _, err := newWaiter().observe(tc.resp, nil, t0); err == nil || err.Error() != tc.want {
			t.Errorf("err %v, want %q", err, tc.want)
		}
	}
	w := newWaiter()
	unreachable := errors.New("NameNode x: connection refused")
	if done, err := w.observe(nil, unreachable, t0.Add(500*time.Millisecond)); done || err != nil {
		t.Fatalf("within the timeout: %v, %v", done, err)
	}
	_, err := w.observe(nil, unreachable, t0.Add(1500*time.Millisecond))
	if !errors.Is(err, unreachable) || !strings.HasPrefix(err.Error(), "NameNode unreachable for 1.5s, longer than --timeout; the drain of dn-1 may go on") {
		t.Fatalf("after the timeout: %v", err)
	}
}

// WaitDrained returns at once when its context ends, with
// ErrStoppedWaiting and the context's error.
func TestWaitDrainedStopped(t *testing.T) {
	nn := fakenamenode.New(t)
	nn.SetStatus(drainStatus(chkvpb.NodeState_NODE_STATE_DRAINING, 8192, 8192, nil, 0))
	a, err := NewAdmin(Config{NameNodes: []string{nn.Addr()}}, WithDrainPoll(time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	ctx, cancel := context.WithCancel(context.Background())
	var calls int
	p, err := a.WaitDrained(ctx, DrainStarted{Node: "dn-1", Slots: 8192}, func(DrainProgress) {
		if calls++; calls == 3 {
			cancel()
		}
	})
	if !errors.Is(err, ErrStoppedWaiting) || !errors.Is(err, context.Canceled) || p.Node != "dn-1" || p.SlotsLeft != 8192 || p.Done {
		t.Fatalf("stopped wait: %+v, %v", p, err)
	}
}

// A closed Admin fails every call instead of answering nothing.
func TestAdminClosed(t *testing.T) {
	nn := fakenamenode.New(t)
	nn.SetStatus(activeStatus())
	a, err := NewAdmin(Config{NameNodes: []string{nn.Addr()}})
	if err != nil {
		t.Fatal(err)
	}
	a.Close()
	ctx := context.Background()
	if _, err := a.Status(ctx); err == nil {
		t.Error("Status after Close succeeded")
	}
	if _, err := a.Drain(ctx, "dn-0", false); err == nil {
		t.Error("Drain after Close succeeded")
	}
	if _, err := a.Recover(ctx, true); err == nil {
		t.Error("Recover after Close succeeded")
	}
	if _, err := a.WaitDrained(ctx, DrainStarted{Node: "dn-0", Slots: 1}, nil); err == nil {
		t.Error("WaitDrained after Close succeeded")
	}
}
