package namenode

import (
	"context"
	"errors"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/chkv/chkv/common/slot"
	"github.com/chkv/chkv/common/topology"
	"github.com/chkv/chkv/helper/testutil"
	"github.com/chkv/chkv/proto/chkvpb"
)

// The first DataNode gets every slot at once; each later one joins: the
// ring targets it, but the slots stay with their owners until they are
// handed off, and it is up once it holds all its slots.
func TestRegisterCommitsVersionsInOrderAndPlansMigration(t *testing.T) {
	nn := startNameNode(t, nil)
	c := nn.client(t, "")
	if v := nn.Topology().Version; v != 0 {
		t.Fatalf("empty NameNode at version %d, want 0", v)
	}
	var prev *topology.Topology
	for i, id := range nodeIDs(4) {
		dn := startFakeDataNode(t, id, "")
		resp := register(t, c, dn.node(), nil)
		got := mustTopology(t, resp.GetTopology())
		if got.Version != uint64(i+1) || got.Epoch != DefaultEpoch {
			t.Fatalf("register %s: reply at (%d, %d), want (%d, %d)", id, got.Epoch, got.Version, DefaultEpoch, i+1)
		}
		if resp.GetHeartbeatIntervalMs() != 1000 || resp.GetLeaseMs() != LeaseHeartbeats*1000 {
			t.Fatalf("interval %d ms, lease %d ms; want 1000, %d", resp.GetHeartbeatIntervalMs(), resp.GetLeaseMs(), LeaseHeartbeats*1000)
		}
		wantState := topology.Joining
		if i == 0 {
			wantState = topology.Up // nothing to move to it
		}
		if len(got.Nodes) != i+1 || got.Index(id) < 0 || got.Nodes[got.Index(id)].State != wantState {
			t.Fatalf("register %s: nodes %+v", id, got.Nodes)
		}
		own := owners(got)
		if own["<unowned>"] != 0 || own["dn-0"] != slot.Count {
			t.Fatalf("version %d: owners %v, want dn-0 to keep every slot until handoffs", got.Version, own)
		}
		targets := 0
		for s, tg := range got.Target {
			if tg == got.Index(id) {
				targets++
			}
			if prev != nil && tg != got.Index(id) && got.Nodes[tg].ID != prev.Nodes[prev.Target[s]].ID {
				t.Fatalf("slot %d retargeted from %s to %s, not to the new node", s, prev.Nodes[prev.Target[s]].ID, got.Nodes[tg].ID)
			}
		}
		if targets == 0 {
			t.Fatalf("version %d targets no slot at %s", got.Version, id)
		}
		if topology.Compare(got, nn.Topology()) != 0 {
			t.Fatalf("reply differs from the NameNode's current topology")
		}
		prev = got
	}

	// dn-0 hands off every slot the ring gives the others: all are up and
	// owners equal targets.
	var hs []*chkvpb.Handoff
	for s, tg := range prev.Target {
		if to := prev.Nodes[tg].ID; to != "dn-0" {
			hs = append(hs, &chkvpb.Handoff{Slot: uint32(s), FromId: "dn-0", ToId: to})
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := c.ReportHandoff(ctx, &chkvpb.ReportHandoffRequest{NodeId: "dn-0", Handoffs: hs}); err != nil {
		t.Fatal(err)
	}
	done := nn.Topology()
	if done.Version != prev.Version+1 || done.Migrating() {
		t.Fatalf("after the handoffs: version %d, migrating %v", done.Version, done.Migrating())
	}
	for _, n := range done.Nodes {
		if n.State != topology.Up {
			t.Fatalf("%s is %v after receiving its slots", n.ID, n.State)
		}
	}
	// A repeated report (the target reporting too) changes nothing.
	if _, err := c.ReportHandoff(ctx, &chkvpb.ReportHandoffRequest{NodeId: "dn-1", Handoffs: hs}); err != nil {
		t.Fatal(err)
	}
	if nn.Topology().Version != done.Version {
		t.Fatal("a repeated handoff report committed a version")
	}
}

func TestReRegistration(t *testing.T) {
	nn := startNameNode(t, nil)
	c := nn.client(t, "")
	a := startFakeDataNode(t, "a", "")
	b := startFakeDataNode(t, "b", "")
	register(t, c, a.node(), nil)
	register(t, c, b.node(), nil)
	before := nn.Topology()

	// The same announcement again (a restart with the same addresses)
	// changes nothing and commits nothing.
	resp := register(t, c, a.node(), nil)
	if v := resp.GetTopology().GetVersion(); v != before.Version {
		t.Fatalf("unchanged re-registration moved the version %d -> %d", before.Version, v)
	}

	// A new address is committed; the ring, keyed by ID, does not move.
	moved := a.node()
	moved.RespAddr = "elsewhere:7000"
	resp = register(t, c, moved, nil)
	got := mustTopology(t, resp.GetTopology())
	if got.Version != before.Version+1 {
		t.Fatalf("address change at version %d, want %d", got.Version, before.Version+1)
	}
	if n := got.Nodes[got.Index("a")]; n.RESPAddr != "elsewhere:7000" || n.State != topology.Up {
		t.Fatalf("node a after address change: %+v", n)
	}
	for s := range got.Owners {
		if got.Nodes[got.Owners[s]].ID != before.Nodes[before.Owners[s]].ID {
			t.Fatalf("slot %d changed owner on an address change", s)
		}
	}

	// A weight change moves slots.
	heavy := moved
	heavy.Weight = 3
	got = mustTopology(t, register(t, c, heavy, nil).GetTopology())
	if own := owners(got); own["a"] <= own["b"] {
		t.Fatalf("weight 3 node owns %d slots, weight 1 node %d", own["a"], own["b"])
	}
}

func TestRegisterRejectsBadNodes(t *testing.T) {
	nn := startNameNode(t, nil)
	c := nn.client(t, "")
	for _, n := range []*chkvpb.Node{
		nil,
		{RespAddr: "r:1", GrpcAddr: "g:1"},
		{Id: "x", GrpcAddr: "g:1"},
		{Id: "x", RespAddr: "r:1"},
		{Id: "x", RespAddr: "r:1", GrpcAddr: "g:1", Weight: MaxWeight + 1},
	} {
		_, err := c.Register(context.Background(), &chkvpb.RegisterRequest{Node: n})
		if status.Code(err) != codes.InvalidArgument {
			t.Errorf("register %v: %v, want InvalidArgument", n, err)
		}
	}
	bad := &chkvpb.Topology{Epoch: 1, Version: 9, Nodes: []*chkvpb.Node{{Id: "x"}},
		Owners: []uint32{slot.Count, 6}}
	_, err := c.Register(context.Background(), &chkvpb.RegisterRequest{Node: &chkvpb.Node{Id: "x", RespAddr: "r:1", GrpcAddr: "g:1"}, Topology: bad})
	if status.Code(err) != codes.InvalidArgument {
		t.Errorf("register with a malformed topology: %v, want InvalidArgument", err)
	}
	huge := &chkvpb.Topology{Epoch: 1, Version: 9, Vnodes: 1 << 30}
	_, err = c.Register(context.Background(), &chkvpb.RegisterRequest{Node: &chkvpb.Node{Id: "x", RespAddr: "r:1", GrpcAddr: "g:1"}, Topology: huge})
	if status.Code(err) != codes.InvalidArgument {
		t.Errorf("register with a topology of 2^30 vnodes: %v, want InvalidArgument", err)
	}
	if v := nn.Topology().Version; v != 0 {
		t.Fatalf("rejected registrations committed version %d", v)
	}
}

func TestHeartbeat(t *testing.T) {
	nn := startNameNode(t, nil)
	c := nn.client(t, "")
	a := startFakeDataNode(t, "a", "")

	t.Run("unknown node rejoins", func(t *testing.T) {
		resp := heartbeat(t, c, "nobody", 0, 0)
		// The topology comes with it, so that the node redirects by it
		// while it rejoins.
		if !resp.GetRejoin() || resp.GetLeaseMs() != 0 || resp.GetTopology().GetEpoch() != 1 {
			t.Fatalf("unknown node: %v, want rejoin with the topology and without lease", resp)
		}
	})

	cur := register(t, c, a.node(), nil).GetTopology()
	t.Run("current node gets a lease and no topology", func(t *testing.T) {
		resp := heartbeat(t, c, "a", cur.GetEpoch(), cur.GetVersion())
		if resp.GetRejoin() || resp.GetLeaseMs() != LeaseHeartbeats*1000 || resp.GetTopology() != nil {
			t.Fatalf("current node: %v", resp)
		}
	})
	t.Run("stale node gets the topology", func(t *testing.T) {
		b := startFakeDataNode(t, "b", "")
		register(t, c, b.node(), nil) // version 2; a holds 1
		resp := heartbeat(t, c, "a", cur.GetEpoch(), cur.GetVersion())
		if resp.GetTopology().GetVersion() != 2 || resp.GetLeaseMs() != LeaseHeartbeats*1000 {
			t.Fatalf("stale node: %v, want version 2 and a lease", resp)
		}
		resp = heartbeat(t, c, "a", cur.GetEpoch()-1, 99) // older epoch, higher version
		if resp.GetTopology().GetVersion() != 2 {
			t.Fatalf("node of an older epoch not given the topology: %v", resp)
		}
	})
	t.Run("load updates the view without a commit", func(t *testing.T) {
		v := nn.Topology().Version
		_, err := c.Heartbeat(context.Background(), &chkvpb.HeartbeatRequest{NodeId: "a", Epoch: 1, Version: v,
			Load: &chkvpb.Load{Keys: 42, UsedMemoryBytes: 4096, OpsPerSec: 7}})
		if err != nil {
			t.Fatal(err)
		}
		if nn.Topology().Version != v {
			t.Fatalf("a load report committed a version")
		}
		st, err := c.Status(context.Background(), &chkvpb.StatusRequest{})
		if err != nil {
			t.Fatal(err)
		}
		for _, n := range st.GetNodes() {
			if n.GetNode().GetId() == "a" && n.GetNode().GetLoad().GetKeys() != 42 {
				t.Fatalf("status load of a: %v", n.GetNode().GetLoad())
			}
		}
	})
	t.Run("unknown node with a newer topology than the NameNode", func(t *testing.T) {
		_, err := c.Heartbeat(context.Background(), &chkvpb.HeartbeatRequest{NodeId: "stranger", Epoch: 1, Version: 1000})
		if status.Code(err) != codes.FailedPrecondition {
			t.Fatalf("got %v, want FailedPrecondition (register again, keep data)", err)
		}
	})
}

func TestStatus(t *testing.T) {
	nn := startNameNode(t, func(c *Config) { c.ID = "nn-status" })
	c := nn.client(t, "")
	for _, id := range nodeIDs(3) {
		register(t, c, startFakeDataNode(t, id, "").node(), nil)
	}
	nn.clock.Advance(1500 * 1e6) // 1.5 s
	heartbeat(t, c, "dn-0", 1, 3)
	st, err := c.Status(context.Background(), &chkvpb.StatusRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if st.GetNamenodeId() != "nn-status" || st.GetEpoch() != 1 || st.GetVersion() != 3 || len(st.GetNodes()) != 3 {
		t.Fatalf("status: %v", st)
	}
	total := uint32(0)
	for _, n := range st.GetNodes() {
		total += n.GetSlots()
		wantAge := int64(1500)
		if n.GetNode().GetId() == "dn-0" {
			wantAge = 0
		}
		if n.GetHeartbeatAgeMs() != wantAge {
			t.Errorf("%s: heartbeat age %d ms, want %d", n.GetNode().GetId(), n.GetHeartbeatAgeMs(), wantAge)
		}
	}
	if total != slot.Count {
		t.Fatalf("status counts %d slots, want %d", total, slot.Count)
	}
}

func TestClusterTokenEnforced(t *testing.T) {
	const token = "s3cret"
	nn := startNameNode(t, func(c *Config) { c.ClusterToken = token })
	dn := startFakeDataNode(t, "a", token)
	for name, tok := range map[string]string{"no token": "", "wrong token": "guess"} {
		c := nn.client(t, tok)
		_, err := c.Register(context.Background(), &chkvpb.RegisterRequest{Node: dn.node()})
		if status.Code(err) != codes.Unauthenticated {
			t.Errorf("register with %s: %v, want Unauthenticated", name, err)
		}
		_, err = c.Heartbeat(context.Background(), &chkvpb.HeartbeatRequest{NodeId: "a"})
		if status.Code(err) != codes.Unauthenticated {
			t.Errorf("heartbeat with %s: %v, want Unauthenticated", name, err)
		}
		w, err := c.Watch(context.Background(), &chkvpb.WatchRequest{})
		if err == nil {
			_, err = w.Recv()
		}
		if status.Code(err) != codes.Unauthenticated {
			t.Errorf("watch with %s: %v, want Unauthenticated", name, err)
		}
	}
	register(t, nn.client(t, token), dn.node(), nil)
	// The NameNode's own calls to the DataNode carry the token: the fake
	// requires it, so the push only arrives with it.
	testutil.Eventually(t, 5e9, "push to a token-protected DataNode", func() bool { return dn.held() == 1 })
}

func TestAdoptNewerTopologyAfterRestart(t *testing.T) {
	dns := []*fakeDataNode{}
	for _, id := range nodeIDs(3) {
		dns = append(dns, startFakeDataNode(t, id, ""))
	}
	first := startNameNode(t, nil)
	c := first.client(t, "")
	held := map[string]*chkvpb.Topology{}
	for _, dn := range dns {
		register(t, c, dn.node(), nil)
	}
	for _, dn := range dns { // what each DataNode holds: the latest version
		held[dn.id] = first.cur.Load().pb
	}
	want := first.Topology()
	first.Stop()

	second := startNameNode(t, nil)
	c = second.client(t, "")
	before := second.Topology()
	if before.Version != 0 {
		t.Fatalf("fresh NameNode at version %d", before.Version)
	}
	for i, dn := range dns {
		resp := register(t, c, dn.node(), held[dn.id])
		got := mustTopology(t, resp.GetTopology())
		if topology.Compare(got, want) != 0 {
			t.Fatalf("after %d re-registrations the NameNode is at (%d, %d), want (%d, %d)",
				i+1, got.Epoch, got.Version, want.Epoch, want.Version)
		}
	}
	got := second.Topology()
	for s := range got.Owners {
		if got.Nodes[got.Owners[s]].ID != want.Nodes[want.Owners[s]].ID {
			t.Fatalf("slot %d reassigned after adoption", s)
		}
	}
	// A node that the adopted topology names but that has not registered
	// yet is known: its heartbeat gets a lease, not rejoin.
	third := startNameNode(t, nil)
	c = third.client(t, "")
	register(t, c, dns[0].node(), held[dns[0].id])
	resp := heartbeat(t, c, dns[1].id, want.Epoch, want.Version)
	if resp.GetRejoin() || resp.GetLeaseMs() == 0 {
		t.Fatalf("heartbeat of a node named by the adopted topology: %v", resp)
	}
	// An older topology is not adopted.
	old := &chkvpb.Topology{Epoch: want.Epoch, Version: 1, Vnodes: 256}
	register(t, c, dns[2].node(), old)
	if v := third.Topology().Version; v != want.Version {
		t.Fatalf("older topology changed the version to %d", v)
	}
}

// TestAdoptHigherEpoch: a DataNode that registers with a topology of a
// newer epoch than the active's shows that another NameNode led since. The
// NameNode steps down, keeps that topology, and when it wins an election
// again its versions continue from it.
func TestAdoptHigherEpoch(t *testing.T) {
	nn := startNameNode(t, nil)
	c := nn.client(t, "")
	dn := startFakeDataNode(t, "a", "")
	prev := topology.Empty(7, DefaultVNodes)
	prev.Version = 40
	heldTopo := prev.Next(7, []topology.Node{{ID: "a", RESPAddr: "old:1", GRPCAddr: dn.addr, State: topology.Up}})
	_, err := c.Register(context.Background(), &chkvpb.RegisterRequest{Node: dn.node(), Topology: heldTopo.Proto()})
	if status.Code(err) != codes.Unavailable {
		t.Fatalf("register with a newer epoch: %v, want UNAVAILABLE (stepped down)", err)
	}
	if act, epoch := nn.Active(); act || epoch != 7 {
		t.Fatalf("after seeing epoch 7: active=%v epoch=%d, want standby at 7", act, epoch)
	}
	if got := nn.Topology(); got.Epoch != 7 || got.Version != 41 {
		t.Fatalf("kept (%d, %d), want (7, 41)", got.Epoch, got.Version)
	}
	if !nn.campaign(context.Background()) {
		t.Fatal("lost the election with a's vote")
	}
	// The new epoch's first version is (8, 42); a's new address is (8, 43).
	got := mustTopology(t, register(t, c, dn.node(), nil).GetTopology())
	if got.Epoch != 8 || got.Version != 43 {
		t.Fatalf("after re-election and an address change: (%d, %d), want (8, 43)", got.Epoch, got.Version)
	}
}

func TestToStatus(t *testing.T) {
	for err, want := range map[error]codes.Code{
		ErrInvalidNode:              codes.InvalidArgument,
		topology.ErrInvalid:         codes.InvalidArgument,
		ErrBehind:                   codes.FailedPrecondition,
		ErrStopped:                  codes.Unavailable,
		context.Canceled:            codes.Canceled,
		errors.New("anything else"): codes.Internal,
	} {
		if got := status.Code(toStatus(err)); got != want {
			t.Errorf("%v: %v, want %v", err, got, want)
		}
	}
}

func TestConcurrentRegistrationsCommitTogether(t *testing.T) {
	nn := startNameNode(t, nil)
	c := nn.client(t, "")
	const n = 20
	dns := make([]*fakeDataNode, n)
	for i, id := range nodeIDs(n) {
		dns[i] = startFakeDataNode(t, id, "")
	}
	// Hold the commit path while all of them register: each applies its
	// change and waits; the first to get through commits them all.
	nn.commitMu.Lock()
	errs := make(chan error, n)
	for _, dn := range dns {
		go func() {
			resp, err := c.Register(context.Background(), &chkvpb.RegisterRequest{Node: dn.node()})
			if err == nil && mustTopology(t, resp.GetTopology()).Index(dn.id) < 0 {
				err = errors.New("reply without the registering node: " + dn.id)
			}
			errs <- err
		}()
	}
	testutil.Eventually(t, 10e9, "all registrations to be applied", func() bool {
		nn.mu.Lock()
		defer nn.mu.Unlock()
		return len(nn.nodes) == n
	})
	nn.commitMu.Unlock()
	for range n {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	got := nn.Topology()
	if got.Version != 1 || len(got.Nodes) != n || owners(got)["<unowned>"] != 0 {
		t.Fatalf("after %d concurrent registrations: version %d with %d nodes; want one commit of all", n, got.Version, len(got.Nodes))
	}
}
