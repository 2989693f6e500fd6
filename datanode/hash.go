package datanode

import (
	"math"
	"math/rand/v2"
	"strconv"
	"time"

	"github.com/chkv/chkv/datanode/store"
)

// hashCommands are the commands of Redis's "hash" group.
func hashCommands() []*command {
	const scanComplexity = "O(1) for every call. O(N) for a complete iteration, including enough command calls for the cursor to return back to 0. N is the number of elements inside the collection.."
	fieldValue := []docArg{
		{name: "key", typ: argKey},
		{name: "field_value", typ: argBlock, multiple: true, args: []docArg{{name: "field", typ: argString}, {name: "value", typ: argString}}},
	}
	keyField := []docArg{{name: "key", typ: argKey}, {name: "field", typ: argString}}
	keyOnly := []docArg{{name: "key", typ: argKey}}
	keyFields := []docArg{{name: "key", typ: argKey}, {name: "field", typ: argString, multiple: true}}
	rw := func(flags ...string) []string { return append([]string{"RW"}, flags...) }
	ro := func(flags ...string) []string { return append([]string{"RO"}, flags...) }
	const w, wf, r, rf = flagWrite | flagDenyOOM, flagWrite | flagDenyOOM | flagFast, flagReadOnly, flagReadOnly | flagFast
	cmd := func(name string, arity int, flags cmdFlag, run func(*client, [][]byte), keyFlags []string, doc commandDoc, extra *docExtra) *command {
		return &command{name: name, arity: arity, flags: flags, firstKey: 1, lastKey: 1, keyStep: 1, run: run, keyFlags: keyFlags, doc: doc, extra: extra}
	}
	list := []*command{
		cmd("hset", -4, wf, cmdHset, rw("update"),
			commandDoc{"hash", "Set the string value of a hash field", "2.0.0", "O(1) for each field/value pair added, so O(N) to add N field/value pairs when the command is called with multiple field/value pairs.", "key field value [field value ...]"},
			&docExtra{args: fieldValue, history: [][2]string{{"4.0.0", "Accepts multiple `field` and `value` arguments."}}}),
		cmd("hsetnx", 4, wf, cmdHsetnx, rw("insert"),
			commandDoc{"hash", "Set the value of a hash field, only if the field does not exist", "2.0.0", "O(1)", "key field value"},
			&docExtra{args: append(keyField[:2:2], docArg{name: "value", typ: argString})}),
		cmd("hget", 3, rf, cmdHget, ro("access"),
			commandDoc{"hash", "Get the value of a hash field", "2.0.0", "O(1)", "key field"}, &docExtra{args: keyField}),
		cmd("hmget", -3, rf, cmdHmget, ro("access"),
			commandDoc{"hash", "Get the values of all the given hash fields", "2.0.0", "O(N) where N is the number of fields being requested.", "key field [field ...]"}, &docExtra{args: keyFields}),
		cmd("hmset", -4, wf, cmdHmset, rw("update"),
			commandDoc{"hash", "Set multiple hash fields to multiple values", "2.0.0", "O(N) where N is the number of fields being set.", "key field value [field value ...]"},
			&docExtra{args: fieldValue, deprecatedSince: "4.0.0", replacedBy: "`HSET` with multiple field-value pairs"}),
		cmd("hgetall", 2, r, cmdHgetall, ro("access"),
			commandDoc{"hash", "Get all the fields and values in a hash", "2.0.0", "O(N) where N is the size of the hash.", "key"}, &docExtra{args: keyOnly, tips: []string{"nondeterministic_output_order"}}),
		cmd("hdel", -3, flagWrite|flagFast, cmdHdel, rw("delete"),
			commandDoc{"hash", "Delete one or more hash fields", "2.0.0", "O(N) where N is the number of fields to be removed.", "key field [field ...]"},
			&docExtra{args: keyFields, history: [][2]string{{"2.4.0", "Accepts multiple `field` arguments."}}}),
		cmd("hexists", 3, rf, cmdHexists, ro(),
			commandDoc{"hash", "Determine if a hash field exists", "2.0.0", "O(1)", "key field"}, &docExtra{args: keyField}),
		cmd("hlen", 2, rf, cmdHlen, ro(),
			commandDoc{"hash", "Get the number of fields in a hash", "2.0.0", "O(1)", "key"}, &docExtra{args: keyOnly}),
		cmd("hstrlen", 3, rf, cmdHstrlen, ro(),
			commandDoc{"hash", "Get the length of the value of a hash field", "3.2.0", "O(1)", "key field"}, &docExtra{args: keyField}),
		cmd("hkeys", 2, r, cmdHkeys, ro("access"),
			commandDoc{"hash", "Get all the fields in a hash", "2.0.0", "O(N) where N is the size of the hash.", "key"}, &docExtra{args: keyOnly, tips: []string{"nondeterministic_output_order"}}),
		cmd("hvals", 2, r, cmdHvals, ro("access"),
			commandDoc{"hash", "Get all the values in a hash", "2.0.0", "O(N) where N is the size of the hash.", "key"}, &docExtra{args: keyOnly, tips: []string{"nondeterministic_output_order"}}),
		cmd("hincrby", 4, wf, cmdHincrby, rw("access", "update"),
			commandDoc{"hash", "Increment the integer value of a hash field by the given number", "2.0.0", "O(1)", "key field increment"},
			&docExtra{args: append(keyField[:2:2], docArg{name: "increment", typ: argInteger})}),
		cmd("hincrbyfloat", 4, wf, cmdHincrbyfloat, rw("access", "update"),
			commandDoc{"hash", "Increment the float value of a hash field by the given amount", "2.6.0", "O(1)", "key field increment"},
			&docExtra{args: append(keyField[:2:2], docArg{name: "increment", typ: argDouble})}),
		cmd("hrandfield", -2, r, cmdHrandfield, ro("access"),
			commandDoc{"hash", "Get one or multiple random fields from a hash", "6.2.0", "O(N) where N is the number of fields returned", "key [count [WITHVALUES]]"},
			&docExtra{tips: []string{"nondeterministic_output"}, args: []docArg{{name: "key", typ: argKey},
				{name: "options", typ: argBlock, optional: true, args: []docArg{{name: "count", typ: argInteger}, {name: "withvalues", typ: argPureToken, token: "WITHVALUES", optional: true}}}}}),
		cmd("hscan", -3, r, cmdHscan, ro("access"),
			commandDoc{"hash", "Incrementally iterate hash fields and associated values", "2.8.0", scanComplexity, "key cursor [MATCH pattern] [COUNT count]"},
			&docExtra{tips: []string{"nondeterministic_output"}, args: []docArg{{name: "key", typ: argKey}, {name: "cursor", typ: argInteger},
				{name: "pattern", typ: argPattern, token: "MATCH", optional: true}, {name: "count", typ: argInteger, token: "COUNT", optional: true}}}),
	}
	return list
}

