package datanode

import (
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/redis/go-redis/v9"
)

// TestGoRedisLists drives the list commands through go-redis, the way
// applications use them, and checks the decoded results.
func TestGoRedisLists(t *testing.T) {
	s := startServer(t, nil)
	ctx := context.Background()
	rdb := redis.NewClient(&redis.Options{Addr: s.Addr().String(), MaxRetries: -1})
	t.Cleanup(func() { rdb.Close() })
	must := func(what string, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	n, err := rdb.RPush(ctx, "q", "a", "b", "c").Result()
	must("RPush", err)
	if n != 3 {
		t.Fatalf("RPush = %d", n)
	}
	must("LPush", rdb.LPush(ctx, "q", "z").Err())
	all, err := rdb.LRange(ctx, "q", 0, -1).Result()
	must("LRange", err)
	if !slices.Equal(all, []string{"z", "a", "b", "c"}) {
		t.Fatalf("LRange = %q", all)
	}
	popped, err := rdb.LPopCount(ctx, "q", 2).Result()
	must("LPopCount", err)
	if !slices.Equal(popped, []string{"z", "a"}) {
		t.Fatalf("LPopCount = %q", popped)
	}
	pos, err := rdb.LPos(ctx, "q", "c", redis.LPosArgs{}).Result()
	must("LPos", err)
	if pos != 1 {
		t.Fatalf("LPos = %d", pos)
	}
	moved, err := rdb.LMove(ctx, "q", "dst", "RIGHT", "LEFT").Result()
	must("LMove", err)
	if moved != "c" {
		t.Fatalf("LMove = %q", moved)
	}
	key, elems, err := rdb.LMPop(ctx, "left", 5, "nokey", "q").Result()
	must("LMPop", err)
	if key != "q" || !slices.Equal(elems, []string{"b"}) {
		t.Fatalf("LMPop = %q %q", key, elems)
	}
	if _, err := rdb.LPop(ctx, "q").Result(); !errors.Is(err, redis.Nil) {
		t.Fatalf("LPop of a missing list: %v, want redis.Nil", err)
	}
	if typ, _ := rdb.Type(ctx, "dst").Result(); typ != "list" {
		t.Fatalf("Type = %q", typ)
	}
	rdb.Set(ctx, "str", "v", 0)
	if err := rdb.LPush(ctx, "str", "x").Err(); err == nil || err.Error() != errWrongType {
		t.Fatalf("LPush on a string: %v", err)
	}
}
