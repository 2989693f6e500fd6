package datanode

import (
	"math"
	"time"
)

// BITFIELD and BITFIELD_RO: integers of 1 to 64 bits (unsigned up to 63) at
// arbitrary bit offsets of a string, read, set and incremented with a
// choice of overflow behaviour, as Redis's bitfieldGeneric.

// The operations of BITFIELD.
const (
	fieldGet = iota
	fieldSet
	fieldIncrBy
)

// The overflow behaviours of BITFIELD's OVERFLOW.
const (
	overflowWrap = iota
	overflowSat
	overflowFail
)

// fieldOp is one parsed BITFIELD operation.
type fieldOp struct {
	op       int
	overflow int
	signed   bool
	bits     int64
	offset   int64
	value    int64 // SET's value or INCRBY's increment
}

// bitfieldKeyFlags are the flags COMMAND GETKEYSANDFLAGS reports for the
// key of a BITFIELD call, as Redis's bitfieldGetKeys: read-only unless
// the call writes or does not parse.
func bitfieldKeyFlags(args [][]byte) []string {
	for i := 2; i < len(args); i++ {
		more := len(args) - i - 1
		switch arg := args[i]; {
		case equalFold(arg, "get") && more >= 2:
			i += 2
		case equalFold(arg, "overflow") && more >= 1:
			i++
		default:
			return []string{"RW", "access", "update"}
		}
	}
	return []string{"RO", "access"}
}

func cmdBitfield(c *client, args [][]byte) { c.bitfield(args, false) }

func cmdBitfieldRO(c *client, args [][]byte) { c.bitfield(args, true) }

// parseFieldType parses a BITFIELD type such as i16 or u8.
func parseFieldType(arg []byte) (signed bool, width int64, ok bool) {
	if len(arg) == 0 || (arg[0] != 'i' && arg[0] != 'u') {
		return false, 0, false
	}
	signed = arg[0] == 'i'
	width, ok = parseInt(arg[1:])
	limit := int64(63)
	if signed {
		limit = 64
	}
	if !ok || width < 1 || width > limit {
		return false, 0, false
	}
	return signed, width, true
}

// parseBitfield parses BITFIELD's operations, replying the error and
// returning ok false on a bad one. last is the highest bit a write
// reaches, -1 if there is no write.
func (c *client) parseBitfield(args [][]byte) (ops []fieldOp, last int64, ok bool) {
	overflow := overflowWrap
	last = -1
	for j := 2; j < len(args); j++ {
		more := len(args) - j - 1
		var op int
		switch sub := args[j]; {
		case equalFold(sub, "get") && more >= 2:
			op = fieldGet
		case equalFold(sub, "set") && more >= 3:
			op = fieldSet
		case equalFold(sub, "incrby") && more >= 3:
			op = fieldIncrBy
		case equalFold(sub, "overflow") && more >= 1:
			j++
			switch name := args[j]; {
			case equalFold(name, "wrap"):
				overflow = overflowWrap
			case equalFold(name, "sat"):
				overflow = overflowSat
			case equalFold(name, "fail"):
				overflow = overflowFail
			default:
				c.replyError(errOverflowTyp)
				return nil, 0, false
			}
			continue
		default:
			c.replyError(errSyntax)
			return nil, 0, false
		}
		signed, width, good := parseFieldType(args[j+1])
		if !good {
			c.replyError(errBitfieldTyp)
			return nil, 0, false
		}
		off, good := c.bitOffset(args[j+2], true, width)
		if !good {
			return nil, 0, false
		}
		f := fieldOp{op: op, overflow: overflow, signed: signed, bits: width, offset: off}
		if op != fieldGet {
			last = max(last, off+width-1)
			if f.value, good = parseInt(args[j+3]); !good {
				c.replyError(errNotInteger)
				return nil, 0, false
			}
			j++
		}
		ops = append(ops, f)
		j += 2
	}
	return ops, last, true
}

