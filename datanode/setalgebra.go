package datanode

import (
	"bytes"
	"math"
	"slices"
	"time"
)

// The set commands on several keys: SMOVE, and SINTER, SUNION, SDIFF with
// their STORE variants and SINTERCARD.

func cmdSmove(c *client, args [][]byte) {
	src, dst, member := args[1], args[2], args[3]
	s := c.srv
	now := time.Now().UnixMilli()
	locks := c.lockKeys(args[:3], 1, 1)
	defer locks.release()
	srcSl, dstSl := s.keySlot(src), s.keySlot(dst)
	from, srcExp, found, wrong := c.lookupSet(srcSl, src, now, false)
	if wrong {
		return
	}
	if !found {
		c.replyInt(0)
		return
	}
	if _, _, _, wrong := c.lookupSet(dstSl, dst, now, false); wrong {
		return
	}
	if bytes.Equal(src, dst) {
		c.replyBool(from.contains(member))
		return
	}
	if !from.contains(member) {
		c.replyInt(0)
		return
	}
	e := &setEdit{c: c, sl: srcSl, key: src, s: from, expireAt: srcExp, now: now}
	if _, ok := e.remove([][]byte{member}); !ok {
		return
	}
	// Looked up again: the write to src may have moved dst's bytes.
	d, ok := c.openSet(dstSl, dst, now)
	if !ok {
		return
	}
	if _, ok := d.add([][]byte{member}); ok {
		c.replyInt(1)
	}
}

// setOp is the operation of SINTER, SUNION, SDIFF and their variants.
type setOp int

const (
	opInter setOp = iota
	opUnion
	opDiff
)

// combine returns the members of op applied to sets (nil ones are empty),
// in the order Redis finds them; an intersection stops after limit members
// when limit is positive. The members point into the sets.
func combine(op setOp, sets []setValue, limit int) [][]byte {
	var out [][]byte
	switch op {
	case opInter:
		order := make([]int, len(sets))
		for i, s := range sets {
			if s == nil {
				return nil
			}
			order[i] = i
		}
		// The smallest set first, as Redis sorts them.
		slices.SortStableFunc(order, func(a, b int) int { return sets[a].len() - sets[b].len() })
		for _, m := range sets[order[0]].members() {
			in := true
			for _, j := range order[1:] {
				if !sets[j].contains(m) {
					in = false
					break
				}
			}
			if in {
				out = append(out, m)
				if limit > 0 && len(out) >= limit {
					break
				}
			}
		}
	case opUnion:
		for _, s := range sets {
			if s != nil {
				out = append(out, s.members()...)
			}
		}
	case opDiff:
		if sets[0] == nil {
			return nil
		}
		for _, m := range sets[0].members() {
			in := true
			for _, s := range sets[1:] {
				if s != nil && s.contains(m) {
					in = false
					break
				}
			}
			if in {
				out = append(out, m)
			}
		}
	}
	return out
}

func cmdSinter(c *client, args [][]byte) { c.setAlgebra(opInter, nil, args[1:]) }
func cmdSunion(c *client, args [][]byte) { c.setAlgebra(opUnion, nil, args[1:]) }
func cmdSdiff(c *client, args [][]byte)  { c.setAlgebra(opDiff, nil, args[1:]) }

func cmdSinterstore(c *client, args [][]byte) { c.setAlgebra(opInter, args[1], args[2:]) }
func cmdSunionstore(c *client, args [][]byte) { c.setAlgebra(opUnion, args[1], args[2:]) }
func cmdSdiffstore(c *client, args [][]byte)  { c.setAlgebra(opDiff, args[1], args[2:]) }

// setAlgebra serves SINTER, SUNION, SDIFF and, with a destination, their
// STORE variants, which replace dst (whatever its type, its TTL dropped)
// by the result, or delete it when the result is empty.
func (c *client) setAlgebra(op setOp, dst []byte, keys [][]byte) {
	s := c.srv
	now := time.Now().UnixMilli()
	locked := keys
	if dst != nil {
		locked = append(slices.Clip(keys), dst)
	}
	locks := c.lockKeys(locked, 0, 1)
	defer locks.release()
	sets, ok := c.lookupSets(keys, now, dst == nil)
	if !ok {
		return
	}
	ms := combine(op, sets, 0)
	lim := s.setLimits()
	if dst == nil {
		if op == opInter {
			c.replyArray(len(ms))
			for _, m := range ms {
				c.replyBulk(m)
			}
			return
		}
		c.replyAsUnion(ms, lim)
		return
	}
	var ns setValue
	if len(ms) > 0 {
		if ns, ok = buildSet(nil, ms, lim); !ok {
			c.replyError(errSlotFull)
			return
		}
	}
	if c.storeSet(s.keySlot(dst), dst, ns, 0, now) {
		c.replyInt(int64(ns.lenOrZero()))
	}
}

// lenOrZero is len for a set that may be empty (no bytes).
func (s setValue) lenOrZero() int {
	if len(s) == 0 {
		return 0
	}
	return s.len()
}

func cmdSintercard(c *client, args [][]byte) {
	numkeys, ok := parseInt(args[1])
	if !ok || numkeys < 1 {
		c.replyError(errNumkeys)
		return
	}
	if numkeys > int64(len(args)-2) {
		c.replyError(errNumkeysArgs)
		return
	}
	keys := args[2 : 2+numkeys]
	limit := int64(0)
	for i := 2 + int(numkeys); i < len(args); i++ {
		if equalFold(args[i], "limit") && i+1 < len(args) {
			i++
			if limit, ok = parseInt(args[i]); !ok || limit < 0 {
				c.replyError(errLimitNegative)
				return
			}
			continue
		}
		c.replyError(errSyntax)
		return
	}
	now := time.Now().UnixMilli()
	locks := c.srv.lockKeys(keys, 0, 1)
	defer locks.release()
	sets, ok := c.lookupSets(keys, now, true)
	if !ok {
		return
	}
	c.replyInt(int64(len(combine(opInter, sets, int(min(limit, math.MaxInt32))))))
}
