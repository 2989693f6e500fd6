package datanode

import (
	"bytes"
	"time"

	"github.com/chkv/chkv/datanode/store"
)

// Redis's error replies of the list commands.
const (
	errMustBePositive = "ERR value is out of range, must be positive"
	errIndexRange     = "ERR index out of range"
	errRankZero       = "ERR RANK can't be zero: use 1 to start from the first match, 2 from the second ... or use negative to start from the end of the list"
	errCountNegative  = "ERR COUNT can't be negative"
	errMaxlenNegative = "ERR MAXLEN can't be negative"
	errNumkeys        = "ERR numkeys should be greater than 0"
	errCountPositive  = "ERR count should be greater than 0"
)

// lookupList looks key up for a list command, with read's statistics and
// access recording when read is set (else as a write lookup). A key
// holding another type gets a WRONGTYPE reply, and wrong reports it.
func (c *client) lookupList(sl *store.Slot, key []byte, now int64, read bool) (l listValue, expireAt int64, found, wrong bool) {
	var v []byte
	var typ store.Type
	if read {
		v, expireAt, typ, found = c.srv.lookupReadTyped(sl, key, now)
	} else {
		v, expireAt, typ, found = sl.PeekTyped(key, now)
	}
	if found && typ != store.TypeList {
		c.replyError(errWrongType)
		return nil, 0, true, true
	}
	return listValue(v), expireAt, found, false
}

// listKey is a list key a write command works on, its slot locked. l is
// nil while the key does not exist.
type listKey struct {
	c        *client
	sl       *store.Slot
	key      []byte
	l        listValue
	expireAt int64
	now      int64
}

// openList looks key up for a write in its locked slot; on false the key
// holds another type and WRONGTYPE was replied.
func (c *client) openList(key []byte, now int64) (*listKey, bool) {
	sl := c.srv.keySlot(key)
	l, expireAt, found, wrong := c.lookupList(sl, key, now, false)
	if wrong {
		return nil, false
	}
	if !found {
		l = nil
	}
	return &listKey{c: c, sl: sl, key: key, l: l, expireAt: expireAt, now: now}, true
}

// reload looks the list up again, after a write to another key of its
// slot may have moved it.
func (k *listKey) reload() {
	v, _, _, found := k.sl.PeekTyped(k.key, k.now)
	if found {
		k.l = v
	} else {
		k.l = nil
	}
}

// push pushes elems at the head (one after another, as LPUSH) or the
// tail, creating the list if needed. On false it has replied an error.
func (k *listKey) push(elems [][]byte, atFront bool) bool {
	if k.l == nil {
		ordered := elems
		if atFront {
			ordered = make([][]byte, len(elems))
			for i, e := range elems {
				ordered[len(elems)-1-i] = e
			}
		}
		k.expireAt = 0
		return k.set(newList(ordered, 0))
	}
	need := pushSize(elems)
	front, back := k.l.spare()
	if (atFront && need <= front) || (!atFront && need <= back) {
		k.modify(func(l listValue) {
			if atFront {
				l.pushFront(elems)
			} else {
				l.pushBack(elems)
			}
		})
		return true
	}
	nl := k.l.grown(need, atFront)
	if atFront {
		nl.pushFront(elems)
	} else {
		nl.pushBack(elems)
	}
	return k.set(nl)
}

// modify runs fn on the list in place.
func (k *listKey) modify(fn func(l listValue)) {
	k.sl.Modify(k.key, k.now, func(v []byte) {
		fn(v)
		k.l = v
	})
}

// set stores l as the key's value, keeping its expiry; on false it has
// replied an error.
func (k *listKey) set(l listValue) bool {
	if err := k.sl.SetTyped(k.key, l, store.TypeList, k.expireAt, k.now); err != nil {
		k.c.replyStoreError(err)
		return false
	}
	k.reload()
	return true
}

// pop removes up to n elements from the head or the tail, calling fn with
// each in the order popped. fn must copy what it keeps.
func (k *listKey) pop(n int, atFront bool, fn func(elem []byte)) {
	k.modify(func(l listValue) {
		if atFront {
			l.popFront(n, fn)
		} else {
			l.popBack(n, fn)
		}
	})
}

// finish deletes the key when its list is empty and rebuilds a list left
// with too many spare bytes.
func (k *listKey) finish() {
	switch {
	case k.l == nil:
	case k.l.len() == 0:
		k.sl.Delete(k.key)
		k.l = nil
	case k.l.sparse():
		// Failing to shrink (a full slot) leaves a valid list.
		if k.sl.SetTyped(k.key, k.l.compacted(), store.TypeList, k.expireAt, k.now) == nil {
			k.reload()
		}
	}
}

