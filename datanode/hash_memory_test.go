package datanode

import (
	"context"
	"fmt"
	"testing"

	"github.com/redis/go-redis/v9"
)

// TestHashMemoryAccounting checks that hashes count toward used memory,
// that emptying them gives the memory back, and that maxmemory evicts
// hashes or refuses hash writes as the policy says.
func TestHashMemoryAccounting(t *testing.T) {
	s := startServer(t, nil)
	c := s.dial(t)
	base := s.store.UsedBytes()
	const keys, fields = 5000, 10
	for i := range keys {
		args := []string{"HSET", fmt.Sprintf("user:%d", i)}
		for f := range fields {
			args = append(args, fmt.Sprintf("field%d", f), fmt.Sprintf("value%d", i))
		}
		c.do(args...)
	}
	grown := s.store.UsedBytes() - base
	// Each hash holds 10 fields of about 16 bytes: at least 160 bytes,
	// and the store's per-key overhead stays small.
	if per := grown / keys; per < 160 || per > 400 {
		t.Fatalf("%d bytes per 10-field hash", per)
	}
	for i := range keys {
		args := []string{"HDEL", fmt.Sprintf("user:%d", i)}
		for f := range fields {
			args = append(args, fmt.Sprintf("field%d", f))
		}
		if got := c.do(args...); got != "(integer) 10" {
			t.Fatalf("HDEL = %s", got)
		}
	}
	if n := s.store.Len(); n != 0 {
		t.Fatalf("%d keys left after emptying every hash", n)
	}
	if used := s.store.UsedBytes(); used > base+64<<10 {
		t.Fatalf("used %d bytes after emptying every hash, %d before", used, base)
	}

	// noeviction: a hash write over the limit is refused, HDEL is not.
	c.do("HSET", "keep", "a", "1")
	limit := s.usedMemory() + 256<<10
	c.do("CONFIG", "SET", "maxmemory", fmt.Sprint(limit))
	var refused bool
	for i := 0; i < 100000 && !refused; i++ {
		got := c.do("HSET", fmt.Sprintf("h%d", i), "f", "0123456789012345678901234567890123456789")
		refused = got == "(error) "+errOOM
	}
	if !refused {
		t.Fatal("HSET over maxmemory was never refused")
	}
	if got := c.do("HDEL", "keep", "a"); got != "(integer) 1" {
		t.Fatalf("HDEL over maxmemory = %s", got)
	}

	// allkeys-lru: hash writes go on, evicting hashes.
	c.do("CONFIG", "SET", "maxmemory-policy", "allkeys-lru")
	for i := range 20000 {
		if got := c.do("HSET", fmt.Sprintf("e%d", i), "f", "0123456789012345678901234567890123456789"); got != "(integer) 1" {
			t.Fatalf("HSET under allkeys-lru = %s", got)
		}
	}
	if s.store.Stats().EvictedKeys == 0 {
		t.Fatal("no hash was evicted")
	}
	if used := s.usedMemory(); used > limit+64<<10 {
		t.Fatalf("used memory %d above maxmemory %d", used, limit)
	}
}

// TestGoRedisHashes drives the hash commands through go-redis.
func TestGoRedisHashes(t *testing.T) {
	s := startServer(t, nil)
	ctx := context.Background()
	rdb := redis.NewClient(&redis.Options{Addr: s.Addr().String(), MaxRetries: -1})
	t.Cleanup(func() { rdb.Close() })
	profile := map[string]any{"name": "Ada", "lang": "go", "visits": 1}
	if n, err := rdb.HSet(ctx, "user:1", profile).Result(); err != nil || n != 3 {
		t.Fatalf("HSet = %d, %v", n, err)
	}
	all, err := rdb.HGetAll(ctx, "user:1").Result()
	if err != nil || len(all) != 3 || all["name"] != "Ada" || all["visits"] != "1" {
		t.Fatalf("HGetAll = %v, %v", all, err)
	}
	if n, err := rdb.HIncrBy(ctx, "user:1", "visits", 41).Result(); err != nil || n != 42 {
		t.Fatalf("HIncrBy = %d, %v", n, err)
	}
	if f, err := rdb.HIncrByFloat(ctx, "user:1", "score", 2.5).Result(); err != nil || f != 2.5 {
		t.Fatalf("HIncrByFloat = %v, %v", f, err)
	}
	vals, err := rdb.HMGet(ctx, "user:1", "name", "nosuch").Result()
	if err != nil || len(vals) != 2 || vals[0] != "Ada" || vals[1] != nil {
		t.Fatalf("HMGet = %v, %v", vals, err)
	}
	if ok, err := rdb.HSetNX(ctx, "user:1", "name", "Bob").Result(); err != nil || ok {
		t.Fatalf("HSetNX = %v, %v", ok, err)
	}
	keys, cursor, err := rdb.HScan(ctx, "user:1", 0, "*", 10).Result()
	if err != nil || cursor != 0 || len(keys) != 8 {
		t.Fatalf("HScan = %v %d, %v", keys, cursor, err)
	}
	if fs, err := rdb.HRandField(ctx, "user:1", 2).Result(); err != nil || len(fs) != 2 {
		t.Fatalf("HRandField = %v, %v", fs, err)
	}
	if typ, err := rdb.Type(ctx, "user:1").Result(); err != nil || typ != "hash" {
		t.Fatalf("Type = %q, %v", typ, err)
	}
	if err := rdb.Get(ctx, "user:1").Err(); err == nil || err.Error() != errWrongType {
		t.Fatalf("Get on a hash: %v", err)
	}
	if n, err := rdb.HDel(ctx, "user:1", "name", "lang", "visits", "score").Result(); err != nil || n != 4 {
		t.Fatalf("HDel = %d, %v", n, err)
	}
	if n, err := rdb.Exists(ctx, "user:1").Result(); err != nil || n != 0 {
		t.Fatalf("Exists after emptying = %d, %v", n, err)
	}
}

// BenchmarkHashHandlers measures HSET and HGET of the middle field of hashes of 10, 1,000 and
// 100,000 fields without the network: a write costs time linear in the
// hash's size (see hashenc.go).
func BenchmarkHashHandlers(b *testing.B) {
	for _, n := range []int{10, 1000, 100000} {
		s := newIdleServer(b)
		c := &client{srv: s, out: make([]byte, 0, 1<<16)}
		key := fmt.Sprintf("h%d", n)
		for i := 0; i < n; i += 1000 {
			args := []string{"HSET", key}
			for j := i; j < min(i+1000, n); j++ {
				args = append(args, fmt.Sprintf("element:%012d", j), "xxx")
			}
			s.execute(c, toArgs(args...))
		}
		for _, cmd := range [][]string{{"HSET", key, fmt.Sprintf("element:%012d", n/2), "yyy"}, {"HGET", key, fmt.Sprintf("element:%012d", n/2)}} {
			argv := toArgs(cmd...)
			b.Run(fmt.Sprintf("%s/fields=%d", cmd[0], n), func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					c.out = c.out[:0]
					s.execute(c, argv)
				}
			})
		}
	}
}
