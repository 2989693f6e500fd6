package datanode

import (
	"context"
	"slices"
	"testing"

	"github.com/redis/go-redis/v9"
)

// TestGoRedisSets drives the set commands through go-redis, the way
// applications use them, and checks the decoded results.
func TestGoRedisSets(t *testing.T) {
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
	sorted := func(ms []string) []string { slices.Sort(ms); return ms }

	n, err := rdb.SAdd(ctx, "s", "a", "b", "c", "a").Result()
	must("SAdd", err)
	if n != 3 {
		t.Fatalf("SAdd = %d", n)
	}
	ms, err := rdb.SMembers(ctx, "s").Result()
	must("SMembers", err)
	if got := sorted(ms); !slices.Equal(got, []string{"a", "b", "c"}) {
		t.Fatalf("SMembers = %v", got)
	}
	ok, err := rdb.SIsMember(ctx, "s", "b").Result()
	must("SIsMember", err)
	if !ok {
		t.Fatal("SIsMember b = false")
	}
	bs, err := rdb.SMIsMember(ctx, "s", "a", "x").Result()
	must("SMIsMember", err)
	if !slices.Equal(bs, []bool{true, false}) {
		t.Fatalf("SMIsMember = %v", bs)
	}
	if m, err := rdb.SMembersMap(ctx, "s").Result(); err != nil || len(m) != 3 {
		t.Fatalf("SMembersMap = %v, %v", m, err)
	}
	moved, err := rdb.SMove(ctx, "s", "t", "a").Result()
	must("SMove", err)
	if !moved {
		t.Fatal("SMove = false")
	}
	must("SAdd t", rdb.SAdd(ctx, "t", "b", "z").Err())
	inter, err := rdb.SInter(ctx, "s", "t").Result()
	must("SInter", err)
	if !slices.Equal(inter, []string{"b"}) {
		t.Fatalf("SInter = %v", inter)
	}
	card, err := rdb.SInterCard(ctx, 0, "s", "t").Result()
	must("SInterCard", err)
	if card != 1 {
		t.Fatalf("SInterCard = %d", card)
	}
	union, err := rdb.SUnion(ctx, "s", "t").Result()
	must("SUnion", err)
	if got := sorted(union); !slices.Equal(got, []string{"a", "b", "c", "z"}) {
		t.Fatalf("SUnion = %v", got)
	}
	if n, err := rdb.SDiffStore(ctx, "d", "t", "s").Result(); err != nil || n != 2 {
		t.Fatalf("SDiffStore = %d, %v", n, err)
	}
	if n, err := rdb.SCard(ctx, "d").Result(); err != nil || n != 2 {
		t.Fatalf("SCard = %d, %v", n, err)
	}
	popped, err := rdb.SPopN(ctx, "d", 5).Result()
	must("SPopN", err)
	if got := sorted(popped); !slices.Equal(got, []string{"a", "z"}) {
		t.Fatalf("SPopN = %v", got)
	}
	if _, err := rdb.SPop(ctx, "d").Result(); err != redis.Nil {
		t.Fatalf("SPop of a missing key: %v", err)
	}
	rnd, err := rdb.SRandMemberN(ctx, "t", -5).Result()
	must("SRandMemberN", err)
	if len(rnd) != 5 {
		t.Fatalf("SRandMemberN -5 = %v", rnd)
	}
	keys, cursor, err := rdb.SScan(ctx, "t", 0, "*", 10).Result()
	must("SScan", err)
	if cursor != 0 || len(keys) != 3 {
		t.Fatalf("SScan = %v, %d", keys, cursor)
	}
	if n, err := rdb.SRem(ctx, "t", "a", "b", "q").Result(); err != nil || n != 2 {
		t.Fatalf("SRem = %d, %v", n, err)
	}
	must("Set", rdb.Set(ctx, "str", "v", 0).Err())
	if err := rdb.SAdd(ctx, "str", "x").Err(); err == nil || err.Error() != errWrongType {
		t.Fatalf("SAdd on a string: %v", err)
	}
	if typ, err := rdb.Type(ctx, "t").Result(); err != nil || typ != "set" {
		t.Fatalf("Type = %q, %v", typ, err)
	}
}
