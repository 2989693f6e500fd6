package datanode

import (
	"context"
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/chkv/chkv/common/slot"
	"github.com/chkv/chkv/common/topology"
	"github.com/chkv/chkv/helper/testutil"
)

// TestZsetSkiplistAgainstRedis compares a sorted set past
// zset-max-listpack-entries with Redis's, including the replies whose
// order Redis leaves open (ZSCAN, ZRANDMEMBER), compared sorted.
func TestZsetSkiplistAgainstRedis(t *testing.T) {
	s := startServer(t, nil)
	c := s.dial(t)
	r := startRedis(t)
	const n = 2000
	for _, conn := range []*respConn{c, r} {
		args := []string{"ZADD", "big"}
		for i := range n {
			args = append(args, strconv.Itoa(i%97), fmt.Sprintf("m%d", i))
		}
		conn.do(args...)
		conn.do("ZREM", "big", "m7", "m8", "m1999")
		conn.do("ZINCRBY", "big", "0.5", "m10")
	}
	for _, cmd := range [][]string{{"ZCARD", "big"}, {"ZSCORE", "big", "m10"}, {"ZRANK", "big", "m1500"}, {"ZREVRANK", "big", "m3"},
		{"OBJECT", "ENCODING", "big"}, {"ZRANGE", "big", "100", "120", "WITHSCORES"}, {"ZCOUNT", "big", "(10", "20"},
		{"ZRANGE", "big", "50", "(60", "BYSCORE", "REV", "LIMIT", "3", "7"},
		{"ZRANGE", "big", "-inf", "+inf", "BYSCORE", "LIMIT", "1990", "9223372036854775807"}, {"ZMSCORE", "big", "m1", "m7", "m1998"}} {
		if got, want := c.do(cmd...), r.do(cmd...); got != want {
			t.Errorf("%v: got %s, want %s", cmd, got, want)
		}
	}
	for _, cmd := range []struct {
		pairs bool
		args  []string
	}{
		{true, []string{"ZRANDMEMBER", "big", "5000", "WITHSCORES"}},
	} {
		if got, want := sortedReply(t, c, cmd.pairs, cmd.args...), sortedReply(t, r, cmd.pairs, cmd.args...); got != want {
			t.Errorf("%v differs from Redis's (sorted)", cmd.args)
		}
	}
	// A whole ZSCAN returns every member once, with its score, even with
	// members added and removed during the scan.
	seen := map[string]int{}
	cursor, calls := "0", 0
	for {
		reply := c.doAny("ZSCAN", "big", cursor, "COUNT", "20").([]any)
		cursor = string(reply[0].([]byte))
		kv := reply[1].([]any)
		for i := 0; i+1 < len(kv); i += 2 {
			m := string(kv[i].([]byte))
			seen[m]++
			if m[0] == 'm' {
				if want := c.do("ZSCORE", "big", m); formatReply(kv[i+1]) != want {
					t.Fatalf("ZSCAN: %s scored %s, ZSCORE says %s", m, kv[i+1], want)
				}
			}
		}
		c.do("ZADD", "big", "1", fmt.Sprintf("new%d", calls))
		c.do("ZREM", "big", fmt.Sprintf("new%d", calls-5))
		if calls++; cursor == "0" {
			break
		}
	}
	for i := range n {
		if m := fmt.Sprintf("m%d", i); seen[m] != 1 && m != "m7" && m != "m8" && m != "m1999" {
			t.Fatalf("ZSCAN returned %s %d times", m, seen[m])
		}
	}
	// Counts: distinct members for a positive count, any for a negative
	// one; never allocated by the count.
	if arr := c.doAny("ZRANDMEMBER", "big", "10").([]any); len(arr) != 10 {
		t.Fatalf("ZRANDMEMBER 10 returned %d", len(arr))
	}
	if arr := c.doAny("ZRANDMEMBER", "big", "-3000", "WITHSCORES").([]any); len(arr) != 6000 {
		t.Fatalf("ZRANDMEMBER -3000 returned %d", len(arr))
	}
}

