package datanode

import (
	"math"
	"strconv"
	"sync"
	"time"

	"github.com/chkv/chkv/datanode/store"
)

// stringCommands are the commands of Redis's "string" group.
func stringCommands() []*command {
	const (
		rangeComplexity = "O(N) where N is the length of the returned string. The complexity is ultimately determined by the returned length, but because creating a substring from an existing string is very cheap, it can be considered O(1) for small strings."
		expireSyntax    = "EX seconds | PX milliseconds | EXAT unix-time-seconds | PXAT unix-time-milliseconds"
	)
	return []*command{
		{name: "get", arity: 2, flags: flagReadOnly | flagFast, firstKey: 1, lastKey: 1, keyStep: 1, run: cmdGet,
			doc: commandDoc{"string", "Returns the string value of a key.", "1.0.0", "O(1)", "key"}},
		{name: "set", arity: -3, flags: flagWrite | flagDenyOOM, firstKey: 1, lastKey: 1, keyStep: 1, run: cmdSet,
			doc: commandDoc{"string", "Sets the string value of a key, ignoring its type. The key is created if it doesn't exist.", "1.0.0", "O(1)", "key value [NX | XX] [GET] [" + expireSyntax + " | KEEPTTL]"}},
		{name: "setnx", arity: 3, flags: flagWrite | flagDenyOOM | flagFast, firstKey: 1, lastKey: 1, keyStep: 1, run: cmdSetnx,
			doc: commandDoc{"string", "Set the string value of a key only when the key doesn't exist.", "1.0.0", "O(1)", "key value"}},
		{name: "setex", arity: 4, flags: flagWrite | flagDenyOOM, firstKey: 1, lastKey: 1, keyStep: 1, run: cmdSetex,
			doc: commandDoc{"string", "Sets the string value and expiration time of a key. Creates the key if it doesn't exist.", "2.0.0", "O(1)", "key seconds value"}},
		{name: "psetex", arity: 4, flags: flagWrite | flagDenyOOM, firstKey: 1, lastKey: 1, keyStep: 1, run: cmdPsetex,
			doc: commandDoc{"string", "Sets both string value and expiration time in milliseconds of a key. The key is created if it doesn't exist.", "2.6.0", "O(1)", "key milliseconds value"}},
		{name: "getset", arity: 3, flags: flagWrite | flagDenyOOM | flagFast, firstKey: 1, lastKey: 1, keyStep: 1, run: cmdGetset,
			doc: commandDoc{"string", "Returns the previous string value of a key after setting it to a new value.", "1.0.0", "O(1)", "key value"}},
		{name: "getdel", arity: 2, flags: flagWrite | flagFast, firstKey: 1, lastKey: 1, keyStep: 1, run: cmdGetdel,
			doc: commandDoc{"string", "Returns the string value of a key after deleting the key.", "6.2.0", "O(1)", "key"}},
		{name: "getex", arity: -2, flags: flagWrite | flagFast, firstKey: 1, lastKey: 1, keyStep: 1, run: cmdGetex,
			doc: commandDoc{"string", "Returns the string value of a key after setting its expiration time.", "6.2.0", "O(1)", "key [" + expireSyntax + " | PERSIST]"}},
		{name: "mget", arity: -2, flags: flagReadOnly | flagFast, firstKey: 1, lastKey: -1, keyStep: 1, run: cmdMget,
			doc: commandDoc{"string", "Atomically returns the string values of one or more keys.", "1.0.0", "O(N) where N is the number of keys to retrieve.", "key [key ...]"}},
		{name: "mset", arity: -3, flags: flagWrite | flagDenyOOM, firstKey: 1, lastKey: -1, keyStep: 2, run: cmdMset,
			doc: commandDoc{"string", "Atomically creates or modifies the string values of one or more keys.", "1.0.1", "O(N) where N is the number of keys to set.", "key value [key value ...]"}},
		{name: "msetnx", arity: -3, flags: flagWrite | flagDenyOOM, firstKey: 1, lastKey: -1, keyStep: 2, run: cmdMsetnx,
			doc: commandDoc{"string", "Atomically modifies the string values of one or more keys only when all keys don't exist.", "1.0.1", "O(N) where N is the number of keys to set.", "key value [key value ...]"}},
		{name: "incr", arity: 2, flags: flagWrite | flagDenyOOM | flagFast, firstKey: 1, lastKey: 1, keyStep: 1, run: cmdIncr,
			doc: commandDoc{"string", "Increments the integer value of a key by one. Uses 0 as initial value if the key doesn't exist.", "1.0.0", "O(1)", "key"}},
		{name: "decr", arity: 2, flags: flagWrite | flagDenyOOM | flagFast, firstKey: 1, lastKey: 1, keyStep: 1, run: cmdDecr,
			doc: commandDoc{"string", "Decrements the integer value of a key by one. Uses 0 as initial value if the key doesn't exist.", "1.0.0", "O(1)", "key"}},
		{name: "incrby", arity: 3, flags: flagWrite | flagDenyOOM | flagFast, firstKey: 1, lastKey: 1, keyStep: 1, run: cmdIncrby,
			doc: commandDoc{"string", "Increments the integer value of a key by a number. Uses 0 as initial value if the key doesn't exist.", "1.0.0", "O(1)", "key increment"}},
		{name: "decrby", arity: 3, flags: flagWrite | flagDenyOOM | flagFast, firstKey: 1, lastKey: 1, keyStep: 1, run: cmdDecrby,
			doc: commandDoc{"string", "Decrements a number from the integer value of a key. Uses 0 as initial value if the key doesn't exist.", "1.0.0", "O(1)", "key decrement"}},
		{name: "incrbyfloat", arity: 3, flags: flagWrite | flagDenyOOM | flagFast, firstKey: 1, lastKey: 1, keyStep: 1, run: cmdIncrbyfloat,
			doc: commandDoc{"string", "Increment the floating point value of a key by a number. Uses 0 as initial value if the key doesn't exist.", "2.6.0", "O(1)", "key increment"}},
		{name: "append", arity: 3, flags: flagWrite | flagDenyOOM | flagFast, firstKey: 1, lastKey: 1, keyStep: 1, run: cmdAppend,
			doc: commandDoc{"string", "Appends a string to the value of a key. Creates the key if it doesn't exist.", "2.0.0", "O(1). The amortized time complexity is O(1) assuming the appended value is small and the already present value is of any size, since the dynamic string library used by Redis will double the free space available on every reallocation.", "key value"}},
		{name: "strlen", arity: 2, flags: flagReadOnly | flagFast, firstKey: 1, lastKey: 1, keyStep: 1, run: cmdStrlen,
			doc: commandDoc{"string", "Returns the length of a string value.", "2.2.0", "O(1)", "key"}},
		{name: "getrange", arity: 4, flags: flagReadOnly, firstKey: 1, lastKey: 1, keyStep: 1, run: cmdGetrange,
			doc: commandDoc{"string", "Returns a substring of the string stored at a key.", "2.4.0", rangeComplexity, "key start end"}},
		{name: "substr", arity: 4, flags: flagReadOnly, firstKey: 1, lastKey: 1, keyStep: 1, run: cmdGetrange,
			doc: commandDoc{"string", "Returns a substring from a string value.", "1.0.0", rangeComplexity, "key start end"}},
		{name: "setrange", arity: 4, flags: flagWrite | flagDenyOOM, firstKey: 1, lastKey: 1, keyStep: 1, run: cmdSetrange,
			doc: commandDoc{"string", "Overwrites a part of a string value with another by an offset. Creates the key if it doesn't exist.", "2.2.0", "O(1), not counting the time taken to copy the new string in place. Usually, this string is very small so the amortized complexity is O(1). Otherwise, complexity is O(M) with M being the length of the value argument.", "key offset value"}},
	}
}