// bitfield serves BITFIELD and, with readOnly, BITFIELD_RO.
func (c *client) bitfield(args [][]byte, readOnly bool) {
	ops, last, ok := c.parseBitfield(args)
	if !ok {
		return
	}
	key := args[1]
	now := time.Now().UnixMilli()
	sl := c.lockKeySlot(key)
	defer c.unlock(sl)
	if last < 0 {
		v, _, _, wrong := c.lookupString(sl, key, now)
		if !wrong {
			c.runFieldOps(v, ops)
		}
		return
	}
	if readOnly {
		c.replyError(errBitfieldRO)
		return
	}
	old, expireAt, found, wrong := c.peekString(sl, key, now)
	if wrong {
		return
	}
	size := int(last>>3) + 1
	if found && size <= len(old) {
		sl.Modify(key, now, func(v []byte) { c.runFieldOps(v, ops) })
		sl.MarkRaw(key, now)
		return
	}
	h, buf := growBitString(old, size)
	mark := len(c.out)
	c.runFieldOps(buf, ops)
	err := sl.Set(key, buf, expireAt, now)
	putScratch(h)
	if err != nil {
		c.out = c.out[:mark]
		c.replyStoreError(err)
		return
	}
	sl.MarkRaw(key, now)
}

// runFieldOps runs ops on v, which holds every bit a write reaches, and
// replies their results.
func (c *client) runFieldOps(v []byte, ops []fieldOp) {
	c.replyArray(len(ops))
	for _, f := range ops {
		old := getField(v, f.offset, f.bits)
		if f.op == fieldGet {
			if f.signed {
				c.replyInt(signExtend(old, f.bits))
			} else {
				c.replyInt(int64(old))
			}
			continue
		}
		var next, reply uint64
		var overflow bool
		if f.signed {
			prev := signExtend(old, f.bits)
			if f.op == fieldIncrBy {
				n, o := signedOverflow(prev, f.value, f.bits, f.overflow)
				next, reply, overflow = uint64(n), uint64(n), o
			} else {
				n, o := signedOverflow(f.value, 0, f.bits, f.overflow)
				next, reply, overflow = uint64(n), uint64(prev), o
			}
		} else {
			if f.op == fieldIncrBy {
				next, overflow = unsignedOverflow(old, f.value, f.bits, f.overflow)
				reply = next
			} else {
				next, overflow = unsignedOverflow(uint64(f.value), 0, f.bits, f.overflow)
				reply = old
			}
		}
		if overflow && f.overflow == overflowFail {
			c.replyNull()
			continue
		}
		c.replyInt(int64(reply))
		setField(v, f.offset, f.bits, next)
	}
}

// getField reads the width-bit unsigned integer at bit off of v, most
// significant bit first; bits past v's end read as 0.
func getField(v []byte, off, width int64) uint64 {
	var x uint64
	for range width {
		x = x<<1 | uint64(getBit(v, off))
		off++
	}
	return x
}

// setField writes the low width bits of x at bit off of v.
func setField(v []byte, off, width int64, x uint64) {
	for j := range width {
		setBit(v, off+j, byte(x>>(width-1-j)&1))
	}
}

// signExtend interprets the low width bits of x as a signed integer.
func signExtend(x uint64, width int64) int64 {
	if width < 64 && x&(1<<(width-1)) != 0 {
		x |= math.MaxUint64 << width
	}
	return int64(x)
}

// unsignedOverflow adds incr to the width-bit unsigned value, as Redis's
// checkUnsignedBitfieldOverflow: on overflow the result wraps or
// saturates by mode (under FAIL it is not used).
func unsignedOverflow(value uint64, incr, width int64, mode int) (uint64, bool) {
	limit := uint64(1)<<width - 1
	maxIncr := int64(limit - value)
	minIncr := -int64(value)
	switch {
	case value > limit || (incr > 0 && incr > maxIncr):
		if mode == overflowSat {
			return limit, true
		}
	case incr < 0 && incr < minIncr:
		if mode == overflowSat {
			return 0, true
		}
	default:
		return value + uint64(incr), false
	}
	return (value + uint64(incr)) & limit, true
}

// signedOverflow adds incr to the width-bit signed value, as Redis's
// checkSignedBitfieldOverflow.
func signedOverflow(value, incr, width int64, mode int) (int64, bool) {
	limit := int64(math.MaxInt64)
	if width < 64 {
		limit = 1<<(width-1) - 1
	}
	low := -limit - 1
	maxIncr := int64(uint64(limit) - uint64(value))
	minIncr := low - value
	switch {
	case value > limit || (width != 64 && incr > maxIncr) || (value >= 0 && incr > 0 && incr > maxIncr):
		if mode == overflowSat {
			return limit, true
		}
	case value < low || (width != 64 && incr < minIncr) || (value < 0 && incr < 0 && incr < minIncr):
		if mode == overflowSat {
			return low, true
		}
	default:
		return value + incr, false
	}
	sum := uint64(value) + uint64(incr)
	return signExtend(sum&(math.MaxUint64>>(64-width)), width), true
}
