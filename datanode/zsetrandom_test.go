package datanode

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

// zsetRandomCommands returns n random sorted set commands whose replies
// are deterministic, on keys z0..z2 (mixed scores, small and large sets)
// and lex (all scores 0, for the lex ranges).
func zsetRandomCommands(rng *rand.Rand, n, members int) []string {
	key := func() string { return fmt.Sprintf("z%d", rng.IntN(3)) }
	member := func() string { return fmt.Sprintf("m%d", rng.IntN(members)) }
	score := func() string {
		switch rng.IntN(12) {
		case 0:
			return "inf"
		case 1:
			return "-inf"
		case 2:
			return fmt.Sprint(rng.Float64()*10 - 5)
		}
		return fmt.Sprint(rng.IntN(20) - 10)
	}
	bound := func() string {
		b := score()
		if rng.IntN(3) == 0 {
			b = "(" + b
		}
		return b
	}
	lexBound := func() string {
		switch rng.IntN(8) {
		case 0:
			return "-"
		case 1:
			return "+"
		}
		return string("[("[rng.IntN(2)]) + member()
	}
	var cmds []string
	for range n {
		var c []string
		switch rng.IntN(23) {
		case 0, 1, 2:
			c = []string{"ZADD", key()}
			for _, opt := range []string{"NX", "XX", "GT", "LT", "CH"} {
				if rng.IntN(6) == 0 {
					c = append(c, opt)
				}
			}
			for range 1 + rng.IntN(10) {
				c = append(c, score(), member())
			}
		case 3:
			c = []string{"ZINCRBY", key(), score(), member()}
		case 4:
			c = []string{"ZREM", key(), member(), member(), member()}
		case 5:
			c = []string{"ZRANGE", key(), fmt.Sprint(rng.IntN(20) - 10), fmt.Sprint(rng.IntN(40) - 10), "WITHSCORES"}
			if rng.IntN(2) == 0 {
				c = append(c, "REV")
			}
		case 6:
			c = []string{"ZRANGE", key(), bound(), bound(), "BYSCORE", "WITHSCORES"}
			if rng.IntN(2) == 0 {
				c = append(c, "REV")
			}
			if rng.IntN(2) == 0 {
				c = append(c, "LIMIT", fmt.Sprint(rng.IntN(5)), fmt.Sprint(rng.IntN(8)-1))
			}
		case 7:
			c = []string{"ZCOUNT", key(), bound(), bound()}
		case 8:
			c = []string{"ZRANK", key(), member()}
		case 9:
			c = []string{"ZREVRANK", key(), member()}
		case 10:
			c = []string{"ZMSCORE", key(), member(), member()}
		case 11:
			c = []string{"ZREMRANGEBYSCORE", key(), bound(), bound()}
		case 12:
			c = []string{"ZREMRANGEBYRANK", key(), fmt.Sprint(rng.IntN(10) - 5), fmt.Sprint(rng.IntN(10) - 5)}
		case 13:
			c = []string{[]string{"ZPOPMIN", "ZPOPMAX"}[rng.IntN(2)], key(), fmt.Sprint(rng.IntN(4))}
		case 14:
			c = []string{[]string{"ZUNIONSTORE", "ZINTERSTORE", "ZDIFFSTORE"}[rng.IntN(3)], key(), "2", key(), key()}
			if c[0] != "ZDIFFSTORE" && rng.IntN(2) == 0 {
				c = append(c, "WEIGHTS", score(), score(), "AGGREGATE", []string{"SUM", "MIN", "MAX"}[rng.IntN(3)])
			}
		case 15:
			c = []string{[]string{"ZUNION", "ZINTER", "ZDIFF"}[rng.IntN(3)], "3", key(), key(), key(), "WITHSCORES"}
		case 16:
			c = []string{"ZRANGESTORE", key(), key(), bound(), bound(), "BYSCORE"}
		case 17:
			c = []string{"ZADD", "lex", "0", member(), "0", member()}
		case 18:
			c = []string{[]string{"ZRANGEBYLEX", "ZREVRANGEBYLEX", "ZLEXCOUNT", "ZREMRANGEBYLEX"}[rng.IntN(4)], "lex", lexBound(), lexBound()}
			if c[0] == "ZRANGEBYLEX" && rng.IntN(2) == 0 {
				c = append(c, "LIMIT", fmt.Sprint(rng.IntN(5)), fmt.Sprint(rng.IntN(8)-1))
			}
		case 19:
			c = []string{"ZMPOP", "2", key(), key(), []string{"MIN", "MAX"}[rng.IntN(2)], "COUNT", fmt.Sprint(1 + rng.IntN(3))}
		case 20:
			c = []string{"OBJECT", "ENCODING", key()}
		case 21:
			c = []string{"ZINTERCARD", "2", key(), key()}
		case 22:
			// Lex ranges on mixed scores: Redis walks a listpack, which
			// CHKV follows; a skiplist's answer differs (undefined in Redis's
			// documentation), so only small sets get them.
			if members > 100 {
				continue
			}
			c = []string{[]string{"ZRANGEBYLEX", "ZREVRANGEBYLEX", "ZLEXCOUNT", "ZREMRANGEBYLEX"}[rng.IntN(4)], key(), lexBound(), lexBound()}
		}
		cmds = append(cmds, strings.Join(c, " "))
	}
	for _, k := range []string{"z0", "z1", "z2", "lex"} {
		cmds = append(cmds, "ZRANGE "+k+" 0 -1 WITHSCORES", "ZCARD "+k, "ZRANDMEMBER "+k+" 100000 WITHSCORES")
	}
	return cmds
}