// Options of SET and GETEX, as Redis's OBJ_* flags.
const (
	optNX = 1 << iota
	optXX
	optEX
	optPX
	optKeepTTL
	optGet
	optEXAT
	optPXAT
	optPersist
)

// parseStringOptions parses the options of SET (isSet) or GETEX from
// args[from:], accepting exactly the combinations Redis's
// parseExtendedStringArgumentsOrReply accepts. It returns the option flags and
// the expire argument, or ok false for a syntax error.
func parseStringOptions(args [][]byte, from int, isSet bool) (flags int, expire []byte, ok bool) {
	const anyExpire = optEX | optPX | optEXAT | optPXAT
	for j := from; j < len(args); j++ {
		opt := args[j]
		hasNext := j+1 < len(args)
		switch {
		case isSet && equalFold(opt, "nx") && flags&optXX == 0:
			flags |= optNX
		case isSet && equalFold(opt, "xx") && flags&optNX == 0:
			flags |= optXX
		case isSet && equalFold(opt, "get"):
			flags |= optGet
		case isSet && equalFold(opt, "keepttl") && flags&(optPersist|anyExpire) == 0:
			flags |= optKeepTTL
		case !isSet && equalFold(opt, "persist") && flags&(optKeepTTL|anyExpire) == 0:
			flags |= optPersist
		case equalFold(opt, "ex") && hasNext && flags&(optKeepTTL|optPersist|optEXAT|optPX|optPXAT) == 0:
			flags |= optEX
			expire = args[j+1]
			j++
		case equalFold(opt, "px") && hasNext && flags&(optKeepTTL|optPersist|optEX|optEXAT|optPXAT) == 0:
			flags |= optPX
			expire = args[j+1]
			j++
		case equalFold(opt, "exat") && hasNext && flags&(optKeepTTL|optPersist|optEX|optPX|optPXAT) == 0:
			flags |= optEXAT
			expire = args[j+1]
			j++
		case equalFold(opt, "pxat") && hasNext && flags&(optKeepTTL|optPersist|optEX|optEXAT|optPX) == 0:
			flags |= optPXAT
			expire = args[j+1]
			j++
		default:
			return 0, nil, false
		}
	}
	return flags, expire, true
}

