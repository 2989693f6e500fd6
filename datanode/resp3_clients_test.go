package datanode

import (
	"context"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/redis/rueidis"

	"github.com/chkv/chkv/helper/testutil"
)

// TestGoRedisRESP3 drives a DataNode through go-redis speaking RESP3
// (Protocol: 3): maps, sets, doubles, nulls and Pub/Sub pushes decode as
// they do from Redis.
func TestGoRedisRESP3(t *testing.T) {
	s := startServer(t, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	rdb := redis.NewClient(&redis.Options{Addr: s.Addr().String(), Protocol: 3, MaxRetries: -1})
	t.Cleanup(func() { rdb.Close() })

	if err := rdb.HSet(ctx, "h", "a", "1", "b", "2").Err(); err != nil {
		t.Fatal(err)
	}
	if m, err := rdb.HGetAll(ctx, "h").Result(); err != nil || !reflect.DeepEqual(m, map[string]string{"a": "1", "b": "2"}) {
		t.Fatalf("HGETALL = %v, %v", m, err)
	}
	if err := rdb.SAdd(ctx, "s", "3", "1", "2").Err(); err != nil {
		t.Fatal(err)
	}
	if m, err := rdb.SMembers(ctx, "s").Result(); err != nil || !reflect.DeepEqual(m, []string{"1", "2", "3"}) {
		t.Fatalf("SMEMBERS = %v, %v", m, err)
	}
	if err := rdb.ZAdd(ctx, "z", redis.Z{Score: 1.5, Member: "a"}, redis.Z{Score: 2, Member: "b"}).Err(); err != nil {
		t.Fatal(err)
	}
	if f, err := rdb.ZScore(ctx, "z", "a").Result(); err != nil || f != 1.5 {
		t.Fatalf("ZSCORE = %v, %v", f, err)
	}
	if f, err := rdb.ZIncrBy(ctx, "z", 1, "a").Result(); err != nil || f != 2.5 {
		t.Fatalf("ZINCRBY = %v, %v", f, err)
	}
	want := []redis.Z{{Score: 2, Member: "b"}, {Score: 2.5, Member: "a"}}
	if zs, err := rdb.ZRangeWithScores(ctx, "z", 0, -1).Result(); err != nil || !reflect.DeepEqual(zs, want) {
		t.Fatalf("ZRANGE WITHSCORES = %v, %v", zs, err)
	}
	if _, err := rdb.Get(ctx, "nokey").Result(); err != redis.Nil {
		t.Fatalf("GET of a missing key: %v, want redis.Nil", err)
	}
	if cfg, err := rdb.ConfigGet(ctx, "maxmemory").Result(); err != nil || cfg["maxmemory"] != "0" {
		t.Fatalf("CONFIG GET = %v, %v", cfg, err)
	}

	sub := rdb.Subscribe(ctx, "news")
	defer sub.Close()
	if m, err := sub.Receive(ctx); err != nil || m.(*redis.Subscription).Count != 1 {
		t.Fatalf("SUBSCRIBE confirmation %v, %v", m, err)
	}
	if n, err := rdb.Publish(ctx, "news", "hello").Result(); err != nil || n != 1 {
		t.Fatalf("PUBLISH = %d, %v", n, err)
	}
	if m, err := sub.ReceiveMessage(ctx); err != nil || m.Channel != "news" || m.Payload != "hello" {
		t.Fatalf("message %v, %v", m, err)
	}
}

// TestRueidis connects github.com/redis/rueidis, a RESP3-only client, to a
// standalone DataNode: it handshakes with HELLO 3, runs commands, and
// receives Pub/Sub messages. Client-side caching is off: CLIENT TRACKING is
// not served yet.
func TestRueidis(t *testing.T) {
	s := startServer(t, nil)
	client, err := rueidis.NewClient(rueidis.ClientOption{
		InitAddress:       []string{s.Addr().String()},
		DisableCache:      true,
		ForceSingleClient: true,
		ConnWriteTimeout:  5 * time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()

	if err := client.Do(ctx, client.B().Set().Key("k").Value("v").Build()).Error(); err != nil {
		t.Fatal(err)
	}
	if v, err := client.Do(ctx, client.B().Get().Key("k").Build()).ToString(); err != nil || v != "v" {
		t.Fatalf("GET = %q, %v", v, err)
	}
	if err := client.Do(ctx, client.B().Get().Key("nokey").Build()).Error(); !rueidis.IsRedisNil(err) {
		t.Fatalf("GET of a missing key: %v, want nil", err)
	}
	if err := client.Do(ctx, client.B().Hset().Key("h").FieldValue().FieldValue("a", "1").FieldValue("b", "2").Build()).Error(); err != nil {
		t.Fatal(err)
	}
	m, err := client.Do(ctx, client.B().Hgetall().Key("h").Build()).AsStrMap()
	if err != nil || !reflect.DeepEqual(m, map[string]string{"a": "1", "b": "2"}) {
		t.Fatalf("HGETALL = %v, %v", m, err)
	}
	if f, err := client.Do(ctx, client.B().Zincrby().Key("z").Increment(1.5).Member("a").Build()).AsFloat64(); err != nil || f != 1.5 {
		t.Fatalf("ZINCRBY = %v, %v", f, err)
	}

	// SUBSCRIBE: Receive blocks until the context ends; the test owns the
	// goroutine and waits for it.
	subCtx, stopSub := context.WithCancel(ctx)
	var (
		mu  sync.Mutex
		got []string
		wg  sync.WaitGroup
	)
	wg.Add(1)
	go func() {
		defer wg.Done()
		client.Receive(subCtx, client.B().Subscribe().Channel("news").Build(), func(msg rueidis.PubSubMessage) {
			mu.Lock()
			got = append(got, msg.Channel+":"+msg.Message)
			mu.Unlock()
		})
	}()
	testutil.Eventually(t, 10*time.Second, "a message published to news to arrive", func() bool {
		if err := client.Do(ctx, client.B().Publish().Channel("news").Message("hello").Build()).Error(); err != nil {
			t.Fatal(err)
		}
		mu.Lock()
		defer mu.Unlock()
		return len(got) > 0
	})
	stopSub()
	wg.Wait()
	if got[0] != "news:hello" {
		t.Fatalf("message %q, want news:hello", got[0])
	}
}