// replace stores l, rebuilt by a write in the middle, or deletes the key
// when l is empty; on false it has replied an error.
func (k *listKey) replace(l listValue) bool {
	if l.len() == 0 {
		k.sl.Delete(k.key)
		k.l = nil
		return true
	}
	return k.set(l)
}

// withList locks key's slot and runs fn on the key for a write; on a
// WRONGTYPE it replies and does not call fn.
func (c *client) withList(key []byte, fn func(k *listKey)) {
	sl := c.srv.keySlot(key)
	sl.Lock()
	defer sl.Unlock()
	if k, ok := c.openList(key, time.Now().UnixMilli()); ok {
		fn(k)
	}
}

// listRead runs fn on list key for a read-only command; a missing key is
// replied with missing without calling fn.
func (c *client) listRead(key []byte, missing func(), fn func(l listValue)) {
	now := time.Now().UnixMilli()
	sl := c.srv.keySlot(key)
	sl.Lock()
	defer sl.Unlock()
	l, _, found, wrong := c.lookupList(sl, key, now, true)
	switch {
	case wrong:
	case !found:
		missing()
	default:
		fn(l)
	}
}

func cmdLpush(c *client, args [][]byte)  { c.pushGeneric(args, true, false) }
func cmdRpush(c *client, args [][]byte)  { c.pushGeneric(args, false, false) }
func cmdLpushx(c *client, args [][]byte) { c.pushGeneric(args, true, true) }
func cmdRpushx(c *client, args [][]byte) { c.pushGeneric(args, false, true) }

// pushGeneric pushes args[2:] onto list args[1]; with existing only when
// the list exists. It replies the list's new length.
func (c *client) pushGeneric(args [][]byte, atFront, existing bool) {
	c.withList(args[1], func(k *listKey) {
		if k.l == nil && existing {
			c.replyInt(0)
			return
		}
		if k.push(args[2:], atFront) {
			c.replyInt(int64(k.l.len()))
		}
	})
}

func cmdLpop(c *client, args [][]byte) { c.popGeneric(args, true) }
func cmdRpop(c *client, args [][]byte) { c.popGeneric(args, false) }

// popGeneric serves LPOP and RPOP, with their optional count.
func (c *client) popGeneric(args [][]byte, atFront bool) {
	if len(args) > 3 {
		c.replyError(arityError(lower(args[0])))
		return
	}
	count, hasCount := int64(1), len(args) == 3
	if hasCount {
		var ok bool
		if count, ok = parseInt(args[2]); !ok || count < 0 {
			c.replyError(errMustBePositive)
			return
		}
	}
	c.withList(args[1], func(k *listKey) {
		switch {
		case k.l == nil && hasCount:
			c.replyNullArray()
		case k.l == nil:
			c.replyNull()
		case !hasCount:
			k.pop(1, atFront, c.replyBulk)
			k.finish()
		default:
			c.replyArray(int(min(count, int64(k.l.len()))))
			k.pop(int(min(count, int64(k.l.len()))), atFront, c.replyBulk)
			k.finish()
		}
	})
}

// replyNullArray replies RESP2's null array.
func (c *client) replyNullArray() { c.out = append(c.out, "*-1\r\n"...) }

func cmdLlen(c *client, args [][]byte) {
	c.listRead(args[1], func() { c.replyInt(0) }, func(l listValue) { c.replyInt(int64(l.len())) })
}

func cmdLindex(c *client, args [][]byte) {
	c.listRead(args[1], c.replyNull, func(l listValue) {
		i, ok := parseInt(args[2])
		if !ok {
			c.replyError(errNotInteger)
			return
		}
		if i < 0 {
			i += int64(l.len())
		}
		if i < 0 || i >= int64(l.len()) {
			c.replyNull()
			return
		}
		c.replyBulk(l.index(int(i)))
	})
}

// listRange converts LRANGE/LTRIM's start and stop to element indexes
// of a list of n elements, as Redis does; ok is false for an empty range.
func listRange(start, stop int64, n int) (from, to int, ok bool) {
	size := int64(n)
	if start < 0 {
		start += size
	}
	if stop < 0 {
		stop += size
	}
	start = max(start, 0)
	if start > stop || start >= size {
		return 0, 0, false
	}
	stop = min(stop, size-1)
	return int(start), int(stop), true
}

// parseRange parses LRANGE/LTRIM's start and stop; on false it replied.
func (c *client) parseRange(a, b []byte) (start, stop int64, ok bool) {
	start, ok1 := parseInt(a)
	stop, ok2 := parseInt(b)
	if !ok1 || !ok2 {
		c.replyError(errNotInteger)
		return 0, 0, false
	}
	return start, stop, true
}

func cmdLrange(c *client, args [][]byte) {
	start, stop, ok := c.parseRange(args[2], args[3])
	if !ok {
		return
	}
	c.listRead(args[1], func() { c.replyArray(0) }, func(l listValue) {
		from, to, ok := listRange(start, stop, l.len())
		if !ok {
			c.replyArray(0)
			return
		}
		c.replyArray(to - from + 1)
		p := l.offset(from)
		for range to - from + 1 {
			var e []byte
			e, p = l.elemAt(p)
			c.replyBulk(e)
		}
	})
}

