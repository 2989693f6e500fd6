package datanode

import (
	"math"
	"slices"
	"time"

	"github.com/chkv/chkv/datanode/store"
)

// zaddFlags are ZADD's options.
type zaddFlags struct{ nx, xx, gt, lt, ch, incr bool }

func cmdZadd(c *client, args [][]byte) { c.zadd(args, false) }

func cmdZincrby(c *client, args [][]byte) { c.zadd(args, true) }

// parseZaddFlags parses ZADD's options from args[2:] as Redis does and
// returns them with the score/member pairs after them; on false it has
// replied Redis's error.
func (c *client) parseZaddFlags(args [][]byte, incr bool) (zaddFlags, [][]byte, bool) {
	f := zaddFlags{incr: incr}
	i := 2
options:
	for ; i < len(args); i++ {
		switch a := args[i]; {
		case equalFold(a, "nx"):
			f.nx = true
		case equalFold(a, "xx"):
			f.xx = true
		case equalFold(a, "ch"):
			f.ch = true
		case equalFold(a, "incr"):
			f.incr = true
		case equalFold(a, "gt"):
			f.gt = true
		case equalFold(a, "lt"):
			f.lt = true
		default:
			break options
		}
	}
	pairs := args[i:]
	switch {
	case len(pairs) == 0 || len(pairs)%2 != 0:
		c.replyError(errSyntax)
	case f.nx && f.xx:
		c.replyError(errZsetXXNX)
	case (f.gt && f.nx) || (f.lt && f.nx) || (f.gt && f.lt):
		c.replyError(errZsetGTLTNX)
	case f.incr && len(pairs) > 2:
		c.replyError(errZsetIncrPair)
	default:
		return f, pairs, true
	}
	return f, nil, false
}

// zadd serves ZADD and ZINCRBY (ZADD with INCR), as Redis's
// zaddGenericCommand.
func (c *client) zadd(args [][]byte, incr bool) {
	f, pairs, ok := c.parseZaddFlags(args, incr)
	if !ok {
		return
	}
	scores := make([]float64, len(pairs)/2)
	for j := range scores {
		if scores[j], ok = parseScore(pairs[2*j]); !ok {
			c.replyError(errNotFloat)
			return
		}
	}
	s, key := c.srv, args[1]
	now := time.Now().UnixMilli()
	sl := c.lockKeySlot(key)
	defer c.unlock(sl)
	z, expireAt, found, wrong := c.lookupZset(sl, key, now, false)
	if wrong {
		return
	}
	lim := s.zsetLimits()
	enc := byte(zsetListpack)
	switch {
	case found:
		enc = z.encoding()
	case f.xx:
		c.zaddReply(f, 0, 0, false, 0)
		return
	case lim.entries == 0 || int64(len(pairs[1])) > lim.value:
		enc = zsetSkiplist
	}
	changes := make(map[string]float64, len(scores))
	current := func(m []byte) (float64, bool) {
		if v, ok := changes[string(m)]; ok {
			return v, true
		}
		if found {
			if r, ok := z.find(m); ok {
				return z.score(r), true
			}
		}
		return 0, false
	}
	added, updated, processed := 0, 0, 0
	var score float64
	for j, sc := range scores {
		m := pairs[2*j+1]
		old, exists := current(m)
		switch {
		case exists && f.nx:
			continue
		case exists:
			if f.incr {
				if sc += old; math.IsNaN(sc) {
					c.replyError(errZsetNaN)
					return
				}
			}
			if (f.lt && sc >= old) || (f.gt && sc <= old) {
				continue
			}
			score = sc
			processed++
			if sc != old {
				changes[string(m)] = sc
				updated++
			}
		case !f.xx:
			score = sc
			processed++
			changes[string(m)] = sc
			added++
			if int64(len(m)) > lim.value {
				enc = zsetSkiplist
			}
		}
	}
	if added+updated > 0 {
		n := added
		if found {
			n += z.len()
		}
		if added > 0 && int64(n) > lim.entries {
			enc = zsetSkiplist // as Redis converts on an insertion only
		}
		var err error
		if len(scores) == 1 {
			err = storeOne(sl, key, z, zsetElem{changes[string(pairs[1])], pairs[1]}, updated > 0, enc, expireAt, now)
		} else {
			err = c.storeZset(sl, key, mergeChanges(z, found, changes), enc, expireAt, now)
		}
		if err != nil {
			c.replyStoreError(err)
			return
		}
	}
	c.zaddReply(f, added, updated, processed > 0, score)
}

