package namenode

import (
	"context"
	"errors"
	"net"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"

	"github.com/chkv/chkv/common/slot"
	"github.com/chkv/chkv/common/topology"
	"github.com/chkv/chkv/helper/testutil"
	"github.com/chkv/chkv/proto/chkvpb"
)

// isDown reports whether the NameNode has declared id down.
func (s *Server) isDown(id string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	m := s.members[id]
	return m != nil && m.down
}

// detectAt moves the clock to t0+at and runs one detection step to the end
// of the probes it starts.
func (n *testNameNode) detectAt(t0 time.Time, at time.Duration) {
	n.clock.Advance(t0.Add(at).Sub(n.clock.Now()))
	n.detectOnce(n.clock.Now())
	n.waitProbes()
}

// cluster3 starts a NameNode with DataNodes a, b and c registered at t0.
func cluster3(t *testing.T) (*testNameNode, chkvpb.NameNodeClient, map[string]*fakeDataNode, time.Time) {
	nn := startNameNode(t, nil)
	c := nn.client(t, "")
	dns := map[string]*fakeDataNode{}
	for _, id := range []string{"a", "b", "c"} {
		dns[id] = startFakeDataNode(t, id, "")
		register(t, c, dns[id].node(), nil)
	}
	settleMigration(t, c, nn.Topology())
	return nn, c, dns, nn.clock.Now()
}

