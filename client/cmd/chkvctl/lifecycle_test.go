package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/chkv/chkv/common/topology"
	"github.com/chkv/chkv/helper/localcluster"
)

// stateIn returns id's state in the cluster's topology, or "absent".
func stateIn(c *localcluster.Cluster, id string) string {
	top := c.Topology()
	if i := top.Index(id); i >= 0 {
		return top.Nodes[i].State.String()
	}
	return "absent"
}

// drain, undrain and remove through chkvctl against a real cluster, with
// the refusals an operator can run into.
func TestUndrainAndRemoveAgainstLocalCluster(t *testing.T) {
	c := startLocalCluster(t, localcluster.Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	nn := "--namenodes=" + c.NameNodeAddr()
	id := c.DataNodes()[2].ID()

	_, _, err := run(ctx, nn, "remove", c.DataNodes()[0].ID())
	if err == nil || !strings.Contains(err.Error(), "refused") || !strings.Contains(err.Error(), "drain it first") {
		t.Fatalf("remove of an up node: %v", err)
	}
	if _, _, err := run(ctx, nn, "undrain", id); err == nil || !strings.Contains(err.Error(), "not draining or drained") {
		t.Fatalf("undrain of an up node: %v", err)
	}
	if _, _, err := run(ctx, nn, "remove", "no-such-node"); err == nil || !strings.Contains(err.Error(), "no such DataNode") {
		t.Fatalf("remove of an unknown node: %v", err)
	}

	out, _, err := run(ctx, nn, "drain", id)
	if err != nil || !strings.Contains(out, id+" drained: owns no slots and can be stopped") {
		t.Fatalf("drain: %q, %v", out, err)
	}
	if st := stateIn(c, id); st != topology.Drained.String() {
		t.Fatalf("%s is %s after the drain", id, st)
	}
	out, _, err = run(ctx, nn, "status")
	if err != nil || !strings.Contains(out, "drained") {
		t.Fatalf("status after the drain: %q, %v", out, err)
	}
	// The drained node is no witness: two remain, and none may fail.
	if line := lineWith(out, "witnesses "); strings.Contains(line, id) || !strings.HasSuffix(line, ": 0 may fail") {
		t.Fatalf("witnesses after draining %s: %q", id, line)
	}

	out, _, err = run(ctx, nn, "undrain", id)
	if err != nil || !strings.Contains(out, id+" is joining again") {
		t.Fatalf("undrain: %q, %v", out, err)
	}
	if err := c.WaitForTopology(ctx, func(top *topology.Topology) bool {
		i := top.Index(id)
		return i >= 0 && top.Nodes[i].State == topology.Up && top.SlotCount(i) > 0
	}); err != nil {
		t.Fatalf("%s not up with slots after undrain: %v", id, err)
	}

	if _, _, err := run(ctx, nn, "drain", id); err != nil {
		t.Fatal(err)
	}
	out, _, err = run(ctx, nn, "remove", id)
	if err != nil || !strings.Contains(out, id+" removed") || stateIn(c, id) != "absent" {
		t.Fatalf("remove: %q, %v; %s is %s", out, err, id, stateIn(c, id))
	}
}

func TestRecoverRefusals(t *testing.T) {
	c := startLocalCluster(t, localcluster.Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	nn := "--namenodes=" + c.NameNodeAddr()
	if _, _, err := run(ctx, nn, "recover"); err == nil || !strings.Contains(err.Error(), "--accept-data-loss") {
		t.Fatalf("recover without --accept-data-loss: %v", err)
	}
	_, _, err := run(ctx, nn, "recover", "--accept-data-loss")
	if err == nil || !strings.Contains(err.Error(), "majority of the witnesses is reachable") {
		t.Fatalf("recover with every DataNode up: %v", err)
	}
}

// lineWith returns the first line of s that starts with prefix, or "".
func lineWith(s, prefix string) string {
	for _, l := range strings.Split(s, "\n") {
		if strings.HasPrefix(l, prefix) {
			return l
		}
	}
	return ""
}
