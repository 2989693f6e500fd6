package datanode

import (
	"bytes"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/tidwall/redcon"

	"github.com/chkv/chkv/common/slot"
	"github.com/chkv/chkv/datanode/store"
)

// keyCommands are the commands of Redis's "generic" group.
func keyCommands() []*command {
	const expireOpts = " [NX | XX | GT | LT]"
	return []*command{
		{name: "del", arity: -2, flags: flagWrite, firstKey: 1, lastKey: -1, keyStep: 1, run: cmdDel,
			doc: commandDoc{"generic", "Deletes one or more keys.", "1.0.0", "O(N) where N is the number of keys that will be removed. When a key to remove holds a value other than a string, the individual complexity for this key is O(M) where M is the number of elements in the list, set, sorted set or hash. Removing a single key that holds a string value is O(1).", "key [key ...]"}},
		{name: "unlink", arity: -2, flags: flagWrite | flagFast, firstKey: 1, lastKey: -1, keyStep: 1, run: cmdDel,
			doc: commandDoc{"generic", "Asynchronously deletes one or more keys.", "4.0.0", "O(1) for each key removed regardless of its size. Then the command does O(N) work in a different thread in order to reclaim memory, where N is the number of allocations the deleted objects where composed of.", "key [key ...]"}},
		{name: "exists", arity: -2, flags: flagReadOnly | flagFast, firstKey: 1, lastKey: -1, keyStep: 1, run: cmdExists,
			doc: commandDoc{"generic", "Determines whether one or more keys exist.", "1.0.0", "O(N) where N is the number of keys to check.", "key [key ...]"}},
		{name: "touch", arity: -2, flags: flagReadOnly | flagFast, firstKey: 1, lastKey: -1, keyStep: 1, run: cmdTouch,
			doc: commandDoc{"generic", "Returns the number of existing keys out of those specified after updating the time they were last accessed.", "3.2.1", "O(N) where N is the number of keys that will be touched.", "key [key ...]"}},
		{name: "expire", arity: -3, flags: flagWrite | flagFast, firstKey: 1, lastKey: 1, keyStep: 1, run: cmdExpire,
			doc: commandDoc{"generic", "Sets the expiration time of a key in seconds.", "1.0.0", "O(1)", "key seconds" + expireOpts}},
		{name: "pexpire", arity: -3, flags: flagWrite | flagFast, firstKey: 1, lastKey: 1, keyStep: 1, run: cmdPexpire,
			doc: commandDoc{"generic", "Sets the expiration time of a key in milliseconds.", "2.6.0", "O(1)", "key milliseconds" + expireOpts}},
		{name: "expireat", arity: -3, flags: flagWrite | flagFast, firstKey: 1, lastKey: 1, keyStep: 1, run: cmdExpireat,
			doc: commandDoc{"generic", "Sets the expiration time of a key to a Unix timestamp.", "1.2.0", "O(1)", "key unix-time-seconds" + expireOpts}},
		{name: "pexpireat", arity: -3, flags: flagWrite | flagFast, firstKey: 1, lastKey: 1, keyStep: 1, run: cmdPexpireat,
			doc: commandDoc{"generic", "Sets the expiration time of a key to a Unix milliseconds timestamp.", "2.6.0", "O(1)", "key unix-time-milliseconds" + expireOpts}},
		{name: "expiretime", arity: 2, flags: flagReadOnly | flagFast, firstKey: 1, lastKey: 1, keyStep: 1, run: cmdExpiretime,
			doc: commandDoc{"generic", "Returns the expiration time of a key as a Unix timestamp.", "7.0.0", "O(1)", "key"}},
		{name: "pexpiretime", arity: 2, flags: flagReadOnly | flagFast, firstKey: 1, lastKey: 1, keyStep: 1, run: cmdPexpiretime,
			doc: commandDoc{"generic", "Returns the expiration time of a key as a Unix milliseconds timestamp.", "7.0.0", "O(1)", "key"}},
		{name: "ttl", arity: 2, flags: flagReadOnly | flagFast, firstKey: 1, lastKey: 1, keyStep: 1, run: cmdTTL,
			doc: commandDoc{"generic", "Returns the expiration time in seconds of a key.", "1.0.0", "O(1)", "key"}},
		{name: "pttl", arity: 2, flags: flagReadOnly | flagFast, firstKey: 1, lastKey: 1, keyStep: 1, run: cmdPTTL,
			doc: commandDoc{"generic", "Returns the expiration time in milliseconds of a key.", "2.6.0", "O(1)", "key"}},
		{name: "persist", arity: 2, flags: flagWrite | flagFast, firstKey: 1, lastKey: 1, keyStep: 1, run: cmdPersist,
			doc: commandDoc{"generic", "Removes the expiration time of a key.", "2.2.0", "O(1)", "key"}},
		{name: "type", arity: 2, flags: flagReadOnly | flagFast, firstKey: 1, lastKey: 1, keyStep: 1, run: cmdType,
			doc: commandDoc{"generic", "Determines the type of value stored at a key.", "1.0.0", "O(1)", "key"}},
		{name: "rename", arity: 3, flags: flagWrite, firstKey: 1, lastKey: 2, keyStep: 1, run: cmdRename,
			doc: commandDoc{"generic", "Renames a key and overwrites the destination.", "1.0.0", "O(1)", "key newkey"}},
		{name: "renamenx", arity: 3, flags: flagWrite | flagFast, firstKey: 1, lastKey: 2, keyStep: 1, run: cmdRenamenx,
			doc: commandDoc{"generic", "Renames a key only when the target key name doesn't exist.", "1.0.0", "O(1)", "key newkey"}},
		{name: "keys", arity: 2, flags: flagReadOnly, run: cmdKeys,
			doc: commandDoc{"generic", "Returns all key names that match a pattern.", "1.0.0", "O(N) with N being the number of keys in the database, under the assumption that the key names in the database and the given pattern have limited length.", "pattern"}},
		{name: "scan", arity: -2, flags: flagReadOnly, run: cmdScan,
			doc: commandDoc{"generic", "Iterates over the key names in the database.", "2.8.0", "O(1) for every call. O(N) for a complete iteration, including enough command calls for the cursor to return back to 0. N is the number of elements inside the collection.", "cursor [MATCH pattern] [COUNT count] [TYPE type]"}},
		{name: "randomkey", arity: 1, flags: flagReadOnly, run: cmdRandomkey,
			doc: commandDoc{"generic", "Returns a random key name from the database.", "1.0.0", "O(1)", ""}},
	}
}

