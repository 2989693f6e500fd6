package proccluster

import (
	"context"
	"fmt"
	"os"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/chkv/chkv/client"
	"github.com/chkv/chkv/common/topology"
	"github.com/chkv/chkv/helper/testutil"
	"github.com/chkv/chkv/helper/workload"
	"github.com/chkv/chkv/proto/chkvpb"
)

// binDir holds the binaries built once for every test of the package.
var binDir string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "chkv-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	if err := Build(dir); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	binDir = dir
	code := testutil.RunAndVerify(m)
	os.RemoveAll(dir)
	os.Exit(code)
}

// testInterval is the heartbeat interval of the tests; failover takes a
// few intervals.
const testInterval = 500 * time.Millisecond

func ctxFor(t testing.TB, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

func startCluster(t testing.TB, opts Options) *Cluster {
	t.Helper()
	if testing.Short() {
		t.Skip("starts processes")
	}
	opts.BinDir, opts.LogDir = binDir, t.TempDir()
	if opts.HeartbeatInterval == 0 {
		opts.HeartbeatInterval = testInterval
	}
	c, err := Start(ctxFor(t, 120*time.Second), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Log(c.Logs())
		}
		c.Close()
	})
	return c
}

// newClient returns c's SDK client factory, for workloads.
func newClient(c *Cluster) workload.NewClient {
	return func(ctx context.Context) (*client.Client, error) { return c.NewClient(ctx) }
}

// versionLog records every topology a client receives.
type versionLog struct {
	mu   sync.Mutex
	seen []*topology.Topology
}

func (l *versionLog) add(t *topology.Topology) {
	l.mu.Lock()
	l.seen = append(l.seen, t)
	l.mu.Unlock()
}

// firstAbove returns the first version seen of an epoch above epoch, or
// false.
func (l *versionLog) firstAbove(epoch uint64) (*topology.Topology, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, t := range l.seen {
		if t.Epoch > epoch {
			return t, true
		}
	}
	return nil, false
}

// check fails t unless the versions seen only go forward, and no
// committed version was lost.
func (l *versionLog) check(t testing.TB) {
	t.Helper()
	l.mu.Lock()
	defer l.mu.Unlock()
	for i := 1; i < len(l.seen); i++ {
		if a, b := l.seen[i-1], l.seen[i]; !b.NewerThan(a) {
			t.Errorf("version (%d, %d) after (%d, %d)", b.Epoch, b.Version, a.Epoch, a.Version)
		}
	}
	for _, b := range l.lostLocked() {
		t.Errorf("epoch %d started at version %d, not after the version before it: a committed version was lost", b.Epoch, b.Version)
	}
}

// lost returns the first version of each new epoch that does not continue
// after the newest version seen before it: each stands for a committed
// version lost.
func (l *versionLog) lost() []*topology.Topology {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.lostLocked()
}

func (l *versionLog) lostLocked() []*topology.Topology {
	var out []*topology.Topology
	for i := 1; i < len(l.seen); i++ {
		if a, b := l.seen[i-1], l.seen[i]; b.Epoch > a.Epoch && b.Version <= a.Version {
			out = append(out, b)
		}
	}
	return out
}

// watch returns a client recording every version it receives.
func watch(t testing.TB, c *Cluster) (*client.Client, *versionLog) {
	t.Helper()
	log := &versionLog{}
	cl, err := c.NewClient(ctxFor(t, 10*time.Second), client.WithOnTopology(log.add))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cl.Close() })
	return cl, log
}

