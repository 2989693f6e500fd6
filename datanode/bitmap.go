package datanode

import (
	"time"

	"github.com/chkv/chkv/datanode/store"
)

// bitmapCommands are the commands of Redis's "bitmap" group: bit-level
// access to string values (see bitops.go for the bit arithmetic).
func bitmapCommands() []*command {
	key := docArg{name: "key", typ: argKey}
	offset := docArg{name: "offset", typ: argInteger}
	unit := docArg{name: "index_unit", typ: argOneOf, since: "7.0.0", optional: true, args: []docArg{
		{name: "byte", typ: argPureToken, token: "BYTE"}, {name: "bit", typ: argPureToken, token: "BIT"}}}
	unitHistory := [][2]string{{"7.0.0", "Added the `BYTE|BIT` option."}}
	getArg := docArg{name: "encoding_offset", typ: argBlock, token: "GET", args: []docArg{
		{name: "encoding", typ: argString}, offset}}
	bitfieldArgs := []docArg{key, {name: "operation", typ: argOneOf, optional: true, multiple: true, args: []docArg{
		getArg,
		{name: "write", typ: argBlock, args: []docArg{
			{name: "wrap_sat_fail", typ: argOneOf, token: "OVERFLOW", optional: true, args: []docArg{
				{name: "wrap", typ: argPureToken, token: "WRAP"}, {name: "sat", typ: argPureToken, token: "SAT"},
				{name: "fail", typ: argPureToken, token: "FAIL"}}},
			{name: "write_operation", typ: argOneOf, args: []docArg{
				{name: "encoding_offset_value", typ: argBlock, token: "SET", args: []docArg{
					{name: "encoding", typ: argString}, offset, {name: "value", typ: argInteger}}},
				{name: "encoding_offset_increment", typ: argBlock, token: "INCRBY", args: []docArg{
					{name: "encoding", typ: argString}, offset, {name: "increment", typ: argInteger}}}}}}}}}}
	roGet := getArg
	roGet.optional, roGet.multiple, roGet.multipleToken = true, true, true
	bitop := &command{name: "bitop", arity: -4, flags: flagWrite | flagDenyOOM, firstKey: 2, lastKey: -1, keyStep: 1, run: cmdBitop,
		doc: commandDoc{"bitmap", "Perform bitwise operations between strings", "2.6.0", "O(N)", ""},
		extra: &docExtra{args: []docArg{{name: "operation", typ: argString}, {name: "destkey", typ: argKey},
			{name: "key", typ: argKey, keySpec: 1, multiple: true}}},
		keySpecs: []keySpec{{flags: []string{"OW", "update"}, begin: 2}, {flags: []string{"RO", "access"}, begin: 3, lastKey: -1}}}
	return []*command{
		{name: "setbit", arity: 4, flags: flagWrite | flagDenyOOM, firstKey: 1, lastKey: 1, keyStep: 1, run: cmdSetbit,
			keyFlags: []string{"RW", "access", "update"},
			doc:      commandDoc{"bitmap", "Sets or clears the bit at offset in the string value stored at key", "2.2.0", "O(1)", ""},
			extra:    &docExtra{args: []docArg{key, offset, {name: "value", typ: argInteger}}}},
		{name: "getbit", arity: 3, flags: flagReadOnly | flagFast, firstKey: 1, lastKey: 1, keyStep: 1, run: cmdGetbit,
			doc:   commandDoc{"bitmap", "Returns the bit value at offset in the string value stored at key", "2.2.0", "O(1)", ""},
			extra: &docExtra{args: []docArg{key, offset}}},
		{name: "bitcount", arity: -2, flags: flagReadOnly, firstKey: 1, lastKey: 1, keyStep: 1, run: cmdBitcount,
			doc: commandDoc{"bitmap", "Count set bits in a string", "2.6.0", "O(N)", ""},
			extra: &docExtra{history: unitHistory, args: []docArg{key, {name: "index", typ: argBlock, optional: true, args: []docArg{
				{name: "start", typ: argInteger}, {name: "end", typ: argInteger}, unit}}}}},
		{name: "bitpos", arity: -3, flags: flagReadOnly, firstKey: 1, lastKey: 1, keyStep: 1, run: cmdBitpos,
			doc: commandDoc{"bitmap", "Find first bit set or clear in a string", "2.8.7", "O(N)", ""},
			extra: &docExtra{history: unitHistory, args: []docArg{key, {name: "bit", typ: argInteger},
				{name: "index", typ: argBlock, optional: true, args: []docArg{{name: "start", typ: argInteger},
					{name: "end_index", typ: argBlock, optional: true, args: []docArg{{name: "end", typ: argInteger}, unit}}}}}}},
		bitop,
		{name: "bitfield", arity: -2, flags: flagWrite | flagDenyOOM, firstKey: 1, lastKey: 1, keyStep: 1, run: cmdBitfield,
			doc:   commandDoc{"bitmap", "Perform arbitrary bitfield integer operations on strings", "3.2.0", "O(1) for each subcommand specified", ""},
			extra: &docExtra{args: bitfieldArgs},
			keySpecs: []keySpec{{flags: []string{"RW", "access", "update", "variable_flags"}, begin: 1,
				notes: "This command allows both access and modification of the key"}}},
		{name: "bitfield_ro", arity: -2, flags: flagReadOnly | flagFast, firstKey: 1, lastKey: 1, keyStep: 1, run: cmdBitfieldRO,
			doc:   commandDoc{"bitmap", "Perform arbitrary bitfield integer operations on strings. Read-only variant of BITFIELD", "6.0.0", "O(1) for each subcommand specified", ""},
			extra: &docExtra{args: []docArg{key, roGet}}},
	}
}

