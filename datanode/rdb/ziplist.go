package rdb

import (
	"encoding/binary"
	"strconv"
)

// A ziplist (Redis's ziplist.c, the compact encoding before 7.0) is a
// 4-byte little-endian total size, a 4-byte offset of the last entry, a
// 2-byte count, the entries and zlEnd. An entry is the previous entry's
// size (1 byte, or zlBigPrevLen and 4 bytes), an encoding and its data.
const (
	zlHeader     = 10
	zlEnd        = 0xff
	zlBigPrevLen = 0xfe
)

// decodeZiplist returns the elements of the ziplist zl, integers formatted
// in decimal. Only RESTORE of values dumped by Redis before 7.0 needs it.
func decodeZiplist(zl []byte) ([][]byte, error) {
	if len(zl) < zlHeader+1 || int(binary.LittleEndian.Uint32(zl)) != len(zl) || zl[len(zl)-1] != zlEnd {
		return nil, ErrBadFormat
	}
	end := len(zl) - 1
	var out [][]byte
	prev := 0
	for p := zlHeader; p < end; {
		start := p
		pl := int(zl[p])
		p++
		if pl == zlBigPrevLen {
			if p+4 > end {
				return nil, ErrBadFormat
			}
			pl = int(binary.LittleEndian.Uint32(zl[p:]))
			p += 4
		}
		if pl != prev || p >= end {
			return nil, ErrBadFormat
		}
		elem, n, err := zlEntry(zl[p:end])
		if err != nil {
			return nil, err
		}
		p += n
		prev = p - start
		out = append(out, elem)
	}
	if len(out) == 0 {
		return nil, ErrBadFormat
	}
	return out, nil
}

// zlEntry decodes the encoding and data at the start of b and returns the
// element and their size.
func zlEntry(b []byte) ([]byte, int, error) {
	e := b[0]
	str := func(h int, n uint64) ([]byte, int, error) {
		if uint64(len(b)) < uint64(h)+n {
			return nil, 0, ErrBadFormat
		}
		return b[h : h+int(n) : h+int(n)], h + int(n), nil
	}
	integer := func(n int) ([]byte, int, error) {
		if len(b) < 1+n {
			return nil, 0, ErrBadFormat
		}
		var u uint64
		for i := n; i >= 1; i-- {
			u = u<<8 | uint64(b[i])
		}
		return strconv.AppendInt(nil, int64(u<<(64-8*n))>>(64-8*n), 10), 1 + n, nil
	}
	switch {
	case e>>6 == 0:
		return str(1, uint64(e&0x3f))
	case e>>6 == 1:
		if len(b) < 2 {
			return nil, 0, ErrBadFormat
		}
		return str(2, uint64(e&0x3f)<<8|uint64(b[1]))
	case e == 0x80:
		if len(b) < 5 {
			return nil, 0, ErrBadFormat
		}
		return str(5, uint64(binary.BigEndian.Uint32(b[1:])))
	case e == 0xc0:
		return integer(2)
	case e == 0xd0:
		return integer(4)
	case e == 0xe0:
		return integer(8)
	case e == 0xf0:
		return integer(3)
	case e == 0xfe:
		return integer(1)
	case e >= 0xf1 && e <= 0xfd:
		return strconv.AppendInt(nil, int64(e&0x0f)-1, 10), 1, nil
	}
	return nil, 0, ErrBadFormat
}