// Redis's error replies of the hash commands.
const (
	errHashNotInteger = "ERR hash value is not an integer"
	errHashNotFloat   = "ERR hash value is not a float"
	errNaNOrInfinity  = "ERR value is NaN or Infinity"

	// errHashTooLarge is CHKV's: a table-encoded hash addresses its
	// records with 32-bit offsets.
	errHashTooLarge = "ERR hash would exceed 4 GiB"
)

// hashLimits returns the current listpack limits.
func (s *Server) hashLimits() hashLimits {
	st := s.settings.Load()
	return hashLimits{entries: st.HashMaxListpackEntries, value: st.HashMaxListpackValue}
}

// lookupHash is lookupTyped for a hash command.
func (c *client) lookupHash(sl *store.Slot, key []byte, now int64, read bool) (h hashValue, expireAt int64, found, wrong bool) {
	v, expireAt, found, wrong := c.lookupTyped(sl, key, now, read, store.TypeHash)
	return hashValue(v), expireAt, found, wrong
}

// hashBuf is scratch space for building a new hash value.
type hashBuf struct{ a, b *[]byte }

func getHashBuf() hashBuf {
	get := func() *[]byte {
		p, _ := scratchPool.Get().(*[]byte)
		if p == nil {
			p = new([]byte)
		}
		return p
	}
	return hashBuf{get(), get()}
}

// hashBufMax is the largest hash buffer kept for reuse: building a large
// hash in a fresh buffer costs more than the copy itself.
const hashBufMax = 8 << 20