// Error texts of the bitmap commands, as Redis's bitops.c words them.
const (
	errBitOffset   = "ERR bit offset is not an integer or out of range"
	errBitValue    = "ERR bit is not an integer or out of range"
	errBitposBit   = "ERR The bit argument must be 1 or 0."
	errBitopNot    = "ERR BITOP NOT must be called with a single source key."
	errBitfieldTyp = "ERR Invalid bitfield type. Use something like i16 u8. Note that u64 is not supported but i64 is."
	errOverflowTyp = "ERR Invalid OVERFLOW type specified"
	errBitfieldRO  = "ERR BITFIELD_RO only supports the GET subcommand"
)

// bitOffset parses a bit offset argument as Redis's
// getBitOffsetFromArgument: with hash, "#n" means n*bits. The offset's byte
// must lie below proto-max-bulk-len, which bounds what SETBIT and BITFIELD
// allocate.
func (c *client) bitOffset(arg []byte, hash bool, bits int64) (int64, bool) {
	usehash := hash && len(arg) > 0 && arg[0] == '#'
	if usehash {
		arg = arg[1:]
	}
	off, ok := parseInt(arg)
	if usehash {
		off *= bits // wraps as in Redis; the sign check below catches it
	}
	if !ok || off < 0 || off>>3 >= c.srv.settings.Load().ProtoMaxBulkLen {
		c.replyError(errBitOffset)
		return 0, false
	}
	return off, true
}

// growBitString returns the string old (nil: missing) grown with zero bytes
// to at least size bytes, in a scratch buffer when it had to grow: the
// handle goes back with putScratch after the store copied the result.
func growBitString(old []byte, size int) (h *[]byte, buf []byte) {
	h, buf = getScratch(size)
	copy(buf, old)
	clear(buf[len(old):])
	return h, buf
}

func cmdSetbit(c *client, args [][]byte) {
	off, ok := c.bitOffset(args[2], false, 0)
	if !ok {
		return
	}
	on, ok := parseInt(args[3])
	if !ok || on&^1 != 0 {
		c.replyError(errBitValue)
		return
	}
	key := args[1]
	now := time.Now().UnixMilli()
	sl := c.lockKeySlot(key)
	defer c.unlock(sl)
	old, expireAt, found, wrong := c.peekString(sl, key, now)
	if wrong {
		return
	}
	byteIdx := int(off >> 3)
	var prev byte
	if found && byteIdx < len(old) {
		// The common case: the bit is inside the value, edited in place.
		sl.Modify(key, now, func(v []byte) { prev = setBit(v, off, byte(on)) })
		sl.MarkRaw(key, now)
		c.replyInt(int64(prev))
		return
	}
	h, buf := growBitString(old, byteIdx+1)
	setBit(buf, off, byte(on))
	err := sl.Set(key, buf, expireAt, now)
	putScratch(h)
	if err != nil {
		c.replyStoreError(err)
		return
	}
	sl.MarkRaw(key, now)
	c.replyInt(0)
}

func cmdGetbit(c *client, args [][]byte) {
	off, ok := c.bitOffset(args[2], false, 0)
	if !ok {
		return
	}
	s, key := c.srv, args[1]
	now := time.Now().UnixMilli()
	sl := s.keySlot(key)
	c.lock(sl)
	v, _, _, wrong := c.lookupString(sl, key, now)
	var bit byte
	if !wrong {
		bit = getBit(v, off)
	}
	c.unlock(sl)
	if !wrong {
		c.replyInt(int64(bit))
	}
}

// bitUnit parses BITCOUNT's and BITPOS's BYTE|BIT argument.
func bitUnit(arg []byte) (isBit, ok bool) {
	switch {
	case equalFold(arg, "bit"):
		return true, true
	case equalFold(arg, "byte"):
		return false, true
	}
	return false, false
}

