package datanode

import (
	"testing"

	"github.com/chkv/chkv/common/slot"
)

// When a slot leaves the node, each subscriber of its shard channels gets
// an sunsubscribe push with its remaining shard count, as Redis 7.0's
// removeChannelsInSlot sends; channels of other slots stay, and a client
// whose last subscription went leaves the Pub/Sub state.
func TestUnsubscribeShardsOfLostSlot(t *testing.T) {
	s := startServer(t, nil)
	a, b := s.dial(t), s.dial(t)
	a.send("SSUBSCRIBE", "{x}1", "{x}2", "y")
	for _, want := range []string{`["ssubscribe" "{x}1" (integer) 1]`, `["ssubscribe" "{x}2" (integer) 2]`, `["ssubscribe" "y" (integer) 3]`} {
		if got := a.reply(); got != want {
			t.Fatalf("got %s, want %s", got, want)
		}
	}
	if got := b.do("SSUBSCRIBE", "{x}1"); got != `["ssubscribe" "{x}1" (integer) 1]` {
		t.Fatal(got)
	}
	lost := slot.OfString("x")
	s.unsubscribeShards(func(sl int) bool { return sl == lost })
	for _, want := range []string{`["sunsubscribe" "{x}1" (integer) 2]`, `["sunsubscribe" "{x}2" (integer) 1]`} {
		if got := a.reply(); got != want {
			t.Fatalf("push %s, want %s", got, want)
		}
	}
	if got := b.reply(); got != `["sunsubscribe" "{x}1" (integer) 0]` {
		t.Fatal(got)
	}
	if got := b.do("PING"); got != "PONG" {
		t.Fatalf("PING after the last shard channel went: %s, want PONG outside Pub/Sub", got)
	}
	if got := b.do("PUBSUB", "SHARDCHANNELS"); got != `["y"]` {
		t.Fatalf("PUBSUB SHARDCHANNELS = %s, want only the kept channel", got)
	}
	if got := a.do("PING"); got != `["pong" ""]` {
		t.Fatalf("PING of a client still subscribed: %s", got)
	}
}