// keySlot returns the store slot holding key; callers lock it.
func (s *Server) keySlot(key []byte) *store.Slot { return s.store.Slot(slot.Of(key)) }

// lookupRead is Redis's lookupKeyRead on a locked slot: it records the
// access and counts a keyspace hit or miss.
func (s *Server) lookupRead(sl *store.Slot, key []byte, now int64) ([]byte, int64, bool) {
	v, expireAt, ok := sl.Get(key, now)
	s.countLookup(ok)
	return v, expireAt, ok
}

// lookupReadTyped is lookupRead that also returns the value's type.
func (s *Server) lookupReadTyped(sl *store.Slot, key []byte, now int64) ([]byte, int64, store.Type, bool) {
	v, expireAt, typ, ok := sl.GetTyped(key, now)
	s.countLookup(ok)
	return v, expireAt, typ, ok
}

// lookupTyped looks key up for a command on values of type want, with
// lookupRead's statistics and access recording when read is set (else as
// a write lookup, which records neither). A key holding another type gets
// a WRONGTYPE reply, and wrong reports it.
func (c *client) lookupTyped(sl *store.Slot, key []byte, now int64, read bool, want store.Type) (v []byte, expireAt int64, found, wrong bool) {
	var typ store.Type
	if read {
		v, expireAt, typ, found = c.srv.lookupReadTyped(sl, key, now)
	} else {
		v, expireAt, typ, found = sl.PeekTyped(key, now)
	}
	if found && typ != want {
		c.replyError(errWrongType)
		return nil, 0, true, true
	}
	return v, expireAt, found, false
}

