package datanode

import (
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chkv/chkv/helper/testutil"
)

// TestOutputBufferLimitExceeded checks the limit's rule, as Redis's
// checkClientOutputBufferLimits: the hard limit at once, the soft limit
// once reached continuously for more than its seconds.
func TestOutputBufferLimitExceeded(t *testing.T) {
	l := outputBufferLimit{Hard: 100, Soft: 50, SoftSeconds: 10}
	t0 := time.Unix(1000, 0)
	var since time.Time
	steps := []struct {
		used int64
		at   time.Duration
		want bool
	}{
		{49, 0, false},
		{50, 0, false}, // soft reached: the clock starts
		{60, 10 * time.Second, false},
		{60, 10*time.Second + 900*time.Millisecond, false}, // whole seconds, as server.unixtime
		{49, 10 * time.Second, false},                      // back under: the clock stops
		{50, 20 * time.Second, false},                      // and restarts
		{50, 30 * time.Second, false},
		{50, 31 * time.Second, true},
		{100, 0, true}, // the hard limit at once
	}
	for i, st := range steps {
		if got := l.exceeded(st.used, &since, t0.Add(st.at)); got != st.want {
			t.Errorf("step %d: exceeded(%d, +%v) = %v, want %v", i, st.used, st.at, got, st.want)
		}
	}
	if (outputBufferLimit{}).exceeded(1<<40, &since, t0) {
		t.Error("zero limits must not limit")
	}
}

// subscriberClient subscribes a connection that will never read again to
// channel and returns it with the server's record of it. A receive buffer
// of recvBuf bytes, if not 0, keeps what the kernels hold for it small.
func subscriberClient(t *testing.T, s *Server, channel string, recvBuf int) (*respConn, *client) {
	t.Helper()
	c := s.dial(t)
	if tc, ok := c.conn.(*net.TCPConn); ok && recvBuf > 0 {
		tc.SetReadBuffer(recvBuf)
	}
	id, _ := strconv.ParseUint(strings.TrimPrefix(c.do("CLIENT", "ID"), "(integer) "), 10, 64)
	if got := c.do("SUBSCRIBE", channel); got != `["subscribe" "`+channel+`" (integer) 1]` {
		t.Fatalf("SUBSCRIBE: %s", got)
	}
	cl := s.clientByID(id)
	if cl == nil {
		t.Fatal("subscriber not registered")
	}
	return c, cl
}

// TestPubSubHardLimitClosesSlowSubscriber publishes big messages to a
// subscriber that never reads: the node's buffers for it must stay within
// the hard limit and the subscriber must be disconnected, its subscription
// gone, while a subscriber that reads gets every message.
func TestPubSubHardLimitClosesSlowSubscriber(t *testing.T) {
	const (
		hard    = 1 << 20
		msgSize = 64 << 10
	)
	for _, model := range testIOModels() {
		t.Run(model, func(t *testing.T) {
			s := startServer(t, func(cfg *Config) {
				cfg.IOModel = model
				cfg.Settings.OutputBufferLimits.PubSub = outputBufferLimit{Hard: hard}
			})
			slow, _ := subscriberClient(t, s, "big", 0)
			fast := s.dial(t)
			fast.do("SUBSCRIBE", "big")
			var wg sync.WaitGroup
			received := 0
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					m, err := readMessage(fast.r, fast.conn)
					if err != nil || m[0] != "message" {
						return
					}
					if received++; m[2] == "last" {
						return
					}
				}
			}()
			pub := s.dial(t)
			payload := strings.Repeat("x", msgSize)
			published := 0
			for published < 2000 {
				got := pub.do("PUBLISH", "big", payload)
				published++
				if got == "(integer) 1" {
					break // the slow subscriber is gone
				}
				if got != "(integer) 2" {
					t.Fatalf("PUBLISH = %s", got)
				}
				if b := s.memory.clientBuffers.Load(); b > 2*hard+msgSize {
					t.Fatalf("client buffers hold %d bytes with a hard limit of %d", b, hard)
				}
			}
			if published == 2000 {
				t.Fatal("the subscriber that never reads was not disconnected")
			}
			pub.do("PUBLISH", "big", "last")
			wg.Wait()
			if received != published+1 {
				t.Errorf("the reading subscriber got %d of %d messages", received, published+1)
			}
			if got := pub.do("PUBSUB", "NUMSUB", "big"); got != `["big" (integer) 1]` {
				t.Errorf("PUBSUB NUMSUB = %s", got)
			}
			// The slow subscriber reads what the kernel held, then EOF.
			b, err := slow.readUntilClosed(10 * time.Second)
			t.Logf("read %d bytes", len(b))
			if err != nil && !strings.Contains(err.Error(), "reset") {
				t.Errorf("slow subscriber not closed: %v", err)
			}
		})
	}
}

// TestPubSubSoftLimitUsesClock drives the soft limit's seconds with the
// hub's clock: a subscriber over the soft limit is kept for soft-seconds
// and disconnected after.
func TestPubSubSoftLimitUsesClock(t *testing.T) {
	const soft = 256 << 10
	for _, model := range testIOModels() {
		t.Run(model, func(t *testing.T) {
			var mu sync.Mutex
			now := time.Unix(1_000_000, 0)
			s := startServer(t, func(cfg *Config) {
				cfg.IOModel = model
				cfg.Settings.OutputBufferLimits.PubSub = outputBufferLimit{Soft: soft, SoftSeconds: 10}
			})
			s.pubsub.setClock(func() time.Time {
				mu.Lock()
				defer mu.Unlock()
				return now
			})
			advance := func(d time.Duration) {
				mu.Lock()
				now = now.Add(d)
				mu.Unlock()
			}
			_, sub := subscriberClient(t, s, "ch", 4<<10)
			pub := s.dial(t)
			payload := strings.Repeat("y", 32<<10)
			softSince := func() time.Time {
				sub.outbox.mu.Lock()
				defer sub.outbox.mu.Unlock()
				return sub.outbox.softSince
			}
			// Past the soft limit, and far enough past it that the kernel
			// taking a little more cannot bring the client back under.
			used := func() int64 { return sub.outbox.queued.Load() + sub.outLen.Load() }
			for i := 0; softSince().IsZero() || used() < 2*soft; i++ {
				if i == 5000 {
					t.Fatal("the soft limit was never reached")
				}
				if got := pub.do("PUBLISH", "ch", payload); got != "(integer) 1" {
					t.Fatalf("PUBLISH = %s", got)
				}
			}
			advance(10 * time.Second)
			pub.do("PUBLISH", "ch", "x")
			if got := pub.do("PUBSUB", "NUMSUB", "ch"); got != `["ch" (integer) 1]` {
				t.Fatalf("disconnected before soft-seconds passed: NUMSUB = %s", got)
			}
			advance(time.Second)
			pub.do("PUBLISH", "ch", "x")
			testutil.Eventually(t, 10*time.Second, "the subscriber to be disconnected", func() bool {
				return pub.do("PUBSUB", "NUMSUB", "ch") == `["ch" (integer) 0]`
			})
		})
	}
}
