package localcluster

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// lockedBuffer collects log output from every component's goroutines.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) lines() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Split(strings.TrimSpace(l.b.String()), "\n")
}

// Every log line of every component names its node, and requests write no
// log lines at info level.
func TestLogLinesNameTheNodeAndRequestsAreNotLogged(t *testing.T) {
	var buf lockedBuffer
	logger := slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelInfo}))
	c := startCluster(t, Options{Logger: logger})
	ctx := ctxFor(t, 30*time.Second)
	cl, err := c.NewClient(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	if err := c.WaitConverged(ctx); err != nil {
		t.Fatal(err)
	}
	before := len(buf.lines())
	for i := range 2000 {
		k := "log:" + strconv.Itoa(i)
		if err := cl.Set(ctx, k, "v"); err != nil {
			t.Fatal(err)
		}
		if _, err := cl.Get(ctx, k); err != nil {
			t.Fatal(err)
		}
	}
	if after := len(buf.lines()); after > before+5 {
		t.Errorf("4000 requests wrote %d log lines at info level:\n%s", after-before,
			strings.Join(buf.lines()[before:], "\n"))
	}
	// A drain logs on both sides.
	if err := c.Drain(c.DataNodes()[0], false); err != nil {
		t.Fatal(err)
	}
	if err := c.WaitMigrated(ctx); err != nil {
		t.Fatal(err)
	}
	c.Stop()
	nodes := map[string]bool{}
	for _, line := range buf.lines() {
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("log line is not JSON: %q", line)
		}
		node, _ := rec["node"].(string)
		if node == "" {
			t.Errorf("log line names no node: %s", line)
		}
		nodes[node] = true
	}
	for _, want := range []string{"namenode-1", "datanode-1", "datanode-2", "datanode-3"} {
		if !nodes[want] {
			t.Errorf("no log line of %s (nodes seen: %v)", want, nodes)
		}
	}
}