// lookupString is lookupRead for a command on strings: a key holding
// another type gets a WRONGTYPE reply, and wrong reports it.
func (c *client) lookupString(sl *store.Slot, key []byte, now int64) (v []byte, expireAt int64, found, wrong bool) {
	v, expireAt, typ, found := c.srv.lookupReadTyped(sl, key, now)
	if found && typ != store.TypeString {
		c.replyError(errWrongType)
		return nil, 0, true, true
	}
	return v, expireAt, found, false
}

// peekString is lookupString for a write: no access recorded, no stats.
func (c *client) peekString(sl *store.Slot, key []byte, now int64) (v []byte, expireAt int64, found, wrong bool) {
	v, expireAt, typ, found := sl.PeekTyped(key, now)
	if found && typ != store.TypeString {
		c.replyError(errWrongType)
		return nil, 0, true, true
	}
	return v, expireAt, found, false
}

// peekRead is Redis's lookupKeyRead with LOOKUP_NOTOUCH: it counts a
// keyspace hit or miss but leaves the key's access time alone.
func (s *Server) peekRead(sl *store.Slot, key []byte, now int64) ([]byte, int64, bool) {
	v, expireAt, ok := sl.Peek(key, now)
	s.countLookup(ok)
	return v, expireAt, ok
}

func (s *Server) countLookup(hit bool) {
	if hit {
		s.stats.keyspaceHits.Add(1)
	} else {
		s.stats.keyspaceMisses.Add(1)
	}
}

// keyLocks holds the slot locks a multi-key command took.
type keyLocks struct {
	one    *store.Slot // the only slot involved, or nil
	unlock func()      // from LockSlots when several slots are involved
}

// lockKeys locks the slots of the keys args[first], args[first+step], … in
// ascending order, so that the command sees and changes them atomically.
// Keys that all share a slot (the common case) take one lock without
// allocating.
func (s *Server) lockKeys(args [][]byte, first, step int) keyLocks {
	id := slot.Of(args[first])
	single := true
	for i := first + step; i < len(args); i += step {
		if slot.Of(args[i]) != id {
			single = false
			break
		}
	}
	if single {
		sl := s.store.Slot(id)
		sl.Lock()
		return keyLocks{one: sl}
	}
	ids := make([]int, 0, (len(args)-first+step-1)/step)
	for i := first; i < len(args); i += step {
		ids = append(ids, slot.Of(args[i]))
	}
	return keyLocks{unlock: s.store.LockSlots(ids)}
}

// release unlocks what lockKeys locked (nothing inside EXEC).
func (l keyLocks) release() {
	if l.one != nil {
		l.one.Unlock()
	} else if l.unlock != nil {
		l.unlock()
	}
}

// cmdDel serves DEL and UNLINK: values are freed by the garbage collector
// either way.
func cmdDel(c *client, args [][]byte) {
	s := c.srv
	now := time.Now().UnixMilli()
	locks := c.lockKeys(args, 1, 1)
	deleted := 0
	for _, key := range args[1:] {
		sl := s.keySlot(key)
		if _, _, ok := sl.Peek(key, now); ok {
			sl.Delete(key)
			deleted++
		}
	}
	locks.release()
	c.replyInt(int64(deleted))
}

func cmdExists(c *client, args [][]byte) {
	s := c.srv
	now := time.Now().UnixMilli()
	locks := c.lockKeys(args, 1, 1)
	n := 0
	for _, key := range args[1:] {
		if _, _, ok := s.peekRead(s.keySlot(key), key, now); ok {
			n++
		}
	}
	locks.release()
	c.replyInt(int64(n))
}

func cmdTouch(c *client, args [][]byte) {
	s := c.srv
	now := time.Now().UnixMilli()
	locks := c.lockKeys(args, 1, 1)
	n := 0
	for _, key := range args[1:] {
		if _, _, ok := s.lookupRead(s.keySlot(key), key, now); ok {
			n++
		}
	}
	locks.release()
	c.replyInt(int64(n))
}

