package store

import (
	"encoding/binary"
	"math/rand/v2"
)

// A slot's entries are packed back to back in its slab:
//
//	flags     1 byte   hdrExpire, hdrOut, the value's Type in bits 2..4, hdrRaw
//	klen      uvarint
//	vlen      uvarint  value length, also when the value is out of line
//	expireAt  8 bytes  Unix ms, only with hdrExpire
//	access    4 bytes  LRU clock (24 bits, seconds) | LFU counter << 24
//	key       klen bytes
//	value     vlen bytes, or with hdrOut the 8-byte arena handle of a block
//	          holding it
//
// The access word serves both LRU and LFU policies: as in Redis, the LFU
// counter decays by one per minute since the last access, and the last
// access is the LRU clock.
const (
	hdrExpire = 1 << 0
	hdrOut    = 1 << 1
	// hdrRaw marks a string value edited in place (APPEND, SETRANGE,
	// SETBIT...), which Redis reports as raw whatever its length: see
	// Slot.MarkRaw. Set and its kin clear it, SetExpire keeps it.
	hdrRaw = 1 << 5

	// The value's Type sits in bits 2..4 of the flags byte; strings are
	// 0, so string entries are laid out as before types existed.
	hdrTypeShift = 2
	hdrTypeMask  = 7 << hdrTypeShift

	// inlineMax is the largest value stored in the slab; longer values get
	// a block of their own, so slabs stay small and cheap to copy.
	inlineMax = 8 << 10

	accessSize = 4
	lruMask    = 1<<24 - 1
)

// entry locates the fields of an encoded entry in its slab.
type entry struct {
	flags byte
	klen  int
	vlen  int
	exp   int // offset of expireAt, 0 without hdrExpire
	acc   int // offset of the access word
	key   int // offset of the key
	val   int // offset of the value or its handle
	end   int // offset just past the entry
}

func parseEntry(b []byte, off int) (e entry) {
	e.flags = b[off]
	p := off + 1
	e.klen, p = uvarint(b, p)
	e.vlen, p = uvarint(b, p)
	if e.flags&hdrExpire != 0 {
		e.exp = p
		p += 8
	}
	e.acc = p
	p += accessSize
	e.key = p
	p += e.klen
	e.val = p
	if e.flags&hdrOut != 0 {
		p += 8
	} else {
		p += e.vlen
	}
	e.end = p
	return e
}

func (e *entry) expireAt(b []byte) int64 {
	if e.exp == 0 {
		return 0
	}
	return int64(binary.LittleEndian.Uint64(b[e.exp:]))
}

// typ is the Type of the entry's value.
func (e *entry) typ() Type { return Type(e.flags&hdrTypeMask) >> hdrTypeShift }

func (e *entry) ref(b []byte) uint64 { return binary.LittleEndian.Uint64(b[e.val:]) }

func (e *entry) keyBytes(b []byte) []byte { return b[e.key : e.key+e.klen : e.key+e.klen] }

func uvarint(b []byte, p int) (int, int) {
	if x := b[p]; x < 0x80 {
		return int(x), p + 1
	}
	v, n := binary.Uvarint(b[p:])
	return int(v), p + n
}

func uvarintLen(x int) int {
	n := 1
	for x >= 0x80 {
		x >>= 7
		n++
	}
	return n
}

// entrySize is the encoded size of an entry.
func entrySize(klen, vlen int, exp, out bool) int {
	n := 1 + uvarintLen(klen) + uvarintLen(vlen) + accessSize + klen
	if exp {
		n += 8
	}
	if out {
		n += 8
	} else {
		n += vlen
	}
	return n
}

// putEntry encodes an entry at b[off:] and returns its size. With out, the
// value is the block ref and value is ignored; vlen is the value's length.
func putEntry(b []byte, off int, key []byte, vlen int, value []byte, ref uint64, out bool, expireAt int64, acc uint32, typ Type) int {
	p := off + 1
	flags := byte(typ) << hdrTypeShift
	p += binary.PutUvarint(b[p:], uint64(len(key)))
	p += binary.PutUvarint(b[p:], uint64(vlen))
	if expireAt != 0 {
		flags |= hdrExpire
		binary.LittleEndian.PutUint64(b[p:], uint64(expireAt))
		p += 8
	}
	binary.LittleEndian.PutUint32(b[p:], acc)
	p += accessSize
	p += copy(b[p:], key)
	if out {
		flags |= hdrOut
		binary.LittleEndian.PutUint64(b[p:], ref)
		p += 8
	} else {
		p += copy(b[p:p+vlen], value)
	}
	b[off] = flags
	return p - off
}

func expired(expireAt, now int64) bool { return expireAt != 0 && expireAt <= now }

// lruClock is Redis's LRU clock: seconds, 24 bits.
func lruClock(now int64) uint32 { return uint32(now/1000) & lruMask }

// idleSeconds is how long ago, in seconds, an entry with LRU clock c was used.
func idleSeconds(c, now uint32) uint32 {
	if now >= c {
		return now - c
	}
	return now + (1<<24 - c)
}

// LFU counter, as Redis: logarithmic increments, decay of one per minute.
const (
	lfuInitVal   = 5
	lfuLogFactor = 10
)

func lfuIncr(counter uint8, r float64) uint8 {
	if counter == 255 {
		return 255
	}
	base := float64(counter) - lfuInitVal
	if base <= 0 {
		return counter + 1
	}
	if r < 1.0/(base*lfuLogFactor+1) {
		counter++
	}
	return counter
}

func lfuDecay(counter uint8, elapsedMinutes uint32) uint8 {
	if elapsedMinutes >= uint32(counter) {
		return 0
	}
	return counter - uint8(elapsedMinutes)
}

// newAccess is the access word of a new entry.
func newAccess(now int64) uint32 { return lruClock(now) | lfuInitVal<<24 }

// lfuOf is the decayed LFU counter of an access word.
func lfuOf(acc uint32, now int64) uint8 {
	return lfuDecay(uint8(acc>>24), idleSeconds(acc&lruMask, lruClock(now))/60)
}

// touch records an access: LRU clock now, LFU counter decayed and bumped.
func touch(acc uint32, now int64) uint32 {
	c := lfuOf(acc, now)
	if c > lfuInitVal {
		c = lfuIncr(c, rand.Float64())
	} else {
		c++
	}
	return lruClock(now) | uint32(c)<<24
}

// touchLRU records a write: LRU clock now, LFU counter decayed but not
// bumped, as Redis keeps an overwritten key's frequency.
func touchLRU(acc uint32, now int64) uint32 { return lruClock(now) | uint32(lfuOf(acc, now))<<24 }