// expireArgument converts the expire argument of SET, SETEX, PSETEX or
// GETEX (the command name) into an absolute Unix time in milliseconds, as
// Redis's getExpireMillisecondsOrReply does. On failure it replies the error
// and returns false.
func (c *client) expireArgument(name string, arg []byte, flags int, now int64) (int64, bool) {
	ms, ok := parseInt(arg)
	if !ok {
		c.replyError(errNotInteger)
		return 0, false
	}
	seconds := flags&(optEX|optEXAT) != 0
	if ms <= 0 || (seconds && ms > math.MaxInt64/1000) {
		c.replyError(expireError(name))
		return 0, false
	}
	if seconds {
		ms *= 1000
	}
	if flags&(optEX|optPX) != 0 {
		ms += now // wraps on overflow, which the check below catches, as in Redis
	}
	if ms <= 0 {
		c.replyError(expireError(name))
		return 0, false
	}
	return ms, true
}

func cmdGet(c *client, args [][]byte) {
	s, key := c.srv, args[1]
	now := time.Now().UnixMilli()
	sl := s.keySlot(key)
	c.lock(sl)
	if v, _, ok, wrong := c.lookupString(sl, key, now); wrong {
	} else if ok {
		c.replyBulk(v)
	} else {
		c.replyNull()
	}
	c.unlock(sl)
}

func cmdSet(c *client, args [][]byte) {
	flags, expire, ok := parseStringOptions(args, 3, true)
	if !ok {
		c.replyError(errSyntax)
		return
	}
	c.setGeneric("set", flags, args[1], args[2], expire, false)
}

func cmdSetnx(c *client, args [][]byte) {
	c.setGeneric("setnx", optNX, args[1], args[2], nil, true)
}

func cmdSetex(c *client, args [][]byte) {
	c.setGeneric("setex", optEX, args[1], args[3], args[2], false)
}

func cmdPsetex(c *client, args [][]byte) {
	c.setGeneric("psetex", optPX, args[1], args[3], args[2], false)
}