func (hb hashBuf) put() {
	for _, p := range []*[]byte{hb.a, hb.b} {
		if cap(*p) <= hashBufMax {
			scratchPool.Put(p)
		}
	}
}

// setFields sets the field/value pairs of pairs in h and returns the new
// value, in one of hb's buffers, and how many fields are new.
func (hb hashBuf) setFields(h hashValue, pairs [][]byte, lim hashLimits) (hashValue, int) {
	if len(pairs) > 2*manyFields {
		nh, added := h.setMany(*hb.a, pairs, lim)
		*hb.a = nh[:0]
		return nh, added
	}
	added := 0
	dst := hb.a
	for i := 0; i+1 < len(pairs); i += 2 {
		nh, isNew := h.set(*dst, pairs[i], pairs[i+1], lim)
		if isNew {
			added++
		}
		*dst = nh[:0]
		h = nh
		if dst == hb.a {
			dst = hb.b
		} else {
			dst = hb.a
		}
	}
	return h, added
}

// setInPlace overwrites the value of field f, found in hash key, with one
// of the same length, in place: a write that leaves the hash's size and
// encoding alone costs no rebuild. It reports whether it could.
func (c *client) setInPlace(sl *store.Slot, key []byte, f hashField, value []byte, now int64) bool {
	if len(f.value) != len(value) {
		return false
	}
	off := f.end - len(f.value)
	return sl.Modify(key, now, func(v []byte) { copy(v[off:], value) })
}

// storeHash writes h, a listpack-layout hash, as key's value (as a table
// if it passed the listpack limits), or deletes key when h has no fields.
func (c *client) storeHash(sl *store.Slot, key []byte, h hashValue, expireAt, now int64) bool {
	if h.len() == 0 {
		sl.Delete(key)
		return true
	}
	if h.encoding() == hashListpackFull {
		t, ok := h.rebuildTable(nil, 0, 0)
		if !ok {
			c.replyError(errHashTooLarge)
			return false
		}
		h = t
	}
	if err := sl.SetTyped(key, h, store.TypeHash, expireAt, now); err != nil {
		c.replyStoreError(err)
		return false
	}
	return true
}

// setHash sets the field/value pairs of pairs in hash key, whose value
// (if found) is h, and returns how many fields are new; on false it has
// replied an error.
func (c *client) setHash(sl *store.Slot, key []byte, h hashValue, found bool, pairs [][]byte, expireAt, now int64) (int, bool) {
	if !found {
		h = emptyHash()
	} else if h.encoding() == hashTable {
		return c.setTableFields(sl, key, store.TypeHash, h, pairs, expireAt, now)
	}
	hb := getHashBuf()
	defer hb.put()
	if len(pairs) == 2 {
		// One field, the common case: look it up once.
		f, exists := h.find(pairs[0])
		if exists && c.setInPlace(sl, key, f, pairs[1], now) {
			return 0, true
		}
		nh := h.setAt(*hb.a, f, exists, pairs[0], pairs[1], c.srv.hashLimits())
		*hb.a = nh[:0] // keep a grown buffer for reuse
		return int(boolInt(!exists)), c.storeHash(sl, key, nh, expireAt, now)
	}
	nh, added := hb.setFields(h, pairs, c.srv.hashLimits())
	return added, c.storeHash(sl, key, nh, expireAt, now)
}

// setTableFields sets the field/value pairs of pairs in key's value h, a
// table of type typ (a hash, or a set with empty values): in place while
// the value has room, then in a rebuilt value with room for the rest. It
// returns how many fields are new; on false it has replied an error.
func (c *client) setTableFields(sl *store.Slot, key []byte, typ store.Type, h hashValue, pairs [][]byte, expireAt, now int64) (int, bool) {
	added, done := 0, 0
	sl.Modify(key, now, func(v []byte) { added, done = hashValue(v).tableSetMany(pairs) })
	if done == len(pairs) {
		return added, true
	}
	more := 0
	size, fill, ok := h.grownWith(pairs[done:], &more)
	if !ok {
		c.replyError(errHashTooLarge)
		return 0, false
	}
	if err := sl.SetTypedFunc(key, size, typ, expireAt, now, fill); err != nil {
		c.replyStoreError(err)
		return 0, false
	}
	return added + more, true
}

