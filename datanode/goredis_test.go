package datanode

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// TestGoRedisConformance drives the string and key commands through
// go-redis, the way applications use CHKV, and checks the decoded results.
func TestGoRedisConformance(t *testing.T) {
	s := startServer(t, nil)
	ctx := context.Background()
	rdb := redis.NewClient(&redis.Options{Addr: s.Addr().String(), MaxRetries: -1})
	t.Cleanup(func() { rdb.Close() })

	check := func(what string, err error, got, want any) {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		if got != want {
			t.Fatalf("%s = %v, want %v", what, got, want)
		}
	}
	isNil := func(what string, err error) {
		t.Helper()
		if !errors.Is(err, redis.Nil) {
			t.Fatalf("%s: err %v, want redis.Nil", what, err)
		}
	}
	ttlWithin := func(key string, lo, hi time.Duration) {
		t.Helper()
		d, err := rdb.PTTL(ctx, key).Result()
		if err != nil || d < lo || d > hi {
			t.Fatalf("PTTL %s = %v (%v), want in [%v, %v]", key, d, err, lo, hi)
		}
	}

	// SET and its options
	v, err := rdb.Set(ctx, "k", "v", 10*time.Second).Result()
	check("Set with TTL", err, v, "OK")
	ttlWithin("k", 9*time.Second, 10*time.Second)
	v, err = rdb.Set(ctx, "k", "v", 1500*time.Millisecond).Result()
	check("Set with ms TTL", err, v, "OK")
	ttlWithin("k", time.Second, 1500*time.Millisecond)
	v, err = rdb.SetArgs(ctx, "k", "v2", redis.SetArgs{KeepTTL: true}).Result()
	check("SetArgs KeepTTL", err, v, "OK")
	ttlWithin("k", time.Second, 1500*time.Millisecond)
	v, err = rdb.SetArgs(ctx, "k", "v3", redis.SetArgs{Get: true}).Result()
	check("SetArgs Get", err, v, "v2")
	if d, _ := rdb.TTL(ctx, "k").Result(); d != -1 {
		t.Fatalf("TTL after SET without KEEPTTL = %v, want -1", d)
	}
	_, err = rdb.SetArgs(ctx, "k", "v4", redis.SetArgs{Mode: "NX"}).Result()
	isNil("SetArgs NX on an existing key", err)
	v, err = rdb.SetArgs(ctx, "k", "v4", redis.SetArgs{Mode: "XX", Get: true}).Result()
	check("SetArgs XX Get", err, v, "v3")
	_, err = rdb.SetArgs(ctx, "nokey", "v", redis.SetArgs{Mode: "XX"}).Result()
	isNil("SetArgs XX on a missing key", err)
	at := time.Now().Add(time.Hour).Truncate(time.Second)
	v, err = rdb.SetArgs(ctx, "at", "v", redis.SetArgs{ExpireAt: at}).Result()
	check("SetArgs ExpireAt", err, v, "OK")
	et, err := rdb.ExpireTime(ctx, "at").Result()
	check("ExpireTime", err, et, time.Duration(at.Unix())*time.Second)
	ok, err := rdb.SetNX(ctx, "nx", "1", 0).Result()
	check("SetNX", err, ok, true)
	ok, err = rdb.SetNX(ctx, "nx", "2", time.Minute).Result()
	check("SetNX again", err, ok, false)
	ok, err = rdb.SetXX(ctx, "nx", "3", time.Minute).Result()
	check("SetXX", err, ok, true)
	v, err = rdb.SetEx(ctx, "ex", "v", time.Minute).Result()
	check("SetEx", err, v, "OK")
	ttlWithin("ex", 59*time.Second, time.Minute)

	// GET and friends
	v, err = rdb.Get(ctx, "k").Result()
	check("Get", err, v, "v4")
	_, err = rdb.Get(ctx, "nokey").Result()
	isNil("Get missing", err)
	v, err = rdb.GetSet(ctx, "k", "v5").Result()
	check("GetSet", err, v, "v4")
	v, err = rdb.GetEx(ctx, "k", 30*time.Second).Result()
	check("GetEx", err, v, "v5")
	ttlWithin("k", 29*time.Second, 30*time.Second)
	v, err = rdb.GetEx(ctx, "k", 0).Result()
	check("GetEx persist", err, v, "v5")
	if d, _ := rdb.TTL(ctx, "k").Result(); d != -1 {
		t.Fatalf("TTL after GETEX PERSIST = %v, want -1", d)
	}
	v, err = rdb.GetDel(ctx, "k").Result()
	check("GetDel", err, v, "v5")
	n, err := rdb.Exists(ctx, "k").Result()
	check("Exists after GetDel", err, n, int64(0))

	// multi-key
	v, err = rdb.MSet(ctx, map[string]any{"a": "1", "b": 2, "{t}c": 3.5}).Result()
	check("MSet", err, v, "OK")
	vals, err := rdb.MGet(ctx, "a", "b", "{t}c", "nokey").Result()
	if err != nil || !slices.Equal(vals, []any{"1", "2", "3.5", nil}) {
		t.Fatalf("MGet = %v, %v", vals, err)
	}
	ok, err = rdb.MSetNX(ctx, "a", "x", "new", "y").Result()
	check("MSetNX with an existing key", err, ok, false)
	ok, err = rdb.MSetNX(ctx, "new", "y", "new2", "z").Result()
	check("MSetNX", err, ok, true)

	// counters
	n, err = rdb.Incr(ctx, "cnt").Result()
	check("Incr", err, n, int64(1))
	n, err = rdb.IncrBy(ctx, "cnt", 41).Result()
	check("IncrBy", err, n, int64(42))
	n, err = rdb.DecrBy(ctx, "cnt", 50).Result()
	check("DecrBy", err, n, int64(-8))
	n, err = rdb.Decr(ctx, "cnt").Result()
	check("Decr", err, n, int64(-9))
	rdb.Set(ctx, "f", "10.50", 0)
	f, err := rdb.IncrByFloat(ctx, "f", 0.1).Result()
	check("IncrByFloat", err, f, 10.6)
	f, err = rdb.IncrByFloat(ctx, "f", -5).Result()
	check("IncrByFloat negative", err, f, 5.6)
	_, err = rdb.Incr(ctx, "f").Result()
	if err == nil || err.Error() != "ERR value is not an integer or out of range" {
		t.Fatalf("Incr on a float: %v", err)
	}

	// string ranges
	n, err = rdb.Append(ctx, "s", "Hello").Result()
	check("Append", err, n, int64(5))
	n, err = rdb.Append(ctx, "s", " World").Result()
	check("Append again", err, n, int64(11))
	v, err = rdb.GetRange(ctx, "s", -5, -1).Result()
	check("GetRange", err, v, "World")
	n, err = rdb.SetRange(ctx, "s", 6, "Redis").Result()
	check("SetRange", err, n, int64(11))
	n, err = rdb.StrLen(ctx, "s").Result()
	check("StrLen", err, n, int64(11))

	// expiry
	ok, err = rdb.Expire(ctx, "s", time.Minute).Result()
	check("Expire", err, ok, true)
	ok, err = rdb.ExpireNX(ctx, "s", time.Hour).Result()
	check("ExpireNX with a TTL", err, ok, false)
	ok, err = rdb.ExpireGT(ctx, "s", time.Hour).Result()
	check("ExpireGT", err, ok, true)
	ok, err = rdb.ExpireLT(ctx, "s", 2*time.Hour).Result()
	check("ExpireLT larger", err, ok, false)
	ok, err = rdb.ExpireXX(ctx, "s", 30*time.Minute).Result()
	check("ExpireXX", err, ok, true)
	ttlWithin("s", 29*time.Minute, 30*time.Minute)
	ok, err = rdb.PExpire(ctx, "s", 90*time.Second).Result()
	check("PExpire", err, ok, true)
	ttlWithin("s", 89*time.Second, 90*time.Second)
	ok, err = rdb.ExpireAt(ctx, "s", at).Result()
	check("ExpireAt", err, ok, true)
	pet, err := rdb.PExpireTime(ctx, "s").Result()
	check("PExpireTime", err, pet, time.Duration(at.UnixMilli())*time.Millisecond)
	ok, err = rdb.PExpireAt(ctx, "s", at.Add(time.Second)).Result()
	check("PExpireAt", err, ok, true)
	ok, err = rdb.Persist(ctx, "s").Result()
	check("Persist", err, ok, true)
	d, err := rdb.TTL(ctx, "s").Result()
	check("TTL without expiry", err, d, time.Duration(-1))
	d, err = rdb.TTL(ctx, "nokey").Result()
	check("TTL missing", err, d, time.Duration(-2))
	ok, err = rdb.Expire(ctx, "nokey", time.Minute).Result()
	check("Expire missing", err, ok, false)

	// generic
	v, err = rdb.Type(ctx, "s").Result()
	check("Type", err, v, "string")
	v, err = rdb.Type(ctx, "nokey").Result()
	check("Type missing", err, v, "none")
	v, err = rdb.Rename(ctx, "s", "s2").Result()
	check("Rename", err, v, "OK")
	_, err = rdb.Rename(ctx, "s", "s3").Result()
	if err == nil || err.Error() != "ERR no such key" {
		t.Fatalf("Rename missing: %v", err)
	}
	ok, err = rdb.RenameNX(ctx, "s2", "a").Result()
	check("RenameNX onto an existing key", err, ok, false)
	n, err = rdb.Touch(ctx, "a", "b", "nokey").Result()
	check("Touch", err, n, int64(2))
	n, err = rdb.Exists(ctx, "a", "b", "a", "nokey").Result()
	check("Exists", err, n, int64(3))
	n, err = rdb.Del(ctx, "a", "b", "nokey").Result()
	check("Del", err, n, int64(2))
	n, err = rdb.Unlink(ctx, "{t}c").Result()
	check("Unlink", err, n, int64(1))
	keys, err := rdb.Keys(ctx, "new*").Result()
	slices.Sort(keys)
	if err != nil || !slices.Equal(keys, []string{"new", "new2"}) {
		t.Fatalf("Keys new* = %v, %v", keys, err)
	}
	rk, err := rdb.RandomKey(ctx).Result()
	if err != nil || rk == "" {
		t.Fatalf("RandomKey = %q, %v", rk, err)
	}

	// SCAN over a 5000-key dataset, through the iterator
	if err := rdb.FlushAll(ctx).Err(); err != nil {
		t.Fatalf("FlushAll: %v", err)
	}
	const n5k = 5000
	pipe := rdb.Pipeline()
	for i := range n5k {
		pipe.Set(ctx, "scan:"+strconv.Itoa(i), i, 0)
	}
	if _, err := pipe.Exec(ctx); err != nil {
		t.Fatalf("pipelined SET: %v", err)
	}
	seen := make(map[string]bool)
	it := rdb.Scan(ctx, 0, "", 100).Iterator()
	for it.Next(ctx) {
		seen[it.Val()] = true
	}
	if err := it.Err(); err != nil {
		t.Fatalf("Scan iterator: %v", err)
	}
	if len(seen) != n5k {
		t.Fatalf("Scan iterator returned %d distinct keys, want %d", len(seen), n5k)
	}
	matched := 0
	it = rdb.ScanType(ctx, 0, "scan:1??", 50, "string").Iterator()
	for it.Next(ctx) {
		matched++
	}
	if err := it.Err(); err != nil || matched != 100 {
		t.Fatalf("ScanType MATCH scan:1?? returned %d keys (%v), want 100", matched, err)
	}
}