// setGeneric is Redis's setGenericCommand: SET and its variants. With
// intReply the command answers 1 or 0 (SETNX) instead of OK or nil.
func (c *client) setGeneric(name string, flags int, key, val, expire []byte, intReply bool) {
	s := c.srv
	now := time.Now().UnixMilli()
	var when int64
	if expire != nil {
		var ok bool
		if when, ok = c.expireArgument(name, expire, flags, now); !ok {
			return
		}
	}
	sl := s.keySlot(key)
	c.lock(sl)
	var found bool
	var oldExpire int64
	mark := len(c.out) // where this command's reply starts
	if flags&optGet != 0 {
		var v []byte
		var wrong bool
		if v, oldExpire, found, wrong = c.lookupString(sl, key, now); wrong {
			c.unlock(sl)
			return
		} else if found {
			c.replyBulk(v)
		} else {
			c.replyNull()
		}
	} else {
		_, oldExpire, found = sl.Peek(key, now)
	}
	if (flags&optNX != 0 && found) || (flags&optXX != 0 && !found) {
		c.unlock(sl)
		switch {
		case flags&optGet != 0:
		case intReply:
			c.replyInt(0)
		default:
			c.replyNull()
		}
		return
	}
	expireAt := int64(0)
	switch {
	case expire != nil:
		expireAt = when
	case flags&optKeepTTL != 0:
		expireAt = oldExpire
	}
	if expire != nil && when <= now {
		// EXAT/PXAT in the past: Redis stores the key already expired, so
		// it is gone for every later command.
		sl.Delete(key)
	} else if err := sl.Set(key, val, expireAt, now); err != nil {
		c.unlock(sl)
		c.out = c.out[:mark] // drop the GET part: the command failed
		c.replyStoreError(err)
		return
	}
	c.unlock(sl)
	switch {
	case flags&optGet != 0:
	case intReply:
		c.replyInt(1)
	default:
		c.replyOK()
	}
}

func cmdGetset(c *client, args [][]byte) {
	key := args[1]
	now := time.Now().UnixMilli()
	sl := c.lockKeySlot(key)
	defer c.unlock(sl)
	mark := len(c.out)
	if v, _, ok, wrong := c.lookupString(sl, key, now); wrong {
		return
	} else if ok {
		c.replyBulk(v)
	} else {
		c.replyNull()
	}
	if err := sl.Set(key, args[2], 0, now); err != nil {
		c.out = c.out[:mark]
		c.replyStoreError(err)
	}
}

func cmdGetdel(c *client, args [][]byte) {
	s, key := c.srv, args[1]
	now := time.Now().UnixMilli()
	sl := s.keySlot(key)
	c.lock(sl)
	if v, _, ok, wrong := c.lookupString(sl, key, now); wrong {
	} else if ok {
		c.replyBulk(v)
		sl.Delete(key)
	} else {
		c.replyNull()
	}
	c.unlock(sl)
}

func cmdGetex(c *client, args [][]byte) {
	flags, expire, ok := parseStringOptions(args, 2, false)
	if !ok {
		c.replyError(errSyntax)
		return
	}
	key := args[1]
	now := time.Now().UnixMilli()
	sl := c.lockKeySlot(key)
	defer c.unlock(sl)
	v, _, found, wrong := c.lookupString(sl, key, now)
	if wrong {
		return
	}
	if !found {
		c.replyNull()
		return
	}
	var when int64
	if expire != nil {
		if when, ok = c.expireArgument("getex", expire, flags, now); !ok {
			return
		}
	}
	mark := len(c.out)
	c.replyBulk(v)
	var err error
	switch {
	case flags&(optEXAT|optPXAT) != 0 && when <= now:
		sl.Delete(key)
	case expire != nil:
		_, err = sl.SetExpire(key, when, now)
	case flags&optPersist != 0:
		_, err = sl.SetExpire(key, 0, now)
	}
	if err != nil {
		c.out = c.out[:mark]
		c.replyStoreError(err)
	}
}

func cmdMget(c *client, args [][]byte) {
	s := c.srv
	now := time.Now().UnixMilli()
	locks := c.lockKeys(args, 1, 1)
	c.replyArray(len(args) - 1)
	for _, key := range args[1:] {
		if v, _, typ, ok := s.lookupReadTyped(s.keySlot(key), key, now); ok && typ == store.TypeString {
			c.replyBulk(v)
		} else {
			c.replyNull()
		}
	}
	locks.release()
}

func cmdMset(c *client, args [][]byte) { c.msetGeneric("mset", args, false) }

func cmdMsetnx(c *client, args [][]byte) { c.msetGeneric("msetnx", args, true) }

