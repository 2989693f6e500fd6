package rdb

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"testing"
)

// TestCRC64 checks Redis's test vector from crc64.c.
func TestCRC64(t *testing.T) {
	if got := CRC64(0, []byte("123456789")); got != 0xe9c6d914c4b8d9ca {
		t.Fatalf("crc64 = %#x", got)
	}
	// Incremental use gives the same sum.
	if got := CRC64(CRC64(0, []byte("1234")), []byte("56789")); got != 0xe9c6d914c4b8d9ca {
		t.Fatalf("incremental crc64 = %#x", got)
	}
}

// TestLengthEncoding round-trips lengths at every encoding's bounds.
func TestLengthEncoding(t *testing.T) {
	for _, n := range []uint64{0, 63, 64, 16383, 16384, math.MaxUint32, math.MaxUint32 + 1, math.MaxUint64} {
		r := &reader{b: appendLength(nil, n)}
		got, enc, err := r.length()
		if err != nil || enc || got != n || r.remaining() != 0 {
			t.Fatalf("length %d: got %d %v %v", n, got, enc, err)
		}
	}
}

// TestStringEncoding round-trips strings, integer-encoded ones included.
func TestStringEncoding(t *testing.T) {
	for _, s := range []string{"", "a", "0", "-1", "127", "-128", "128", "32767", "-32769", "2147483647",
		"2147483648", "-2147483648", "007", "-0", "+1", "9223372036854775807", string(make([]byte, 70000))} {
		r := &reader{b: appendString(nil, []byte(s))}
		got, err := r.string()
		if err != nil || string(got) != s || r.remaining() != 0 {
			t.Fatalf("string %q: got %q %v", s, got, err)
		}
	}
}

// TestLZF decodes a hand-made stream with a literal run and an
// overlapping back reference, and rejects bad ones.
func TestLZF(t *testing.T) {
	// "abc" literal, then a back reference of length 7 at distance 3.
	in := []byte{2, 'a', 'b', 'c', 5 << 5, 2}
	out, ok := lzfDecompress(in, 10)
	if !ok || string(out) != "abcabcabca" {
		t.Fatalf("got %q %v", out, ok)
	}
	for _, bad := range [][]byte{{2, 'a'}, {0, 'a', 1 << 5, 5}, {5 << 5}} {
		if _, ok := lzfDecompress(bad, 10); ok {
			t.Fatalf("%v accepted", bad)
		}
	}
	if _, ok := lzfDecompress(in, 9); ok {
		t.Fatal("wrong length accepted")
	}
}

// TestListpackIntegers round-trips integers at every encoding's bounds.
func TestListpackIntegers(t *testing.T) {
	var elems [][]byte
	for _, v := range []int64{0, 127, 128, -1, 4095, -4096, 4096, -4097, 32767, -32768, 32768, 1<<23 - 1, -1 << 23,
		1 << 23, math.MaxInt32, math.MinInt32, math.MaxInt32 + 1, math.MaxInt64, math.MinInt64} {
		elems = append(elems, strconv.AppendInt(nil, v, 10))
	}
	elems = append(elems, []byte("x"), bytes.Repeat([]byte("y"), 100), bytes.Repeat([]byte("z"), 5000), []byte("01"))
	got, err := decodeListpack(appendListpack(nil, elems))
	if err != nil || !slices.EqualFunc(got, elems, bytes.Equal) {
		t.Fatalf("got %q %v", got, err)
	}
}

