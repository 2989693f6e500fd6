package datanode

import (
	"bufio"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"
)

// drainPortConn is an operator's telnet session on a drain port.
type drainPortConn struct {
	t  *testing.T
	nc net.Conn
	in *bufio.Scanner
}

func dialDrainPort(t *testing.T, addr string) *drainPortConn {
	t.Helper()
	nc, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nc.Close() })
	nc.SetDeadline(time.Now().Add(30 * time.Second))
	c := &drainPortConn{t: t, nc: nc, in: bufio.NewScanner(nc)}
	c.line() // the greeting
	return c
}

func (c *drainPortConn) line() string {
	c.t.Helper()
	if !c.in.Scan() {
		c.t.Fatalf("drain port connection ended: %v", c.in.Err())
	}
	return strings.TrimRight(c.in.Text(), "\r")
}

func (c *drainPortConn) send(s string) {
	c.t.Helper()
	if _, err := fmt.Fprintf(c.nc, "%s\r\n", s); err != nil {
		c.t.Fatal(err)
	}
}

// startDrainPortNode starts a cluster node of nn with the cluster token
// and a drain port on loopback, and returns the port's address.
func startDrainPortNode(t *testing.T, nn *fakeNameNode) string {
	t.Helper()
	grpcLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	drainLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	startServer(t, func(c *Config) {
		c.ID = "dn-a"
		c.NameNodes = []string{nn.Addr()}
		c.GRPCListener = grpcLn
		c.DrainListener = drainLn
		c.ClusterToken = "tok"
	})
	return drainLn.Addr().String()
}

// With a cluster token, k must give it: a wrong one never reaches the
// NameNode, even on a loopback listener (it used to drain the node).
func TestDrainPortChecksTheClusterToken(t *testing.T) {
	nn := startFakeNameNode(t)
	c := dialDrainPort(t, startDrainPortNode(t, nn))
	c.send("k anything")
	if l := c.line(); l != "ERR wrong token" {
		t.Fatalf("k with a wrong token: %q", l)
	}
	drains := len(nn.Drains())
	if drains != 0 {
		t.Fatalf("k with a wrong token asked the NameNode to drain %d times", drains)
	}
	c.send("k tok")
	if l := c.line(); !strings.HasPrefix(l, "draining: ") {
		t.Fatalf("k with the token: %q", l)
	}
}

// k sent while the NameNodes are between actives waits for one.
func TestDrainPortWaitsForAnActiveNameNode(t *testing.T) {
	nn := startFakeNameNode(t)
	nn.Refuse(2)
	c := dialDrainPort(t, startDrainPortNode(t, nn))
	c.send("k") // alone: from loopback
	if l := c.line(); l != "waiting for an active NameNode" {
		t.Fatalf("k during a failover: %q", l)
	}
	if l := c.line(); !strings.HasPrefix(l, "draining: ") {
		t.Fatalf("k once a NameNode is active: %q", l)
	}
	if drains := len(nn.Drains()); drains != 3 {
		t.Fatalf("the NameNode got %d drain calls, want 3", drains)
	}
}