// msetGeneric sets every key-value pair of args atomically; with nx it sets
// none when any key exists.
func (c *client) msetGeneric(name string, args [][]byte, nx bool) {
	if len(args)%2 == 0 {
		c.replyError(arityError(name))
		return
	}
	s := c.srv
	now := time.Now().UnixMilli()
	locks := c.lockKeys(args, 1, 2)
	if nx {
		for i := 1; i < len(args); i += 2 {
			if _, _, ok := s.keySlot(args[i]).Peek(args[i], now); ok {
				locks.release()
				c.replyInt(0)
				return
			}
		}
	}
	for i := 1; i < len(args); i += 2 {
		if err := s.keySlot(args[i]).Set(args[i], args[i+1], 0, now); err != nil {
			// Only a slot at its 2 GiB limit refuses; the keys before
			// this one stay written.
			locks.release()
			c.replyStoreError(err)
			return
		}
	}
	locks.release()
	if nx {
		c.replyInt(1)
	} else {
		c.replyOK()
	}
}

func cmdIncr(c *client, args [][]byte) { c.incrDecr(args[1], 1) }

func cmdDecr(c *client, args [][]byte) { c.incrDecr(args[1], -1) }

func cmdIncrby(c *client, args [][]byte) {
	incr, ok := parseInt(args[2])
	if !ok {
		c.replyError(errNotInteger)
		return
	}
	c.incrDecr(args[1], incr)
}

func cmdDecrby(c *client, args [][]byte) {
	decr, ok := parseInt(args[2])
	if !ok {
		c.replyError(errNotInteger)
		return
	}
	if decr == math.MinInt64 {
		c.replyError(errDecrOverflow)
		return
	}
	c.incrDecr(args[1], -decr)
}

// incrDecr adds incr to the integer stored at key (0 when missing), keeping
// the key's TTL, as Redis's incrDecrCommand.
func (c *client) incrDecr(key []byte, incr int64) {
	s := c.srv
	now := time.Now().UnixMilli()
	sl := s.keySlot(key)
	c.lock(sl)
	v, expireAt, found, wrong := c.peekString(sl, key, now)
	if wrong {
		c.unlock(sl)
		return
	}
	var value int64
	if found {
		var ok bool
		if value, ok = parseInt(v); !ok {
			c.unlock(sl)
			c.replyError(errNotInteger)
			return
		}
	}
	if (incr < 0 && value < 0 && incr < math.MinInt64-value) ||
		(incr > 0 && value > 0 && incr > math.MaxInt64-value) {
		c.unlock(sl)
		c.replyError(errOverflow)
		return
	}
	value += incr
	var digits [20]byte
	err := sl.Set(key, strconv.AppendInt(digits[:0], value, 10), expireAt, now)
	c.unlock(sl)
	if err != nil {
		c.replyStoreError(err)
		return
	}
	c.replyInt(value)
}

func cmdIncrbyfloat(c *client, args [][]byte) {
	key := args[1]
	now := time.Now().UnixMilli()
	sl := c.lockKeySlot(key)
	defer c.unlock(sl)
	// As Redis: the key's type first, then its value, then the increment.
	v, expireAt, found, wrong := c.peekString(sl, key, now)
	if wrong {
		return
	}
	value := newLongDouble()
	ok := true
	if found {
		value, ok = parseLongDouble(v)
	}
	incr, incrOK := parseLongDouble(args[2])
	if !ok || !incrOK {
		c.replyError(errNotFloat)
		return
	}
	sum, ok := addLongDouble(value, incr)
	if !ok {
		c.replyError(errIncrNaN)
		return
	}
	out := formatLongDouble(sum)
	if err := sl.Set(key, out, expireAt, now); err != nil {
		c.replyStoreError(err)
		return
	}
	c.replyBulk(out)
}

// scratchMax is the largest scratch buffer kept for reuse.
const scratchMax = 64 << 10

// scratchPool holds *[]byte buffers for building values that the store then
// copies (APPEND, SETRANGE).
var scratchPool sync.Pool

// getScratch returns a buffer of length n with undefined contents, and the
// handle to give back to putScratch.
func getScratch(n int) (*[]byte, []byte) {
	if n > scratchMax {
		return nil, make([]byte, n)
	}
	p, _ := scratchPool.Get().(*[]byte)
	if p == nil {
		p = new([]byte)
	}
	if cap(*p) < n {
		*p = make([]byte, max(n, 512))
	}
	return p, (*p)[:n]
}

