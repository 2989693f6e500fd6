package rdb

import (
	"encoding/binary"
	"strconv"
)

// Length encodings: the two high bits of a length's first byte.
const (
	len6bit  = 0 // 00xxxxxx: a 6-bit length
	len14bit = 1 // 01xxxxxx xxxxxxxx: a 14-bit big-endian length
	lenWide  = 2 // 0x80 + 4 bytes or 0x81 + 8 bytes, big-endian
	lenEnc   = 3 // 11xxxxxx: a specially encoded string, see the encXxx
)

// Wide length markers.
const (
	len32 = 0x80
	len64 = 0x81
)

// Special string encodings, in the low 6 bits of an lenEnc byte.
const (
	encInt8  = 0
	encInt16 = 1
	encInt32 = 2
	encLZF   = 3
)

// reader is a cursor over a serialized value. Its methods return
// ErrBadFormat for anything that does not fit in the remaining bytes.
type reader struct {
	b []byte
	p int
}

// remaining returns how many bytes are left.
func (r *reader) remaining() int { return len(r.b) - r.p }

// byte reads one byte.
func (r *reader) byte() (byte, error) {
	if r.p >= len(r.b) {
		return 0, ErrBadFormat
	}
	r.p++
	return r.b[r.p-1], nil
}

// take reads n bytes, without copying them.
func (r *reader) take(n uint64) ([]byte, error) {
	if n > uint64(r.remaining()) {
		return nil, ErrBadFormat
	}
	s := r.b[r.p : r.p+int(n) : r.p+int(n)]
	r.p += int(n)
	return s, nil
}

// length reads a length; encoded reports a special string encoding, whose
// kind is then returned as the length.
func (r *reader) length() (n uint64, encoded bool, err error) {
	c, err := r.byte()
	if err != nil {
		return 0, false, err
	}
	switch c >> 6 {
	case len6bit:
		return uint64(c & 0x3f), false, nil
	case len14bit:
		c2, err := r.byte()
		return uint64(c&0x3f)<<8 | uint64(c2), false, err
	case lenEnc:
		return uint64(c & 0x3f), true, nil
	}
	switch c {
	case len32:
		b, err := r.take(4)
		if err != nil {
			return 0, false, err
		}
		return uint64(binary.BigEndian.Uint32(b)), false, nil
	case len64:
		b, err := r.take(8)
		if err != nil {
			return 0, false, err
		}
		return binary.BigEndian.Uint64(b), false, nil
	}
	return 0, false, ErrBadFormat
}

// count reads the element count of a collection, each element of which
// takes at least minSize bytes, so a count the remaining bytes cannot hold
// is refused before anything is allocated for it. An empty collection is
// malformed too, as Redis never writes one.
func (r *reader) count(minSize int) (int, error) {
	n, encoded, err := r.length()
	if err != nil {
		return 0, err
	}
	if encoded || n == 0 || n > uint64(r.remaining()/minSize) {
		return 0, ErrBadFormat
	}
	return int(n), nil
}

// string reads a string in any of its encodings. A raw string points into
// the payload.
func (r *reader) string() ([]byte, error) {
	n, encoded, err := r.length()
	if err != nil || !encoded {
		if err != nil {
			return nil, err
		}
		return r.take(n)
	}
	switch n {
	case encInt8:
		b, err := r.take(1)
		if err != nil {
			return nil, err
		}
		return strconv.AppendInt(nil, int64(int8(b[0])), 10), nil
	case encInt16:
		b, err := r.take(2)
		if err != nil {
			return nil, err
		}
		return strconv.AppendInt(nil, int64(int16(binary.LittleEndian.Uint16(b))), 10), nil
	case encInt32:
		b, err := r.take(4)
		if err != nil {
			return nil, err
		}
		return strconv.AppendInt(nil, int64(int32(binary.LittleEndian.Uint32(b))), 10), nil
	case encLZF:
		return r.lzfString()
	}
	return nil, ErrBadFormat
}

// maxStringLen is the longest string a value may hold: Redis's largest
// proto-max-bulk-len default, 512 MB.
const maxStringLen = 512 << 20

// lzfString reads an LZF-compressed string: compressed length, length,
// compressed bytes. The length is bounded by what the compressed bytes
// can expand to, and by maxStringLen.
func (r *reader) lzfString() ([]byte, error) {
	clen, enc1, err := r.length()
	if err != nil {
		return nil, err
	}
	ulen, enc2, err := r.length()
	if err != nil {
		return nil, err
	}
	if enc1 || enc2 || clen > uint64(r.remaining()) || ulen > clen*maxLZFRatio || ulen > maxStringLen {
		return nil, ErrBadFormat
	}
	in, _ := r.take(clen)
	out, ok := lzfDecompress(in, int(ulen))
	if !ok {
		return nil, ErrBadFormat
	}
	return out, nil
}