// zaddReply answers ZADD: the count of added (or, with CH, changed)
// elements, or with INCR the new score or a null when nothing was done.
func (c *client) zaddReply(f zaddFlags, added, updated int, processed bool, score float64) {
	switch {
	case f.incr && processed:
		c.replyScore(score)
	case f.incr:
		c.replyNull()
	case f.ch:
		c.replyInt(int64(added + updated))
	default:
		c.replyInt(int64(added))
	}
}

// storeOne stores z with e added, or with e's member moved to e's score
// when update, by editing the packed value: an added member costs a copy
// of the value, not a rebuild; a new score is written in place, moving
// only the elements between the old and the new rank.
func storeOne(sl *store.Slot, key []byte, z zsetValue, e zsetElem, update bool, enc byte, expireAt, now int64) error {
	if update {
		r, _ := z.find(e.member)
		sl.Modify(key, now, func(v []byte) { zsetValue(v).move(r, e) })
		return nil
	}
	b := getZsetBuf()
	defer putZsetBuf(b)
	*b = z.insert(*b, enc, e)
	return storeZsetValue(sl, key, *b, expireAt, now)
}

// mergeChanges returns the elements of z (when found) with the members
// of changes set to their new scores, in order.
func mergeChanges(z zsetValue, found bool, changes map[string]float64) []zsetElem {
	add := make([]zsetElem, 0, len(changes))
	for m, sc := range changes {
		add = append(add, zsetElem{sc, []byte(m)})
	}
	slices.SortFunc(add, zsetCompare)
	n := 0
	if found {
		n = z.len()
	}
	out := make([]zsetElem, 0, n+len(add))
	for i := range n {
		e := z.at(i)
		if _, ok := changes[string(e.member)]; ok {
			continue
		}
		for len(add) > 0 && zsetCompare(add[0], e) < 0 {
			out = append(out, add[0])
			add = add[1:]
		}
		out = append(out, e)
	}
	return append(out, add...)
}

func cmdZrem(c *client, args [][]byte) {
	c.zsetWrite(args[1], func() { c.replyInt(0) }, func(z zsetValue, scratch *[]byte) (zsetValue, bool) {
		if len(args) == 3 {
			r, ok := z.find(args[2])
			c.replyBool(ok)
			if !ok {
				return nil, false
			}
			*scratch = z.deleteRange(*scratch, r, r+1)
			return *scratch, true
		}
		gone := make(map[int]bool, len(args)-2)
		for _, m := range args[2:] {
			if r, ok := z.find(m); ok {
				gone[r] = true
			}
		}
		c.replyInt(int64(len(gone)))
		if len(gone) == 0 {
			return nil, false
		}
		es := make([]zsetElem, 0, z.len()-len(gone))
		for i := range z.len() {
			if !gone[i] {
				es = append(es, z.at(i))
			}
		}
		*scratch = buildZset(*scratch, z.encoding(), es)
		return *scratch, true
	})
}

func cmdZremrangebyrank(c *client, args [][]byte) {
	start, ok1 := parseInt(args[2])
	end, ok2 := parseInt(args[3])
	if !ok1 || !ok2 {
		c.replyError(errNotInteger)
		return
	}
	c.zremSpan(args[1], func(z zsetValue) (int, int) { return rankSpan(start, end, z.len()) })
}

func cmdZremrangebyscore(c *client, args [][]byte) {
	r, ok := parseScoreRange(args[2], args[3])
	if !ok {
		c.replyError(errZsetScoreRange)
		return
	}
	c.zremSpan(args[1], func(z zsetValue) (int, int) { return z.scoreSpan(r) })
}

func cmdZremrangebylex(c *client, args [][]byte) {
	r, ok := parseLexRange(args[2], args[3])
	if !ok {
		c.replyError(errZsetLexRange)
		return
	}
	c.zremSpan(args[1], func(z zsetValue) (int, int) { return z.lexSpan(r, false) })
}

// zremSpan removes the ranks span returns from sorted set key and replies
// how many.
func (c *client) zremSpan(key []byte, span func(z zsetValue) (int, int)) {
	c.zsetWrite(key, func() { c.replyInt(0) }, func(z zsetValue, scratch *[]byte) (zsetValue, bool) {
		lo, hi := span(z)
		c.replyInt(int64(hi - lo))
		if hi == lo {
			return nil, false
		}
		*scratch = z.deleteRange(*scratch, lo, hi)
		return *scratch, true
	})
}

func cmdZpopmin(c *client, args [][]byte) { c.zpop(args, false) }

func cmdZpopmax(c *client, args [][]byte) { c.zpop(args, true) }

