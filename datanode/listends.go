package datanode

import (
	"bytes"
	"time"
)

// The list commands that work at a list's ends: the pushes, the pops,
// LMOVE, RPOPLPUSH and LMPOP.

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
// atomically, and replies it. It says what it did, for BLMOVE: tryEmpty
// when src holds no list (a null was replied), tryError when src is not a
// list, tryFailed when dst is not a list (or its slot is full), tryServed
// when the element moved.
func (c *client) lmove(srcKey, dstKey []byte, from, to bool) tryResult {
	now := time.Now().UnixMilli()
	locks := c.lockKeys([][]byte{srcKey, dstKey}, 0, 1)
	defer locks.release()
	src, ok := c.openList(srcKey, now)
	if !ok {
		return tryError
	}
	if src.l == nil {
		c.replyNull()
		return tryEmpty
	}
	dst := src
	if !bytes.Equal(srcKey, dstKey) {
		if dst, ok = c.openList(dstKey, now); !ok {
			return tryFailed
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
		return tryFailed
	}
	src.reload()
	src.finish()
	c.replyBulk(elem)
	return tryServed
}

func cmdLmpop(c *client, args [][]byte) {
	keys, atFront, count, ok := c.parseMpop(args, 1)
	if !ok {
		return
	}
	now := time.Now().UnixMilli()
	locks := c.lockKeys(args[:2+len(keys)], 2, 1)
	defer locks.release()
	for _, key := range keys {
		k, ok := c.openList(key, now)
		if !ok {
			return
		}
		if k.l != nil {
			k.mpop(atFront, count)
			return
		}
	}
	c.replyNullArray()
}

// parseMpop parses the numkeys, keys, LEFT|RIGHT and COUNT of LMPOP and
// BLMPOP, numkeys at args[at]; on false it replied an error.
func (c *client) parseMpop(args [][]byte, at int) (keys [][]byte, atFront bool, count int64, ok bool) {
	numkeys, ok := parseInt(args[at])
	if !ok || numkeys < 1 {
		c.replyError(errNumkeys)
		return nil, false, 0, false
	}
	if numkeys >= int64(len(args)-at)-1 {
		c.replyError(errSyntax)
		return nil, false, 0, false
	}
	whereAt := at + 1 + int(numkeys)
	if atFront, ok = c.parseWhere(args[whereAt]); !ok {
		return nil, false, 0, false
	}
	count = -1
	for j := whereAt + 1; j < len(args); j++ {
		if count == -1 && equalFold(args[j], "count") && j+1 < len(args) {
			j++
			if count, ok = parseInt(args[j]); !ok || count < 1 {
				c.replyError(errCountPositive)
				return nil, false, 0, false
			}
			continue
		}
		c.replyError(errSyntax)
		return nil, false, 0, false
	}
	return args[at+1 : whereAt], atFront, max(count, 1), true
}

// mpop pops up to count elements of the non-empty list k and replies the
// key and them, as LMPOP does.
func (k *listKey) mpop(atFront bool, count int64) {
	c := k.c
	n := int(min(count, int64(k.l.len())))
	c.replyArray(2)
	c.replyBulk(k.key)
	c.replyArray(n)
	k.pop(n, atFront, c.replyBulk)
	k.finish()
}
