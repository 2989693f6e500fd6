package namenode

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/chkv/chkv/common/slot"
	"github.com/chkv/chkv/common/topology"
	"github.com/chkv/chkv/proto/chkvpb"
)

// drainFully drains the nodes ids and reports their slots handed off, so
// they end drained.
func drainFully(t *testing.T, nn *testNameNode, c chkvpb.NameNodeClient, ids ...string) {
	t.Helper()
	for _, id := range ids {
		if _, err := c.Drain(context.Background(), &chkvpb.DrainRequest{Node: id}); err != nil {
			t.Fatalf("drain %s: %v", id, err)
		}
		settleMigration(t, c, nn.Topology())
	}
}

// stateOf returns the state of id in the current topology, or -1 when it
// is not listed.
func stateOf(nn *testNameNode, id string) topology.State {
	top := nn.Topology()
	if i := top.Index(id); i >= 0 {
		return top.Nodes[i].State
	}
	return -1
}

func witnessIDs(top *topology.Topology) []string {
	var ids []string
	for id := range voters(top) {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids
}

// The bug of issue 11: drain two of three, stop both. The drained nodes
// left the witnesses in the commit that drained them, so the active keeps
// its majority with the third alone, detects the stopped nodes and removes
// them.
func TestDrainedNodesLeaveTheWitnessesAndStopFreely(t *testing.T) {
	nn, c, dns, t0 := cluster3(t)
	drainFully(t, nn, c, "b", "c")
	top := nn.Topology()
	for _, id := range []string{"b", "c"} {
		if st := stateOf(nn, id); st != topology.Drained {
			t.Fatalf("%s is %v after its drain, want drained", id, st)
		}
	}
	if own := owners(top); own["a"] != slot.Count {
		t.Fatalf("after draining b and c: %v", own)
	}
	if got := witnessIDs(top); !slices.Equal(got, []string{"a"}) {
		t.Fatalf("witnesses %v, want [a]", got)
	}
	if st := nn.Status(); !slices.Equal(st.GetWitnesses(), []string{"a"}) {
		t.Fatalf("status witnesses %v, want [a]", st.GetWitnesses())
	}

	dns["b"].stop()
	dns["c"].stop()
	v := top.Version
	for at := time.Second; at <= 6*time.Second; at += time.Second {
		nn.clock.Advance(t0.Add(at).Sub(nn.clock.Now()))
		if resp := heartbeat(t, c, "a", top.Epoch, v); resp.GetLeaseMs() == 0 {
			t.Fatalf("a got no lease at t0+%v with b and c drained and stopped", at)
		}
		nn.detectAt(t0, at)
	}
	if st := nn.Status(); !st.GetQuorum() || st.GetReason() != "" {
		t.Fatalf("the active lost its majority: quorum %v, reason %q", st.GetQuorum(), st.GetReason())
	}
	after := nn.Topology()
	if after.Index("b") >= 0 || after.Index("c") >= 0 || after.Version <= v {
		t.Fatalf("stopped drained nodes not removed: version %d (was %d), nodes %v", after.Version, v, after.Nodes)
	}
	// A removed drained node that heartbeats is told to rejoin.
	if resp := heartbeat(t, c, "b", top.Epoch, v); !resp.GetRejoin() {
		t.Fatalf("heartbeat of a removed node: %v, want rejoin", resp)
	}
}

func TestRemoveForgetsOnlyDrainedOrDownNodes(t *testing.T) {
	nn, c, _, _ := cluster3(t)
	ctx := context.Background()
	if _, err := c.Remove(ctx, &chkvpb.RemoveRequest{Node: "nope"}); status.Code(err) != codes.NotFound {
		t.Fatalf("remove of an unknown node: %v, want NotFound", err)
	}
	_, err := c.Remove(ctx, &chkvpb.RemoveRequest{Node: "a"})
	if status.Code(err) != codes.FailedPrecondition || !strings.Contains(err.Error(), "drain it first") {
		t.Fatalf("remove of an up node: %v, want FailedPrecondition saying to drain it first", err)
	}
	if _, err := c.Drain(ctx, &chkvpb.DrainRequest{Node: "b"}); err != nil {
		t.Fatal(err)
	}
	if _, err := nn.Remove("b"); !errors.Is(err, ErrLiveNode) {
		t.Fatalf("remove of a draining node: %v, want ErrLiveNode", err)
	}
	settleMigration(t, c, nn.Topology())
	v := nn.Topology().Version
	resp, err := c.Remove(ctx, &chkvpb.RemoveRequest{Node: "b"})
	if err != nil {
		t.Fatalf("remove of a drained node: %v", err)
	}
	if resp.GetNodeId() != "b" || resp.GetVersion() != v+1 || stateOf(nn, "b") != -1 {
		t.Fatalf("remove: %v; b is %v", resp, stateOf(nn, "b"))
	}
	if got := witnessIDs(nn.Topology()); !slices.Equal(got, []string{"a", "c"}) {
		t.Fatalf("witnesses after removing b: %v", got)
	}
}

func TestRemoveDownNode(t *testing.T) {
	nn, c, dns, t0 := cluster3(t)
	v := nn.Topology().Version
	dns["c"].stop()
	for at := time.Second; at <= 8*time.Second; at += time.Second {
		nn.clock.Advance(t0.Add(at).Sub(nn.clock.Now()))
		heartbeat(t, c, "a", 1, v)
		heartbeat(t, c, "b", 1, v)
		nn.detectAt(t0, at)
	}
	if st := stateOf(nn, "c"); st != topology.Down {
		t.Fatalf("c is %v, want down", st)
	}
	if _, err := nn.Remove("c"); err != nil {
		t.Fatalf("remove of a down node: %v", err)
	}
	if stateOf(nn, "c") != -1 {
		t.Fatal("c still listed after remove")
	}
	// A new process under c's ID joins as a fresh node.
	dns["c"].restart(t)
	got := mustTopology(t, register(t, c, dns["c"].node(), nil).GetTopology())
	if n := got.Nodes[got.Index("c")]; n.State != topology.Joining {
		t.Fatalf("c registered again as %v, want joining", n.State)
	}
}

func TestUndrainAndRejoin(t *testing.T) {
	nn, c, _, _ := cluster3(t)
	ctx := context.Background()
	if _, err := c.Undrain(ctx, &chkvpb.UndrainRequest{Node: "a"}); status.Code(err) != codes.FailedPrecondition {
		t.Fatalf("undrain of an up node: %v, want FailedPrecondition", err)
	}
	drainFully(t, nn, c, "b", "c")

	// A drained node that stopped heartbeating is not made a witness
	// again: it would cost the quorum.
	nn.clock.Advance(3 * time.Second)
	heartbeat(t, c, "a", 1, nn.Topology().Version)
	if _, err := nn.Undrain("b"); !errors.Is(err, ErrNodeDown) {
		t.Fatalf("undrain of a silent drained node: %v, want ErrNodeDown", err)
	}
	heartbeat(t, c, "b", 1, nn.Topology().Version)

	resp, err := c.Undrain(ctx, &chkvpb.UndrainRequest{Node: "b"})
	if err != nil {
		t.Fatalf("undrain b: %v", err)
	}
	top := nn.Topology()
	if resp.GetVersion() != top.Version || stateOf(nn, "b") != topology.Joining {
		t.Fatalf("undrain: %v; b is %v", resp, stateOf(nn, "b"))
	}
	if got := witnessIDs(top); !slices.Equal(got, []string{"a", "b"}) {
		t.Fatalf("witnesses after undrain: %v", got)
	}
	if n := top.SlotCount(top.Index("b")); n != 0 || !slices.Contains(top.Target, top.Index("b")) {
		t.Fatalf("undrained b owns %d slots and is a target: %v", n, slices.Contains(top.Target, top.Index("b")))
	}
	settleMigration(t, c, top)
	if st := stateOf(nn, "b"); st != topology.Up {
		t.Fatalf("b is %v after receiving its slots, want up", st)
	}

	// A drained node that restarts without --rejoin stays drained; with it
	// it joins again.
	cn := &chkvpb.Node{Id: "c", RespAddr: "resp-c:6379", GrpcAddr: nn.Topology().Nodes[nn.Topology().Index("c")].GRPCAddr}
	register(t, c, cn, nil)
	if st := stateOf(nn, "c"); st != topology.Drained {
		t.Fatalf("c restarted without --rejoin is %v, want drained", st)
	}
	if _, err := c.Register(ctx, &chkvpb.RegisterRequest{Node: cn, Rejoin: true}); err != nil {
		t.Fatal(err)
	}
	if st := stateOf(nn, "c"); st != topology.Joining {
		t.Fatalf("c restarted with --rejoin is %v, want joining", st)
	}
}

func TestRecover(t *testing.T) {
	nn, c, dns, t0 := cluster3(t)
	v := nn.Topology().Version
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for _, id := range []string{"a", "b", "c"} {
		heartbeat(t, c, id, 1, v)
	}
	if _, err := c.Recover(ctx, &chkvpb.RecoverRequest{}); status.Code(err) != codes.FailedPrecondition ||
		!strings.Contains(err.Error(), "accept_data_loss") {
		t.Fatalf("recover without accepting data loss: %v", err)
	}
	if _, err := nn.Recover(ctx, true); !errors.Is(err, ErrMajorityReachable) {
		t.Fatalf("recover while every witness is heard: %v, want ErrMajorityReachable", err)
	}

	// b and c are gone for good: the active has no majority and says who
	// is silent.
	dns["b"].stop()
	dns["c"].stop()
	nn.clock.Advance(t0.Add(3 * time.Second).Sub(nn.clock.Now()))
	if resp := heartbeat(t, c, "a", 1, v); resp.GetLeaseMs() != 0 {
		t.Fatal("a got a lease from an active without a majority")
	}
	st := nn.Status()
	if st.GetQuorum() || !slices.Equal(st.GetSilentWitnesses(), []string{"b", "c"}) ||
		!strings.Contains(st.GetReason(), "no majority") || !strings.Contains(st.GetReason(), "silent: b, c") {
		t.Fatalf("status without a majority: quorum %v, silent %v, reason %q", st.GetQuorum(), st.GetSilentWitnesses(), st.GetReason())
	}
	if _, err := nn.commitPending(); err != nil {
		t.Fatal(err)
	}

	// Their last leases (from t0) have run out after t0 + lease + margin.
	nn.clock.Advance(t0.Add(5 * time.Second).Sub(nn.clock.Now()))
	heartbeat(t, c, "a", 1, v)
	resp, err := c.Recover(ctx, &chkvpb.RecoverRequest{AcceptDataLoss: true})
	if err != nil {
		t.Fatalf("recover: %v", err)
	}
	top := nn.Topology()
	if !slices.Equal(resp.GetDown(), []string{"b", "c"}) || resp.GetVersion() != top.Version || top.Version <= v {
		t.Fatalf("recover: %v, topology version %d (was %d)", resp, top.Version, v)
	}
	for _, id := range []string{"b", "c"} {
		if st := stateOf(nn, id); st != topology.Down {
			t.Fatalf("%s is %v after recover, want down", id, st)
		}
	}
	if own := owners(top); own["a"] != slot.Count {
		t.Fatalf("after recover: %v", own)
	}
	if hb := heartbeat(t, c, "a", top.Epoch, top.Version); hb.GetLeaseMs() == 0 {
		t.Fatal("a gets no lease after recover")
	}
	if st := nn.Status(); !st.GetQuorum() || !slices.Equal(st.GetWitnesses(), []string{"a"}) {
		t.Fatalf("after recover: quorum %v, witnesses %v", st.GetQuorum(), st.GetWitnesses())
	}
}

// A recover waits until the silent witnesses' leases have surely run out.
func TestRecoverWaitsForLeases(t *testing.T) {
	nn, c, dns, t0 := cluster3(t)
	v := nn.Topology().Version
	for _, id := range []string{"a", "b", "c"} {
		heartbeat(t, c, id, 1, v)
	}
	dns["b"].stop()
	dns["c"].stop()
	nn.clock.Advance(t0.Add(3 * time.Second).Sub(nn.clock.Now()))
	heartbeat(t, c, "a", 1, v)
	// b's and c's last leases run until t0+3s, plus a 1s margin: the
	// recover would wait 1s, longer than this context allows.
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	if _, err := nn.Recover(ctx, true); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("recover before the leases ran out: %v, want to wait past the deadline", err)
	}
	if st := stateOf(nn, "b"); st != topology.Up {
		t.Fatalf("b is %v after a recover that did not finish", st)
	}
}
