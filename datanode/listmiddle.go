package datanode

import "bytes"

// The list commands that read or change a list by index or by element:
// LLEN, LINDEX, LRANGE, LTRIM, LSET, LINSERT, LREM and LPOS.

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
