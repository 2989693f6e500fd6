package proccluster

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/chkv/chkv/helper/testutil"
	"github.com/chkv/chkv/helper/workload"
	"github.com/chkv/chkv/proto/chkvpb"
)

// activeClient returns a client of the NameNode that is active with a
// quorum now.
func activeClient(t testing.TB, c *Cluster) chkvpb.NameNodeClient {
	t.Helper()
	i, _ := waitActive(t, c)
	nn, err := c.NameNode(i)
	if err != nil {
		t.Fatal(err)
	}
	return nn
}

// nodeOf returns the status of node id, or nil when st does not list it.
func nodeOf(st *chkvpb.StatusResponse, id string) *chkvpb.NodeStatus {
	for _, n := range st.GetNodes() {
		if n.GetNode().GetId() == id {
			return n
		}
	}
	return nil
}

// waitStatus waits until the active NameNode (with a quorum) reports a
// status that satisfies ok.
func waitStatus(t testing.TB, c *Cluster, what string, ok func(*chkvpb.StatusResponse) bool) *chkvpb.StatusResponse {
	t.Helper()
	var last *chkvpb.StatusResponse
	testutil.Eventually(t, 60*time.Second, what, func() bool {
		_, st := c.Active(context.Background())
		if st != nil && ok(st) {
			last = st
			return true
		}
		return false
	})
	return last
}

// waitState waits until the active lists node in state with a slot count
// that satisfies slots.
func waitState(t testing.TB, c *Cluster, node string, state chkvpb.NodeState, slots func(uint32) bool) {
	t.Helper()
	waitStatus(t, c, node+" "+state.String(), func(st *chkvpb.StatusResponse) bool {
		n := nodeOf(st, node)
		return n != nil && n.GetNode().GetState() == state && slots(n.GetSlots())
	})
}

func none(n uint32) bool { return n == 0 }
func some(n uint32) bool { return n > 0 }

// drain drains node through the active and waits until it is drained.
func drain(t testing.TB, c *Cluster, node string) {
	t.Helper()
	if _, err := activeClient(t, c).Drain(ctxFor(t, 5*time.Second), &chkvpb.DrainRequest{Node: node}); err != nil {
		t.Fatalf("drain %s: %v", node, err)
	}
	waitState(t, c, node, chkvpb.NodeState_NODE_STATE_DRAINED, none)
}