// TestZsetRandomAgainstRedis runs random sorted set commands on a
// DataNode and a real Redis and requires identical replies: small sets,
// then sets past zset-max-listpack-entries.
func TestZsetRandomAgainstRedis(t *testing.T) {
	for _, members := range []int{15, 400} {
		t.Run(fmt.Sprint(members), func(t *testing.T) {
			diffAgainstRedis(t, zsetRandomCommands(rand.New(rand.NewPCG(7, uint64(members))), 3000, members), nil)
		})
	}
}

// zsetModel is the simple model of a sorted set: member -> score.
type zsetModel map[string]float64

// sorted returns the model's elements in Redis's order.
func (m zsetModel) sorted() []zsetElem {
	var es []zsetElem
	for k, v := range m {
		es = append(es, zsetElem{v, []byte(k)})
	}
	slices.SortFunc(es, zsetCompare)
	return es
}

// TestZsetModel runs random writes on a DataNode and on a Go map, and
// after each compares the whole set, and random score and rank queries.
func TestZsetModel(t *testing.T) {
	s := startServer(t, nil)
	c := s.dial(t)
	rng := rand.New(rand.NewPCG(3, 4))
	m := zsetModel{}
	member := func() string { return fmt.Sprintf("m%d", rng.IntN(300)) }
	for step := range 2000 {
		switch rng.IntN(5) {
		case 0, 1:
			mb, sc := member(), float64(rng.IntN(50))
			c.do("ZADD", "z", fmt.Sprint(sc), mb)
			m[mb] = sc
		case 2:
			mb, by := member(), float64(rng.IntN(7)-3)
			c.do("ZINCRBY", "z", fmt.Sprint(by), mb)
			m[mb] += by
		case 3:
			mb := member()
			c.do("ZREM", "z", mb)
			delete(m, mb)
		case 4:
			lo, hi := float64(rng.IntN(50)), float64(rng.IntN(50))
			c.do("ZREMRANGEBYSCORE", "z", fmt.Sprint(lo), fmt.Sprint(hi))
			for k, v := range m {
				if v >= lo && v <= hi {
					delete(m, k)
				}
			}
		}
		es := m.sorted()
		if step%50 == 0 || len(es) < 5 {
			var want []string
			for _, e := range es {
				want = append(want, string(e.member), string(appendScore(nil, e.score)))
			}
			got := c.doAny("ZRANGE", "z", "0", "-1", "WITHSCORES")
			if formatReply(got) != formatReply(toAny(want)) {
				t.Fatalf("step %d: ZRANGE = %s, model %v", step, formatReply(got), want)
			}
		}
		if len(es) > 0 {
			i := rng.IntN(len(es))
			if got := c.do("ZRANK", "z", string(es[i].member)); got != fmt.Sprintf("(integer) %d", i) {
				t.Fatalf("step %d: ZRANK %s = %s, want %d", step, es[i].member, got, i)
			}
			lo := float64(rng.IntN(50))
			want := 0
			for _, e := range es {
				if e.score >= lo && e.score < lo+10 {
					want++
				}
			}
			if got := c.do("ZCOUNT", "z", fmt.Sprint(lo), fmt.Sprintf("(%v", lo+10)); got != fmt.Sprintf("(integer) %d", want) {
				t.Fatalf("step %d: ZCOUNT = %s, want %d", step, got, want)
			}
		}
		if got := c.do("ZCARD", "z"); got != fmt.Sprintf("(integer) %d", len(es)) {
			t.Fatalf("step %d: ZCARD = %s, want %d", step, got, len(es))
		}
	}
	_ = math.Inf
}

// toAny converts strings to the []any of bulk strings doAny returns.
func toAny(ss []string) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = []byte(s)
	}
	return out
}