// bitRange converts the start and end of BITCOUNT or BITPOS, in bytes or
// (isBit) bits, negative from the end, into an inclusive range of bit
// positions of a string of n bytes, as Redis clamps them; empty reports
// start past end.
func bitRange(n, start, end int64, isBit bool) (first, last int64, empty bool) {
	if isBit {
		n <<= 3
	}
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
	if start > end {
		return 0, 0, true
	}
	if isBit {
		return start, end, false
	}
	return start << 3, end<<3 + 7, false
}

func cmdBitcount(c *client, args [][]byte) {
	key := args[1]
	now := time.Now().UnixMilli()
	sl := c.lockKeySlot(key)
	defer c.unlock(sl)
	// As Redis 7.0: the key first, so a missing key answers 0 whatever
	// the other arguments.
	v, _, found, wrong := c.lookupString(sl, key, now)
	if wrong {
		return
	}
	if !found {
		c.replyInt(0)
		return
	}
	first, last := int64(0), int64(len(v))*8-1
	switch len(args) {
	case 2:
	case 4, 5:
		start, ok := parseInt(args[2])
		if !ok {
			c.replyError(errNotInteger)
			return
		}
		end, ok := parseInt(args[3])
		if !ok {
			c.replyError(errNotInteger)
			return
		}
		isBit := false
		if len(args) == 5 {
			if isBit, ok = bitUnit(args[4]); !ok {
				c.replyError(errSyntax)
				return
			}
		}
		if start < 0 && end < 0 && start > end {
			c.replyInt(0)
			return
		}
		var empty bool
		if first, last, empty = bitRange(int64(len(v)), start, end, isBit); empty {
			c.replyInt(0)
			return
		}
	default:
		c.replyError(errSyntax)
		return
	}
	c.replyInt(countBits(v, first, last))
}

func cmdBitpos(c *client, args [][]byte) {
	bit, ok := parseInt(args[2])
	if !ok {
		c.replyError(errNotInteger)
		return
	}
	if bit != 0 && bit != 1 {
		c.replyError(errBitposBit)
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
		// A missing key is an infinite run of clear bits.
		c.replyInt(-bit) // 0 for bit 0, -1 for bit 1
		return
	}
	n := int64(len(v))
	start, end, endGiven, isBit := int64(0), n-1, false, false
	switch len(args) {
	case 3:
	case 4, 5, 6:
		if start, ok = parseInt(args[3]); !ok {
			c.replyError(errNotInteger)
			return
		}
		if len(args) == 6 {
			if isBit, ok = bitUnit(args[5]); !ok {
				c.replyError(errSyntax)
				return
			}
		}
		if len(args) >= 5 {
			if end, ok = parseInt(args[4]); !ok {
				c.replyError(errNotInteger)
				return
			}
			endGiven = true
		} else if isBit {
			end = n<<3 - 1
		}
	default:
		c.replyError(errSyntax)
		return
	}
	first, last, empty := bitRange(n, start, end, isBit)
	if empty {
		c.replyInt(-1)
		return
	}
	pos := findBit(v, byte(bit), first, last)
	if pos < 0 && bit == 0 && !endGiven {
		// Without an explicit end the string continues with clear bits.
		pos = last + 1
	}
	c.replyInt(pos)
}

// bitStrings looks up the source keys of BITOP, missing keys as nil. On a
// key of another type it replies WRONGTYPE and returns ok false.
func (c *client) bitStrings(keys [][]byte, now int64) (srcs [][]byte, ok bool) {
	s := c.srv
	srcs = make([][]byte, len(keys))
	for i, key := range keys {
		v, _, typ, found := s.lookupReadTyped(s.keySlot(key), key, now)
		if found && typ != store.TypeString {
			c.replyError(errWrongType)
			return nil, false
		}
		srcs[i] = v
	}
	return srcs, true
}

func cmdBitop(c *client, args [][]byte) {
	op, ok := parseBitop(args[1])
	if !ok {
		c.replyError(errSyntax)
		return
	}
	if op == bitopNot && len(args) != 4 {
		c.replyError(errBitopNot)
		return
	}
	s, dest := c.srv, args[2]
	now := time.Now().UnixMilli()
	locks := c.lockKeys(args, 2, 1)
	defer locks.release()
	srcs, ok := c.bitStrings(args[3:], now)
	if !ok {
		return
	}
	maxLen := 0
	for _, v := range srcs {
		maxLen = max(maxLen, len(v))
	}
	sl := s.keySlot(dest)
	if maxLen == 0 {
		sl.Delete(dest)
		c.replyInt(0)
		return
	}
	h, res := getScratch(maxLen)
	bitop(op, res, srcs)
	err := sl.Set(dest, res, 0, now)
	putScratch(h)
	if err != nil {
		c.replyStoreError(err)
		return
	}
	sl.MarkRaw(dest, now) // Redis stores BITOP's result as a raw string
	c.replyInt(int64(maxLen))
}
