package store

import (
	"bytes"
	"testing"
)

func TestMarkRaw(t *testing.T) {
	s := New(Config{})
	defer s.Close()
	sl := s.Slot(0)
	sl.Lock()
	defer sl.Unlock()
	if sl.MarkRaw([]byte("nokey"), 1) || sl.Raw([]byte("nokey"), 1) {
		t.Fatal("a missing key was marked raw")
	}
	k := []byte("k")
	if err := sl.Set(k, []byte("v"), 0, 1); err != nil {
		t.Fatal(err)
	}
	if sl.Raw(k, 1) {
		t.Fatal("a new key is raw")
	}
	sl.MarkRaw(k, 1)
	// The mark survives gaining and losing an expiry, which rewrite the entry.
	for _, exp := range []int64{1000, 0} {
		if _, err := sl.SetExpire(k, exp, 1); err != nil {
			t.Fatal(err)
		}
		if !sl.Raw(k, 1) {
			t.Fatalf("SetExpire(%d) lost the raw mark", exp)
		}
	}
	if v, _, typ, ok := sl.PeekTyped(k, 1); !ok || typ != TypeString || !bytes.Equal(v, []byte("v")) {
		t.Fatalf("marked key reads %q %v %v", v, typ, ok)
	}
	// A Set of the same length (rewritten in place) or another length clears it.
	for _, v := range []string{"w", "longer"} {
		sl.MarkRaw(k, 1)
		if err := sl.Set(k, []byte(v), 0, 1); err != nil {
			t.Fatal(err)
		}
		if sl.Raw(k, 1) {
			t.Fatalf("Set(%q) kept the raw mark", v)
		}
	}
}

func TestFootprint(t *testing.T) {
	s := New(Config{})
	defer s.Close()
	sl := s.Slot(0)
	sl.Lock()
	defer sl.Unlock()
	if _, ok := sl.Footprint([]byte("nokey"), 1); ok {
		t.Fatal("a missing key has a footprint")
	}
	small, big := []byte("small"), []byte("big")
	if err := sl.Set(small, []byte("0123456789"), 0, 1); err != nil {
		t.Fatal(err)
	}
	if err := sl.Set(big, make([]byte, 100_000), 0, 1); err != nil {
		t.Fatal(err)
	}
	n, _ := sl.Footprint(small, 1)
	if want := entrySize(5, 10, false, false) + indexBytesPerKey; n != want {
		t.Errorf("small footprint %d, want %d", n, want)
	}
	n, _ = sl.Footprint(big, 1)
	if want := entrySize(3, 100_000, false, true) + indexBytesPerKey + blockSize(100_000); n != want || n < 100_000 {
		t.Errorf("big footprint %d, want %d", n, want)
	}
}
