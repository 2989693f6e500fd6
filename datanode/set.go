package datanode

import (
	"bytes"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"time"

	"github.com/chkv/chkv/datanode/store"
)

// Redis's error replies of the set commands.
const (
	errCountNotPositive = "ERR value is out of range, must be positive"
	errCountRange       = "ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807"
	errNumkeys          = "ERR numkeys should be greater than 0"
	errNumkeysArgs      = "ERR Number of keys can't be greater than number of args"
	errLimitNegative    = "ERR LIMIT can't be negative"
)

// randomReplyLimit bounds the reply of SRANDMEMBER with a negative count,
// which Redis sends whatever its size: past it the reply is cut and the
// client closed, as Redis closes a client past its output buffer limit.
const randomReplyLimit = 64 << 20

// setLimits returns the current intset limit.
func (s *Server) setLimits() setLimits {
	return setLimits{intsetEntries: s.settings.Load().SetMaxIntsetEntries}
}

// lookupSet looks key up for a set command, with read's statistics and
// access recording when read is set (else as a write lookup). A key
// holding another type gets a WRONGTYPE reply, and wrong reports it.
func (c *client) lookupSet(sl *store.Slot, key []byte, now int64, read bool) (s setValue, expireAt int64, found, wrong bool) {
	var v []byte
	var typ store.Type
	if read {
		v, expireAt, typ, found = c.srv.lookupReadTyped(sl, key, now)
	} else {
		v, expireAt, typ, found = sl.PeekTyped(key, now)
	}
	if found && typ != store.TypeSet {
		c.replyError(errWrongType)
		return nil, 0, true, true
	}
	return setValue(v), expireAt, found, false
}

// lookupSets looks keys up for a command on several sets, a missing key
// giving a nil set; on a key of another type it replies WRONGTYPE and
// returns false. The caller holds the keys' slots.
func (c *client) lookupSets(keys [][]byte, now int64, read bool) ([]setValue, bool) {
	sets := make([]setValue, len(keys))
	for i, key := range keys {
		s, _, _, wrong := c.lookupSet(c.srv.keySlot(key), key, now, read)
		if wrong {
			return nil, false
		}
		sets[i] = s
	}
	return sets, true
}

// storeSet writes s as key's value, or deletes key when s is empty.
func (c *client) storeSet(sl *store.Slot, key []byte, s setValue, expireAt, now int64) bool {
	if len(s) == 0 {
		sl.Delete(key)
		return true
	}
	if err := sl.SetTyped(key, s, store.TypeSet, expireAt, now); err != nil {
		c.replyStoreError(err)
		return false
	}
	return true
}

// setBuf is pooled scratch space for building new set values: two
// buffers, dst(0) and dst(1).
type setBuf struct{ hb hashBuf }

func getSetBuf() setBuf { return setBuf{getHashBuf()} }

// dst returns the i-th buffer (0 or 1) to build into.
func (b setBuf) dst(i int) []byte {
	if i == 0 {
		return *b.hb.a
	}
	return *b.hb.b
}

// keep keeps buffer 0 for reuse once v, built in it, has been stored.
func (b setBuf) keep(v setValue) {
	if len(v) > 0 {
		*b.hb.a = v[:0]
	}
}

func (b setBuf) put() { b.hb.put() }

// setWrite runs fn on set key for a command that changes one set: a
// missing key is passed as a nil set. fn returns the new value (nil to
// delete the key) and whether to store it, or an error to reply instead;
// setWrite stores it, keeping the key's TTL, and then calls done, unless
// the store refused.
func (c *client) setWrite(key []byte, fn func(s setValue, found bool, b setBuf) (setValue, bool, string), done func()) {
	now := time.Now().UnixMilli()
	sl := c.srv.keySlot(key)
	sl.Lock()
	defer sl.Unlock()
	s, expireAt, found, wrong := c.lookupSet(sl, key, now, false)
	if wrong {
		return
	}
	b := getSetBuf()
	defer b.put()
	ns, write, errReply := fn(s, found, b)
	if errReply != "" {
		c.replyError(errReply)
		return
	}
	if write {
		if !c.storeSet(sl, key, ns, expireAt, now) {
			return
		}
		b.keep(ns)
	}
	done()
}

// setRead runs fn on set key for a read-only command; a missing key is
// replied with missing without calling fn.
func (c *client) setRead(key []byte, missing func(), fn func(s setValue)) {
	now := time.Now().UnixMilli()
	sl := c.srv.keySlot(key)
	sl.Lock()
	defer sl.Unlock()
	s, _, found, wrong := c.lookupSet(sl, key, now, true)
	switch {
	case wrong:
	case !found:
		missing()
	default:
		fn(s)
	}
}

