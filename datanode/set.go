package datanode

import (
	"bytes"
	"math"
	"strconv"
	"time"

	"github.com/chkv/chkv/datanode/store"
)

// Redis's error replies of the set commands.
const (
	errCountNotPositive = "ERR value is out of range, must be positive"
	errCountRange       = "ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807"
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

// lookupSet is lookupTyped for a set command.
func (c *client) lookupSet(sl *store.Slot, key []byte, now int64, read bool) (s setValue, expireAt int64, found, wrong bool) {
	v, expireAt, found, wrong := c.lookupTyped(sl, key, now, read, store.TypeSet)
	return setValue(v), expireAt, found, wrong
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

// setEdit is a set command's view of the set it changes: the key's slot,
// locked, and the key's value s (nil when missing).
type setEdit struct {
	c             *client
	sl            *store.Slot
	key           []byte
	s             setValue
	expireAt, now int64
}

// editSet runs fn on set key for a command that changes it, with the
// key's slot locked; on a key of another type it replies WRONGTYPE
// without calling fn.
func (c *client) editSet(key []byte, fn func(e *setEdit)) {
	now := time.Now().UnixMilli()
	sl := c.lockKeySlot(key)
	defer c.unlock(sl)
	e, ok := c.openSet(sl, key, now)
	if ok {
		fn(e)
	}
}

// openSet looks set key up in its slot sl, which the caller holds; on a
// key of another type it replies WRONGTYPE and returns false.
func (c *client) openSet(sl *store.Slot, key []byte, now int64) (*setEdit, bool) {
	s, expireAt, found, wrong := c.lookupSet(sl, key, now, false)
	if wrong {
		return nil, false
	}
	if !found {
		s = nil
	}
	return &setEdit{c: c, sl: sl, key: key, s: s, expireAt: expireAt, now: now}, true
}

// add adds ms to the set, creating it, and returns how many are new; on
// false it has replied an error. A hashtable takes them in place.
func (e *setEdit) add(ms [][]byte) (int, bool) {
	if e.s != nil && e.s.encoding() == setTable {
		pairs := make([][]byte, 0, 2*len(ms))
		for _, m := range ms {
			pairs = append(pairs, m, nil)
		}
		return e.c.setTableFields(e.sl, e.key, store.TypeSet, hashValue(e.s), pairs, e.expireAt, e.now)
	}
	lim := e.c.srv.setLimits()
	var ns setValue
	var added int
	ok := true
	if e.s == nil {
		ns, ok = buildSet(nil, ms, lim)
		added = ns.len()
	} else {
		ns, added, ok = e.s.add(nil, ms, lim)
	}
	if !ok {
		e.c.replyError(errSlotFull)
		return 0, false
	}
	if added > 0 && !e.c.storeSet(e.sl, e.key, ns, e.expireAt, e.now) {
		return 0, false
	}
	return added, true
}

// remove removes ms from the set, deleting it with its last member, and
// returns how many were there; on false it has replied an error. A
// hashtable loses them in place.
func (e *setEdit) remove(ms [][]byte) (int, bool) {
	switch {
	case e.s == nil:
		return 0, true
	case e.s.encoding() == setTable:
		return e.c.delTableFields(e.sl, e.key, store.TypeSet, hashValue(e.s), ms, e.expireAt, e.now)
	}
	ns, removed := e.s.remove(nil, ms)
	if removed > 0 && !e.c.storeSet(e.sl, e.key, ns, e.expireAt, e.now) {
		return 0, false
	}
	return removed, true
}

// setRead runs fn on set key for a read-only command; a missing key is
// replied with missing without calling fn.
func (c *client) setRead(key []byte, missing func(), fn func(s setValue)) {
	now := time.Now().UnixMilli()
	sl := c.lockKeySlot(key)
	defer c.unlock(sl)
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
	c.editSet(args[1], func(e *setEdit) {
		if added, ok := e.add(args[2:]); ok {
			c.replyInt(int64(added))
		}
	})
}

func cmdSrem(c *client, args [][]byte) {
	c.editSet(args[1], func(e *setEdit) {
		if removed, ok := e.remove(args[2:]); ok {
			c.replyInt(int64(removed))
		}
	})
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
	c.editSet(args[1], func(e *setEdit) {
		if e.s == nil {
			c.replyNull()
			return
		}
		popped := bytes.Clone(e.s.randomMember(nil))
		if _, ok := e.remove([][]byte{popped}); ok {
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
	c.editSet(args[1], func(e *setEdit) {
		if e.s == nil || count == 0 {
			c.replyArray(0)
			return
		}
		if count >= int64(e.s.len()) {
			popped := cloneAll(e.s.members())
			e.sl.Delete(e.key)
			c.replyAsUnion(popped, c.srv.setLimits())
			return
		}
		popped := cloneAll(e.s.randomDistinct(int(count)))
		if _, ok := e.remove(popped); ok {
			c.replyArray(len(popped))
			for _, m := range popped {
				c.replyBulk(m)
			}
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

func cmdSrandmember(c *client, args [][]byte) {
	if len(args) > 3 {
		c.replyError(errSyntax)
		return
	}
	if len(args) == 2 {
		c.setRead(args[1], c.replyNull, func(s setValue) {
			var buf [20]byte
			c.replyBulk(s.randomMember(buf[:0]))
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
				c.replyBulk(s.randomMember(buf[:0]))
				if len(c.out)-start > randomReplyLimit {
					c.closeAfter = true
					return
				}
			}
		case count >= int64(n):
			c.replyMembers(s)
		default:
			c.replyArray(int(count))
			for _, m := range s.randomDistinct(int(count)) {
				c.replyBulk(m)
			}
		}
	})
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