// TestDrainTwoOfThreeThenStopBoth is the sequence that took the cluster
// down (issue 11): three DataNodes, drain two, stop both because each said
// it could be stopped. The third keeps serving every key, and the active
// keeps its majority: it detects the stopped drained nodes and removes
// them, which it can only commit with a majority.
func TestDrainTwoOfThreeThenStopBoth(t *testing.T) {
	c := startCluster(t, Options{})
	cl, err := c.NewClient(ctxFor(t, 10*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	want := workload.Preload(t, cl, "k", 3000)

	drain(t, c, "datanode-2")
	drain(t, c, "datanode-3")
	st := waitStatus(t, c, "datanode-1 alone the witness", func(st *chkvpb.StatusResponse) bool {
		return slices.Equal(st.GetWitnesses(), []string{"datanode-1"})
	})
	epoch := st.GetEpoch()
	for _, dn := range c.DataNodes[1:] {
		if err := dn.Kill(); err != nil {
			t.Fatal(err)
		}
	}

	waitStatus(t, c, "the stopped drained nodes removed", func(st *chkvpb.StatusResponse) bool {
		return len(st.GetNodes()) == 1 && nodeOf(st, "datanode-1") != nil
	})
	workload.Verify(t, cl, want)
	ctx := ctxFor(t, 10*time.Second)
	if err := cl.Set(ctx, "after", "stop"); err != nil {
		t.Fatalf("write after stopping both drained nodes: %v", err)
	}
	// Several lease periods on, the same active still leads with a
	// majority: no election was needed.
	for range 3 {
		time.Sleep(3 * testInterval) // let leases come and go; the check below polls nothing
		i, st := c.Active(context.Background())
		if i < 0 || st.GetEpoch() != epoch || len(st.GetSilentWitnesses()) != 0 {
			t.Fatalf("after stopping the drained nodes: active %d, epoch %d (was %d), silent %v, reason %q",
				i, st.GetEpoch(), epoch, st.GetSilentWitnesses(), st.GetReason())
		}
	}
	if v, err := cl.Get(ctx, "after"); err != nil || v != "stop" {
		t.Fatalf("get after: %q, %v", v, err)
	}
	workload.Verify(t, cl, want)
}

// TestUndrainRemoveReplaceRejoin walks a DataNode through the rest of its
// life cycle with real processes: undrain, remove (refused while live),
// replacement by a new process under a removed ID, and a restart with and
// without --rejoin.
func TestUndrainRemoveReplaceRejoin(t *testing.T) {
	c := startCluster(t, Options{})
	cl, err := c.NewClient(ctxFor(t, 10*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	want := workload.Preload(t, cl, "k", 2000)
	dn2, dn3 := c.DataNodes[1], c.DataNodes[2]

	// Remove is refused for a live node.
	_, err = activeClient(t, c).Remove(ctxFor(t, 5*time.Second), &chkvpb.RemoveRequest{Node: "datanode-1"})
	if status.Code(err) != codes.FailedPrecondition {
		t.Fatalf("remove of an up node: %v, want FailedPrecondition", err)
	}

	// Undrain: a drained node joins again and receives slots.
	drain(t, c, dn2.Name)
	if _, err := activeClient(t, c).Undrain(ctxFor(t, 5*time.Second), &chkvpb.UndrainRequest{Node: dn2.Name}); err != nil {
		t.Fatalf("undrain: %v", err)
	}
	waitState(t, c, dn2.Name, chkvpb.NodeState_NODE_STATE_UP, some)
	workload.Verify(t, cl, want)

	// Remove a drained node that still runs: it is forgotten and retires
	// rather than joining again.
	drain(t, c, dn3.Name)
	if _, err := activeClient(t, c).Remove(ctxFor(t, 5*time.Second), &chkvpb.RemoveRequest{Node: dn3.Name}); err != nil {
		t.Fatalf("remove drained: %v", err)
	}
	testutil.Eventually(t, 30*time.Second, dn3.Name+" retiring", func() bool {
		return strings.Contains(dn3.Log(), "removed from the cluster after its drain")
	})
	for range 3 {
		time.Sleep(2 * testInterval) // it must stay out: nothing to poll for
		if _, st := c.Active(context.Background()); st == nil || nodeOf(st, dn3.Name) != nil {
			t.Fatalf("%s came back after remove, or no active: %v", dn3.Name, st)
		}
	}

	// Replace: a new process under the removed ID joins as a fresh node.
	if err := dn3.Kill(); err != nil {
		t.Fatal(err)
	}
	if err := dn3.Restart(); err != nil {
		t.Fatal(err)
	}
	waitState(t, c, dn3.Name, chkvpb.NodeState_NODE_STATE_UP, some)

	// A drained node restarted without --rejoin stays drained (it restarts
	// well within the detection period of several intervals, so it is not
	// removed meanwhile); with --rejoin it joins again.
	drain(t, c, dn2.Name)
	registered := strings.Count(dn2.Log(), "registered with namenode")
	if err := dn2.Kill(); err != nil {
		t.Fatal(err)
	}
	if err := dn2.Restart(); err != nil {
		t.Fatal(err)
	}
	testutil.Eventually(t, 30*time.Second, dn2.Name+" registered again", func() bool {
		return strings.Count(dn2.Log(), "registered with namenode") > registered
	})
	_, st := waitActive(t, c)
	if n := nodeOf(st, dn2.Name); n == nil || n.GetNode().GetState() != chkvpb.NodeState_NODE_STATE_DRAINED {
		t.Fatalf("%s restarted without --rejoin: %v, want drained", dn2.Name, n)
	}
	if err := dn2.Kill(); err != nil {
		t.Fatal(err)
	}
	if err := dn2.RestartWith("--rejoin"); err != nil {
		t.Fatal(err)
	}
	waitState(t, c, dn2.Name, chkvpb.NodeState_NODE_STATE_UP, some)
	workload.Verify(t, cl, want)
}

// recoverOnEither asks each NameNode in turn to recover, as chkvctl
// recover does, and returns the first answer or the last error.
func recoverOnEither(t testing.TB, c *Cluster) (*chkvpb.RecoverResponse, error) {
	t.Helper()
	var err error
	for i := range c.NameNodes {
		nn, cerr := c.NameNode(i)
		if cerr != nil {
			t.Fatal(cerr)
		}
		var resp *chkvpb.RecoverResponse
		if resp, err = nn.Recover(ctxFor(t, 30*time.Second), &chkvpb.RecoverRequest{AcceptDataLoss: true}); err == nil {
			return resp, nil
		}
	}
	return nil, err
}

// TestRecoverAfterLosingTheMajority kills two of three DataNodes for good:
// no NameNode can commit, and the status says which witnesses are silent.
// Recover is refused while the majority is there; after the loss it marks
// the silent witnesses down and the third serves every slot again. The
// active, without a majority, recovers.
func TestRecoverAfterLosingTheMajority(t *testing.T) { testRecover(t, false) }

// TestRecoverWithNoActive is TestRecoverAfterLosingTheMajority with the
// active NameNode killed after the loss, so that no NameNode is active and
// no election can be won: the standby recovers through an election among
// the remaining witnesses.
func TestRecoverWithNoActive(t *testing.T) { testRecover(t, true) }

func testRecover(t *testing.T, killActive bool) {
	c := startCluster(t, Options{})
	cl, err := c.NewClient(ctxFor(t, 10*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	if _, err := recoverOnEither(t, c); status.Code(err) != codes.FailedPrecondition ||
		!strings.Contains(err.Error(), "reachable") {
		t.Fatalf("recover with every witness up: %v, want FailedPrecondition (a majority is reachable)", err)
	}
	for _, dn := range c.DataNodes[1:] {
		if err := dn.Kill(); err != nil {
			t.Fatal(err)
		}
	}
	var killed *Process
	if killActive {
		// Wait until the active has learnt it has no majority, then kill
		// it: the standby is left with no active to follow.
		var i int
		testutil.Eventually(t, 30*time.Second, "the active to report no majority", func() bool {
			for i = range c.NameNodes {
				st, err := c.Status(context.Background(), i)
				if err == nil && st.GetRole() == chkvpb.NameNodeRole_NAMENODE_ROLE_ACTIVE && !st.GetQuorum() {
					return true
				}
			}
			return false
		})
		killed = c.NameNodes[i]
		if err := killed.Kill(); err != nil {
			t.Fatal(err)
		}
		testutil.Eventually(t, 30*time.Second, "the standby to say there is no active", func() bool {
			st, err := c.Status(context.Background(), 1-i)
			return err == nil && st.GetRole() == chkvpb.NameNodeRole_NAMENODE_ROLE_STANDBY &&
				strings.HasPrefix(st.GetReason(), "no active: waiting for votes from 2 of 3 witnesses")
		})
	}
	// No NameNode leads with a majority, and each says which witnesses
	// are silent.
	testutil.Eventually(t, 30*time.Second, "the namenodes to report the silent witnesses", func() bool {
		for i := range c.NameNodes {
			if c.NameNodes[i] == killed {
				continue
			}
			st, err := c.Status(context.Background(), i)
			if err != nil || st.GetQuorum() || !slices.Equal(st.GetSilentWitnesses(), []string{"datanode-2", "datanode-3"}) ||
				!strings.Contains(st.GetReason(), "datanode-2, datanode-3") {
				return false
			}
		}
		return true
	})

	for i := range c.NameNodes {
		if st, err := c.Status(context.Background(), i); err == nil {
			t.Logf("before recover: %s %v: %s", st.GetNamenodeId(), st.GetRole(), st.GetReason())
		}
	}
	resp, err := recoverOnEither(t, c)
	if err != nil {
		t.Fatalf("recover: %v", err)
	}
	if !slices.Equal(resp.GetDown(), []string{"datanode-2", "datanode-3"}) {
		t.Fatalf("recover marked %v down", resp.GetDown())
	}
	st := waitStatus(t, c, "datanode-1 serving every slot", func(st *chkvpb.StatusResponse) bool {
		n := nodeOf(st, "datanode-1")
		return n != nil && n.GetSlots() == 16384 && slices.Equal(st.GetWitnesses(), []string{"datanode-1"})
	})
	for _, id := range []string{"datanode-2", "datanode-3"} {
		if n := nodeOf(st, id); n == nil || n.GetNode().GetState() != chkvpb.NodeState_NODE_STATE_DOWN {
			t.Fatalf("%s after recover: %v, want down", id, n)
		}
	}
	ctx := ctxFor(t, 10*time.Second)
	if err := cl.Set(ctx, "after-recover", "yes"); err != nil {
		t.Fatalf("write after recover: %v", err)
	}
	if v, err := cl.Get(ctx, "after-recover"); err != nil || v != "yes" {
		t.Fatalf("read after recover: %q, %v", v, err)
	}
	i, _ := waitActive(t, c)
	if !strings.Contains(c.NameNodes[i].Log(), "recover: committed") {
		t.Fatal("the recover is not logged by the active namenode")
	}
}