func cmdLtrim(c *client, args [][]byte) {
	start, stop, ok := c.parseRange(args[2], args[3])
	if !ok {
		return
	}
	c.withList(args[1], func(k *listKey) {
		if k.l != nil {
			if from, to, ok := listRange(start, stop, k.l.len()); ok {
				k.modify(func(l listValue) { l.keepRange(from, to) })
			} else {
				k.modify(func(l listValue) { l.setHeader(0, l.head(), l.head()) })
			}
			k.finish()
		}
		c.replyOK()
	})
}

func cmdLset(c *client, args [][]byte) {
	c.withList(args[1], func(k *listKey) {
		if k.l == nil {
			c.replyError(errNoSuchKey)
			return
		}
		i, ok := parseInt(args[2])
		if !ok {
			c.replyError(errNotInteger)
			return
		}
		n := int64(k.l.len())
		if i < 0 {
			i += n
		}
		if i < 0 || i >= n {
			c.replyError(errIndexRange)
			return
		}
		value := args[3]
		p := k.l.offset(int(i))
		if old, end := k.l.elemAt(p); len(old) == len(value) {
			off := p + (end-p-len(old))/2 // past the length prefix
			k.modify(func(l listValue) { copy(l[off:], value) })
			c.replyOK()
			return
		}
		nl := k.l.rebuilt(func(j int, e []byte) [][]byte {
			if j == int(i) {
				return [][]byte{value}
			}
			return [][]byte{e}
		})
		if k.replace(nl) {
			c.replyOK()
		}
	})
}

func cmdLinsert(c *client, args [][]byte) {
	var after bool
	switch {
	case equalFold(args[2], "after"):
		after = true
	case equalFold(args[2], "before"):
	default:
		c.replyError(errSyntax)
		return
	}
	pivot, value := args[3], args[4]
	c.withList(args[1], func(k *listKey) {
		if k.l == nil {
			c.replyInt(0)
			return
		}
		at := -1
		k.l.each(func(i int, e []byte, _, _ int) bool {
			if bytes.Equal(e, pivot) {
				at = i
				return false
			}
			return true
		})
		if at < 0 {
			c.replyInt(-1)
			return
		}
		nl := k.l.rebuilt(func(j int, e []byte) [][]byte {
			switch {
			case j != at:
				return [][]byte{e}
			case after:
				return [][]byte{e, value}
			default:
				return [][]byte{value, e}
			}
		})
		if k.replace(nl) {
			c.replyInt(int64(nl.len()))
		}
	})
}

func cmdLrem(c *client, args [][]byte) {
	count, ok := parseInt(args[2])
	if !ok {
		c.replyError(errNotInteger)
		return
	}
	elem := args[3]
	c.withList(args[1], func(k *listKey) {
		if k.l == nil {
			c.replyInt(0)
			return
		}
		// Mark the matches to remove: all of them, or the first |count|
		// from the head (count > 0) or the tail (count < 0).
		gone := map[int]bool{}
		limit := count
		if limit < 0 {
			limit = -limit
		}
		mark := func(i int, e []byte, _, _ int) bool {
			if bytes.Equal(e, elem) {
				gone[i] = true
			}
			return limit == 0 || int64(len(gone)) < limit
		}
		if count < 0 {
			k.l.eachBack(mark)
		} else {
			k.l.each(mark)
		}
		if len(gone) > 0 {
			nl := k.l.rebuilt(func(j int, e []byte) [][]byte {
				if gone[j] {
					return nil
				}
				return [][]byte{e}
			})
			if !k.replace(nl) {
				return
			}
		}
		c.replyInt(int64(len(gone)))
	})
}

// lposOptions are LPOS's RANK, COUNT and MAXLEN; count is -1 without
// COUNT.
type lposOptions struct {
	rank, count, maxlen int64
}

// parseLposOptions parses LPOS's options as Redis does; on false it
// replied an error.
func (c *client) parseLposOptions(args [][]byte) (lposOptions, bool) {
	o := lposOptions{rank: 1, count: -1}
	for j := 0; j < len(args); j++ {
		more := j+1 < len(args)
		var ok bool
		switch {
		case equalFold(args[j], "rank") && more:
			// Redis 7.0 takes any rank but 0: -2^63, whose negation
			// overflows, matches from the tail as -1 does.
			j++
			if o.rank, ok = parseInt(args[j]); !ok {
				c.replyError(errNotInteger)
				return o, false
			}
			if o.rank == 0 {
				c.replyError(errRankZero)
				return o, false
			}
		case equalFold(args[j], "count") && more:
			j++
			if o.count, ok = parseInt(args[j]); !ok || o.count < 0 {
				c.replyError(errCountNegative)
				return o, false
			}
		case equalFold(args[j], "maxlen") && more:
			j++
			if o.maxlen, ok = parseInt(args[j]); !ok || o.maxlen < 0 {
				c.replyError(errMaxlenNegative)
				return o, false
			}
		default:
			c.replyError(errSyntax)
			return o, false
		}
	}
	return o, true
}

