package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chkv/chkv/common/topology"
	"github.com/chkv/chkv/datanode"
	"github.com/chkv/chkv/helper/localcluster"
)

// The preStop hook of deploy/k8s: drain-port drains the DataNode through
// its own drain port, returns once the node can be stopped, and stopping
// it then loses nothing.
func TestDrainPortAgainstLocalCluster(t *testing.T) {
	var mu sync.Mutex
	ports := map[string]string{}
	c := startLocalCluster(t, localcluster.Options{DataNodeConfig: func(cfg *datanode.Config) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		cfg.DrainListener = ln
		mu.Lock()
		ports[cfg.ID] = ln.Addr().String()
		mu.Unlock()
	}})
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	nn := "--namenodes=" + c.NameNodeAddr()
	for i := range 200 {
		if _, _, err := run(ctx, nn, "set", fmt.Sprintf("k%d", i), fmt.Sprintf("v%d", i)); err != nil {
			t.Fatal(err)
		}
	}
	dn := c.DataNodes()[1]
	mu.Lock()
	addr := ports[dn.ID()]
	mu.Unlock()

	out, _, err := run(ctx, "drain-port", addr)
	if err != nil || !strings.HasPrefix(lastLine(out), "drained: node "+dn.ID()+" owns no slots and can be stopped") {
		t.Fatalf("drain-port: %q, %v", out, err)
	}
	if st := stateIn(c, dn.ID()); st != topology.Drained.String() {
		t.Fatalf("%s is %s after drain-port returned", dn.ID(), st)
	}
	c.Kill(dn)
	for i := range 200 {
		out, _, err := run(ctx, nn, "get", fmt.Sprintf("k%d", i))
		if want := fmt.Sprintf("v%d\n", i); err != nil || out != want {
			t.Fatalf("get k%d after stopping the drained node: %q, %v", i, out, err)
		}
	}
}

// lastLine returns the last non-empty line of s.
func lastLine(s string) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return lines[len(lines)-1]
}

// fakeDrainPort serves one connection with script: it writes a greeting,
// reads k, and calls script with the k line and the connection.
func fakeDrainPort(t *testing.T, script func(k string, conn net.Conn)) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	t.Cleanup(func() {
		ln.Close()
		<-done
	})
	go func() {
		defer close(done)
		conn, err := ln.Accept()
		if err != nil {
			return
		}
		defer conn.Close()
		conn.SetDeadline(time.Now().Add(10 * time.Second)) //nolint:errcheck // the test's bound
		fmt.Fprint(conn, "CHKV DataNode dn-x drain port. Type 'help'.\r\n")
		k, err := bufio.NewReader(conn).ReadString('\n')
		if err != nil {
			return
		}
		script(strings.TrimRight(k, "\r\n"), conn)
	}()
	return ln.Addr().String()
}

func TestDrainPortFailures(t *testing.T) {
	ctx := context.Background()
	t.Run("refused", func(t *testing.T) {
		if _, _, err := run(ctx, "drain-port", "127.0.0.1:1"); err == nil || !strings.Contains(err.Error(), "drain port 127.0.0.1:1") {
			t.Fatalf("drain-port with nothing listening: %v", err)
		}
	})
	t.Run("ERR", func(t *testing.T) {
		addr := fakeDrainPort(t, func(_ string, conn net.Conn) {
			fmt.Fprint(conn, "ERR no active NameNode within 30s\r\n")
		})
		_, _, err := run(ctx, "drain-port", addr)
		if !errors.Is(err, errDrainPort) || !strings.Contains(err.Error(), "ERR no active NameNode within 30s") {
			t.Fatalf("drain-port answered ERR: %v", err)
		}
	})
	t.Run("silent", func(t *testing.T) {
		stop := make(chan struct{})
		defer close(stop)
		addr := fakeDrainPort(t, func(_ string, conn net.Conn) { <-stop })
		_, _, err := run(ctx, "drain-port", addr, "--idle-timeout", "100ms")
		var ne net.Error
		if !errors.As(err, &ne) || !ne.Timeout() {
			t.Fatalf("drain-port against a silent node: %v, want a timeout", err)
		}
	})
	t.Run("closed", func(t *testing.T) {
		addr := fakeDrainPort(t, func(_ string, conn net.Conn) { fmt.Fprint(conn, "draining: 0/10 slots moved\r\n") })
		if _, _, err := run(ctx, "drain-port", addr); err == nil || !strings.Contains(err.Error(), "closed the connection") {
			t.Fatalf("drain-port when the node hangs up: %v", err)
		}
	})
}

// From the node itself k goes alone, even with --cluster-token: the node
// takes k from loopback and would refuse a token it does not have.
func TestDrainPortSendsKAloneFromTheNodeItself(t *testing.T) {
	got := make(chan string, 1)
	addr := fakeDrainPort(t, func(k string, conn net.Conn) {
		got <- k
		fmt.Fprint(conn, "drained: node dn-x owns no slots and can be stopped (pid 1)\r\n")
	})
	if _, _, err := run(context.Background(), "--cluster-token", "s3cret", "drain-port", addr); err != nil {
		t.Fatal(err)
	}
	if k := <-got; k != "k" {
		t.Fatalf("sent %q to the node's own drain port, want k", k)
	}
	for addr, want := range map[string]bool{
		"127.0.0.1:6666": true, "[::1]:6666": true, "localhost:6666": true,
		"10.1.2.3:6666": false, "dn-0.chkv-datanode:6666": false, "nonsense": false,
	} {
		if isLoopback(addr) != want {
			t.Errorf("isLoopback(%q) = %v", addr, !want)
		}
	}
}