// putScratch gives a buffer from getScratch back for reuse.
func putScratch(p *[]byte) {
	if p != nil {
		scratchPool.Put(p)
	}
}

// stringTooLong reports whether a string of size+extra bytes exceeds
// proto-max-bulk-len, as Redis's checkStringLength.
func (s *Server) stringTooLong(size, extra int64) bool {
	return uint64(size)+uint64(extra) > uint64(s.settings.Load().ProtoMaxBulkLen)
}

func cmdAppend(c *client, args [][]byte) {
	s, key, tail := c.srv, args[1], args[2]
	now := time.Now().UnixMilli()
	sl := s.keySlot(key)
	c.lock(sl)
	v, expireAt, found, wrong := c.peekString(sl, key, now)
	if wrong {
		c.unlock(sl)
		return
	}
	if !found {
		err := sl.Set(key, tail, 0, now)
		c.unlock(sl)
		if err != nil {
			c.replyStoreError(err)
			return
		}
		c.replyInt(int64(len(tail)))
		return
	}
	if s.stringTooLong(int64(len(v)), int64(len(tail))) {
		c.unlock(sl)
		c.replyError(errStringTooLong)
		return
	}
	h, buf := getScratch(len(v) + len(tail))
	copy(buf, v)
	copy(buf[len(v):], tail)
	err := sl.Set(key, buf, expireAt, now)
	if err == nil {
		sl.MarkRaw(key, now) // Redis unshares the string: raw from now on
	}
	c.unlock(sl)
	putScratch(h)
	if err != nil {
		c.replyStoreError(err)
		return
	}
	c.replyInt(int64(len(buf)))
}

func cmdStrlen(c *client, args [][]byte) {
	s, key := c.srv, args[1]
	now := time.Now().UnixMilli()
	sl := s.keySlot(key)
	c.lock(sl)
	v, _, _, wrong := c.lookupString(sl, key, now)
	c.unlock(sl)
	if !wrong {
		c.replyInt(int64(len(v)))
	}
}

func cmdGetrange(c *client, args [][]byte) {
	start, ok1 := parseInt(args[2])
	end, ok2 := parseInt(args[3])
	if !ok1 || !ok2 {
		c.replyError(errNotInteger)
		return
	}
	key := args[1]
	now := time.Now().UnixMilli()
	sl := c.lockKeySlot(key)
	defer c.unlock(sl)
	v, _, found, wrong := c.lookupString(sl, key, now)
	if wrong {
		return
	}
	if !found || (start < 0 && end < 0 && start > end) {
		c.replyBulk(nil)
		return
	}
	n := int64(len(v))
	if start < 0 {
		start += n
	}
	if end < 0 {
		end += n
	}
	start, end = max(start, 0), max(end, 0)
	if end >= n {
		end = n - 1
	}
	if start > end || n == 0 {
		c.replyBulk(nil)
		return
	}
	c.replyBulk(v[start : end+1])
}

func cmdSetrange(c *client, args [][]byte) {
	s, key, value := c.srv, args[1], args[3]
	offset, ok := parseInt(args[2])
	if !ok {
		c.replyError(errNotInteger)
		return
	}
	if offset < 0 {
		c.replyError(errOffsetRange)
		return
	}
	now := time.Now().UnixMilli()
	sl := c.lockKeySlot(key)
	defer c.unlock(sl)
	old, expireAt, found, wrong := c.peekString(sl, key, now)
	if wrong {
		return
	}
	if len(value) == 0 {
		c.replyInt(int64(len(old)))
		return
	}
	if s.stringTooLong(offset, int64(len(value))) {
		c.replyError(errStringTooLong)
		return
	}
	if !found {
		expireAt = 0
	}
	end := int(offset) + len(value)
	h, buf := getScratch(max(len(old), end))
	copy(buf, old)
	if int(offset) > len(old) {
		clear(buf[len(old):offset])
	}
	copy(buf[offset:], value)
	err := sl.Set(key, buf, expireAt, now)
	putScratch(h)
	if err != nil {
		c.replyStoreError(err)
		return
	}
	sl.MarkRaw(key, now)
	c.replyInt(int64(len(buf)))
}
