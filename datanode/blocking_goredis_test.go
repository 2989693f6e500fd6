package datanode

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// TestGoRedisBlocking drives the blocking commands through go-redis: each
// blocks, another client pushes once the server counts it blocked, and the
// decoded result is checked; a timeout decodes as redis.Nil.
func TestGoRedisBlocking(t *testing.T) {
	s := startServer(t, nil)
	ctx := context.Background()
	rdb := redis.NewClient(&redis.Options{Addr: s.Addr().String(), MaxRetries: -1})
	t.Cleanup(func() { rdb.Close() })
	// pushLater runs push once a client is blocked.
	pushLater := func(push func() error) {
		go func() {
			for s.blocking.blocked.Load() == 0 {
				time.Sleep(time.Millisecond)
			}
			if err := push(); err != nil {
				t.Errorf("push: %v", err)
			}
		}()
	}
	pushLater(func() error { return rdb.RPush(ctx, "l", "a").Err() })
	if got, err := rdb.BLPop(ctx, 5*time.Second, "other", "l").Result(); err != nil || !slices.Equal(got, []string{"l", "a"}) {
		t.Fatalf("BLPop = %q, %v", got, err)
	}
	pushLater(func() error { return rdb.RPush(ctx, "l", "x", "y").Err() })
	if got, err := rdb.BRPop(ctx, 0, "l").Result(); err != nil || !slices.Equal(got, []string{"l", "y"}) {
		t.Fatalf("BRPop = %q, %v", got, err)
	}
	pushLater(func() error { return rdb.RPush(ctx, "src", "m").Err() })
	if got, err := rdb.BLMove(ctx, "src", "dst", "LEFT", "RIGHT", 5*time.Second).Result(); err != nil || got != "m" {
		t.Fatalf("BLMove = %q, %v", got, err)
	}
	pushLater(func() error {
		return rdb.ZAdd(ctx, "z", redis.Z{Score: 2, Member: "two"}, redis.Z{Score: 1, Member: "one"}).Err()
	})
	if got, err := rdb.BZPopMin(ctx, 5*time.Second, "z").Result(); err != nil || got.Key != "z" || got.Member != "one" || got.Score != 1 {
		t.Fatalf("BZPopMin = %+v, %v", got, err)
	}
	if _, err := rdb.BLPop(ctx, time.Second, "nosuch").Result(); !errors.Is(err, redis.Nil) {
		t.Fatalf("BLPop timeout err = %v", err)
	}
	if _, err := rdb.BZPopMax(ctx, time.Second, "nosuch").Result(); !errors.Is(err, redis.Nil) {
		t.Fatalf("BZPopMax timeout err = %v", err)
	}
	if got, err := rdb.LRange(ctx, "dst", 0, -1).Result(); err != nil || !slices.Equal(got, []string{"m"}) {
		t.Fatalf("LRange dst = %q, %v", got, err)
	}
}