// TestValuesRoundTrip encodes a value of every kind and encoding and
// decodes it back from a DUMP payload.
func TestValuesRoundTrip(t *testing.T) {
	var big [][]byte
	for i := range 5000 {
		big = append(big, fmt.Appendf(nil, "element-%d", i))
	}
	pairs := [][]byte{[]byte("f"), []byte("1"), []byte("g"), []byte("-7")}
	cases := []struct {
		enc  []byte
		want Value
	}{
		{AppendString(nil, []byte("hello")), Value{Kind: KindString, Elems: [][]byte{[]byte("hello")}}},
		{AppendString(nil, []byte("-5")), Value{Kind: KindString, Elems: [][]byte{[]byte("-5")}}},
		{AppendList(nil, big), Value{Kind: KindList, Elems: big}},
		{AppendIntset(nil, []int64{-70000, 1, 5}), Value{Kind: KindSet, Elems: [][]byte{[]byte("-70000"), []byte("1"), []byte("5")}}},
		{AppendSet(nil, big[:3]), Value{Kind: KindSet, Elems: big[:3]}},
		{AppendHash(nil, pairs, true), Value{Kind: KindHash, Elems: pairs}},
		{AppendHash(nil, pairs, false), Value{Kind: KindHash, Elems: pairs}},
		{AppendZSet(nil, big[:3], []float64{1.5, math.Inf(1), 3}, true), Value{Kind: KindZSet, Elems: big[:3], Scores: []float64{1.5, math.Inf(1), 3}}},
	}
	for i, c := range cases {
		got, err := DecodeDump(AppendFooter(c.enc, 0))
		if err != nil || got.Kind != c.want.Kind || !slices.EqualFunc(got.Elems, c.want.Elems, bytes.Equal) || !slices.Equal(got.Scores, c.want.Scores) {
			t.Fatalf("case %d: got %+v %v", i, got, err)
		}
	}
	// A skiplist's elements are written from the tail.
	got, err := DecodeDump(AppendFooter(AppendZSet(nil, big[:2], []float64{1, 2}, false), 0))
	if err != nil || string(got.Elems[0]) != string(big[1]) || got.Scores[0] != 2 {
		t.Fatalf("zset2: %+v %v", got, err)
	}
}