// TestZsetClusterKeys checks that a multi-key sorted set command is
// admitted by its key specs in cluster mode: keys of two slots are
// refused with CROSSSLOT, a key of another node's slot is MOVED.
func TestZsetClusterKeys(t *testing.T) {
	nn := startFakeNameNode(t)
	self := topology.Node{ID: "dn-a", State: topology.Up}
	other := topology.Node{ID: "dn-b", RESPAddr: "127.0.0.1:7777", State: topology.Up}
	s := startClusterNode(t, nn, "dn-a")
	c := s.dial(t)
	self.RESPAddr = s.Addr().String()
	nn.set(func(f *fakeNameNode) { f.top = splitTopology(1, self, other, 8000) })
	testutil.Eventually(t, 5*time.Second, "topology", func() bool { return s.own.View().Top.Version == 1 })
	mine, theirs := keyInSlotRange(0, 8000), keyInSlotRange(8000, slot.Count)
	const crossSlot = "(error) CROSSSLOT Keys in request don't hash to the same slot"
	for _, cmd := range [][]string{
		{"ZUNION", "2", mine, theirs}, {"ZINTERSTORE", mine, "1", theirs}, {"ZMPOP", "2", mine, theirs, "MIN"},
		{"ZRANGESTORE", mine, theirs, "0", "1"}, {"ZINTERCARD", "2", mine, theirs},
	} {
		if got := c.do(cmd...); got != crossSlot {
			t.Errorf("%v = %s", cmd, got)
		}
	}
	if got := c.do("ZUNION", "1", theirs); got != "(error) MOVED "+strconv.Itoa(slot.OfString(theirs))+" 127.0.0.1:7777" {
		t.Errorf("ZUNION of a foreign key = %s", got)
	}
	c.do("ZADD", mine, "1", "a")
	if got := c.do("ZUNION", "2", mine, "{"+mine+"}x", "WITHSCORES"); got != `["a" "1"]` {
		t.Errorf("ZUNION of own keys = %s", got)
	}
}

// TestZsetGoRedis drives the sorted set commands through go-redis, the
// way applications use CHKV, and checks the decoded results.
func TestZsetGoRedis(t *testing.T) {
	s := startServer(t, nil)
	ctx := context.Background()
	rdb := redis.NewClient(&redis.Options{Addr: s.Addr().String(), MaxRetries: -1})
	t.Cleanup(func() { rdb.Close() })
	if n, err := rdb.ZAdd(ctx, "z", redis.Z{Score: 1, Member: "a"}, redis.Z{Score: 2.5, Member: "b"}, redis.Z{Score: 3, Member: "c"}).Result(); err != nil || n != 3 {
		t.Fatalf("ZAdd = %d, %v", n, err)
	}
	if v, err := rdb.ZIncrBy(ctx, "z", 0.25, "a").Result(); err != nil || v != 1.25 {
		t.Fatalf("ZIncrBy = %v, %v", v, err)
	}
	if v, err := rdb.ZScore(ctx, "z", "b").Result(); err != nil || v != 2.5 {
		t.Fatalf("ZScore = %v, %v", v, err)
	}
	zs, err := rdb.ZRangeArgsWithScores(ctx, redis.ZRangeArgs{Key: "z", Start: "(1.25", Stop: "+inf", ByScore: true}).Result()
	if err != nil || len(zs) != 2 || zs[0] != (redis.Z{Score: 2.5, Member: "b"}) || zs[1] != (redis.Z{Score: 3, Member: "c"}) {
		t.Fatalf("ZRangeArgsWithScores = %v, %v", zs, err)
	}
	if r, err := rdb.ZRevRank(ctx, "z", "a").Result(); err != nil || r != 2 {
		t.Fatalf("ZRevRank = %v, %v", r, err)
	}
	if _, err := rdb.ZRank(ctx, "z", "nosuch").Result(); err != redis.Nil {
		t.Fatalf("ZRank of a missing member: %v", err)
	}
	if zs, err := rdb.ZPopMax(ctx, "z").Result(); err != nil || len(zs) != 1 || zs[0].Member != "c" {
		t.Fatalf("ZPopMax = %v, %v", zs, err)
	}
	if key, zs, err := rdb.ZMPop(ctx, "min", 5, "nokey", "z").Result(); err != nil || key != "z" || len(zs) != 2 {
		t.Fatalf("ZMPop = %s %v, %v", key, zs, err)
	}
	if n, err := rdb.Exists(ctx, "z").Result(); err != nil || n != 0 {
		t.Fatalf("Exists after popping all = %d, %v", n, err)
	}
	rdb.Set(ctx, "s", "x", 0)
	if err := rdb.ZAdd(ctx, "s", redis.Z{Score: 1, Member: "a"}).Err(); err == nil || err.Error() != "WRONGTYPE Operation against a key holding the wrong kind of value" {
		t.Fatalf("ZAdd on a string: %v", err)
	}
}
