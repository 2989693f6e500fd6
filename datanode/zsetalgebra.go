package datanode

import (
	"github.com/chkv/chkv/datanode/store"
	"math"
	"slices"
	"time"
)

// zsetOp is the operation of ZUNION, ZINTER and ZDIFF.
type zsetOp int

const (
	zsetUnion zsetOp = iota
	zsetInter
	zsetDiff
)

// zsetAggregate is AGGREGATE's function.
type zsetAggregate int

const (
	aggregateSum zsetAggregate = iota
	aggregateMin
	aggregateMax
)

// apply combines acc with v as Redis's zunionInterAggregate.
func (a zsetAggregate) apply(acc, v float64) float64 {
	switch a {
	case aggregateMin: // C's comparison: a NaN v leaves acc
		if v < acc {
			return v
		}
		return acc
	case aggregateMax:
		if v > acc {
			return v
		}
		return acc
	}
	if acc += v; math.IsNaN(acc) {
		return 0 // inf + -inf
	}
	return acc
}

// zsetSource is one input set of a set operation with its weight; z is
// nil for a missing key.
type zsetSource struct {
	z      zsetValue
	weight float64
}

// size returns the number of elements of the source.
func (src zsetSource) size() int {
	if src.z == nil {
		return 0
	}
	return src.z.len()
}

// zsetAlgebra is a parsed ZUNION, ZINTER, ZDIFF, their STORE forms or
// ZINTERCARD.
type zsetAlgebra struct {
	op         zsetOp
	dst        []byte // the STORE forms' destination, else nil
	card       bool   // ZINTERCARD
	withScores bool
	aggregate  zsetAggregate
	limit      int64 // ZINTERCARD's LIMIT, 0 for none
}

func cmdZunion(c *client, args [][]byte) { c.zsetAlgebra(args, "zunion", zsetUnion, false, false) }
func cmdZinter(c *client, args [][]byte) { c.zsetAlgebra(args, "zinter", zsetInter, false, false) }
func cmdZdiff(c *client, args [][]byte)  { c.zsetAlgebra(args, "zdiff", zsetDiff, false, false) }
func cmdZintercard(c *client, args [][]byte) {
	c.zsetAlgebra(args, "zintercard", zsetInter, false, true)
}
func cmdZunionstore(c *client, args [][]byte) {
	c.zsetAlgebra(args, "zunionstore", zsetUnion, true, false)
}
func cmdZinterstore(c *client, args [][]byte) {
	c.zsetAlgebra(args, "zinterstore", zsetInter, true, false)
}
func cmdZdiffstore(c *client, args [][]byte) {
	c.zsetAlgebra(args, "zdiffstore", zsetDiff, true, false)
}

// zsetKeys returns the numkeys keys of a ZUNION-like command and the
// arguments after them; on false it has replied Redis's error.
func (c *client) zsetKeys(args [][]byte, name string, store bool) (dst []byte, keys, rest [][]byte, ok bool) {
	i := 1
	if store {
		dst, i = args[1], 2
	}
	n, ok := parseInt(args[i])
	switch {
	case !ok:
		c.replyError(errNotInteger)
	case n < 1:
		c.replyError("ERR at least 1 input key is needed for '" + name + "' command")
	case n > int64(len(args)-i-1):
		c.replyError(errSyntax)
	default:
		return dst, args[i+1 : i+1+int(n)], args[i+1+int(n):], true
	}
	return nil, nil, nil, false
}

// zsetAlgebra serves the set operations on sorted sets, as Redis's
// zunionInterDiffGenericCommand: keys are looked up (WRONGTYPE first),
// then the options parsed, then the result computed.
func (c *client) zsetAlgebra(args [][]byte, name string, op zsetOp, store, card bool) {
	dst, keys, rest, ok := c.zsetKeys(args, name, store)
	if !ok {
		return
	}
	s := c.srv
	now := time.Now().UnixMilli()
	lockArgs := keys
	if store {
		lockArgs = append([][]byte{dst}, keys...)
	}
	locks := c.lockKeys(lockArgs, 0, 1)
	defer locks.release()
	srcs := make([]zsetSource, len(keys))
	for i, key := range keys {
		z, wrong := c.lookupAlgebraSource(s.keySlot(key), key, now)
		if wrong {
			return
		}
		srcs[i] = zsetSource{z: z, weight: 1}
	}
	a := zsetAlgebra{op: op, dst: dst, card: card}
	if !c.parseAlgebraOptions(&a, srcs, rest) {
		return
	}
	if op != zsetDiff {
		slices.SortStableFunc(srcs, func(x, y zsetSource) int { return x.size() - y.size() })
	}
	switch {
	case card:
		c.replyInt(interCard(srcs, a.limit))
	case store:
		c.storeResult(dst, a.compute(srcs), now)
	default:
		es := a.compute(srcs)
		if a.withScores {
			c.replyPairs(len(es))
		} else {
			c.replyArray(len(es))
		}
		for _, e := range es {
			if a.withScores {
				c.replyPair()
			}
			c.replyBulk(e.member)
			if a.withScores {
				c.replyScore(e.score)
			}
		}
	}
}

