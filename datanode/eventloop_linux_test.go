//go:build linux

package datanode

import (
	"runtime"
	"testing"
)

// TestDefaultIOModelIsEpoll checks that on Linux the default is event
// loops, one per core, also for a Config that leaves IOModel empty.
func TestDefaultIOModelIsEpoll(t *testing.T) {
	if DefaultIOModel != IOModelEpoll || DefaultConfig().IOModel != IOModelEpoll {
		t.Fatalf("DefaultIOModel %q, DefaultConfig().IOModel %q; want %q", DefaultIOModel, DefaultConfig().IOModel, IOModelEpoll)
	}
	if DefaultConfig().EventLoops != 0 {
		t.Fatalf("DefaultConfig().EventLoops = %d, want 0 (one per core)", DefaultConfig().EventLoops)
	}
	// An empty IOModel and EventLoops, as in a Config not made by
	// DefaultConfig, mean the defaults too.
	s := startServerModel(t, "", func(c *Config) { c.EventLoops = 0 }, nil)
	if len(s.loops) != runtime.GOMAXPROCS(0) {
		t.Fatalf("%d event loops, want GOMAXPROCS = %d", len(s.loops), runtime.GOMAXPROCS(0))
	}
	if got := s.dial(t).do("PING"); got != "PONG" {
		t.Fatalf("PING = %s", got)
	}
	s.forEachClient(func(c *client) {
		if _, ok := c.conn.(*loopConn); !ok {
			t.Errorf("client %d is served by %T, not an event loop", c.id, c.conn)
		}
	})
}
