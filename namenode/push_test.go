package namenode

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/chkv/chkv/common/topology"
	"github.com/chkv/chkv/helper/testutil"
	"github.com/chkv/chkv/proto/chkvpb"
)

// bump commits a new version by re-registering node n with a new RESP
// address, and returns the committed version.
func bump(t testing.TB, c chkvpb.NameNodeClient, n *chkvpb.Node, i int) uint64 {
	t.Helper()
	m := proto.Clone(n).(*chkvpb.Node)
	m.RespAddr = fmt.Sprintf("resp-%s-%d:6379", n.GetId(), i)
	return register(t, c, m, nil).GetTopology().GetVersion()
}

func TestPushesReachEveryDataNode(t *testing.T) {
	nn := startNameNode(t, nil)
	c := nn.client(t, "")
	var dns []*fakeDataNode
	for _, id := range nodeIDs(5) {
		dn := startFakeDataNode(t, id, "")
		dns = append(dns, dn)
		register(t, c, dn.node(), nil)
	}
	var last uint64
	start := time.Now()
	for i := range 20 {
		last = bump(t, c, dns[i%len(dns)].node(), i)
	}
	t.Logf("20 commits: %v", time.Since(start))
	for _, dn := range dns {
		testutil.Eventually(t, 5*time.Second, dn.id+" holding version "+fmt.Sprint(last), func() bool { return dn.held() == last })
		log := dn.pushLog()
		if !slices.IsSorted(log) || len(slices.Compact(slices.Clone(log))) != len(log) {
			t.Fatalf("%s received versions out of order or twice: %v", dn.id, log)
		}
	}
	// What the DataNode receives is the NameNode's topology, intact.
	dns[0].mu.Lock()
	got := mustTopology(t, dns[0].holding)
	dns[0].mu.Unlock()
	if want := nn.Topology(); topology.Compare(got, want) != 0 || !slices.Equal(got.Owners, want.Owners) ||
		!slices.Equal(got.Target, want.Target) || !slices.Equal(got.Nodes, want.Nodes) {
		t.Fatal("pushed topology differs from the committed one")
	}
}

func TestPushIsLatestWins(t *testing.T) {
	nn := startNameNode(t, nil)
	c := nn.client(t, "")
	slow := startFakeDataNode(t, "slow", "")
	other := startFakeDataNode(t, "other", "")
	gate := make(chan struct{})
	slow.mu.Lock()
	slow.pushGate = gate
	slow.mu.Unlock()
	register(t, c, slow.node(), nil) // version 1: its push now waits at the gate
	register(t, c, other.node(), nil)
	var last uint64
	for i := range 30 {
		last = bump(t, c, other.node(), i)
	}
	testutil.Eventually(t, 5*time.Second, "the fast node to catch up", func() bool { return other.held() == last })
	close(gate) // the slow node answers again
	testutil.Eventually(t, 5*time.Second, "the slow node to catch up", func() bool { return slow.held() == last })
	// It gets the push that was waiting and then only the newest version:
	// the 30 versions committed meanwhile collapsed into one.
	if log := slow.pushLog(); len(log) > 3 || log[len(log)-1] != last {
		t.Fatalf("slow node received %v; want the first push and then the newest (%d) only", log, last)
	}
}

func TestPushRetriesWithBackoff(t *testing.T) {
	nn := startNameNode(t, nil)
	c := nn.client(t, "")
	dn := startFakeDataNode(t, "a", "")
	dn.pushFail.Store(3)
	start := time.Now()
	register(t, c, dn.node(), nil)
	testutil.Eventually(t, 10*time.Second, "the push to succeed after 3 failures", func() bool { return dn.held() == 1 })
	// Two more nodes, so that a majority stages new versions while a is
	// unreachable.
	for _, id := range []string{"b", "c"} {
		register(t, c, startFakeDataNode(t, id, "").node(), nil)
	}
	// Backoff 50ms, 100ms, 200ms, each ±20%.
	if d := time.Since(start); d < 280*time.Millisecond {
		t.Fatalf("3 retries took %v: no backoff", d)
	}

	// A node that is unreachable for a while gets the newest version when
	// it is back.
	dn.stop()
	var last uint64
	for i := range 5 {
		last = bump(t, c, dn.node(), i)
	}
	time.Sleep(100 * time.Millisecond)
	dn.restart(t)
	testutil.Eventually(t, 10*time.Second, "the push to reach the restarted node", func() bool { return dn.held() == last })
}

