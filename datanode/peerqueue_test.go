package datanode

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chkv/chkv/common/topology"
	"github.com/chkv/chkv/datanode/ownership"
)

// testCounters counts what a peerQueue's run reports.
type testCounters struct{ ok, dropped atomic.Int64 }

func (c *testCounters) delivered(n int) { c.ok.Add(int64(n)) }
func (c *testCounters) lost(n int)      { c.dropped.Add(int64(n)) }

// testLimits are small limits for the queue tests.
var testLimits = fanoutLimits{
	queueMessages: 4, queueBytes: 100,
	batchMessages: 3, batchBytes: 50,
	timeout: 50 * time.Millisecond, backoff: time.Millisecond,
	maxMessage: 1000,
}

// msgOf is the test message numbered i.
func msgOf(i int) pubMessage {
	return pubMessage{channel: []byte("ch"), message: []byte(fmt.Sprint(i))}
}

func TestPeerQueueDropsWhenFull(t *testing.T) {
	p := newPeerQueue("p", "addr", testLimits, nil, func() {})
	for i := range 4 {
		if !p.enqueue(msgOf(i)) {
			t.Fatalf("message %d refused below the bound", i)
		}
	}
	if p.enqueue(msgOf(4)) {
		t.Fatal("a fifth message was accepted past queueMessages=4")
	}
	if b := p.take(); len(b) != 3 || string(b[0].message) != "0" || string(b[2].message) != "2" {
		t.Fatalf("first batch = %v, want messages 0..2", b)
	}
	if !p.enqueue(msgOf(5)) {
		t.Fatal("refused after a batch was taken")
	}
}

func TestPeerQueueByteBound(t *testing.T) {
	p := newPeerQueue("p", "addr", testLimits, nil, func() {})
	big := pubMessage{channel: []byte("c"), message: make([]byte, 200)}
	if !p.enqueue(big) {
		t.Fatal("an empty queue refused a message larger than queueBytes")
	}
	if p.enqueue(msgOf(1)) {
		t.Fatal("accepted a message past queueBytes")
	}
	if b := p.take(); len(b) != 1 {
		t.Fatalf("batch of %d, want the one large message", len(b))
	}
	if p.bytes != 0 || p.msgs != nil {
		t.Fatalf("queue not empty after take: %d bytes, %d messages", p.bytes, len(p.msgs))
	}
}

// TestPeerQueueSendsInOrder runs the sender against a recording peer and
// checks that every message arrives once, in order, within the batch
// bounds.
func TestPeerQueueSendsInOrder(t *testing.T) {
	var mu sync.Mutex
	var got []string
	limits := testLimits
	limits.queueMessages, limits.queueBytes = 1000, 1<<20
	send := func(_ context.Context, msgs []pubMessage) error {
		if len(msgs) > limits.batchMessages {
			return fmt.Errorf("batch of %d", len(msgs))
		}
		mu.Lock()
		for _, m := range msgs {
			got = append(got, string(m.message))
		}
		mu.Unlock()
		return nil
	}
	ctx, cancel := context.WithCancel(context.Background())
	p := newPeerQueue("p", "addr", limits, send, cancel)
	var c testCounters
	done := make(chan struct{})
	go func() { defer close(done); p.run(ctx, &c) }()
	const n = 500
	for i := range n {
		for !p.enqueue(msgOf(i)) {
			time.Sleep(time.Millisecond)
		}
	}
	waitFor(t, func() bool { return c.ok.Load() == n })
	p.stop()
	<-done
	if c.dropped.Load() != 0 {
		t.Fatalf("%d lost", c.dropped.Load())
	}
	for i, s := range got {
		if s != fmt.Sprint(i) {
			t.Fatalf("message %d is %q: out of order", i, s)
		}
	}
}

// TestPeerQueueDeadPeer checks that a peer that never answers costs the
// publisher nothing: enqueue stays non-blocking, the sender gives up each
// call at the timeout and counts the batch lost, and stop ends it.
func TestPeerQueueDeadPeer(t *testing.T) {
	send := func(ctx context.Context, _ []pubMessage) error {
		<-ctx.Done() // a peer that never answers
		return ctx.Err()
	}
	ctx, cancel := context.WithCancel(context.Background())
	p := newPeerQueue("p", "addr", testLimits, send, cancel)
	var c testCounters
	done := make(chan struct{})
	go func() { defer close(done); p.run(ctx, &c) }()
	refused := 0
	for i := range 100 {
		if !p.enqueue(msgOf(i)) {
			refused++
		}
	}
	if refused == 0 {
		t.Fatal("a dead peer's queue took 100 messages past its bound of 4")
	}
	waitFor(t, func() bool { return c.dropped.Load() > 0 })
	p.stop()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("run did not return after stop")
	}
	if c.ok.Load() != 0 {
		t.Fatal("a dead peer acknowledged messages")
	}
}

// TestFanoutCountsDrops checks forward against peers whose queues are
// full: each refusal counts once per peer, and the queued bytes are a copy
// of the caller's.
func TestFanoutCountsDrops(t *testing.T) {
	top := &topology.Topology{}
	f := &fanout{limits: testLimits, view: func() *ownership.View { return &ownership.View{Top: top, Self: -1} }}
	a := newPeerQueue("a", "x", testLimits, nil, func() {})
	b := newPeerQueue("b", "y", testLimits, nil, func() {})
	f.peers.Store(&peerSet{top: top, list: []*peerQueue{a, b}})
	buf := []byte("payload")
	for range 6 {
		f.forward([]byte("ch"), buf)
	}
	buf[0] = 'X'
	if got := f.dropped.Load(); got != 4 {
		t.Fatalf("dropped = %d, want 2 per peer", got)
	}
	if m := a.take()[0]; string(m.message) != "payload" {
		t.Fatalf("queued message %q changed with the caller's buffer", m.message)
	}
	f.forward([]byte("ch"), make([]byte, testLimits.maxMessage))
	if got := f.dropped.Load(); got != 6 {
		t.Fatalf("dropped = %d after a message over maxMessage, want 2 more", got)
	}
	if len(a.msgs) != 1 || len(b.msgs) != 4 {
		t.Fatalf("a message over maxMessage was queued: %d, %d queued", len(a.msgs), len(b.msgs))
	}
}

// waitFor polls cond for up to ten seconds.
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not reached in 10s")
		}
		time.Sleep(time.Millisecond)
	}
}