// settleMigration reports every migration top plans as handed off, as the
// DataNodes would once they moved the slots.
func settleMigration(t *testing.T, c chkvpb.NameNodeClient, top *topology.Topology) {
	t.Helper()
	var hs []*chkvpb.Handoff
	for s, tg := range top.Target {
		if o := top.Owners[s]; o != tg && o != topology.Unowned && tg != topology.Unowned {
			hs = append(hs, &chkvpb.Handoff{Slot: uint32(s), FromId: top.Nodes[o].ID, ToId: top.Nodes[tg].ID})
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	resp, err := c.ReportHandoff(ctx, &chkvpb.ReportHandoffRequest{NodeId: "test", Handoffs: hs})
	if err != nil {
		t.Fatal(err)
	}
	if len(hs) > 0 && resp.GetVersion() != top.Version+1 {
		t.Fatalf("handoffs committed at version %d, want %d", resp.GetVersion(), top.Version+1)
	}
}

func TestNodeAnsweringProbesStaysUp(t *testing.T) {
	nn, c, dns, t0 := cluster3(t)
	v := nn.Topology().Version
	alive := func(at time.Duration, ids ...string) {
		nn.clock.Advance(t0.Add(at).Sub(nn.clock.Now()))
		for _, id := range ids {
			heartbeat(t, c, id, 1, v)
		}
	}
	alive(time.Second, "a", "b", "c")

	alive(4*time.Second, "b", "c")
	nn.detectAt(t0, 4*time.Second) // a silent exactly 3 intervals: not yet
	if n := dns["a"].probes.Load(); n != 0 {
		t.Fatalf("a probed after 3 intervals of silence (%d probes); only more than 3 count", n)
	}
	alive(4100*time.Millisecond, "b", "c")
	nn.detectAt(t0, 4100*time.Millisecond)
	if n := dns["a"].probes.Load(); n != 1 {
		t.Fatalf("silent a got %d probes, want 1 (answered at once)", n)
	}
	if e := dns["a"].lastEpoch.Load(); e != 1 {
		t.Fatalf("probe carried epoch %d, want 1", e)
	}
	for _, id := range []string{"b", "c"} {
		if n := dns[id].probes.Load(); n != 0 {
			t.Fatalf("heartbeating %s was probed", id)
		}
	}
	if nn.isDown("a") {
		t.Fatal("a answered its probe but was declared down")
	}
	// The answered probe counts as a sign of life: no new probe until a is
	// silent for another 3 intervals.
	alive(7*time.Second, "b", "c")
	nn.detectAt(t0, 7*time.Second)
	if n := dns["a"].probes.Load(); n != 1 {
		t.Fatalf("a probed again %v after an answered probe", 7*time.Second-4100*time.Millisecond)
	}
	// Much later, still answering probes but never heartbeating: up, and
	// the ring never changes.
	for at := 8 * time.Second; at < 30*time.Second; at += time.Second {
		alive(at, "b", "c")
		nn.detectAt(t0, at)
	}
	if nn.isDown("a") || nn.Topology().Version != v {
		t.Fatalf("a node that answers probes was taken out (version %d -> %d)", v, nn.Topology().Version)
	}
	if resp := heartbeat(t, c, "a", 1, v); resp.GetRejoin() {
		t.Fatal("a answered every probe but is told to rejoin")
	}
}

func TestDownNodeReassignedOnlyAfterLeaseAndMargin(t *testing.T) {
	nn, c, dns, t0 := cluster3(t)
	v := nn.Topology().Version
	before := nn.Topology()
	alive := func(at time.Duration, ids ...string) {
		nn.clock.Advance(t0.Add(at).Sub(nn.clock.Now()))
		for _, id := range ids {
			heartbeat(t, c, id, 1, v)
		}
	}
	alive(time.Second, "a", "b", "c") // a's last lease: from t0+1s, ends by t0+5s
	dns["a"].stop()

	alive(4100*time.Millisecond, "b", "c")
	start := time.Now()
	nn.detectOnce(nn.clock.Now()) // probes a, which refuses connections
	nn.waitProbes()
	if d := time.Since(start); d < 2*nn.cfg.probeTimeout {
		t.Errorf("probe round took %v; want %d attempts spaced by the %v timeout", d, ProbeAttempts, nn.cfg.probeTimeout)
	}
	if !nn.isDown("a") {
		t.Fatal("a refused every probe but is not down")
	}
	if resp := heartbeat(t, c, "a", 1, v); !resp.GetRejoin() || resp.GetLeaseMs() != 0 {
		t.Fatalf("heartbeat of a down node: %v, want rejoin and no lease", resp)
	}
	// Down, but its lease (t0+1s+4s) plus one interval of margin has not
	// surely run out: a may still be serving, so its slots stay.
	alive(5900*time.Millisecond, "b", "c")
	nn.detectAt(t0, 5900*time.Millisecond)
	if got := nn.Topology(); got.Version != v || owners(got)["a"] != owners(before)["a"] {
		t.Fatalf("a's slots moved at t0+5.9s, before its lease surely expired (t0+6s)")
	}

	alive(6*time.Second, "b", "c")
	nn.detectAt(t0, 6*time.Second)
	after := nn.Topology()
	if after.Version != v+1 {
		t.Fatalf("version %d after the lease expired, want %d", after.Version, v+1)
	}
	if n := after.Nodes[after.Index("a")]; n.State != topology.Down {
		t.Fatalf("a is %v, want down", n.State)
	}
	own := owners(after)
	if own["a"] != 0 || own["b"]+own["c"] != slot.Count {
		t.Fatalf("after reassignment: %v", own)
	}
	for s := range after.Owners { // only a's slots moved
		if was := before.Nodes[before.Owners[s]].ID; was != "a" && after.Nodes[after.Owners[s]].ID != was {
			t.Fatalf("slot %d moved from %s, which is up", s, was)
		}
	}
	for _, id := range []string{"b", "c"} {
		dn := dns[id]
		testutil.Eventually(t, 5*time.Second, id+" receiving the reassignment", func() bool { return dn.held() == after.Version })
	}
	// Reassigning again is a no-op.
	nn.detectAt(t0, 7*time.Second)
	if nn.Topology().Version != after.Version {
		t.Fatal("a down node was committed twice")
	}

	// a comes back: its heartbeat says rejoin; it registers and joins: it
	// is targeted its share, taken only from b and c, which keep the slots
	// until they hand them off.
	dns["a"].restart(t)
	if resp := heartbeat(t, c, "a", 1, v); !resp.GetRejoin() {
		t.Fatalf("returning node not told to rejoin: %v", resp)
	}
	back := mustTopology(t, register(t, c, dns["a"].node(), nil).GetTopology())
	if back.Version != after.Version+1 || back.Nodes[back.Index("a")].State != topology.Joining {
		t.Fatalf("after a re-registered: version %d, a %v", back.Version, back.Nodes[back.Index("a")].State)
	}
	targeted := 0
	for s := range back.Owners {
		if id, was := back.Nodes[back.Target[s]].ID, after.Nodes[after.Target[s]].ID; id == "a" {
			targeted++
		} else if id != was {
			t.Fatalf("slot %d: target %s after a returned, %s before", s, id, was)
		}
		if back.Nodes[back.Owners[s]].ID != after.Nodes[after.Owners[s]].ID {
			t.Fatalf("slot %d changed owner before any handoff", s)
		}
	}
	if targeted < slot.Count/3 || targeted > slot.Count/3+1 {
		t.Fatalf("a returned and is targeted %d slots, want a third of %d", targeted, slot.Count)
	}
	if resp := heartbeat(t, c, "a", back.Epoch, back.Version); resp.GetRejoin() || resp.GetLeaseMs() == 0 {
		t.Fatalf("re-registered node's heartbeat: %v", resp)
	}
	for _, dn := range dns {
		testutil.Eventually(t, 5*time.Second, dn.id+" receiving the re-addition", func() bool { return dn.held() == back.Version })
	}
}

func TestProbingDoesNotBlockHeartbeats(t *testing.T) {
	nn := startNameNode(t, func(c *Config) { c.probeTimeout = time.Minute })
	c := nn.client(t, "")
	a := startFakeDataNode(t, "a", "")
	b := startFakeDataNode(t, "b", "")
	c3 := startFakeDataNode(t, "c", "")
	register(t, c, a.node(), nil)
	register(t, c, b.node(), nil)
	v := register(t, c, c3.node(), nil).GetTopology().GetVersion()
	gate := make(chan struct{})
	a.mu.Lock()
	a.probeGate = gate
	a.mu.Unlock()
	nn.clock.Advance(3100 * time.Millisecond)
	heartbeat(t, c, "b", 1, v)
	heartbeat(t, c, "c", 1, v)
	nn.detectOnce(nn.clock.Now())
	testutil.Eventually(t, 5*time.Second, "a's probe to arrive", func() bool { return a.probes.Load() == 1 })
	// a's probe hangs; b's and c's heartbeats and registrations go on.
	for range 10 {
		nn.clock.Advance(100 * time.Millisecond)
		heartbeat(t, c, "c", 1, v)
		if resp := heartbeat(t, c, "b", 1, v); resp.GetLeaseMs() == 0 {
			t.Fatalf("heartbeat during a probe: %v", resp)
		}
	}
	register(t, c, startFakeDataNode(t, "d", "").node(), nil)
	nn.mu.Lock()
	probing := nn.members["a"].probing
	nn.mu.Unlock()
	if !probing {
		t.Fatal("the probe round ended early; the test proves nothing")
	}
	close(gate)
	nn.waitProbes()
	if nn.isDown("a") {
		t.Fatal("a answered its (slow) probe but is down")
	}
}

func TestHeartbeatDuringProbeKeepsNodeUp(t *testing.T) {
	nn, c, dns, t0 := cluster3(t)
	v := nn.Topology().Version
	dns["a"].stop()
	nn.clock.Advance(t0.Add(3100 * time.Millisecond).Sub(nn.clock.Now()))
	heartbeat(t, c, "b", 1, v)
	heartbeat(t, c, "c", 1, v)
	nn.detectOnce(nn.clock.Now())
	// The probes fail, but a heartbeat from a arrives while they run (its
	// link to the NameNode works, the NameNode's to it does not).
	nn.clock.Advance(10 * time.Millisecond)
	heartbeat(t, c, "a", 1, v)
	nn.waitProbes()
	if nn.isDown("a") {
		t.Fatal("a heartbeated during its probe round but was declared down")
	}
}

func TestReRegisterWhileDownBeforeReassignment(t *testing.T) {
	nn, c, dns, t0 := cluster3(t)
	v := nn.Topology().Version
	dns["a"].stop()
	nn.detectAt(t0, 3100*time.Millisecond)
	for _, id := range []string{"b", "c"} {
		heartbeat(t, c, id, 1, v)
	}
	if !nn.isDown("a") {
		t.Fatal("a not declared down")
	}
	dns["a"].restart(t)
	register(t, c, dns["a"].node(), nil)
	if nn.isDown("a") {
		t.Fatal("a re-registered but is still down")
	}
	nn.detectAt(t0, 5*time.Second)
	if nn.Topology().Version != v {
		t.Fatalf("a re-registered before its slots moved; nothing should change (version %d -> %d)", v, nn.Topology().Version)
	}
}

// TestDetectorLoop runs failure detection on the real clock: a DataNode
// that stops heartbeating and answering is taken out within a few
// intervals while one that heartbeats stays.
func TestDetectorLoop(t *testing.T) {
	// 100ms: the three registrations must land within the quorum window
	// (two intervals) even on a loaded machine under -race.
	const interval = 100 * time.Millisecond
	nn := startNameNode(t, func(c *Config) {
		c.HeartbeatInterval = interval
		c.now = nil
		c.manualDetect = false
		c.probeTimeout = 20 * time.Millisecond
	})
	c := nn.client(t, "")
	a := startFakeDataNode(t, "a", "")
	b := startFakeDataNode(t, "b", "")
	c3 := startFakeDataNode(t, "c", "")
	start := time.Now() // a's lease counts from its registration
	register(t, c, a.node(), nil)
	register(t, c, b.node(), nil)
	register(t, c, c3.node(), nil)
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { // b and c heartbeat
		defer wg.Done()
		tick := time.NewTicker(interval)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
				c.Heartbeat(ctx, &chkvpb.HeartbeatRequest{NodeId: "b", Epoch: 1, Version: 3})
				c.Heartbeat(ctx, &chkvpb.HeartbeatRequest{NodeId: "c", Epoch: 1, Version: 3})
			}
		}
	}()
	defer func() { cancel(); wg.Wait() }()
	a.stop()
	testutil.Eventually(t, 10*time.Second, "a's slots to move to b and c", func() bool {
		o := owners(nn.Topology())
		return o["a"] == 0 && o["b"]+o["c"] == slot.Count
	})
	if d := time.Since(start); d < (LeaseHeartbeats+MarginHeartbeats)*interval {
		t.Fatalf("slots moved after %v, before lease+margin (%v)", d, (LeaseHeartbeats+MarginHeartbeats)*interval)
	}
	if nn.isDown("b") || nn.isDown("c") {
		t.Fatal("heartbeating b or c declared down")
	}
}