func TestPushStopsForDownNodes(t *testing.T) {
	nn, c, dns, t0 := cluster3(t)
	dns["a"].stop()
	v := nn.Topology().Version
	nn.clock.Advance(t0.Add(3100 * time.Millisecond).Sub(nn.clock.Now()))
	heartbeat(t, c, "b", 1, v)
	heartbeat(t, c, "c", 1, v)
	nn.detectAt(t0, 3100*time.Millisecond)
	nn.clock.Advance(t0.Add(5 * time.Second).Sub(nn.clock.Now()))
	heartbeat(t, c, "b", 1, v)
	heartbeat(t, c, "c", 1, v)
	nn.detectAt(t0, 5*time.Second)
	if got := nn.Topology(); got.Nodes[got.Index("a")].State != topology.Down {
		t.Fatal("a not down")
	}
	nn.commitMu.Lock()
	_, pushing := nn.peers["a"]
	n := len(nn.peers)
	nn.commitMu.Unlock()
	if pushing || n != 2 {
		t.Fatalf("pushers after a went down: a present=%v, %d in all; want b and c only", pushing, n)
	}
}

func TestFrameIsBothWatchEventAndPushRequest(t *testing.T) {
	tp := topology.Empty(3, 16).Next(3, []topology.Node{{ID: "x", RESPAddr: "r:1", GRPCAddr: "g:1", State: topology.Up}})
	v := newVersion(1, tp)
	var ev chkvpb.WatchEvent
	var push chkvpb.PushTopologyRequest
	if err := proto.Unmarshal(v.frame, &ev); err != nil {
		t.Fatal(err)
	}
	if err := proto.Unmarshal(v.frame, &push); err != nil {
		t.Fatal(err)
	}
	var fromEvent chkvpb.Topology
	if err := proto.Unmarshal(ev.GetTopology(), &fromEvent); err != nil {
		t.Fatal(err)
	}
	if !proto.Equal(&fromEvent, v.pb) || !proto.Equal(push.GetTopology(), v.pb) {
		t.Fatal("frame does not decode to the version's topology")
	}
}

func TestCodecSplicesTheCurrentTopology(t *testing.T) {
	tp := topology.Empty(2, 16).Next(2, []topology.Node{{ID: "x", RESPAddr: "r:1", GRPCAddr: "g:1", State: topology.Up}})
	v := newVersion(1, tp)
	c := newCodec(func() *version { return v })
	other := tp.Proto() // equal content, but not the current version's message
	for _, msg := range []proto.Message{
		&chkvpb.RegisterResponse{HeartbeatIntervalMs: 1000, LeaseMs: 3000, Topology: v.pb},
		&chkvpb.HeartbeatResponse{LeaseMs: 3000, Topology: v.pb},
		&chkvpb.HeartbeatResponse{Rejoin: true},
		&chkvpb.RegisterResponse{LeaseMs: 1, Topology: other},
	} {
		before := proto.Clone(msg)
		out, err := c.Marshal(msg)
		if err != nil {
			t.Fatal(err)
		}
		got := msg.ProtoReflect().New().Interface()
		if err := proto.Unmarshal(out.Materialize(), got); err != nil {
			t.Fatal(err)
		}
		if !proto.Equal(got, before) || !proto.Equal(msg, before) {
			t.Fatalf("%T: encoded %v, want %v (message after: %v)", msg, got, before, msg)
		}
	}
}