func cmdLpos(c *client, args [][]byte) {
	o, ok := c.parseLposOptions(args[3:])
	if !ok {
		return
	}
	elem := args[2]
	missing := c.replyNull
	if o.count != -1 {
		missing = func() { c.replyArray(0) }
	}
	c.listRead(args[1], missing, func(l listValue) {
		var found []int64
		matches, scanned := int64(0), int64(0)
		visit := func(i int, e []byte, _, _ int) bool {
			if o.maxlen != 0 && scanned >= o.maxlen {
				return false
			}
			scanned++
			if !bytes.Equal(e, elem) {
				return true
			}
			matches++
			if matches < max(o.rank, -o.rank) {
				return true
			}
			found = append(found, int64(i))
			return o.count == 0 || int64(len(found)) < max(o.count, 1)
		}
		if o.rank < 0 {
			l.eachBack(visit)
		} else {
			l.each(visit)
		}
		if o.count == -1 {
			if len(found) == 0 {
				c.replyNull()
			} else {
				c.replyInt(found[0])
			}
			return
		}
		c.replyArray(len(found))
		for _, i := range found {
			c.replyInt(i)
		}
	})
}

// parseWhere parses LEFT or RIGHT; on false it replied a syntax error.
func (c *client) parseWhere(arg []byte) (atFront, ok bool) {
	switch {
	case equalFold(arg, "left"):
		return true, true
	case equalFold(arg, "right"):
		return false, true
	}
	c.replyError(errSyntax)
	return false, false
}

func cmdLmove(c *client, args [][]byte) {
	from, ok := c.parseWhere(args[3])
	if !ok {
		return
	}
	to, ok := c.parseWhere(args[4])
	if !ok {
		return
	}
	c.lmove(args[1], args[2], from, to)
}

func cmdRpoplpush(c *client, args [][]byte) { c.lmove(args[1], args[2], false, true) }

// lmove pops an element from src's head or tail and pushes it onto dst's,
// atomically, and replies it.
func (c *client) lmove(srcKey, dstKey []byte, from, to bool) {
	s := c.srv
	now := time.Now().UnixMilli()
	locks := s.lockKeys([][]byte{srcKey, dstKey}, 0, 1)
	defer locks.release()
	src, ok := c.openList(srcKey, now)
	if !ok {
		return
	}
	if src.l == nil {
		c.replyNull()
		return
	}
	dst := src
	if !bytes.Equal(srcKey, dstKey) {
		if dst, ok = c.openList(dstKey, now); !ok {
			return
		}
	}
	var elem []byte
	src.pop(1, from, func(e []byte) { elem = append([]byte(nil), e...) })
	if dst != src {
		dst.reload()
	}
	if !dst.push([][]byte{elem}, to) {
		// The destination's slot is full: put the element back where it
		// was, in the room its pop left.
		src.reload()
		src.push([][]byte{elem}, from)
		return
	}
	src.reload()
	src.finish()
	c.replyBulk(elem)
}

func cmdLmpop(c *client, args [][]byte) {
	numkeys, ok := parseInt(args[1])
	if !ok || numkeys < 1 {
		c.replyError(errNumkeys)
		return
	}
	if numkeys >= int64(len(args))-2 {
		c.replyError(errSyntax)
		return
	}
	whereAt := 2 + int(numkeys)
	atFront, ok := c.parseWhere(args[whereAt])
	if !ok {
		return
	}
	count := int64(-1)
	for j := whereAt + 1; j < len(args); j++ {
		if count == -1 && equalFold(args[j], "count") && j+1 < len(args) {
			j++
			if count, ok = parseInt(args[j]); !ok || count < 1 {
				c.replyError(errCountPositive)
				return
			}
			continue
		}
		c.replyError(errSyntax)
		return
	}
	count = max(count, 1)
	s := c.srv
	now := time.Now().UnixMilli()
	locks := s.lockKeys(args[:whereAt], 2, 1)
	defer locks.release()
	for _, key := range args[2:whereAt] {
		k, ok := c.openList(key, now)
		if !ok {
			return
		}
		if k.l == nil {
			continue
		}
		n := int(min(count, int64(k.l.len())))
		c.replyArray(2)
		c.replyBulk(key)
		c.replyArray(n)
		k.pop(n, atFront, c.replyBulk)
		k.finish()
		return
	}
	c.replyNullArray()
}
