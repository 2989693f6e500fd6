package rdb

import (
	"encoding/binary"
	"math"
	"strconv"
)

// An intset (Redis's intset.c) is a 4-byte little-endian element width (2,
// 4 or 8 bytes), a 4-byte count and the elements, little-endian, in
// strictly ascending order.
const intsetHeader = 8

// decodeIntset returns the members of the intset b, formatted in decimal.
func decodeIntset(b []byte) ([][]byte, error) {
	if len(b) < intsetHeader {
		return nil, ErrBadFormat
	}
	width := binary.LittleEndian.Uint32(b)
	n := uint64(binary.LittleEndian.Uint32(b[4:]))
	if (width != 2 && width != 4 && width != 8) || n == 0 || uint64(len(b)-intsetHeader) != n*uint64(width) {
		return nil, ErrBadFormat
	}
	out := make([][]byte, n)
	var prev int64
	for i := range out {
		var v int64
		p := intsetHeader + i*int(width)
		switch width {
		case 2:
			v = int64(int16(binary.LittleEndian.Uint16(b[p:])))
		case 4:
			v = int64(int32(binary.LittleEndian.Uint32(b[p:])))
		default:
			v = int64(binary.LittleEndian.Uint64(b[p:]))
		}
		if i > 0 && v <= prev {
			return nil, ErrBadFormat
		}
		prev = v
		out[i] = strconv.AppendInt(nil, v, 10)
	}
	return out, nil
}

// appendIntset appends an intset of vals (ascending, distinct) in the
// narrowest width that holds them all.
func appendIntset(dst []byte, vals []int64) []byte {
	width := 2
	for _, v := range vals {
		if v < math.MinInt32 || v > math.MaxInt32 {
			width = 8
			break
		}
		if v < math.MinInt16 || v > math.MaxInt16 {
			width = 4
		}
	}
	dst = binary.LittleEndian.AppendUint32(dst, uint32(width))
	dst = binary.LittleEndian.AppendUint32(dst, uint32(len(vals)))
	for _, v := range vals {
		switch width {
		case 2:
			dst = binary.LittleEndian.AppendUint16(dst, uint16(v))
		case 4:
			dst = binary.LittleEndian.AppendUint32(dst, uint32(v))
		default:
			dst = binary.LittleEndian.AppendUint64(dst, uint64(v))
		}
	}
	return dst
}