// waitActive waits for an active NameNode.
func waitActive(t testing.TB, c *Cluster) (int, *chkvpb.StatusResponse) {
	t.Helper()
	i, st, err := c.WaitActive(ctxFor(t, 20*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	return i, st
}

// waitNewActive waits for a NameNode other than old, whose status was, to
// be active with a topology of a newer epoch. (A NameNode reports active
// from its election on, and the topology's epoch from its first commit.)
func waitNewActive(t testing.TB, c *Cluster, old int, was *chkvpb.StatusResponse, within time.Duration) (int, *chkvpb.StatusResponse) {
	t.Helper()
	var (
		i  int
		st *chkvpb.StatusResponse
	)
	testutil.Eventually(t, within, "a new active namenode", func() bool {
		i, st = c.Active(context.Background())
		return i >= 0 && i != old && st.GetEpoch() > was.GetEpoch()
	})
	return i, st
}

// TestActiveKilledStandbyTakesOver kills the active NameNode with SIGKILL
// while SDK clients read and write: the standby becomes active, watchers
// keep receiving versions without reconnecting by hand, and no client
// operation fails.
func TestActiveKilledStandbyTakesOver(t *testing.T) {
	c := startCluster(t, Options{})
	_, log := watch(t, c)
	w := workload.Start(t, newClient(c), 3, 64, 100000)
	w.RunMore(t, 300)
	old, st := waitActive(t, c)
	if err := c.NameNodes[old].Kill(); err != nil {
		t.Fatal(err)
	}
	killed := time.Now()
	waitNewActive(t, c, old, st, 20*testInterval)
	v := waitFirstAbove(t, log, st.GetEpoch())
	t.Logf("first version of epoch %d reached a watcher %v after the kill (version %d)", v.Epoch, time.Since(killed).Round(time.Millisecond), v.Version)
	w.RunMore(t, 300)
	w.Check(t)
	log.check(t)
}

// TestActiveKilledMidDrain kills the active NameNode while a DataNode
// drains: the drain completes under the new active, no acknowledged write
// is lost, and the clients' history is linearizable.
func TestActiveKilledMidDrain(t *testing.T) {
	c := startCluster(t, Options{DataNodeArgs: []string{"--migration-rate", "100kb"}})
	loader, err := c.NewClient(ctxFor(t, 10*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	defer loader.Close()
	want := workload.Preload(t, loader, "pre", 20000)
	_, log := watch(t, c)
	w := workload.Start(t, newClient(c), 3, 64, 100000)
	w.RunMore(t, 200)

	old, st := waitActive(t, c)
	nn, err := c.NameNode(old)
	if err != nil {
		t.Fatal(err)
	}
	drained := c.DataNodes[2]
	resp, err := nn.Drain(ctxFor(t, 5*time.Second), &chkvpb.DrainRequest{Node: drained.Name})
	if err != nil {
		t.Fatal(err)
	}
	// Kill the active once the drain has moved some slots but not all.
	waitSlots(t, c, old, drained.Name, func(n uint32) bool { return n < resp.GetSlots() })
	if err := c.NameNodes[old].Kill(); err != nil {
		t.Fatal(err)
	}
	cur, _ := waitNewActive(t, c, old, st, 20*testInterval)
	// The new epoch's first version is what the old active had committed:
	// the drain must finish after it, under the new active.
	first := waitFirstAbove(t, log, st.GetEpoch())
	if i := first.Index(drained.Name); i < 0 || first.SlotCount(i) == 0 {
		t.Fatal("the drain had finished before the failover; the test proves nothing")
	}
	waitSlots(t, c, cur, drained.Name, func(n uint32) bool { return n == 0 })
	w.RunMore(t, 200)
	w.Check(t)
	workload.Verify(t, loader, want)
	log.check(t)
}

// slotsOf returns the slots the status gives node id.
func slotsOf(st *chkvpb.StatusResponse, id string) uint32 {
	for _, n := range st.GetNodes() {
		if n.GetNode().GetId() == id {
			return n.GetSlots()
		}
	}
	return 0
}

// waitSlots waits until NameNode i reports a slot count for node that
// satisfies ok.
func waitSlots(t testing.TB, c *Cluster, i int, node string, ok func(uint32) bool) {
	t.Helper()
	testutil.Eventually(t, 60*time.Second, node+"'s slots to reach the expected count", func() bool {
		st, err := c.Status(context.Background(), i)
		return err == nil && ok(slotsOf(st, node))
	})
}

// TestPausedActiveIsFenced pauses the active NameNode (SIGSTOP) past its
// lease: the standby takes over. When the old active resumes it must not
// change the topology: it steps down, and no version of its old epoch
// newer than the one it had appears anywhere.
func TestPausedActiveIsFenced(t *testing.T) {
	c := startCluster(t, Options{})
	_, log := watch(t, c)
	old, st := waitActive(t, c)
	if err := c.NameNodes[old].Pause(); err != nil {
		t.Fatal(err)
	}
	_, nst := waitNewActive(t, c, old, st, 20*testInterval)
	// The new epoch's first version follows every version the old active
	// committed (it may have committed some between st and the pause):
	// nothing of the old epoch may appear at or after it.
	first := waitFirstAbove(t, log, st.GetEpoch())
	// Stay paused well past every lease and detection period, so that on
	// waking the old active believes every DataNode silent.
	time.Sleep(8 * testInterval)
	if err := c.NameNodes[old].Resume(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * testInterval)
	stepped := false
	for time.Now().Before(deadline) {
		ost, err := c.Status(context.Background(), old)
		if err == nil {
			if ost.GetEpoch() < first.Epoch && ost.GetVersion() >= first.Version {
				t.Fatalf("the resumed old active committed (%d, %d) after the new epoch began at (%d, %d)", ost.GetEpoch(), ost.GetVersion(), first.Epoch, first.Version)
			}
			if ost.GetRole() == chkvpb.NameNodeRole_NAMENODE_ROLE_STANDBY && ost.GetEpoch() >= nst.GetEpoch() {
				stepped = true
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	if !stepped {
		t.Fatal("the resumed old active did not become a standby of the new epoch")
	}
	if i, _ := c.Active(context.Background()); i == old {
		t.Fatal("the old active is active again")
	}
	log.mu.Lock()
	for _, v := range log.seen {
		if v.Epoch < first.Epoch && v.Version >= first.Version {
			t.Errorf("a watcher saw (%d, %d) from the fenced epoch", v.Epoch, v.Version)
		}
	}
	log.mu.Unlock()
	log.check(t)
}

// waitFirstAbove waits for log's first version of an epoch above epoch.
func waitFirstAbove(t testing.TB, log *versionLog, epoch uint64) *topology.Topology {
	t.Helper()
	var first *topology.Topology
	testutil.Eventually(t, 10*time.Second, fmt.Sprintf("a watcher to receive a version of an epoch above %d", epoch), func() bool {
		var ok bool
		first, ok = log.firstAbove(epoch)
		return ok
	})
	return first
}

// TestPeerLinkCutNoSecondActive cuts the link between the NameNodes while
// both still reach the DataNodes: the standby campaigns, but the DataNodes
// hear from the active and refuse it, so there is never a second active
// and the epoch does not change.
func TestPeerLinkCutNoSecondActive(t *testing.T) {
	c := startCluster(t, Options{})
	old, st := waitActive(t, c)
	c.PeerLink.Cut()
	end := time.Now().Add(10 * testInterval)
	for time.Now().Before(end) {
		actives := 0
		for i := range c.NameNodes {
			if s, err := c.Status(context.Background(), i); err == nil && s.GetRole() == chkvpb.NameNodeRole_NAMENODE_ROLE_ACTIVE {
				actives++
				if i != old || s.GetEpoch() != st.GetEpoch() {
					t.Fatalf("namenode %d active at epoch %d while the peer link was cut; was %d at %d", i, s.GetEpoch(), old, st.GetEpoch())
				}
			}
		}
		if actives != 1 {
			t.Fatalf("%d active namenodes while the peer link was cut", actives)
		}
		time.Sleep(20 * time.Millisecond)
	}
	c.PeerLink.Restore()
	// The standby follows again: the active sees it acknowledge its version.
	testutil.Eventually(t, 10*testInterval, "the standby to follow again after the link healed", func() bool {
		s, err := c.Status(context.Background(), old)
		return err == nil && s.GetPeer().GetAgeMs() >= 0 && s.GetPeer().GetAgeMs() < testInterval.Milliseconds() && s.GetPeer().GetLagVersions() == 0
	})
}

// TestActiveCutFromDataNodes cuts every DataNode's link to the active but
// not the link between the NameNodes: the active loses its majority and
// stops acting, and the standby takes over.
func TestActiveCutFromDataNodes(t *testing.T) {
	c := startCluster(t, Options{})
	old, st := waitActive(t, c)
	c.ToNameNode[old].Cut()
	// Versions committed before the cut (late handoff reports) may still
	// be published; once the active reports no majority it must commit
	// nothing more.
	var cut *chkvpb.StatusResponse
	testutil.Eventually(t, 10*testInterval, "the cut-off active to report no majority", func() bool {
		var err error
		if cut, err = c.Status(context.Background(), old); err != nil {
			t.Fatal(err)
		}
		return !cut.GetQuorum()
	})
	_, nst := waitNewActive(t, c, old, st, 20*testInterval)
	ost, err := c.Status(context.Background(), old)
	if err != nil {
		t.Fatal(err)
	}
	if ost.GetRole() == chkvpb.NameNodeRole_NAMENODE_ROLE_ACTIVE && ost.GetQuorum() {
		t.Fatal("the cut-off active claims a majority again")
	}
	if ost.GetEpoch() == cut.GetEpoch() && ost.GetVersion() != cut.GetVersion() {
		t.Fatalf("the cut-off active committed version %d of epoch %d without a majority", ost.GetVersion(), ost.GetEpoch())
	}
	// Nothing the old active committed is lost: the new active's versions
	// continue after it.
	if cut.GetEpoch() < nst.GetEpoch() && nst.GetVersion() <= cut.GetVersion() {
		t.Fatalf("the new active is at version %d, not after the old active's %d", nst.GetVersion(), cut.GetVersion())
	}
	c.ToNameNode[old].Restore()
	testutil.Eventually(t, 10*testInterval, fmt.Sprintf("the old active to be a standby of epoch %d after the link healed", nst.GetEpoch()), func() bool {
		ost, err = c.Status(context.Background(), old)
		return err == nil && ost.GetRole() == chkvpb.NameNodeRole_NAMENODE_ROLE_STANDBY && ost.GetEpoch() >= nst.GetEpoch()
	})
}

// TestBothNameNodesRestarted kills both NameNodes and starts them again:
// the new active rebuilds the topology from the DataNodes, with the same
// owners, and no data moves.
func TestBothNameNodesRestarted(t *testing.T) {
	c := startCluster(t, Options{})
	cl, err := c.NewClient(ctxFor(t, 10*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	want := workload.Preload(t, cl, "restart", 5000)
	// Heartbeats bring the DataNodes' figures a beat late: wait until they
	// stop changing.
	_, st := waitActive(t, c)
	for {
		time.Sleep(2 * testInterval)
		_, again := waitActive(t, c)
		if slices.Equal(movedOf(st), movedOf(again)) {
			break
		}
		st = again
	}
	before := ownersOf(st)
	for _, nn := range c.NameNodes {
		if err := nn.Kill(); err != nil {
			t.Fatal(err)
		}
	}
	for _, nn := range c.NameNodes {
		if err := nn.Restart(); err != nil {
			t.Fatal(err)
		}
	}
	// Wait for the new active, and for every DataNode's heartbeat to have
	// brought it the node's figures.
	var nst *chkvpb.StatusResponse
	testutil.Eventually(t, 30*time.Second, "an active namenode with every node's load after the restart", func() bool {
		_, nst = c.Active(context.Background())
		return nst != nil && !slices.ContainsFunc(nst.GetNodes(), func(n *chkvpb.NodeStatus) bool { return n.GetNode().GetLoad().GetKeys() == 0 })
	})
	if nst.GetVersion() <= st.GetVersion() {
		t.Fatalf("after the restart: version %d, not after %d", nst.GetVersion(), st.GetVersion())
	}
	if after := ownersOf(nst); !slices.Equal(before, after) {
		t.Fatalf("slots per node changed across the restart: %v -> %v", before, after)
	}
	if moved := movedOf(nst); !slices.Equal(movedOf(st), moved) {
		t.Fatalf("slots moved across the restart: %v -> %v", movedOf(st), moved)
	}
	workload.Verify(t, cl, want)
}

// movedOf lists "id=slots moved" for each node of a status, sorted.
func movedOf(st *chkvpb.StatusResponse) []string {
	var out []string
	for _, n := range st.GetNodes() {
		out = append(out, fmt.Sprintf("%s=%d", n.GetNode().GetId(), n.GetNode().GetLoad().GetSlotsMoved()))
	}
	slices.Sort(out)
	return out
}

// ownersOf lists "id=slots" for each node of a status, sorted.
func ownersOf(st *chkvpb.StatusResponse) []string {
	var out []string
	for _, n := range st.GetNodes() {
		out = append(out, fmt.Sprintf("%s=%d", n.GetNode().GetId(), n.GetSlots()))
	}
	slices.Sort(out)
	return out
}
