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
	sl := c.lockKeySlot(key)
	defer c.unlock(sl)
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
	c.setRead(args[1], func() { c.replySet(0) }, c.replyMembers)
}

// replyMembers replies with every member of s in its order, as a set.
func (c *client) replyMembers(s setValue) {
	c.replySet(s.len())
	c.replyEach(s)
}

// replyEach replies every member of s in its order.
func (c *client) replyEach(s setValue) {
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
		c.replySet(len(popped))
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
			c.replyArray(n)
			c.replyEach(s)
		default:
			c.replyArray(int(count))
			for _, i := range randomDistinct(n, int(count)) {
				c.replyBulk(s.member(i, buf[:0]))
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
