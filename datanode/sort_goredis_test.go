package datanode

import (
	"context"
	"slices"
	"testing"

	"github.com/redis/go-redis/v9"
)

// TestGoRedisSort drives SORT, SORT_RO, SORT ... STORE, MEMORY USAGE and
// OBJECT ENCODING through go-redis and checks the decoded results.
func TestGoRedisSort(t *testing.T) {
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
	must("RPush", rdb.RPush(ctx, "ids", 3, 1, 2).Err())
	must("MSet", rdb.MSet(ctx, "w_1", 30, "w_2", 10, "w_3", 20, "name_1", "one", "name_2", "two").Err())
	must("HSet", rdb.HSet(ctx, "user_3", "name", "three").Err())
	got, err := rdb.Sort(ctx, "ids", &redis.Sort{}).Result()
	must("Sort", err)
	if !slices.Equal(got, []string{"1", "2", "3"}) {
		t.Errorf("Sort = %q", got)
	}
	got, err = rdb.SortRO(ctx, "ids", &redis.Sort{By: "w_*", Order: "DESC", Get: []string{"#", "name_*"}}).Result()
	must("SortRO", err)
	if !slices.Equal(got, []string{"1", "one", "3", "", "2", "two"}) {
		t.Errorf("SortRO BY w_* DESC GET # GET name_* = %q", got)
	}
	got, err = rdb.Sort(ctx, "ids", &redis.Sort{By: "nosort", Offset: 1, Count: 2, Get: []string{"user_*->name"}}).Result()
	must("Sort BY nosort LIMIT", err)
	if !slices.Equal(got, []string{"", ""}) {
		t.Errorf("Sort BY nosort LIMIT 1 2 GET user_*->name = %q", got)
	}
	n, err := rdb.SortStore(ctx, "ids", "sorted", &redis.Sort{By: "w_*", Alpha: true}).Result()
	must("SortStore", err)
	if n != 3 {
		t.Errorf("SortStore = %d", n)
	}
	stored, err := rdb.LRange(ctx, "sorted", 0, -1).Result()
	must("LRange", err)
	if !slices.Equal(stored, []string{"2", "3", "1"}) {
		t.Errorf("stored %q", stored)
	}
	usage, err := rdb.MemoryUsage(ctx, "sorted").Result()
	must("MemoryUsage", err)
	if usage <= 0 {
		t.Errorf("MemoryUsage = %d", usage)
	}
	if err := rdb.MemoryUsage(ctx, "nokey").Err(); err != redis.Nil {
		t.Errorf("MemoryUsage of a missing key: %v, want redis.Nil", err)
	}
	must("Append", rdb.Append(ctx, "name_1", "!").Err())
	if enc, err := rdb.ObjectEncoding(ctx, "name_1").Result(); err != nil || enc != "raw" {
		t.Errorf("ObjectEncoding after APPEND = %q, %v", enc, err)
	}
}