func cmdSadd(c *client, args [][]byte) {
	lim := c.srv.setLimits()
	added := 0
	c.setWrite(args[1], func(s setValue, found bool, b setBuf) (setValue, bool, string) {
		var ns setValue
		ok := true
		if !found {
			ns, ok = buildSet(b.dst(0), args[2:], lim)
			added = ns.len()
		} else {
			ns, added, ok = s.add(b.dst(0), args[2:], lim)
		}
		if !ok {
			return nil, false, errSlotFull
		}
		return ns, added > 0, ""
	}, func() { c.replyInt(int64(added)) })
}

func cmdSrem(c *client, args [][]byte) {
	removed := 0
	c.setWrite(args[1], func(s setValue, found bool, b setBuf) (setValue, bool, string) {
		if !found {
			return nil, false, ""
		}
		var ns setValue
		ns, removed = s.remove(b.dst(0), args[2:])
		return ns, removed > 0, ""
	}, func() { c.replyInt(int64(removed)) })
}

func cmdSmembers(c *client, args [][]byte) {
	c.setRead(args[1], func() { c.replyArray(0) }, c.replyMembers)
}

// replyMembers replies with every member of s in its order.
func (c *client) replyMembers(s setValue) {
	c.replyArray(s.len())
	s.each(func(m []byte) bool {
		c.replyBulk(m)
		return true
	})
}

func cmdSismember(c *client, args [][]byte) {
	c.setRead(args[1], func() { c.replyInt(0) }, func(s setValue) { c.replyBool(s.contains(args[2])) })
}

func cmdSmismember(c *client, args [][]byte) {
	c.setRead(args[1], func() {
		c.replyArray(len(args) - 2)
		for range args[2:] {
			c.replyInt(0)
		}
	}, func(s setValue) {
		c.replyArray(len(args) - 2)
		for _, m := range args[2:] {
			c.replyBool(s.contains(m))
		}
	})
}

func cmdScard(c *client, args [][]byte) {
	c.setRead(args[1], func() { c.replyInt(0) }, func(s setValue) { c.replyInt(int64(s.len())) })
}

// replyAsUnion replies with members as Redis replies a set it built by
// adding them to a new intset (SUNION, and SPOP or SRANDMEMBER taking a
// whole set): in ascending order when it stays an intset, else in hash
// order.
func (c *client) replyAsUnion(ms [][]byte, lim setLimits) {
	ns, ok := buildSet(nil, ms, lim)
	if !ok {
		c.replyError(errSlotFull)
		return
	}
	c.replyMembers(ns)
}

func cmdSpop(c *client, args [][]byte) {
	if len(args) > 3 {
		c.replyError(errSyntax)
		return
	}
	if len(args) == 3 {
		c.spopCount(args)
		return
	}
	var popped []byte
	c.setWrite(args[1], func(s setValue, found bool, b setBuf) (setValue, bool, string) {
		if !found {
			return nil, false, ""
		}
		i := rand.IntN(s.len())
		popped = bytes.Clone(s.member(i, nil))
		return s.without(b.dst(0), []int{i}), true, ""
	}, func() {
		if popped == nil {
			c.replyNull()
		} else {
			c.replyBulk(popped)
		}
	})
}

// spopCount is SPOP with a count: that many distinct random members
// removed, or the whole set.
func (c *client) spopCount(args [][]byte) {
	count, ok := parseInt(args[2])
	if !ok || count < 0 {
		c.replyError(errCountNotPositive)
		return
	}
	lim := c.srv.setLimits()
	var popped [][]byte
	whole := false
	c.setWrite(args[1], func(s setValue, found bool, b setBuf) (setValue, bool, string) {
		if !found || count == 0 {
			return nil, false, ""
		}
		n := s.len()
		if count >= int64(n) {
			popped, whole = cloneAll(s.members()), true
			return nil, true, ""
		}
		gone := randomDistinct(n, int(count))
		popped = make([][]byte, 0, count)
		for _, i := range gone {
			popped = append(popped, bytes.Clone(s.member(i, nil)))
		}
		slices.Sort(gone)
		return s.without(b.dst(0), gone), true, ""
	}, func() {
		if whole {
			c.replyAsUnion(popped, lim)
			return
		}
		c.replyArray(len(popped))
		for _, m := range popped {
			c.replyBulk(m)
		}
	})
}

// cloneAll copies every slice of ms.
func cloneAll(ms [][]byte) [][]byte {
	for i, m := range ms {
		ms[i] = bytes.Clone(m)
	}
	return ms
}

