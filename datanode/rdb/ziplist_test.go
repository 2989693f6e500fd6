package rdb

import (
	"bytes"
	"encoding/binary"
	"slices"
	"testing"
)

// zlTestEntry is one entry of a hand-built ziplist: its encoding and data,
// and the element it decodes to.
type zlTestEntry struct {
	enc  []byte
	want string
}

// buildZiplist assembles a ziplist of entries, with correct prevlens.
func buildZiplist(entries []zlTestEntry) []byte {
	zl := make([]byte, zlHeader)
	prev := 0
	for _, e := range entries {
		start := len(zl)
		if prev < zlBigPrevLen {
			zl = append(zl, byte(prev))
		} else {
			zl = binary.LittleEndian.AppendUint32(append(zl, zlBigPrevLen), uint32(prev))
		}
		zl = append(zl, e.enc...)
		prev = len(zl) - start
	}
	zl = append(zl, zlEnd)
	binary.LittleEndian.PutUint32(zl, uint32(len(zl)))
	binary.LittleEndian.PutUint16(zl[8:], uint16(len(entries)))
	return zl
}

// zlTestEntries cover every ziplist encoding.
var zlTestEntries = []zlTestEntry{
	{[]byte{0x01, 'a'}, "a"},
	{[]byte{0xf6}, "5"},
	{[]byte{0xfe, 0x9c}, "-100"},
	{[]byte{0xc0, 0xe8, 0x03}, "1000"},
	{[]byte{0xf0, 0x00, 0x00, 0x80}, "-8388608"},
	{[]byte{0xd0, 0x00, 0x00, 0x00, 0x80}, "-2147483648"},
	{[]byte{0xe0, 1, 0, 0, 0, 0, 0, 0, 0}, "1"},
	{append([]byte{0x41, 0x2c}, bytes.Repeat([]byte("y"), 300)...), string(bytes.Repeat([]byte("y"), 300))},
	{append([]byte{0x80, 0, 0, 0, 3}, "big"...), "big"},
}

// TestZiplistForms decodes the pre-7.0 ziplist forms of hashes, sorted
// sets and lists.
func TestZiplistForms(t *testing.T) {
	var want [][]byte
	for _, e := range zlTestEntries {
		want = append(want, []byte(e.want))
	}
	zl := buildZiplist(zlTestEntries)
	got, err := decodeZiplist(zl)
	if err != nil || !slices.EqualFunc(got, want, bytes.Equal) {
		t.Fatalf("ziplist: %q %v", got, err)
	}
	list := appendString(append([]byte{TypeListQuicklist}, 1), zl)
	v, _, err := DecodeValue(list)
	if err != nil || v.Kind != KindList || !slices.EqualFunc(v.Elems, want, bytes.Equal) {
		t.Fatalf("quicklist: %+v %v", v, err)
	}
	hash := appendString([]byte{TypeHashZiplist}, buildZiplist(zlTestEntries[:2]))
	if v, _, err := DecodeValue(hash); err != nil || v.Kind != KindHash || string(v.Elems[1]) != "5" {
		t.Fatalf("hash: %+v %v", v, err)
	}
	zset := appendString([]byte{TypeZSetZiplist}, buildZiplist(zlTestEntries[:4]))
	if v, _, err := DecodeValue(zset); err != nil || v.Kind != KindZSet || v.Scores[0] != 5 || v.Scores[1] != 1000 {
		t.Fatalf("zset: %+v %v", v, err)
	}
	// Bad prevlen, odd hash, truncations.
	bad := bytes.Clone(zl)
	bad[zlHeader+3] = 9
	if _, err := decodeZiplist(bad); err == nil {
		t.Fatal("bad prevlen accepted")
	}
	if _, _, err := DecodeValue(appendString([]byte{TypeHashZiplist}, buildZiplist(zlTestEntries[:3]))); err == nil {
		t.Fatal("odd hash accepted")
	}
	for n := range len(zl) {
		c := bytes.Clone(zl[:n])
		if len(c) >= 4 {
			binary.LittleEndian.PutUint32(c, uint32(n))
			c[n-1] = zlEnd
		}
		decodeZiplist(c) // must not panic
	}
}
