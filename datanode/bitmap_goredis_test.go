package datanode

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// TestGoRedisBitmaps drives SETBIT, GETBIT, BITCOUNT, BITPOS, BITOP,
// BITFIELD, LCS and COPY through go-redis and checks the decoded results.
func TestGoRedisBitmaps(t *testing.T) {
	s := startServer(t, nil)
	ctx := context.Background()
	rdb := redis.NewClient(&redis.Options{Addr: s.Addr().String(), MaxRetries: -1})
	t.Cleanup(func() { rdb.Close() })
	check := func(what string, got, want any, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		if got != want {
			t.Fatalf("%s = %v, want %v", what, got, want)
		}
	}
	n, err := rdb.SetBit(ctx, "bm", 7, 1).Result()
	check("SetBit", n, int64(0), err)
	n, err = rdb.SetBit(ctx, "bm", 7, 0).Result()
	check("SetBit again", n, int64(1), err)
	n, err = rdb.SetBit(ctx, "bm", 20, 1).Result()
	check("SetBit 20", n, int64(0), err)
	n, err = rdb.GetBit(ctx, "bm", 20).Result()
	check("GetBit", n, int64(1), err)
	n, err = rdb.BitCount(ctx, "bm", nil).Result()
	check("BitCount", n, int64(1), err)
	n, err = rdb.BitCount(ctx, "bm", &redis.BitCount{Start: 0, End: 19, Unit: redis.BitCountIndexBit}).Result()
	check("BitCount BIT", n, int64(0), err)
	n, err = rdb.BitPos(ctx, "bm", 1).Result()
	check("BitPos", n, int64(20), err)
	n, err = rdb.BitOpNot(ctx, "inv", "bm").Result()
	check("BitOpNot", n, int64(3), err)
	n, err = rdb.BitCount(ctx, "inv", nil).Result()
	check("BitCount inv", n, int64(23), err)

	vals, err := rdb.BitField(ctx, "bf", "SET", "u8", 0, 200, "INCRBY", "u8", 0, 100, "GET", "i8", 0).Result()
	if err != nil || !slices.Equal(vals, []int64{0, 44, 44}) {
		t.Fatalf("BitField = %v, %v", vals, err)
	}
	vals, err = rdb.BitField(ctx, "bf", "OVERFLOW", "SAT", "INCRBY", "u8", 0, 1000).Result()
	if err != nil || !slices.Equal(vals, []int64{255}) {
		t.Fatalf("BitField SAT = %v, %v", vals, err)
	}
	vals, err = rdb.BitFieldRO(ctx, "bf", "u8", 0).Result()
	if err != nil || !slices.Equal(vals, []int64{255}) {
		t.Fatalf("BitFieldRO = %v, %v", vals, err)
	}

	check("Set k1", "OK", "OK", rdb.Set(ctx, "{l}1", "ohmytext", 0).Err())
	check("Set k2", "OK", "OK", rdb.Set(ctx, "{l}2", "mynewtext", 0).Err())
	lcs, err := rdb.LCS(ctx, &redis.LCSQuery{Key1: "{l}1", Key2: "{l}2"}).Result()
	if err != nil || lcs.MatchString != "mytext" {
		t.Fatalf("LCS = %+v, %v", lcs, err)
	}
	lcs, err = rdb.LCS(ctx, &redis.LCSQuery{Key1: "{l}1", Key2: "{l}2", Idx: true, WithMatchLen: true, MinMatchLen: 4}).Result()
	if err != nil || lcs.Len != 6 || len(lcs.Matches) != 1 || lcs.Matches[0].MatchLen != 4 || lcs.Matches[0].Key1.Start != 4 {
		t.Fatalf("LCS IDX = %+v, %v", lcs, err)
	}

	check("HSet", "OK", "OK", rdb.HSet(ctx, "h", "a", "1").Err())
	check("Expire", "OK", "OK", rdb.Expire(ctx, "h", time.Hour).Err())
	n, err = rdb.Copy(ctx, "h", "h2", 0, false).Result()
	check("Copy", n, int64(1), err)
	n, err = rdb.Copy(ctx, "h", "h2", 0, false).Result()
	check("Copy existing", n, int64(0), err)
	n, err = rdb.Copy(ctx, "bm", "h2", 0, true).Result()
	check("Copy replace", n, int64(1), err)
	typ, err := rdb.Type(ctx, "h2").Result()
	check("Type", typ, "string", err)
	if _, err := rdb.Copy(ctx, "h", "h3", 1, false).Result(); err == nil || err.Error() != "ERR DB index is out of range" {
		t.Fatalf("Copy DB 1: %v", err)
	}
	n, err = rdb.Copy(ctx, "h", "h4", 0, false).Result()
	check("Copy h4", n, int64(1), err)
	ttl, err := rdb.TTL(ctx, "h4").Result()
	check("TTL of a copy", ttl > 0, true, err)
}