// randomDistinct returns k distinct random indexes below n (k < n), by a
// partial Fisher-Yates shuffle.
func randomDistinct(n, k int) []int {
	idx := make([]int, n)
	for i := range idx {
		idx[i] = i
	}
	for i := range k {
		j := i + rand.IntN(n-i)
		idx[i], idx[j] = idx[j], idx[i]
	}
	return idx[:k]
}

func cmdSrandmember(c *client, args [][]byte) {
	if len(args) > 3 {
		c.replyError(errSyntax)
		return
	}
	if len(args) == 2 {
		c.setRead(args[1], c.replyNull, func(s setValue) {
			var buf [20]byte
			c.replyBulk(s.member(rand.IntN(s.len()), buf[:0]))
		})
		return
	}
	count, ok := parseInt(args[2])
	if !ok {
		c.replyError(errNotInteger)
		return
	}
	if count == math.MinInt64 {
		c.replyError(errCountRange)
		return
	}
	c.setRead(args[1], func() { c.replyArray(0) }, func(s setValue) {
		n := s.len()
		var buf [20]byte
		switch {
		case count == 0:
			c.replyArray(0)
		case count < 0 || count == 1:
			// Independent picks, repeats allowed; a reply too large to
			// buffer is cut and the client closed.
			k := max(count, -count)
			c.replyArray(int(k))
			start := len(c.out)
			for range k {
				c.replyBulk(s.member(rand.IntN(n), buf[:0]))
				if len(c.out)-start > randomReplyLimit {
					c.closeAfter = true
					return
				}
			}
		case count >= int64(n):
			c.replyMembers(s)
		default:
			c.replyArray(int(count))
			for _, i := range randomDistinct(n, int(count)) {
				c.replyBulk(s.member(i, buf[:0]))
			}
		}
	})
}

func cmdSmove(c *client, args [][]byte) {
	src, dst, member := args[1], args[2], args[3]
	s := c.srv
	now := time.Now().UnixMilli()
	locks := s.lockKeys(args[:3], 1, 1)
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
	to, dstExp, dstFound, wrong := c.lookupSet(dstSl, dst, now, false)
	if wrong {
		return
	}
	if bytes.Equal(src, dst) {
		c.replyBool(from.contains(member))
		return
	}
	i, ok := from.find(member)
	if !ok {
		c.replyInt(0)
		return
	}
	b := getSetBuf()
	defer b.put()
	// Both new values are built before either is stored: storing one may
	// move the other's bytes.
	nfrom := from.without(b.dst(0), []int{i})
	var nto setValue
	lim := s.setLimits()
	if dstFound {
		nto, _, ok = to.add(b.dst(1), [][]byte{member}, lim)
	} else {
		nto, ok = buildSet(b.dst(1), [][]byte{member}, lim)
	}
	if !ok {
		c.replyError(errSlotFull)
		return
	}
	if !c.storeSet(srcSl, src, nfrom, srcExp, now) || !c.storeSet(dstSl, dst, nto, dstExp, now) {
		return
	}
	c.replyInt(1)
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
		first := sets[order[0]]
		for i := range first.len() {
			m := first.member(i, nil)
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
		for i := range sets[0].len() {
			m := sets[0].member(i, nil)
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
	locks := s.lockKeys(locked, 0, 1)
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
	b := getSetBuf()
	defer b.put()
	var ns setValue
	if len(ms) > 0 {
		if ns, ok = buildSet(b.dst(0), ms, lim); !ok {
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

func cmdSscan(c *client, args [][]byte) {
	cursor, ok := parseScanCursor(args[2])
	if !ok {
		c.replyError(errInvalidCursor)
		return
	}
	c.setRead(args[1], func() {
		c.replyArray(2)
		c.replyBulkString("0")
		c.replyArray(0)
	}, func(s setValue) {
		opts, ok := c.parseScanOptions(args[3:], false)
		if !ok {
			return
		}
		var ms [][]byte
		var next uint64
		if s.encoding() == setIntset {
			// As Redis with an intset: everything in one call.
			ms = s.members()
		} else {
			ms, next = s.scanTable(cursor, int(min(opts.count, math.MaxInt32)))
		}
		kept := ms[:0]
		for _, m := range ms {
			if !opts.usePattern || stringMatch(opts.pattern, m) {
				kept = append(kept, m)
			}
		}
		c.replyArray(2)
		c.replyBulkString(strconv.FormatUint(next, 10))
		c.replyArray(len(kept))
		for _, m := range kept {
			c.replyBulk(m)
		}
	})
}