// Options of the EXPIRE family.
const (
	expireNX = 1 << iota
	expireXX
	expireGT
	expireLT
)

func cmdExpire(c *client, args [][]byte) {
	c.expireGeneric("expire", args, time.Now().UnixMilli(), true)
}

func cmdPexpire(c *client, args [][]byte) {
	c.expireGeneric("pexpire", args, time.Now().UnixMilli(), false)
}

func cmdExpireat(c *client, args [][]byte) { c.expireGeneric("expireat", args, 0, true) }

func cmdPexpireat(c *client, args [][]byte) { c.expireGeneric("pexpireat", args, 0, false) }

// expireGeneric is Redis's expireGenericCommand: args[2] is a time in
// seconds or milliseconds, relative to base (Unix ms; 0 for the *AT forms).
// A time already past deletes the key.
func (c *client) expireGeneric(name string, args [][]byte, base int64, seconds bool) {
	flags := 0
	for _, opt := range args[3:] {
		switch {
		case equalFold(opt, "nx"):
			flags |= expireNX
		case equalFold(opt, "xx"):
			flags |= expireXX
		case equalFold(opt, "gt"):
			flags |= expireGT
		case equalFold(opt, "lt"):
			flags |= expireLT
		default:
			c.replyError("ERR Unsupported option " + string(opt))
			return
		}
	}
	if flags&expireNX != 0 && flags&(expireXX|expireGT|expireLT) != 0 {
		c.replyError(errExpireNXCombo)
		return
	}
	if flags&expireGT != 0 && flags&expireLT != 0 {
		c.replyError(errExpireGTLT)
		return
	}
	when, ok := parseInt(args[2])
	if !ok {
		c.replyError(errNotInteger)
		return
	}
	if seconds {
		if when > math.MaxInt64/1000 || when < math.MinInt64/1000 {
			c.replyError(expireError(name))
			return
		}
		when *= 1000
	}
	if when > math.MaxInt64-base {
		c.replyError(expireError(name))
		return
	}
	when += base

	key := args[1]
	now := time.Now().UnixMilli()
	sl := c.lockKeySlot(key)
	defer c.unlock(sl)
	_, current, found := sl.Get(key, now) // a write lookup: touches, no stats
	if !found {
		c.replyInt(0)
		return
	}
	if flags != 0 {
		hasTTL := current != 0
		switch {
		case flags&expireNX != 0 && hasTTL,
			flags&expireXX != 0 && !hasTTL,
			flags&expireGT != 0 && (!hasTTL || when <= current),
			flags&expireLT != 0 && hasTTL && when >= current:
			c.replyInt(0)
			return
		}
	}
	if when <= now {
		sl.Delete(key)
	} else if _, err := sl.SetExpire(key, when, now); err != nil {
		c.replyStoreError(err)
		return
	}
	c.replyInt(1)
}

// expireError is Redis's reply to an expire time that is out of range for
// the command name.
func expireError(name string) string { return fmt.Sprintf(errInvalidExpire, name) }

func cmdTTL(c *client, args [][]byte)         { c.ttlGeneric(args[1], false, false) }
func cmdPTTL(c *client, args [][]byte)        { c.ttlGeneric(args[1], true, false) }
func cmdExpiretime(c *client, args [][]byte)  { c.ttlGeneric(args[1], false, true) }
func cmdPexpiretime(c *client, args [][]byte) { c.ttlGeneric(args[1], true, true) }

