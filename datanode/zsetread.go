package datanode

import (
	"math"
	"math/rand/v2"
	"sort"
	"strconv"
	"time"
)

func cmdZcard(c *client, args [][]byte) {
	c.zsetRead(args[1], func() { c.replyInt(0) }, func(z zsetValue) { c.replyInt(int64(z.len())) })
}

func cmdZscore(c *client, args [][]byte) {
	c.zsetRead(args[1], c.replyNull, func(z zsetValue) {
		if r, ok := z.find(args[2]); ok {
			c.replyScore(z.score(r))
		} else {
			c.replyNull()
		}
	})
}

func cmdZmscore(c *client, args [][]byte) {
	now := time.Now().UnixMilli()
	sl := c.lockKeySlot(args[1])
	defer c.unlock(sl)
	z, _, found, wrong := c.lookupZset(sl, args[1], now, true)
	if wrong {
		return
	}
	c.replyArray(len(args) - 2)
	for _, m := range args[2:] {
		if !found {
			c.replyNull()
		} else if r, ok := z.find(m); ok {
			c.replyScore(z.score(r))
		} else {
			c.replyNull()
		}
	}
}

func cmdZcount(c *client, args [][]byte) {
	r, ok := parseScoreRange(args[2], args[3])
	if !ok {
		c.replyError(errZsetScoreRange)
		return
	}
	c.zsetRead(args[1], func() { c.replyInt(0) }, func(z zsetValue) {
		lo, hi := z.scoreSpan(r)
		c.replyInt(int64(hi - lo))
	})
}

func cmdZlexcount(c *client, args [][]byte) {
	r, ok := parseLexRange(args[2], args[3])
	if !ok {
		c.replyError(errZsetLexRange)
		return
	}
	c.zsetRead(args[1], func() { c.replyInt(0) }, func(z zsetValue) {
		lo, hi := z.lexSpan(r, false)
		c.replyInt(int64(hi - lo))
	})
}

func cmdZrank(c *client, args [][]byte) { c.zrank(args, false) }

func cmdZrevrank(c *client, args [][]byte) { c.zrank(args, true) }

// zrank serves ZRANK and ZREVRANK.
func (c *client) zrank(args [][]byte, reverse bool) {
	c.zsetRead(args[1], c.replyNull, func(z zsetValue) {
		r, ok := z.find(args[2])
		switch {
		case !ok:
			c.replyNull()
		case reverse:
			c.replyInt(int64(z.len() - 1 - r))
		default:
			c.replyInt(int64(r))
		}
	})
}

func cmdZrandmember(c *client, args [][]byte) {
	if len(args) == 2 {
		c.zsetRead(args[1], c.replyNull, func(z zsetValue) { c.replyBulk(z.member(rand.IntN(z.len()))) })
		return
	}
	count, ok := parseInt(args[2])
	if !ok {
		c.replyError(errNotInteger)
		return
	}
	if count < -math.MaxInt64 {
		c.replyError(errZsetRandRange)
		return
	}
	withScores := false
	if len(args) > 4 || (len(args) == 4 && !equalFold(args[3], "withscores")) {
		c.replyError(errSyntax)
		return
	} else if len(args) == 4 {
		withScores = true
		if count < -math.MaxInt64/2 || count > math.MaxInt64/2 {
			c.replyError(errZsetOutOfRange)
			return
		}
	}
	c.zsetRead(args[1], func() { c.replyArray(0) }, func(z zsetValue) {
		c.zrandmemberCount(z, count, withScores)
	})
}

// zrandmemberCount replies to ZRANDMEMBER with a count: with a negative
// count, that many members chosen independently; with a positive one,
// that many distinct members, or the whole set in order. It allocates by
// the set's size, never by the count.
func (c *client) zrandmemberCount(z zsetValue, count int64, withScores bool) {
	per := 1
	if withScores {
		per = 2
	}
	reply := func(i int) {
		c.replyBulk(z.member(i))
		if withScores {
			c.replyScore(z.score(i))
		}
	}
	n := z.len()
	switch {
	case count == 0:
		c.replyArray(0)
	case count < 0:
		c.replyArray(int(-count) * per)
		for range -count {
			reply(rand.IntN(n))
		}
	case count >= int64(n):
		// The whole set, as Redis's iterator walks it: from the end.
		c.replyArray(n * per)
		for i := n - 1; i >= 0; i-- {
			reply(i)
		}
	default:
		// A partial Fisher-Yates shuffle picks count distinct members.
		idx := make([]int, n)
		for i := range idx {
			idx[i] = i
		}
		c.replyArray(int(count) * per)
		for i := range int(count) {
			j := i + rand.IntN(n-i)
			idx[i], idx[j] = idx[j], idx[i]
			reply(idx[i])
		}
	}
}

func cmdZscan(c *client, args [][]byte) {
	cursor, ok := parseScanCursor(args[2])
	if !ok {
		c.replyError(errInvalidCursor)
		return
	}
	c.zsetRead(args[1], func() {
		c.replyArray(2)
		c.replyBulkString("0")
		c.replyArray(0)
	}, func(z zsetValue) {
		opts, ok := c.parseScanOptions(args[3:], false)
		if !ok {
			return
		}
		var ranks []int
		var next uint64
		if z.encoding() == zsetListpack {
			// As Redis with a listpack: everything in one call.
			for i := range z.len() {
				ranks = append(ranks, i)
			}
		} else {
			ranks, next = z.scanRanks(cursor, int(min(max(opts.count, int64(z.len()/zscanMinShare)), math.MaxInt32)))
		}
		kept := ranks[:0]
		for _, r := range ranks {
			if !opts.usePattern || stringMatch(opts.pattern, z.member(r)) {
				kept = append(kept, r)
			}
		}
		format := appendScore
		if z.encoding() == zsetListpack {
			format = appendListpackScore
		}
		c.replyArray(2)
		c.replyBulkString(strconv.FormatUint(next, 10))
		c.replyArray(2 * len(kept))
		var buf [32]byte
		for _, r := range kept {
			c.replyBulk(z.member(r))
			c.replyBulk(format(buf[:0], z.score(r)))
		}
	})
}

// zscanMinShare sets how many elements a ZSCAN call returns at least, as a
// share of a skiplist-encoded sorted set: a fraction of the set, so a
// whole scan takes a bounded number of calls although each is linear in
// the set's size.
const zscanMinShare = 64

// scanRanks is hashValue.scanFields for a sorted set: the ranks of the
// members whose memberHash is at least cursor, at least count of them
// (fewer only at the end), members of the same hash kept together, in
// hash order, and the cursor to continue from (0 at the end).
func (z zsetValue) scanRanks(cursor uint64, count int) ([]int, uint64) {
	if cursor > 1<<32-1 {
		return nil, 0
	}
	n := z.len()
	hashAt := func(i int) uint32 { return memberHash(z.member(z.hashRank(i))) }
	start := sort.Search(n, func(i int) bool { return uint64(hashAt(i)) >= cursor })
	end := min(start+count, n)
	for end < n && end > start && hashAt(end) == hashAt(end-1) {
		end++
	}
	out := make([]int, 0, end-start)
	for i := start; i < end; i++ {
		out = append(out, z.hashRank(i))
	}
	if end == n {
		return out, 0
	}
	return out, uint64(hashAt(end))
}
