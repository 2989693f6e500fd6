package rdb

import (
	"encoding/binary"
	"math"
)

// appendLength appends n in the shortest length encoding.
func appendLength(dst []byte, n uint64) []byte {
	switch {
	case n < 1<<6:
		return append(dst, byte(n))
	case n < 1<<14:
		return append(dst, byte(n>>8)|len14bit<<6, byte(n))
	case n <= math.MaxUint32:
		return binary.BigEndian.AppendUint32(append(dst, len32), uint32(n))
	}
	return binary.BigEndian.AppendUint64(append(dst, len64), n)
}

// lzfMinLen is the shortest string Redis compresses (rdbcompression).
const lzfMinLen = 21

// appendString appends s as Redis's rdbSaveRawString does: integer-encoded
// when it is the canonical form of an integer that fits in 32 bits,
// LZF-compressed when that saves at least four bytes, else raw.
func appendString(dst, s []byte) []byte {
	if len(s) <= 11 {
		if v, ok := parseInt(s); ok {
			switch {
			case v >= math.MinInt8 && v <= math.MaxInt8:
				return append(dst, lenEnc<<6|encInt8, byte(v))
			case v >= math.MinInt16 && v <= math.MaxInt16:
				return binary.LittleEndian.AppendUint16(append(dst, lenEnc<<6|encInt16), uint16(v))
			case v >= math.MinInt32 && v <= math.MaxInt32:
				return binary.LittleEndian.AppendUint32(append(dst, lenEnc<<6|encInt32), uint32(v))
			}
		}
	}
	if len(s) >= lzfMinLen {
		if c, ok := lzfCompress(nil, s, len(s)-4); ok {
			dst = appendLength(append(dst, lenEnc<<6|encLZF), uint64(len(c)))
			return append(appendLength(dst, uint64(len(s))), c...)
		}
	}
	return append(appendLength(dst, uint64(len(s))), s...)
}

// parseInt parses s as Redis's string2ll does: the canonical decimal form
// of a 64-bit integer only (no sign but a minus, no leading zeros, no
// "-0").
func parseInt(s []byte) (int64, bool) {
	if len(s) == 0 || len(s) > 20 {
		return 0, false
	}
	if len(s) == 1 && s[0] == '0' {
		return 0, true
	}
	neg := s[0] == '-'
	if neg {
		s = s[1:]
	}
	if len(s) == 0 || s[0] < '1' || s[0] > '9' {
		return 0, false
	}
	var u uint64
	for _, c := range s {
		if c < '0' || c > '9' {
			return 0, false
		}
		d := uint64(c - '0')
		if u > (math.MaxUint64-d)/10 {
			return 0, false
		}
		u = u*10 + d
	}
	if neg {
		if u > 1<<63 {
			return 0, false
		}
		return -int64(u), true // -1<<63 wraps to itself
	}
	if u > math.MaxInt64 {
		return 0, false
	}
	return int64(u), true
}
