//go:build linux

package datanode

import (
	"runtime"
	"syscall"
	"testing"
	"time"
)

// TestDefaultIOModelIsEpoll checks that on Linux the default is the faster
// model, event loops, one per core.
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

// TestOnlyASingleLoopSpins checks which loops busy-poll: a server's only
// loop does, loops that share a server do not.
func TestOnlyASingleLoopSpins(t *testing.T) {
	for loops, spin := range map[int]time.Duration{1: loopSpin, 3: 0} {
		s := startServerModel(t, IOModelEpoll, func(c *Config) { c.EventLoops = loops }, nil)
		if len(s.loops) != loops {
			t.Fatalf("EventLoops %d started %d loops", loops, len(s.loops))
		}
		for i, l := range s.loops {
			if l.spin != spin {
				t.Errorf("EventLoops %d: loop %d spins for %v, want %v", loops, i, l.spin, spin)
			}
		}
	}
}

// fakePoller stands in for epoll_wait and the clock in eventLoop.wait: the
// clock moves by step at each reading, and the readyAt-th non-blocking poll
// (counting from 1; 0 for never) reports one event.
type fakePoller struct {
	t        *testing.T
	step     time.Duration
	readyAt  int
	err      error // returned by every non-blocking poll, if set
	clock    time.Time
	readings int
	polls    int
	blocks   []int // the timeouts of the blocking polls
}

func (f *fakePoller) install(l *eventLoop) {
	l.now = func() time.Time {
		f.readings++
		f.clock = f.clock.Add(f.step)
		return f.clock
	}
	l.pollNow = func(epfd int, events []syscall.EpollEvent) (int, error) {
		f.polls++
		if f.err != nil {
			return 0, f.err
		}
		if f.polls == f.readyAt {
			return 1, nil
		}
		return 0, nil
	}
	l.pollBlock = func(epfd int, events []syscall.EpollEvent, msec int) (int, error) {
		if len(f.blocks) > 0 {
			f.t.Fatal("blocked twice in one wait")
		}
		f.blocks = append(f.blocks, msec)
		return 0, nil
	}
}

// TestLoopWaitSpin drives eventLoop.wait with a fake clock and fake polls
// and counts the system calls it makes.
func TestLoopWaitSpin(t *testing.T) {
	const step = time.Microsecond
	spinPolls := int(loopSpin / step) // the first poll, then one per reading before the deadline
	cases := []struct {
		name       string
		spin       time.Duration
		readyAt    int
		err        error
		wantN      int
		wantErr    error
		wantPolls  int
		wantBlocks int
		wantClock  bool // whether the clock is read
	}{
		{name: "ready at once", spin: loopSpin, readyAt: 1, wantN: 1, wantPolls: 1},
		{name: "ready while spinning", spin: loopSpin, readyAt: 10, wantN: 1, wantPolls: 10, wantClock: true},
		{name: "ready at the last spin", spin: loopSpin, readyAt: spinPolls, wantN: 1, wantPolls: spinPolls, wantClock: true},
		{name: "idle: spins, then blocks", spin: loopSpin, readyAt: spinPolls + 1, wantPolls: spinPolls, wantBlocks: 1, wantClock: true},
		{name: "error while spinning", spin: loopSpin, err: syscall.EINTR, wantErr: syscall.EINTR, wantPolls: 1},
		{name: "no spin: one poll, then blocks", spin: 0, readyAt: 2, wantPolls: 1, wantBlocks: 1},
		{name: "no spin, ready at once", spin: 0, readyAt: 1, wantN: 1, wantPolls: 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := &fakePoller{t: t, step: step, readyAt: tc.readyAt, err: tc.err}
			l := &eventLoop{spin: tc.spin}
			f.install(l)
			n, err := l.wait(make([]syscall.EpollEvent, loopMaxEvents))
			if n != tc.wantN || err != tc.wantErr {
				t.Fatalf("wait = %d, %v; want %d, %v", n, err, tc.wantN, tc.wantErr)
			}
			if f.polls != tc.wantPolls || len(f.blocks) != tc.wantBlocks {
				t.Fatalf("%d non-blocking polls and %d blocking ones, want %d and %d", f.polls, len(f.blocks), tc.wantPolls, tc.wantBlocks)
			}
			if len(f.blocks) == 1 && f.blocks[0] != loopWaitMillis {
				t.Fatalf("blocked for %d ms, want %d", f.blocks[0], loopWaitMillis)
			}
			if (f.readings > 0) != tc.wantClock {
				t.Fatalf("clock read %d times", f.readings)
			}
			if spun := time.Duration(f.readings-1) * step; tc.wantBlocks == 1 && tc.wantClock && spun != loopSpin {
				t.Fatalf("spun for %v before blocking, want %v", spun, loopSpin)
			}
		})
	}
}
