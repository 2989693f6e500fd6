package localcluster

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// subscribeOn subscribes to channel on dn and waits for the confirmation.
func subscribeOn(t *testing.T, ctx context.Context, dn *DataNode, channel string) *redis.PubSub {
	t.Helper()
	ps := direct(t, dn).Subscribe(ctx, channel)
	t.Cleanup(func() { ps.Close() })
	if _, err := ps.Receive(ctx); err != nil {
		t.Fatal(err)
	}
	return ps
}

// receiveN reads n messages of ps, failing the test when ctx ends first.
func receiveN(t *testing.T, ctx context.Context, ps *redis.PubSub, n int) []string {
	t.Helper()
	got := make([]string, 0, n)
	for len(got) < n {
		m, err := ps.ReceiveMessage(ctx)
		if err != nil {
			t.Fatalf("after %d of %d messages: %v", len(got), n, err)
		}
		got = append(got, m.Payload)
	}
	return got
}

// expectNoMore fails when ps receives another message within a short while.
func expectNoMore(t *testing.T, ps *redis.PubSub) {
	t.Helper()
	if msg, err := ps.ReceiveTimeout(context.Background(), 300*time.Millisecond); err == nil {
		t.Fatalf("unexpected extra message: %v", msg)
	}
}

// A message PUBLISHed on any DataNode reaches the subscribers of every
// DataNode exactly once, and the messages of each publisher arrive in the
// order it published them; PUBLISH answers the node's own receivers and
// PUBSUB NUMSUB counts the node's own subscribers, as in Redis Cluster.
func TestPublishReachesEveryNode(t *testing.T) {
	c := startCluster(t, Options{DataNodes: 3})
	ctx := ctxFor(t, 60*time.Second)
	dns := c.DataNodes()
	subs := make([]*redis.PubSub, len(dns))
	for i, dn := range dns {
		subs[i] = subscribeOn(t, ctx, dn, "news")
	}
	if got := direct(t, dns[0]).PubSubNumSub(ctx, "news").Val()["news"]; got != 1 {
		t.Fatalf("PUBSUB NUMSUB on one node = %d, want its own 1", got)
	}
	const n = 300
	// Two publishers on two nodes at once, each with its own sequence.
	errs := make(chan error, 2)
	for p, dn := range dns[:2] {
		rdb := direct(t, dn)
		go func() {
			for i := range n {
				got, err := rdb.Publish(ctx, "news", fmt.Sprintf("p%d:%d", p, i)).Result()
				if err == nil && got != 1 {
					err = fmt.Errorf("PUBLISH answered %d receivers, want the local 1", got)
				}
				if err != nil {
					errs <- err
					return
				}
			}
			errs <- nil
		}()
	}
	for range 2 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	for i, ps := range subs {
		next := [2]int{}
		for _, m := range receiveN(t, ctx, ps, 2*n) {
			var p, seq int
			if _, err := fmt.Sscanf(m, "p%d:%d", &p, &seq); err != nil {
				t.Fatalf("node %d: bad message %q", i, m)
			}
			if seq != next[p] {
				t.Fatalf("node %d: publisher %d's message %d arrived when %d was due", i, p, seq, next[p])
			}
			next[p]++
		}
		expectNoMore(t, ps)
	}
}

// A DataNode cut off from the others does not hold up PUBLISH: the
// publisher's node and the reachable one still get every message, in order,
// and once the link heals new messages reach the cut-off node again.
func TestPublishWithPeerCutOff(t *testing.T) {
	c := startCluster(t, Options{DataNodes: 3})
	ctx := ctxFor(t, 90*time.Second)
	dns := c.DataNodes()
	subs := make([]*redis.PubSub, len(dns))
	for i, dn := range dns {
		subs[i] = subscribeOn(t, ctx, dn, "news")
	}
	dns[2].FromNameNode.Cut() // every gRPC call to the third node fails
	pub := direct(t, dns[0])
	const n = 2000
	pctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	for i := range n {
		if err := pub.Publish(pctx, "news", fmt.Sprint(i)).Err(); err != nil {
			t.Fatalf("PUBLISH %d with a peer cut off: %v", i, err)
		}
	}
	for i, ps := range subs[:2] {
		for j, m := range receiveN(t, ctx, ps, n) {
			if m != fmt.Sprint(j) {
				t.Fatalf("node %d: message %d is %q", i, j, m)
			}
		}
	}
	dns[2].FromNameNode.Restore()
	// Publish until the healed node hears one (its peers reconnect with a
	// short backoff; it may also rejoin the topology first).
	heard := make(chan error, 1)
	go func() {
		m, err := subs[2].ReceiveMessage(ctx)
		for err == nil && m.Payload[0] != 'a' {
			m, err = subs[2].ReceiveMessage(ctx)
		}
		heard <- err
	}()
	for i := 0; ; i++ {
		if err := pub.Publish(ctx, "news", fmt.Sprint("after", i)).Err(); err != nil {
			t.Fatal(err)
		}
		select {
		case err := <-heard:
			if err != nil {
				t.Fatal(err)
			}
			return
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// A shard subscriber is told when its slot drains away: it gets an
// sunsubscribe push, as Redis 7.0 sends, and, subscribed again at the
// slot's new owner, receives what is SPUBLISHed there.
func TestShardSubscribersToldWhenSlotDrains(t *testing.T) {
	c := startCluster(t, Options{DataNodes: 3})
	ctx := ctxFor(t, 120*time.Second)
	const ch = "{shard}news"
	old := ownerOf(c, ch)
	ps := direct(t, old).SSubscribe(ctx, ch)
	t.Cleanup(func() { ps.Close() })
	if _, err := ps.Receive(ctx); err != nil {
		t.Fatal(err)
	}
	if err := c.Drain(old, false); err != nil {
		t.Fatal(err)
	}
	msg, err := ps.Receive(ctx)
	if err != nil {
		t.Fatalf("no push after the drain: %v", err)
	}
	sub, ok := msg.(*redis.Subscription)
	if !ok || sub.Kind != "sunsubscribe" || sub.Channel != ch || sub.Count != 0 {
		t.Fatalf("push after the drain = %#v, want sunsubscribe %s 0", msg, ch)
	}
	if err := c.WaitMigrated(ctx); err != nil {
		t.Fatal(err)
	}
	owner := ownerOf(c, ch)
	if owner == old {
		t.Fatal("the drained node still owns the slot")
	}
	ps2 := direct(t, owner).SSubscribe(ctx, ch)
	t.Cleanup(func() { ps2.Close() })
	if _, err := ps2.Receive(ctx); err != nil {
		t.Fatal(err)
	}
	if n, err := direct(t, owner).SPublish(ctx, ch, "hello").Result(); err != nil || n != 1 {
		t.Fatalf("SPUBLISH at the new owner = %d, %v", n, err)
	}
	if m, err := ps2.ReceiveMessage(ctx); err != nil || m.Payload != "hello" {
		t.Fatalf("message at the new owner = %v, %v", m, err)
	}
}
