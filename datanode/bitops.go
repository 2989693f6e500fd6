package datanode

import (
	"encoding/binary"
	"math/bits"
)

// Bit arithmetic on string values, numbered as Redis does: bit 0 is the
// most significant bit of byte 0. Bits past the end of a string read as 0.

// getBit returns the bit at off of v.
func getBit(v []byte, off int64) byte {
	i := off >> 3
	if i >= int64(len(v)) {
		return 0
	}
	return v[i] >> (7 - off&7) & 1
}

// setBit sets the bit at off of v, which must hold it, to on (0 or 1) and
// returns its previous value.
func setBit(v []byte, off int64, on byte) byte {
	i, shift := off>>3, 7-off&7
	prev := v[i] >> shift & 1
	v[i] = v[i]&^(1<<shift) | on<<shift
	return prev
}

// popcount counts the set bits of b, eight bytes at a time.
func popcount(b []byte) int64 {
	var n int
	le := binary.LittleEndian
	for len(b) >= 32 {
		n += bits.OnesCount64(le.Uint64(b)) + bits.OnesCount64(le.Uint64(b[8:])) +
			bits.OnesCount64(le.Uint64(b[16:])) + bits.OnesCount64(le.Uint64(b[24:]))
		b = b[32:]
	}
	for len(b) >= 8 {
		n += bits.OnesCount64(le.Uint64(b))
		b = b[8:]
	}
	for _, x := range b {
		n += bits.OnesCount8(x)
	}
	return int64(n)
}

// edgeMasks returns, for the inclusive bit range first..last, the masks of
// the bits of its first and last bytes that lie outside it.
func edgeMasks(first, last int64) (head, tail byte) {
	return ^byte(0xff >> (first & 7)), byte(0xff >> (last&7 + 1))
}

// countBits counts the set bits of v in the inclusive bit range
// first..last, which lies inside v unless it is empty.
func countBits(v []byte, first, last int64) int64 {
	if first > last {
		return 0
	}
	lo, hi := first>>3, last>>3
	n := popcount(v[lo : hi+1])
	head, tail := edgeMasks(first, last)
	return n - int64(bits.OnesCount8(v[lo]&head)+bits.OnesCount8(v[hi]&tail))
}

// findBit returns the position of the first bit equal to bit in the
// inclusive range first..last of v, which lies inside v, or -1. The bytes
// between the range's first and last are skipped eight at a time.
func findBit(v []byte, bit byte, first, last int64) int64 {
	var flip byte   // XORed into each byte so that the sought bit reads as 1
	var skip uint64 // a word without the sought bit
	if bit == 0 {
		flip, skip = 0xff, ^uint64(0)
	}
	lo, hi := first>>3, last>>3
	head, tail := edgeMasks(first, last)
	at := func(i int64, x byte) int64 { return i<<3 + int64(bits.LeadingZeros8(x)) }
	x := (v[lo] ^ flip) &^ head
	if lo == hi {
		x &^= tail
	}
	if x != 0 {
		return at(lo, x)
	}
	if lo == hi {
		return -1
	}
	mid := v[lo+1 : hi]
	le := binary.LittleEndian
	for len(mid) >= 32 && (le.Uint64(mid)^skip)|(le.Uint64(mid[8:])^skip)|(le.Uint64(mid[16:])^skip)|(le.Uint64(mid[24:])^skip) == 0 {
		mid = mid[32:]
	}
	for len(mid) >= 8 && le.Uint64(mid) == skip {
		mid = mid[8:]
	}
	base := hi - int64(len(mid))
	for j, b := range mid {
		if x := b ^ flip; x != 0 {
			return at(base+int64(j), x)
		}
	}
	if x := (v[hi] ^ flip) &^ tail; x != 0 {
		return at(hi, x)
	}
	return -1
}

// The operations of BITOP.
const (
	bitopAnd = iota
	bitopOr
	bitopXor
	bitopNot
)

// parseBitop parses BITOP's operation name.
func parseBitop(name []byte) (int, bool) {
	for op, s := range []string{"and", "or", "xor", "not"} {
		if equalFold(name, s) {
			return op, true
		}
	}
	return 0, false
}

// bitop computes op over srcs into res, whose length is the longest
// source's: shorter sources read as padded with zero bytes.
func bitop(op int, res []byte, srcs [][]byte) {
	if op == bitopNot {
		for i, x := range srcs[0] {
			res[i] = ^x
		}
		return
	}
	clear(res)
	copy(res, srcs[0])
	for _, src := range srcs[1:] {
		switch op {
		case bitopAnd:
			for i := range res {
				if i < len(src) {
					res[i] &= src[i]
				} else {
					res[i] = 0
				}
			}
		case bitopOr:
			for i, x := range src {
				res[i] |= x
			}
		case bitopXor:
			for i, x := range src {
				res[i] ^= x
			}
		}
	}
}