// zpop serves ZPOPMIN and ZPOPMAX.
func (c *client) zpop(args [][]byte, fromMax bool) {
	if len(args) > 3 {
		c.replyError(errSyntax)
		return
	}
	count := int64(1)
	if len(args) == 3 {
		var ok bool
		if count, ok = parseInt(args[2]); !ok || count < 0 {
			c.replyError(errNotPositive)
			return
		}
	}
	c.zsetWrite(args[1], func() { c.replyArray(0) }, func(z zsetValue, scratch *[]byte) (zsetValue, bool) {
		lo, hi := popSpan(z, count, fromMax)
		if len(args) == 3 {
			// With a count, RESP3 nests each pair, as Redis 7.0.
			c.replyPairs(hi - lo)
			c.replyPopped(z, lo, hi, fromMax, c.resp3)
		} else {
			c.replyArray(2 * (hi - lo))
			c.replyPopped(z, lo, hi, fromMax, false)
		}
		if hi == lo {
			return nil, false
		}
		*scratch = z.deleteRange(*scratch, lo, hi)
		return *scratch, true
	})
}

// popSpan returns the ranks [lo, hi) of z's count lowest (or highest)
// elements.
func popSpan(z zsetValue, count int64, fromMax bool) (int, int) {
	n := z.len()
	k := int(min(count, int64(n)))
	if fromMax {
		return n - k, n
	}
	return 0, k
}

// replyPopped replies the elements of ranks [lo, hi) of z in the order
// they are popped, each as member and score, nested in a pair when
// nested.
func (c *client) replyPopped(z zsetValue, lo, hi int, fromMax, nested bool) {
	for i := range hi - lo {
		r := lo + i
		if fromMax {
			r = hi - 1 - i
		}
		if nested {
			c.replyArray(2)
		}
		c.replyBulk(z.member(r))
		c.replyScore(z.score(r))
	}
}

// parseZmpop parses the numkeys (at args[at]), keys, MIN|MAX and COUNT of
// ZMPOP and BZMPOP; on false it has replied Redis's error.
func (c *client) parseZmpop(args [][]byte, at int) (keys [][]byte, fromMax bool, count int64, ok bool) {
	n, ok := parseInt(args[at])
	if !ok || n < 1 {
		c.replyError(errNumkeysPositive)
		return nil, false, 0, false
	}
	if n >= int64(len(args)-at-1) {
		c.replyError(errSyntax)
		return nil, false, 0, false
	}
	keys, rest := args[at+1:at+1+int(n)], args[at+1+int(n):]
	switch {
	case equalFold(rest[0], "min"):
	case equalFold(rest[0], "max"):
		fromMax = true
	default:
		c.replyError(errSyntax)
		return nil, false, 0, false
	}
	count = -1
	for j := 1; j < len(rest); j++ {
		if count != -1 || !equalFold(rest[j], "count") || j+1 >= len(rest) {
			c.replyError(errSyntax)
			return nil, false, 0, false
		}
		j++
		if count, ok = parseInt(rest[j]); !ok || count < 1 {
			c.replyError(errZsetCountPositve)
			return nil, false, 0, false
		}
	}
	return keys, fromMax, max(count, 1), true
}

func cmdZmpop(c *client, args [][]byte) {
	keys, fromMax, count, ok := c.parseZmpop(args, 1)
	if !ok {
		return
	}
	locks := c.lockKeys(keys, 0, 1)
	defer locks.release()
	now := time.Now().UnixMilli()
	for _, key := range keys {
		if c.zmpopKey(key, fromMax, count, now) != tryEmpty {
			return
		}
	}
	c.replyNullArray()
}

// zmpopKey pops up to count elements of key's sorted set, its slot locked
// by the caller, and replies the key and them, as ZMPOP does.
func (c *client) zmpopKey(key []byte, fromMax bool, count int64, now int64) tryResult {
	sl := c.srv.keySlot(key)
	z, expireAt, found, wrong := c.lookupZset(sl, key, now, false)
	if wrong {
		return tryError
	}
	if !found {
		return tryEmpty
	}
	lo, hi := popSpan(z, count, fromMax)
	mark := len(c.out)
	c.replyArray(2)
	c.replyBulk(key)
	c.replyArray(hi - lo)
	c.replyPopped(z, lo, hi, fromMax, true)
	scratch := getZsetBuf()
	defer putZsetBuf(scratch)
	*scratch = z.deleteRange(*scratch, lo, hi)
	if err := storeZsetValue(sl, key, *scratch, expireAt, now); err != nil {
		c.out = c.out[:mark]
		c.replyStoreError(err)
		return tryError
	}
	return tryServed
}