// TestDialOptionsCutLinks cuts the NameNode's links to one DataNode with a
// context dialer passed in Config.DialOptions, as the test harness does:
// pushes stop reaching it and, once it is also silent, probes fail though
// its process is up.
func TestDialOptionsCutLinks(t *testing.T) {
	var mu sync.Mutex
	cut := map[string]bool{}
	dialer := func(ctx context.Context, addr string) (net.Conn, error) {
		mu.Lock()
		refused := cut[addr]
		mu.Unlock()
		if refused {
			return nil, errors.New("link cut by test")
		}
		return (&net.Dialer{}).DialContext(ctx, "tcp", addr)
	}
	nn := startNameNode(t, func(c *Config) { c.DialOptions = []grpc.DialOption{grpc.WithContextDialer(dialer)} })
	c := nn.client(t, "")
	a := startFakeDataNode(t, "a", "")
	b := startFakeDataNode(t, "b", "")
	c3 := startFakeDataNode(t, "c", "")
	mu.Lock()
	cut[a.addr] = true
	mu.Unlock()
	register(t, c, b.node(), nil)
	register(t, c, c3.node(), nil)
	register(t, c, a.node(), nil) // b and c stage it
	testutil.Eventually(t, 5*time.Second, "b to get version 3", func() bool { return b.held() == 3 })
	if a.held() != 0 {
		t.Fatal("a push crossed a cut link")
	}
	nn.clock.Advance(3100 * time.Millisecond)
	for _, id := range []string{"b", "c"} {
		heartbeat(t, c, id, 1, 3)
	}
	nn.detectOnce(nn.clock.Now())
	nn.waitProbes()
	if a.probes.Load() != 0 || !nn.isDown("a") {
		t.Fatalf("a behind a cut link: %d probes arrived, down=%v; want 0 and down", a.probes.Load(), nn.isDown("a"))
	}
}
