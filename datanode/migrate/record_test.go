package migrate

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

func TestRoundTrip(t *testing.T) {
	in := []Record{
		{Key: []byte("a"), Total: 3, Chunk: []byte("one")},
		{Key: []byte("b"), TTL: 1500, Total: 0, Chunk: []byte{}},
		{Key: []byte("c"), Deleted: true},
		{Key: []byte(""), TTL: 1, Total: 10, Offset: 4, Chunk: []byte("xyz")},
		{Key: []byte("h"), Type: 1, Total: 4, Chunk: []byte("hash")},
		{Key: []byte("h2"), Type: 1, TTL: 7, Total: 9, Offset: 5, Chunk: []byte("tail")},
	}
	var b []byte
	for i := range in {
		b = Append(b, &in[i])
	}
	for i, want := range in {
		var got Record
		var err error
		got, b, err = Next(b)
		if err != nil {
			t.Fatalf("record %d: %v", i, err)
		}
		if !bytes.Equal(got.Key, want.Key) || got.Deleted != want.Deleted || got.TTL != want.TTL || got.Type != want.Type ||
			got.Total != want.Total || got.Offset != want.Offset || !bytes.Equal(got.Chunk, want.Chunk) {
			t.Fatalf("record %d = %+v, want %+v", i, got, want)
		}
	}
	if len(b) != 0 {
		t.Fatalf("%d bytes left", len(b))
	}
}

func TestNextRefusesCorruptInput(t *testing.T) {
	good := Append(nil, &Record{Key: []byte("key"), TTL: 5, Total: 5, Chunk: []byte("value")})
	for n := range len(good) {
		if _, _, err := Next(good[:n]); !errors.Is(err, ErrCorrupt) {
			t.Errorf("truncated to %d bytes: err = %v", n, err)
		}
	}
	for _, bad := range [][]byte{{0x80}, {0, 1}, {FlagTTL, 0, 0}, {0, 0, 2, 3, 0},
		{FlagType, 1, 'k', 0, 1, 0, 1, 'v'}, {FlagType | FlagDeleted, 1, 'k', 1}, {FlagType, 1, 'k'}} {
		if _, _, err := Next(bad); !errors.Is(err, ErrCorrupt) {
			t.Errorf("Next(%x): err = %v", bad, err)
		}
	}
}

// TestStringRecordsUnchanged pins the encoding of string records, which
// must stay readable by DataNodes that predate types.
func TestStringRecordsUnchanged(t *testing.T) {
	got := Append(nil, &Record{Key: []byte("k"), TTL: 5, Total: 2, Chunk: []byte("vv")})
	want := []byte{FlagTTL, 1, 'k', 5, 2, 0, 2, 'v', 'v'}
	if !bytes.Equal(got, want) {
		t.Fatalf("string record = %x, want %x", got, want)
	}
	got = Append(nil, &Record{Key: []byte("k"), Type: 1, Total: 1, Chunk: []byte("h")})
	want = []byte{FlagType, 1, 'k', 1, 1, 0, 1, 'h'}
	if !bytes.Equal(got, want) {
		t.Fatalf("hash record = %x, want %x", got, want)
	}
}

func TestAssemblerKeepsType(t *testing.T) {
	a := Assembler{MaxValue: 100}
	if _, ok, _ := a.Add(Record{Key: []byte("h"), Type: 1, Total: 4, Chunk: []byte("ab")}); ok {
		t.Fatal("half a value completed")
	}
	// A chunk of another type does not continue the value.
	if _, ok, _ := a.Add(Record{Key: []byte("h"), Type: 0, Total: 4, Offset: 2, Chunk: []byte("cd")}); ok {
		t.Fatal("chunk of a string completed a hash")
	}
	a.Add(Record{Key: []byte("h"), Type: 1, Total: 4, Chunk: []byte("ab")}) //nolint:errcheck
	r, ok, err := a.Add(Record{Key: []byte("h"), Type: 1, Total: 4, Offset: 2, Chunk: []byte("cd")})
	if err != nil || !ok || r.Type != 1 || string(r.Chunk) != "abcd" {
		t.Fatalf("Add = %+v %v %v", r, ok, err)
	}
}

func TestAssemblerJoinsChunks(t *testing.T) {
	a := Assembler{MaxValue: 100}
	value := strings.Repeat("0123456789", 3)
	for off := 0; off < len(value); off += 7 {
		end := min(off+7, len(value))
		r, ok, err := a.Add(Record{Key: []byte("big"), TTL: 9, Total: len(value), Offset: off, Chunk: []byte(value[off:end])})
		if err != nil {
			t.Fatal(err)
		}
		if ok != (end == len(value)) {
			t.Fatalf("chunk at %d: ok = %v", off, ok)
		}
		if ok && (string(r.Chunk) != value || string(r.Key) != "big" || r.TTL != 9) {
			t.Fatalf("joined %+v", r)
		}
	}
	if a.Pending() != 0 {
		t.Fatal("bytes held after the value completed")
	}
}

func TestAssemblerDropsAbandonedValue(t *testing.T) {
	a := Assembler{MaxValue: 100}
	if _, ok, _ := a.Add(Record{Key: []byte("big"), Total: 20, Chunk: []byte("0123456789")}); ok {
		t.Fatal("half a value completed")
	}
	// The source moved on to another key: the partial value is dropped.
	r, ok, err := a.Add(Record{Key: []byte("small"), Total: 1, Chunk: []byte("x")})
	if err != nil || !ok || string(r.Key) != "small" || a.Pending() != 0 {
		t.Fatalf("Add = %+v %v %v, pending %d", r, ok, err, a.Pending())
	}
	// A tail without its head is ignored.
	if _, ok, err := a.Add(Record{Key: []byte("big"), Total: 20, Offset: 10, Chunk: []byte("0123456789")}); ok || err != nil {
		t.Fatalf("orphan tail: ok %v err %v", ok, err)
	}
	if _, _, err := a.Add(Record{Key: []byte("huge"), Total: 101, Chunk: []byte("x")}); err == nil {
		t.Fatal("value above MaxValue accepted")
	}
}

func FuzzNext(f *testing.F) {
	f.Add(Append(nil, &Record{Key: []byte("k"), TTL: 3, Total: 2, Chunk: []byte("vv")}))
	f.Add(Append(nil, &Record{Key: []byte("k"), Deleted: true}))
	f.Add(Append(nil, &Record{Key: []byte("k"), Type: 1, Total: 2, Chunk: []byte("hh")}))
	f.Fuzz(func(t *testing.T, b []byte) {
		a := Assembler{MaxValue: 1 << 20}
		for len(b) > 0 {
			r, rest, err := Next(b)
			if err != nil {
				return
			}
			if len(rest) >= len(b) {
				t.Fatal("Next made no progress")
			}
			again, _, err := Next(Append(nil, &r))
			if err != nil || !bytes.Equal(again.Key, r.Key) || !bytes.Equal(again.Chunk, r.Chunk) || again.Type != r.Type {
				t.Fatalf("re-encoding %+v gave %+v, %v", r, again, err)
			}
			a.Add(r) //nolint:errcheck // only that it does not panic
			b = rest
		}
	})
}
