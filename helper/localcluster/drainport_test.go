package localcluster

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chkv/chkv/datanode"

	"github.com/chkv/chkv/helper/workload"
)

// The drain port, driven over TCP as an operator would with telnet:
// help, status, a typo, then k, which drains the node while it streams
// progress and ends saying the node can be stopped.
func TestDrainPortDrainsTheNode(t *testing.T) {
	var mu sync.Mutex
	ports := map[string]string{}
	c := startCluster(t, Options{DataNodeConfig: func(cfg *datanode.Config) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		cfg.DrainListener = ln
		mu.Lock()
		ports[cfg.ID] = ln.Addr().String()
		mu.Unlock()
	}})
	cl := newClient(t, c)
	want := workload.Preload(t, cl, "pre", 3000)
	dn := c.DataNodes()[2]
	mu.Lock()
	addr := ports[dn.ID()]
	mu.Unlock()

	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(60 * time.Second)) //nolint:errcheck
	in := bufio.NewScanner(conn)
	line := func() string {
		t.Helper()
		if !in.Scan() {
			t.Fatalf("connection ended: %v", in.Err())
		}
		return strings.TrimRight(in.Text(), "\r")
	}
	send := func(s string) {
		t.Helper()
		if _, err := fmt.Fprintf(conn, "%s\r\n", s); err != nil {
			t.Fatal(err)
		}
	}
	if g := line(); !strings.Contains(g, dn.ID()) {
		t.Fatalf("greeting %q does not name the node", g)
	}
	send("help")
	for l := line(); !strings.Contains(l, "quit"); l = line() {
	}
	send("status")
	if l := line(); !strings.Contains(l, "up") {
		t.Fatalf("status of an up node: %q", l)
	}
	send("drain please")
	if l := line(); !strings.HasPrefix(l, "ERR unknown command") {
		t.Fatalf("a typo got %q", l)
	}
	send("k")
	progress := 0
	var last string
	for last = line(); !strings.HasPrefix(last, "drained:"); last = line() {
		if !strings.HasPrefix(last, "draining") {
			t.Fatalf("unexpected line while draining: %q", last)
		}
		progress++
	}
	if !strings.Contains(last, fmt.Sprintf("pid %d", os.Getpid())) || !strings.Contains(last, dn.ID()) {
		t.Fatalf("final line %q lacks the node or its pid", last)
	}
	select {
	case <-dn.Drained():
	default:
		t.Fatal("the port said drained before the node was")
	}
	send("status")
	if l := line(); !strings.Contains(l, "drained") {
		t.Fatalf("status after the drain: %q", l)
	}
	t.Logf("%d progress lines; %s", progress, last)
	workload.Verify(t, cl, want)
	if n := dn.Keys(); n != 0 {
		t.Fatalf("drained node holds %d keys", n)
	}
}