// delTableFields deletes fields from key's value h, a table of type typ,
// in place, and returns how many were there; on false it has replied an
// error. It deletes the key with its last field, and compacts a table
// that has become mostly garbage.
func (c *client) delTableFields(sl *store.Slot, key []byte, typ store.Type, h hashValue, fields [][]byte, expireAt, now int64) (int, bool) {
	deleted := 0
	sl.Modify(key, now, func(v []byte) {
		for _, f := range fields {
			if hashValue(v).tableDel(f) {
				deleted++
			}
		}
	})
	switch {
	case h.len() == 0:
		sl.Delete(key)
	case h.wasteful():
		size, fill, _ := h.tablePlan(0, 0) // smaller than h
		if err := sl.SetTypedFunc(key, size, typ, expireAt, now, fill); err != nil {
			c.replyStoreError(err)
			return 0, false
		}
	}
	return deleted, true
}

func cmdHset(c *client, args [][]byte) {
	if len(args)%2 == 1 {
		c.replyError(arityError("hset"))
		return
	}
	if n, ok := c.hsetGeneric(args); ok {
		c.replyInt(int64(n))
	}
}

func cmdHmset(c *client, args [][]byte) {
	if len(args)%2 == 1 {
		c.replyError(arityError("hmset"))
		return
	}
	if _, ok := c.hsetGeneric(args); ok {
		c.replyOK()
	}
}

// hsetGeneric sets the field/value pairs args[2:] in hash args[1] and
// returns how many fields are new; on false it has replied an error.
func (c *client) hsetGeneric(args [][]byte) (int, bool) {
	key := args[1]
	now := time.Now().UnixMilli()
	sl := c.lockKeySlot(key)
	defer c.unlock(sl)
	h, expireAt, found, wrong := c.lookupHash(sl, key, now, false)
	if wrong {
		return 0, false
	}
	return c.setHash(sl, key, h, found, args[2:], expireAt, now)
}

func cmdHsetnx(c *client, args [][]byte) {
	key := args[1]
	now := time.Now().UnixMilli()
	sl := c.lockKeySlot(key)
	defer c.unlock(sl)
	h, expireAt, found, wrong := c.lookupHash(sl, key, now, false)
	if wrong {
		return
	}
	if found {
		if _, ok := h.get(args[2]); ok {
			c.replyInt(0)
			return
		}
	}
	if _, ok := c.setHash(sl, key, h, found, args[2:4], expireAt, now); ok {
		c.replyInt(1)
	}
}

func cmdHget(c *client, args [][]byte) {
	key := args[1]
	now := time.Now().UnixMilli()
	sl := c.lockKeySlot(key)
	defer c.unlock(sl)
	h, _, found, wrong := c.lookupHash(sl, key, now, true)
	if wrong {
		return
	}
	if found {
		if v, ok := h.get(args[2]); ok {
			c.replyBulk(v)
			return
		}
	}
	c.replyNull()
}

func cmdHmget(c *client, args [][]byte) {
	key := args[1]
	now := time.Now().UnixMilli()
	sl := c.lockKeySlot(key)
	defer c.unlock(sl)
	h, _, found, wrong := c.lookupHash(sl, key, now, true)
	if wrong {
		return
	}
	c.replyArray(len(args) - 2)
	for _, f := range args[2:] {
		if found {
			if v, ok := h.get(f); ok {
				c.replyBulk(v)
				continue
			}
		}
		c.replyNull()
	}
}

func cmdHdel(c *client, args [][]byte) {
	key := args[1]
	now := time.Now().UnixMilli()
	sl := c.lockKeySlot(key)
	defer c.unlock(sl)
	h, expireAt, found, wrong := c.lookupHash(sl, key, now, false)
	if wrong {
		return
	}
	if !found {
		c.replyInt(0)
		return
	}
	if h.encoding() == hashTable {
		if deleted, ok := c.delTableFields(sl, key, store.TypeHash, h, args[2:], expireAt, now); ok {
			c.replyInt(int64(deleted))
		}
		return
	}
	hb := getHashBuf()
	defer hb.put()
	deleted := 0
	dst := hb.a
	if len(args)-2 > manyFields {
		h, deleted = h.delMany(*dst, args[2:])
		if deleted > 0 {
			*dst = h[:0]
		}
		args = args[:2] // done
	}
	for _, f := range args[2:] {
		nh, ok := h.del(*dst, f)
		if !ok {
			continue
		}
		deleted++
		*dst = nh[:0]
		h = nh
		if dst == hb.a {
			dst = hb.b
		} else {
			dst = hb.a
		}
		if h.len() == 0 {
			break
		}
	}
	if deleted > 0 && !c.storeHash(sl, key, h, expireAt, now) {
		return
	}
	c.replyInt(int64(deleted))
}

