package rdb

import (
	"bytes"
	"encoding/binary"
	"math"
	"strconv"
)

// A listpack (Redis's listpack.c) is a 4-byte little-endian total size, a
// 2-byte element count (lpUnknownCount when it does not fit), the entries
// and lpEnd. An entry is an encoding byte with its data, then its
// "backlen": the size of encoding and data in 7-bit groups, most
// significant first, every group but the first flagged with 0x80.
const (
	lpHeader       = 6
	lpEnd          = 0xff
	lpUnknownCount = 0xffff
)

// Listpack encoding bytes beyond the masked small forms.
const (
	lpStr32 = 0xf0
	lpInt16 = 0xf1
	lpInt24 = 0xf2
	lpInt32 = 0xf3
	lpInt64 = 0xf4
)

// decodeListpack returns the elements of the listpack lp, integers
// formatted in decimal. It checks every size, the count and each backlen.
func decodeListpack(lp []byte) ([][]byte, error) {
	if len(lp) < lpHeader+1 || int(binary.LittleEndian.Uint32(lp)) != len(lp) || lp[len(lp)-1] != lpEnd {
		return nil, ErrBadFormat
	}
	want := int(binary.LittleEndian.Uint16(lp[4:]))
	end := len(lp) - 1
	var out [][]byte
	for p := lpHeader; p < end; {
		elem, size, err := lpEntry(lp[p:end])
		if err != nil {
			return nil, err
		}
		back := appendBacklen(nil, size)
		if p+size+len(back) > end || !bytes.Equal(lp[p+size:p+size+len(back)], back) {
			return nil, ErrBadFormat
		}
		out = append(out, elem)
		p += size + len(back)
	}
	if want != lpUnknownCount && want != len(out) {
		return nil, ErrBadFormat
	}
	return out, nil
}

// lpEntry decodes the entry at the start of b and returns its element and
// the size of its encoding and data.
func lpEntry(b []byte) (elem []byte, size int, err error) {
	e := b[0]
	var v int64
	switch {
	case e&0x80 == 0: // 7-bit unsigned integer
		return strconv.AppendInt(nil, int64(e), 10), 1, nil
	case e&0xc0 == 0x80: // string up to 63 bytes
		return lpString(b, 1, int(e&0x3f))
	case e&0xe0 == 0xc0: // 13-bit signed integer
		if len(b) < 2 {
			return nil, 0, ErrBadFormat
		}
		v = int64(e&0x1f)<<8 | int64(b[1])
		if v >= 1<<12 {
			v -= 1 << 13
		}
		return strconv.AppendInt(nil, v, 10), 2, nil
	case e&0xf0 == 0xe0: // string up to 4095 bytes
		if len(b) < 2 {
			return nil, 0, ErrBadFormat
		}
		return lpString(b, 2, int(e&0x0f)<<8|int(b[1]))
	case e == lpStr32:
		if len(b) < 5 {
			return nil, 0, ErrBadFormat
		}
		n := binary.LittleEndian.Uint32(b[1:])
		if uint64(n) > uint64(len(b)) {
			return nil, 0, ErrBadFormat
		}
		return lpString(b, 5, int(n))
	case e >= lpInt16 && e <= lpInt64:
		n := [...]int{2, 3, 4, 8}[e-lpInt16]
		if len(b) < 1+n {
			return nil, 0, ErrBadFormat
		}
		var u uint64
		for i := n; i >= 1; i-- {
			u = u<<8 | uint64(b[i])
		}
		v = int64(u<<(64-8*n)) >> (64 - 8*n) // sign-extend
		return strconv.AppendInt(nil, v, 10), 1 + n, nil
	}
	return nil, 0, ErrBadFormat
}

// lpString returns the n-byte string after a header of h bytes.
func lpString(b []byte, h, n int) ([]byte, int, error) {
	if h+n > len(b) {
		return nil, 0, ErrBadFormat
	}
	return b[h : h+n : h+n], h + n, nil
}

// appendBacklen appends the backlen of an entry of size bytes.
func appendBacklen(dst []byte, size int) []byte {
	switch {
	case size <= 127:
		return append(dst, byte(size))
	case size < 16383:
		return append(dst, byte(size>>7), byte(size&127)|128)
	case size < 2097151:
		return append(dst, byte(size>>14), byte(size>>7&127)|128, byte(size&127)|128)
	case size < 268435455:
		return append(dst, byte(size>>21), byte(size>>14&127)|128, byte(size>>7&127)|128, byte(size&127)|128)
	}
	return append(dst, byte(size>>28), byte(size>>21&127)|128, byte(size>>14&127)|128, byte(size>>7&127)|128, byte(size&127)|128)
}

// appendListpack appends a listpack of elems, integers in their integer
// encodings, as Redis's lpAppend writes them.
func appendListpack(dst []byte, elems [][]byte) []byte {
	lp := newLpBuilder(dst)
	for _, e := range elems {
		lp.add(e)
	}
	return lp.finish()
}

// lpBuilder builds a listpack one element at a time.
type lpBuilder struct {
	b     []byte // the listpack so far, without its end byte
	start int    // where it starts in b
	n     int    // elements
}

// newLpBuilder starts a listpack appended to dst.
func newLpBuilder(dst []byte) *lpBuilder {
	return &lpBuilder{b: append(dst, make([]byte, lpHeader)...), start: len(dst)}
}

// add appends an element.
func (l *lpBuilder) add(e []byte) {
	l.b = appendLpEntry(l.b, e)
	l.n++
}

// size is the listpack's size in bytes, were it finished now.
func (l *lpBuilder) size() int { return len(l.b) - l.start + 1 }

// finish ends the listpack, fills in its header and returns dst with it.
func (l *lpBuilder) finish() []byte {
	b := append(l.b, lpEnd)
	binary.LittleEndian.PutUint32(b[l.start:], uint32(len(b)-l.start))
	binary.LittleEndian.PutUint16(b[l.start+4:], uint16(min(l.n, lpUnknownCount)))
	return b
}

// appendLpEntry appends one listpack entry holding e, with its backlen.
func appendLpEntry(dst, e []byte) []byte {
	start := len(dst)
	if v, ok := parseInt(e); ok {
		switch {
		case v >= 0 && v <= 127:
			dst = append(dst, byte(v))
		case v >= -4096 && v <= 4095:
			dst = append(dst, 0xc0|byte(uint64(v)>>8&0x1f), byte(v))
		case v >= math.MinInt16 && v <= math.MaxInt16:
			dst = binary.LittleEndian.AppendUint16(append(dst, lpInt16), uint16(v))
		case v >= -1<<23 && v < 1<<23:
			dst = append(dst, lpInt24, byte(v), byte(v>>8), byte(v>>16))
		case v >= math.MinInt32 && v <= math.MaxInt32:
			dst = binary.LittleEndian.AppendUint32(append(dst, lpInt32), uint32(v))
		default:
			dst = binary.LittleEndian.AppendUint64(append(dst, lpInt64), uint64(v))
		}
	} else {
		switch n := len(e); {
		case n < 64:
			dst = append(dst, 0x80|byte(n))
		case n < 4096:
			dst = append(dst, 0xe0|byte(n>>8), byte(n))
		default:
			dst = binary.LittleEndian.AppendUint32(append(dst, lpStr32), uint32(n))
		}
		dst = append(dst, e...)
	}
	return appendBacklen(dst, len(dst)-start)
}