// ttlGeneric serves TTL, PTTL, EXPIRETIME and PEXPIRETIME: -2 for a missing
// key, -1 for a key without TTL, else the remaining time (or the absolute
// expiry with abs) in seconds or, with ms, milliseconds.
func (c *client) ttlGeneric(key []byte, ms, abs bool) {
	s := c.srv
	now := time.Now().UnixMilli()
	sl := s.keySlot(key)
	c.lock(sl)
	_, expireAt, found := s.peekRead(sl, key, now)
	c.unlock(sl)
	switch {
	case !found:
		c.replyInt(-2)
	case expireAt == 0:
		c.replyInt(-1)
	default:
		ttl := expireAt
		if !abs {
			ttl = max(expireAt-now, 0)
		}
		if !ms {
			ttl = (ttl + 500) / 1000
		}
		c.replyInt(ttl)
	}
}

func cmdPersist(c *client, args [][]byte) {
	s, key := c.srv, args[1]
	now := time.Now().UnixMilli()
	sl := s.keySlot(key)
	c.lock(sl)
	_, expireAt, found := sl.Get(key, now)
	persisted := found && expireAt != 0
	var err error
	if persisted {
		_, err = sl.SetExpire(key, 0, now)
	}
	c.unlock(sl)
	if err != nil {
		c.replyStoreError(err)
		return
	}
	c.replyBool(persisted)
}

func cmdType(c *client, args [][]byte) {
	s, key := c.srv, args[1]
	now := time.Now().UnixMilli()
	sl := s.keySlot(key)
	c.lock(sl)
	_, _, typ, found := sl.PeekTyped(key, now)
	s.countLookup(found)
	c.unlock(sl)
	if found {
		c.replyStatus(typ.String())
	} else {
		c.replyStatus("none")
	}
}

func cmdRename(c *client, args [][]byte)   { c.renameGeneric(args, false) }
func cmdRenamenx(c *client, args [][]byte) { c.renameGeneric(args, true) }

// renameGeneric moves args[1]'s value and TTL to args[2], atomically; with
// nx it refuses to overwrite an existing args[2].
func (c *client) renameGeneric(args [][]byte, nx bool) {
	s, src, dst := c.srv, args[1], args[2]
	now := time.Now().UnixMilli()
	locks := c.lockKeys(args, 1, 1)
	defer locks.release()
	srcSlot, dstSlot := s.keySlot(src), s.keySlot(dst)
	v, expireAt, typ, found := srcSlot.PeekTyped(src, now)
	if !found {
		c.replyError(errNoSuchKey)
		return
	}
	if bytes.Equal(src, dst) {
		if nx {
			c.replyInt(0)
		} else {
			c.replyOK()
		}
		return
	}
	if nx {
		if _, _, exists := dstSlot.Peek(dst, now); exists {
			c.replyInt(0)
			return
		}
	}
	if srcSlot == dstSlot {
		v = bytes.Clone(v) // Set on the same slot may invalidate v
	}
	raw := srcSlot.Raw(src, now)
	if err := dstSlot.SetTyped(dst, v, typ, expireAt, now); err != nil {
		c.replyStoreError(err)
		return
	}
	if raw {
		dstSlot.MarkRaw(dst, now) // RENAME moves Redis's object, encoding and all
	}
	srcSlot.Delete(src)
	if nx {
		c.replyInt(1)
	} else {
		c.replyOK()
	}
}

func cmdKeys(c *client, args [][]byte) {
	s, pattern := c.srv, args[1]
	all := len(pattern) == 1 && pattern[0] == '*'
	now := time.Now().UnixMilli()
	start, n := len(c.out), 0
	emit := func(key, _ []byte, _ int64) bool {
		if all || stringMatch(pattern, key) {
			c.replyBulk(key)
			n++
		}
		return true
	}
	for id := range slot.Count {
		sl := s.store.Slot(id)
		if sl.Len() == 0 {
			continue
		}
		c.lock(sl)
		sl.ForEach(now, emit)
		c.unlock(sl)
	}
	var hdr [24]byte
	c.out = slices.Insert(c.out, start, redcon.AppendArray(hdr[:0], n)...)
}

func cmdRandomkey(c *client, _ [][]byte) {
	if key, ok := c.randomKey(time.Now().UnixMilli()); ok {
		c.replyBulk(key)
	} else {
		c.replyNull()
	}
}