// lookupAlgebraSource looks up an input of a set operation: a sorted set,
// or, as in Redis, a set, whose members all score 1; nil for a missing key.
// A key of another type gets a WRONGTYPE reply, and wrong reports it.
func (c *client) lookupAlgebraSource(sl *store.Slot, key []byte, now int64) (z zsetValue, wrong bool) {
	v, _, typ, found := c.srv.lookupReadTyped(sl, key, now)
	switch {
	case !found:
		return nil, false
	case typ == store.TypeZSet:
		return zsetValue(v), false
	case typ == store.TypeSet:
		ms := setValue(v).members()
		es := make([]zsetElem, len(ms))
		for i, m := range ms {
			es[i] = zsetElem{score: 1, member: m}
		}
		slices.SortFunc(es, zsetCompare)
		return buildZset(nil, zsetSkiplist, es), false
	}
	c.replyError(errWrongType)
	return nil, true
}

// parseAlgebraOptions parses WEIGHTS, AGGREGATE, WITHSCORES and LIMIT
// where the command takes them; on false it has replied Redis's error.
func (c *client) parseAlgebraOptions(a *zsetAlgebra, srcs []zsetSource, rest [][]byte) bool {
	weighted := a.op != zsetDiff && !a.card
	for j := 0; j < len(rest); {
		left := len(rest) - j
		switch opt := rest[j]; {
		case weighted && left >= len(srcs)+1 && equalFold(opt, "weights"):
			for i := range srcs {
				w, ok := parseScore(rest[j+1+i])
				if !ok {
					c.replyError(errZsetWeight)
					return false
				}
				srcs[i].weight = w
			}
			j += 1 + len(srcs)
		case weighted && left >= 2 && equalFold(opt, "aggregate"):
			switch v := rest[j+1]; {
			case equalFold(v, "sum"):
				a.aggregate = aggregateSum
			case equalFold(v, "min"):
				a.aggregate = aggregateMin
			case equalFold(v, "max"):
				a.aggregate = aggregateMax
			default:
				c.replyError(errSyntax)
				return false
			}
			j += 2
		case a.dst == nil && !a.card && equalFold(opt, "withscores"):
			a.withScores = true
			j++
		case a.card && left >= 2 && equalFold(opt, "limit"):
			n, ok := parseInt(rest[j+1])
			if !ok || n < 0 {
				c.replyError("ERR LIMIT can't be negative")
				return false
			}
			a.limit = n
			j += 2
		default:
			c.replyError(errSyntax)
			return false
		}
	}
	return true
}

// weighted returns score times weight, 0 for NaN (0 × inf).
func weighted(score, weight float64) float64 {
	if v := score * weight; !math.IsNaN(v) {
		return v
	}
	return 0
}

// compute returns the operation's result in (score, member) order; the
// members point into the sources.
func (a zsetAlgebra) compute(srcs []zsetSource) []zsetElem {
	var es []zsetElem
	switch a.op {
	case zsetInter:
		if srcs[0].size() == 0 {
			return nil
		}
		for i := range srcs[0].z.len() {
			e := srcs[0].z.at(i)
			score, in := weighted(e.score, srcs[0].weight), true
			for _, src := range srcs[1:] {
				if src.z == nil {
					in = false
					break
				}
				r, ok := src.z.find(e.member)
				if !ok {
					in = false
					break
				}
				score = a.aggregate.apply(score, src.z.score(r)*src.weight)
			}
			if in {
				es = append(es, zsetElem{score, e.member})
			}
		}
	case zsetUnion:
		acc := make(map[string]int)
		for _, src := range srcs {
			for i := range src.size() {
				e := src.z.at(i)
				score := weighted(e.score, src.weight)
				if j, ok := acc[string(e.member)]; ok {
					es[j].score = a.aggregate.apply(es[j].score, score)
				} else {
					acc[string(e.member)] = len(es)
					es = append(es, zsetElem{score, e.member})
				}
			}
		}
	case zsetDiff:
		for i := range srcs[0].size() {
			e := srcs[0].z.at(i)
			in := true
			for _, src := range srcs[1:] {
				if src.z != nil {
					if _, ok := src.z.find(e.member); ok {
						in = false
						break
					}
				}
			}
			if in {
				es = append(es, e)
			}
		}
	}
	slices.SortFunc(es, zsetCompare)
	return es
}

// interCard counts the members of every source, stopping at limit (0 for
// no limit), as ZINTERCARD.
func interCard(srcs []zsetSource, limit int64) int64 {
	var n int64
	for i := range srcs[0].size() {
		m := srcs[0].z.member(i)
		in := true
		for _, src := range srcs[1:] {
			if src.z == nil {
				in = false
				break
			}
			if _, ok := src.z.find(m); !ok {
				in = false
				break
			}
		}
		if in {
			if n++; limit > 0 && n >= limit {
				break
			}
		}
	}
	return n
}
