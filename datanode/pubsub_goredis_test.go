package datanode

import (
	"context"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/chkv/chkv/helper/testutil"
)

// TestGoRedisPubSub drives Pub/Sub through go-redis as applications do:
// Subscribe, PSubscribe and SSubscribe, Publish and SPublish, the PUBSUB
// introspection commands, the client's health-check PING in the subscribed
// state, and its Channel delivery.
func TestGoRedisPubSub(t *testing.T) {
	for _, model := range testIOModels() {
		t.Run(model, func(t *testing.T) {
			s := startServer(t, func(cfg *Config) { cfg.IOModel = model })
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			rdb := redis.NewClient(&redis.Options{Addr: s.Addr().String(), MaxRetries: -1})
			t.Cleanup(func() { rdb.Close() })

			sub := rdb.Subscribe(ctx, "news", "sport")
			defer sub.Close()
			if _, err := sub.Receive(ctx); err != nil { // the first confirmation
				t.Fatal(err)
			}
			if _, err := sub.Receive(ctx); err != nil {
				t.Fatal(err)
			}
			if err := sub.PSubscribe(ctx, "wea*"); err != nil {
				t.Fatal(err)
			}
			if m, err := sub.Receive(ctx); err != nil || m.(*redis.Subscription).Count != 3 {
				t.Fatalf("PSubscribe confirmation %v, %v", m, err)
			}
			if err := sub.Ping(ctx, "hi"); err != nil {
				t.Fatal(err)
			}
			if m, err := sub.Receive(ctx); err != nil || m.(*redis.Pong).Payload != "hi" {
				t.Fatalf("Ping in the subscribed state: %v, %v", m, err)
			}

			for _, pub := range []struct {
				channel string
				want    int64
			}{{"news", 1}, {"weather", 1}, {"nothing", 0}, {"sport", 1}} {
				if n, err := rdb.Publish(ctx, pub.channel, "msg-"+pub.channel).Result(); err != nil || n != pub.want {
					t.Fatalf("Publish %s = %d, %v; want %d", pub.channel, n, err, pub.want)
				}
			}
			want := []redis.Message{
				{Channel: "news", Payload: "msg-news"},
				{Channel: "weather", Pattern: "wea*", Payload: "msg-weather"},
				{Channel: "sport", Payload: "msg-sport"},
			}
			for _, w := range want {
				m, err := sub.ReceiveMessage(ctx)
				if err != nil {
					t.Fatal(err)
				}
				if m.Channel != w.Channel || m.Pattern != w.Pattern || m.Payload != w.Payload {
					t.Fatalf("received %+v, want %+v", *m, w)
				}
			}

			chans, err := rdb.PubSubChannels(ctx, "*").Result()
			slices.Sort(chans)
			if err != nil || !slices.Equal(chans, []string{"news", "sport"}) {
				t.Fatalf("PubSubChannels = %v, %v", chans, err)
			}
			numSub, err := rdb.PubSubNumSub(ctx, "news", "none").Result()
			if err != nil || numSub["news"] != 1 || numSub["none"] != 0 {
				t.Fatalf("PubSubNumSub = %v, %v", numSub, err)
			}
			if n, err := rdb.PubSubNumPat(ctx).Result(); err != nil || n != 1 {
				t.Fatalf("PubSubNumPat = %d, %v", n, err)
			}

			// Shard channels, delivered through the Channel API.
			ssub := rdb.SSubscribe(ctx, "orders")
			defer ssub.Close()
			if _, err := ssub.Receive(ctx); err != nil {
				t.Fatal(err)
			}
			ch := ssub.Channel()
			for i := range 100 {
				if n, err := rdb.SPublish(ctx, "orders", i).Result(); err != nil || n != 1 {
					t.Fatalf("SPublish = %d, %v", n, err)
				}
			}
			for i := range 100 {
				select {
				case m := <-ch:
					if m.Channel != "orders" || m.Payload != strconv.Itoa(i) {
						t.Fatalf("message %d: %+v", i, *m)
					}
				case <-ctx.Done():
					t.Fatal("shard messages did not arrive")
				}
			}
			shardChans, err := rdb.PubSubShardChannels(ctx, "ord*").Result()
			if err != nil || !slices.Equal(shardChans, []string{"orders"}) {
				t.Fatalf("PubSubShardChannels = %v, %v", shardChans, err)
			}
			shardNum, err := rdb.PubSubShardNumSub(ctx, "orders").Result()
			if err != nil || shardNum["orders"] != 1 {
				t.Fatalf("PubSubShardNumSub = %v, %v", shardNum, err)
			}

			// Unsubscribing everything, then closing, leaves nothing behind.
			if err := sub.Unsubscribe(ctx); err != nil {
				t.Fatal(err)
			}
			if err := sub.PUnsubscribe(ctx); err != nil {
				t.Fatal(err)
			}
			sub.Close()
			ssub.Close()
			testutil.Eventually(t, 10*time.Second, "every subscription to go", func() bool {
				numSub, _ := rdb.PubSubNumSub(ctx, "news", "sport").Result()
				pats, _ := rdb.PubSubNumPat(ctx).Result()
				shard, _ := rdb.PubSubShardNumSub(ctx, "orders").Result()
				return numSub["news"]+numSub["sport"]+pats+shard["orders"] == 0
			})
		})
	}
}