// hashRead runs fn on hash key for a read-only command; a missing key is
// replied with missing (a RESP reply) without calling fn.
func (c *client) hashRead(key []byte, missing func(), fn func(h hashValue)) {
	now := time.Now().UnixMilli()
	sl := c.lockKeySlot(key)
	defer c.unlock(sl)
	h, _, found, wrong := c.lookupHash(sl, key, now, true)
	switch {
	case wrong:
	case !found:
		missing()
	default:
		fn(h)
	}
}

func cmdHexists(c *client, args [][]byte) {
	c.hashRead(args[1], func() { c.replyInt(0) }, func(h hashValue) {
		_, ok := h.get(args[2])
		c.replyBool(ok)
	})
}

func cmdHlen(c *client, args [][]byte) {
	c.hashRead(args[1], func() { c.replyInt(0) }, func(h hashValue) { c.replyInt(int64(h.len())) })
}

func cmdHstrlen(c *client, args [][]byte) {
	c.hashRead(args[1], func() { c.replyInt(0) }, func(h hashValue) {
		v, _ := h.get(args[2])
		c.replyInt(int64(len(v)))
	})
}

func cmdHkeys(c *client, args [][]byte)   { c.hashAll(args[1], true, false) }
func cmdHvals(c *client, args [][]byte)   { c.hashAll(args[1], false, true) }
func cmdHgetall(c *client, args [][]byte) { c.hashAll(args[1], true, true) }

// hashAll replies with every field, value or both of hash key.
func (c *client) hashAll(key []byte, fields, values bool) {
	c.hashRead(key, func() { c.replyArray(0) }, func(h hashValue) {
		n := h.len()
		if fields && values {
			n *= 2
		}
		c.replyArray(n)
		h.each(func(f hashField) bool {
			if fields {
				c.replyBulk(f.field)
			}
			if values {
				c.replyBulk(f.value)
			}
			return true
		})
	})
}

func cmdHincrby(c *client, args [][]byte) {
	incr, ok := parseInt(args[3])
	if !ok {
		c.replyError(errNotInteger)
		return
	}
	key, field := args[1], args[2]
	now := time.Now().UnixMilli()
	sl := c.lockKeySlot(key)
	defer c.unlock(sl)
	h, expireAt, found, wrong := c.lookupHash(sl, key, now, false)
	if wrong {
		return
	}
	if !found {
		h = emptyHash()
	}
	var value int64
	f, exists := h.find(field)
	if exists {
		if value, ok = parseInt(f.value); !ok {
			c.replyError(errHashNotInteger)
			return
		}
	}
	if (incr < 0 && value < 0 && incr < math.MinInt64-value) ||
		(incr > 0 && value > 0 && incr > math.MaxInt64-value) {
		c.replyError(errOverflow)
		return
	}
	value += incr
	var digits [20]byte
	out := strconv.AppendInt(digits[:0], value, 10)
	if _, ok := c.setHash(sl, key, h, found, [][]byte{field, out}, expireAt, now); ok {
		c.replyInt(value)
	}
}

func cmdHincrbyfloat(c *client, args [][]byte) {
	incr, ok := parseLongDouble(args[3])
	if !ok {
		c.replyError(errNotFloat)
		return
	}
	if incr.IsInf() {
		c.replyError(errNaNOrInfinity)
		return
	}
	key, field := args[1], args[2]
	now := time.Now().UnixMilli()
	sl := c.lockKeySlot(key)
	defer c.unlock(sl)
	h, expireAt, found, wrong := c.lookupHash(sl, key, now, false)
	if wrong {
		return
	}
	if !found {
		h = emptyHash()
	}
	value := newLongDouble()
	if v, ok := h.get(field); ok {
		if value, ok = parseLongDouble(v); !ok {
			c.replyError(errHashNotFloat)
			return
		}
	}
	sum, ok := addLongDouble(value, incr)
	if !ok {
		c.replyError(errIncrNaN)
		return
	}
	out := formatLongDouble(sum)
	if _, ok := c.setHash(sl, key, h, found, [][]byte{field, out}, expireAt, now); ok {
		c.replyBulk(out)
	}
}

