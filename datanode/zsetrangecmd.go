package datanode

import "time"

// zrangeKind is how ZRANGE reads its min and max: as ranks, scores or
// members.
type zrangeKind int

const (
	zrangeAuto zrangeKind = iota // not given yet: ranks unless BYSCORE or BYLEX
	zrangeRank
	zrangeScore
	zrangeLex
)

// zrangeQuery is a parsed ZRANGE, ZRANGESTORE or one of their older forms.
type zrangeQuery struct {
	kind          zrangeKind
	reverse       bool
	withScores    bool
	offset, limit int64 // LIMIT; limit is -1 without it
	start, end    int64 // ranks
	scores        scoreRange
	lex           lexRange
}

// parseZrange parses the arguments of a ZRANGE-like command from
// args[first] (the source key) on, as Redis's zrangeGenericCommand: kind
// and reverse are preset by the older forms (ZRANGEBYSCORE...), store
// forbids WITHSCORES. On false it has replied Redis's error.
func (c *client) parseZrange(args [][]byte, first int, store bool, kind zrangeKind, reverse bool) (zrangeQuery, bool) {
	q := zrangeQuery{kind: kind, reverse: reverse, limit: -1}
	revGiven := reverse || kind != zrangeAuto // only ZRANGE and ZRANGESTORE take REV
	for j := first + 3; j < len(args); j++ {
		left := len(args) - j - 1
		switch a := args[j]; {
		case !store && equalFold(a, "withscores"):
			q.withScores = true
		case equalFold(a, "limit") && left >= 2:
			var ok1, ok2 bool
			q.offset, ok1 = parseInt(args[j+1])
			if ok1 {
				q.limit, ok2 = parseInt(args[j+2])
			}
			if !ok1 || !ok2 {
				c.replyError(errNotInteger)
				return q, false
			}
			j += 2
		case !revGiven && equalFold(a, "rev"):
			q.reverse, revGiven = true, true
		case q.kind == zrangeAuto && equalFold(a, "bylex"):
			q.kind = zrangeLex
		case q.kind == zrangeAuto && equalFold(a, "byscore"):
			q.kind = zrangeScore
		default:
			c.replyError(errSyntax)
			return q, false
		}
	}
	if q.kind == zrangeAuto {
		q.kind = zrangeRank
	}
	if q.limit != -1 && q.kind == zrangeRank {
		c.replyError(errZsetLimitRank)
		return q, false
	}
	if q.withScores && q.kind == zrangeLex {
		c.replyError(errZsetLexScores)
		return q, false
	}
	lo, hi := args[first+1], args[first+2]
	if q.reverse && q.kind != zrangeRank {
		lo, hi = hi, lo // given as max, min
	}
	var ok bool
	switch q.kind {
	case zrangeRank:
		var ok2 bool
		q.start, ok = parseInt(lo)
		if ok {
			q.end, ok2 = parseInt(hi)
		}
		if !ok || !ok2 {
			c.replyError(errNotInteger)
			return q, false
		}
	case zrangeScore:
		if q.scores, ok = parseScoreRange(lo, hi); !ok {
			c.replyError(errZsetScoreRange)
			return q, false
		}
	case zrangeLex:
		if q.lex, ok = parseLexRange(lo, hi); !ok {
			c.replyError(errZsetLexRange)
			return q, false
		}
	}
	return q, true
}

// ranks returns the ranks q selects from z, in reply order. Their number
// is bounded by z's size whatever LIMIT says.
func (q zrangeQuery) ranks(z zsetValue) []int {
	n := z.len()
	var lo, hi int
	switch q.kind {
	case zrangeRank:
		lo, hi = rankSpan(q.start, q.end, n)
		if q.reverse {
			lo, hi = n-hi, n-lo
		}
	case zrangeScore:
		lo, hi = z.scoreSpan(q.scores)
	case zrangeLex:
		lo, hi = z.lexSpan(q.lex, q.reverse)
	}
	count := int64(hi - lo)
	if q.kind != zrangeRank {
		if q.offset < 0 || q.offset >= count {
			return nil
		}
		count -= q.offset
		if q.limit >= 0 {
			count = min(count, q.limit)
		}
	}
	out := make([]int, count)
	for i := range out {
		if q.reverse {
			out[i] = hi - 1 - int(q.offset) - i
		} else {
			out[i] = lo + int(q.offset) + i
		}
	}
	return out
}

func cmdZrange(c *client, args [][]byte) { c.zrange(args, zrangeAuto, false) }

func cmdZrevrange(c *client, args [][]byte) { c.zrange(args, zrangeRank, true) }

func cmdZrangebyscore(c *client, args [][]byte) { c.zrange(args, zrangeScore, false) }

func cmdZrevrangebyscore(c *client, args [][]byte) { c.zrange(args, zrangeScore, true) }

func cmdZrangebylex(c *client, args [][]byte) { c.zrange(args, zrangeLex, false) }

func cmdZrevrangebylex(c *client, args [][]byte) { c.zrange(args, zrangeLex, true) }

// zrange serves ZRANGE and its older forms.
func (c *client) zrange(args [][]byte, kind zrangeKind, reverse bool) {
	q, ok := c.parseZrange(args, 1, false, kind, reverse)
	if !ok {
		return
	}
	c.zsetRead(args[1], func() { c.replyArray(0) }, func(z zsetValue) {
		ranks := q.ranks(z)
		if q.withScores {
			c.replyPairs(len(ranks))
		} else {
			c.replyArray(len(ranks))
		}
		for _, r := range ranks {
			if q.withScores {
				c.replyPair()
			}
			c.replyBulk(z.member(r))
			if q.withScores {
				c.replyScore(z.score(r))
			}
		}
	})
}

func cmdZrangestore(c *client, args [][]byte) {
	q, ok := c.parseZrange(args, 2, true, zrangeAuto, false)
	if !ok {
		return
	}
	s, dst, src := c.srv, args[1], args[2]
	now := time.Now().UnixMilli()
	locks := c.lockKeys(args[1:3], 0, 1)
	defer locks.release()
	z, _, found, wrong := c.lookupZset(s.keySlot(src), src, now, true)
	if wrong {
		return
	}
	var es []zsetElem
	if found {
		for _, r := range q.ranks(z) {
			es = append(es, z.at(r))
		}
		if q.reverse {
			es = reversed(es)
		}
	}
	c.storeResult(dst, es, now)
}

// reversed reverses es in place and returns it.
func reversed(es []zsetElem) []zsetElem {
	for i, j := 0, len(es)-1; i < j; i, j = i+1, j-1 {
		es[i], es[j] = es[j], es[i]
	}
	return es
}

// storeResult writes the sorted es as the new value of dst, whatever it
// held, without a TTL, encoded as Redis encodes a set it creates; an empty
// es deletes dst. It replies the number of elements stored.
func (c *client) storeResult(dst []byte, es []zsetElem, now int64) {
	sl := c.srv.keySlot(dst)
	if len(es) == 0 {
		sl.Delete(dst)
		c.replyInt(0)
		return
	}
	enc := byte(zsetSkiplist)
	if c.srv.zsetLimits().fits(len(es), maxMemberLen(es)) {
		enc = zsetListpack
	}
	if err := c.storeZset(sl, dst, es, enc, 0, now); err != nil {
		c.replyStoreError(err)
		return
	}
	c.replyInt(int64(len(es)))
}
