package proccluster

import (
	"bufio"
	"fmt"
	"net"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestDrainPortWaitsThroughFailover types k on a DataNode's drain port
// just after the active NameNode was killed: the drain waits for the
// standby to take over, saying so, then drains the node.
func TestDrainPortWaitsThroughFailover(t *testing.T) {
	c := startCluster(t, Options{})
	drainAddr, err := freeAddr()
	if err != nil {
		t.Fatal(err)
	}
	c.opts.DataNodeArgs = append(slices.Clone(c.opts.DataNodeArgs), "--drain-listen", drainAddr)
	dn, err := c.AddDataNode()
	if err != nil {
		t.Fatal(err)
	}
	if err := c.WaitReady(ctxFor(t, 60*time.Second)); err != nil {
		t.Fatal(err)
	}
	old, st := waitActive(t, c)
	if err := c.NameNodes[old].Kill(); err != nil {
		t.Fatal(err)
	}

	conn, err := net.DialTimeout("tcp", drainAddr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(90 * time.Second)) //nolint:errcheck
	in := bufio.NewScanner(conn)
	line := func() string {
		t.Helper()
		if !in.Scan() {
			t.Fatalf("drain port connection ended: %v", in.Err())
		}
		return strings.TrimRight(in.Text(), "\r")
	}
	if g := line(); !strings.Contains(g, dn.Name) {
		t.Fatalf("greeting %q", g)
	}
	if _, err := fmt.Fprintf(conn, "k\r\n"); err != nil {
		t.Fatal(err)
	}
	// The standby needs several heartbeat intervals to take over, so the
	// first answer is the wait.
	if l := line(); l != "waiting for an active NameNode" {
		t.Fatalf("k after the active died: %q", l)
	}
	var last string
	for last = line(); !strings.HasPrefix(last, "drained:"); last = line() {
		if !strings.HasPrefix(last, "draining: ") {
			t.Fatalf("unexpected line while draining: %q", last)
		}
	}
	cur, _ := waitNewActive(t, c, old, st, 20*testInterval)
	waitSlots(t, c, cur, dn.Name, func(n uint32) bool { return n == 0 })
}