// hrandfieldMaxCount bounds HRANDFIELD's count, as Redis: -LONG_MAX to
// LONG_MAX, half that with WITHVALUES.
const hrandfieldMaxCount = math.MaxInt64

func cmdHrandfield(c *client, args [][]byte) {
	if len(args) == 2 {
		c.hashRead(args[1], c.replyNull, func(h hashValue) { c.replyBulk(h.randomField().field) })
		return
	}
	count, ok := parseInt(args[2])
	if !ok {
		c.replyError(errNotInteger)
		return
	}
	if count < -hrandfieldMaxCount {
		c.replyError("ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807")
		return
	}
	withValues := false
	if len(args) > 4 || (len(args) == 4 && !equalFold(args[3], "withvalues")) {
		c.replyError(errSyntax)
		return
	} else if len(args) == 4 {
		withValues = true
		if count < -hrandfieldMaxCount/2 || count > hrandfieldMaxCount/2 {
			c.replyError("ERR value is out of range")
			return
		}
	}
	c.hashRead(args[1], func() { c.replyArray(0) }, func(h hashValue) {
		c.hrandfieldCount(h, count, withValues)
	})
}

// hrandfieldCount replies to HRANDFIELD with a count: with a negative
// count, that many fields chosen independently; with a positive one, that
// many distinct fields, or the whole hash.
func (c *client) hrandfieldCount(h hashValue, count int64, withValues bool) {
	per := 1
	if withValues {
		per = 2
	}
	reply := func(f hashField) {
		c.replyBulk(f.field)
		if withValues {
			c.replyBulk(f.value)
		}
	}
	if count == 0 {
		c.replyArray(0)
		return
	}
	if count < 0 || count == 1 {
		n := count
		if n < 0 {
			n = -n
		}
		c.replyArray(int(n) * per)
		if h.encoding() == hashTable {
			for range n {
				reply(h.randomField())
			}
			return
		}
		fs := h.fields()
		for range n {
			reply(fs[rand.IntN(len(fs))])
		}
		return
	}
	if h.encoding() == hashTable && 2*count <= int64(h.len()) {
		c.replyArray(int(count) * per)
		for _, f := range h.randomFields(int(count)) {
			reply(f)
		}
		return
	}
	fs := h.fields()
	if count >= int64(len(fs)) {
		c.replyArray(len(fs) * per)
		for _, f := range fs {
			reply(f)
		}
		return
	}
	// A partial Fisher-Yates shuffle picks count distinct fields.
	c.replyArray(int(count) * per)
	for i := range int(count) {
		j := i + rand.IntN(len(fs)-i)
		fs[i], fs[j] = fs[j], fs[i]
		reply(fs[i])
	}
}

func cmdHscan(c *client, args [][]byte) {
	cursor, ok := parseScanCursor(args[2])
	if !ok {
		c.replyError(errInvalidCursor)
		return
	}
	c.hashRead(args[1], func() {
		c.replyArray(2)
		c.replyBulkString("0")
		c.replyArray(0)
	}, func(h hashValue) {
		opts, ok := c.parseScanOptions(args[3:], false)
		if !ok {
			return
		}
		count, pattern, usePattern := opts.count, opts.pattern, opts.usePattern
		var fs []hashField
		var next uint64
		if h.encoding() == hashListpack {
			// As Redis with a listpack: everything in one call.
			fs = h.fields()
		} else {
			fs, next = h.scanFields(cursor, int(min(count, math.MaxInt32)))
		}
		kept := fs[:0]
		for _, f := range fs {
			if !usePattern || stringMatch(pattern, f.field) {
				kept = append(kept, f)
			}
		}
		c.replyArray(2)
		c.replyBulkString(strconv.FormatUint(next, 10))
		c.replyArray(2 * len(kept))
		for _, f := range kept {
			c.replyBulk(f.field)
			c.replyBulk(f.value)
		}
	})
}