// TestCorruptPayloads checks that damaged payloads are refused with the
// right error: a bad footer, or, with a good footer, a bad body.
func TestCorruptPayloads(t *testing.T) {
	p := AppendFooter(AppendHash(nil, [][]byte{[]byte("a"), []byte("b")}, true), 0)
	for i := range p {
		q := bytes.Clone(p)
		q[i] ^= 0x40
		if _, err := DecodeDump(q); !errors.Is(err, ErrBadFooter) {
			t.Fatalf("flip %d: %v", i, err)
		}
	}
	for n := range len(p) {
		if _, err := DecodeDump(p[:n]); !errors.Is(err, ErrBadFooter) {
			t.Fatalf("truncate %d: %v", n, err)
		}
	}
	body := p[:len(p)-10]
	for n := range len(body) {
		if _, err := DecodeDump(AppendFooter(bytes.Clone(body[:n]), 0)); !errors.Is(err, ErrBadFormat) {
			t.Fatalf("truncated body %d: %v", n, err)
		}
	}
	for _, bad := range [][]byte{
		{TypeSet, 0}, // empty set
		{TypeSet, 0x81, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, // huge count
		{TypeHash, 1, 1, 'a'},         // missing value
		{99},                          // unknown type
		{TypeString, 0xc3, 1, 100, 0}, // LZF claiming 100 bytes from 1
		{TypeSetIntset, 8, 2, 0, 0, 0, 0, 0, 0, 0}, // intset without members
	} {
		if _, err := DecodeDump(AppendFooter(bytes.Clone(bad), 0)); !errors.Is(err, ErrBadFormat) {
			t.Fatalf("%v: %v", bad, err)
		}
	}
	newer := AppendFooter([]byte{TypeString, 1, 'a'}, 0)
	newer[3] = Version + 1
	if _, err := VerifyDump(newer); !errors.Is(err, ErrBadFooter) {
		t.Fatalf("newer version: %v", err)
	}
}

// FuzzDecodeValue feeds arbitrary bytes to the decoder: it must return a
// value or an error, never panic, and allocate in proportion to its input
// (the decoder checks every length against the remaining bytes).
func FuzzDecodeValue(f *testing.F) {
	f.Add(AppendString(nil, []byte("hello")))
	f.Add(AppendList(nil, [][]byte{[]byte("a"), []byte("123")}))
	f.Add(AppendIntset(nil, []int64{1, 2, 70000}))
	f.Add(AppendSet(nil, [][]byte{[]byte("x")}))
	f.Add(AppendHash(nil, [][]byte{[]byte("a"), []byte("b")}, true))
	f.Add(AppendHash(nil, [][]byte{[]byte("a"), []byte("b")}, false))
	f.Add(AppendZSet(nil, [][]byte{[]byte("m")}, []float64{2.5}, true))
	f.Add(AppendZSet(nil, [][]byte{[]byte("m")}, []float64{2.5}, false))
	f.Add([]byte{TypeString, 0xc3, 4, 10, 2, 'a', 'b', 'c', 5 << 5, 2})
	f.Fuzz(func(t *testing.T, b []byte) {
		v, n, err := DecodeValue(b)
		if err != nil {
			return
		}
		if n > len(b) {
			t.Fatalf("consumed %d of %d", n, len(b))
		}
		size := 0
		for _, e := range v.Elems {
			size += len(e)
		}
		if size > maxLZFRatio*len(b)+32*len(v.Elems) {
			t.Fatalf("%d bytes decoded from %d", size, len(b))
		}
	})
}

// TestLZFCompressRoundTrip compresses seeded random inputs of varied
// redundancy and decompresses them back.
func TestLZFCompressRoundTrip(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for i := range 300 {
		in := make([]byte, rng.IntN(20000))
		alphabet := 1 + rng.IntN(256)
		for j := range in {
			if j > 10 && rng.IntN(3) == 0 {
				in[j] = in[j-1-rng.IntN(min(j, 9000))]
			} else {
				in[j] = byte(rng.IntN(alphabet))
			}
		}
		c, ok := lzfCompress(nil, in, len(in)+len(in)/16+64)
		if !ok {
			if len(in) == 0 {
				continue
			}
			t.Fatalf("case %d: %d bytes did not compress into a generous buffer", i, len(in))
		}
		out, ok := lzfDecompress(c, len(in))
		if !ok || !bytes.Equal(out, in) {
			t.Fatalf("case %d: round trip failed (%d bytes)", i, len(in))
		}
		if s := appendString(nil, in); len(s) > len(in)+9 {
			t.Fatalf("case %d: appendString grew %d bytes to %d", i, len(in), len(s))
		}
	}
}

// FuzzDecodeFunctionsDump feeds arbitrary entries, behind a valid footer,
// to the FUNCTION RESTORE decoder: it must return codes or an error, never
// panic, and decode in proportion to its input. Codes it returns encode
// and decode back to themselves.
func FuzzDecodeFunctionsDump(f *testing.F) {
	f.Add([]byte{OpcodeFunction2, 5, 'h', 'e', 'l', 'l', 'o'})
	f.Add(AppendFunctionsDump(nil, [][]byte{[]byte("#!lua name=a\nredis.register_function('a', function() return 'a long body, long enough for lzf, lzf, lzf' end)")}))
	f.Add([]byte{OpcodeFunctionPreGA, 1, 'a', 3, 'L', 'U', 'A', 1, 1, 'd', 2, 'x', 'y'})
	f.Add([]byte{OpcodeFunction2, 0xc3, 4, 10, 2, 'a', 'b', 'c', 5 << 5, 2})
	f.Fuzz(func(t *testing.T, body []byte) {
		codes, err := DecodeFunctionsDump(AppendFooter(slices.Clone(body), 0))
		if err != nil {
			return
		}
		size := 0
		for _, c := range codes {
			size += len(c)
		}
		if size > maxLZFRatio*(len(body)+footerSize)+32*len(codes) {
			t.Fatalf("%d bytes decoded from %d", size, len(body))
		}
		again, err := DecodeFunctionsDump(AppendFunctionsDump(nil, codes))
		if err != nil || len(again) != len(codes) {
			t.Fatalf("round trip of %d codes: %d, %v", len(codes), len(again), err)
		}
		for i := range codes {
			if !bytes.Equal(again[i], codes[i]) {
				t.Fatalf("code %d: %q became %q", i, codes[i], again[i])
			}
		}
	})
}
