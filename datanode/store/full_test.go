package store

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

// TestSlotFullIsAnErrorNotACrash fills one slot to its slab limit: writes
// past it fail with ErrSlotFull and change nothing.
func TestSlotFullIsAnErrorNotACrash(t *testing.T) {
	s := New(Config{})
	defer s.Close()
	s.slabLimit = 8 << 10
	sl := s.Slot(7)
	sl.Lock()
	defer sl.Unlock()
	value := []byte(strings.Repeat("v", 100))
	n := 0
	var err error
	for ; n < 1000; n++ {
		if err = sl.Set(fmt.Appendf(nil, "key-%d", n), value, 0, 1); err != nil {
			break
		}
	}
	if !errors.Is(err, ErrSlotFull) {
		t.Fatalf("after %d keys Set returned %v, want ErrSlotFull", n, err)
	}
	if sl.Len() != n {
		t.Fatalf("slot holds %d keys, want the %d that were accepted", sl.Len(), n)
	}
	// A larger value for an existing key does not fit either; the old one
	// stays.
	if err := sl.Set([]byte("key-0"), []byte(strings.Repeat("w", 4000)), 0, 1); !errors.Is(err, ErrSlotFull) {
		t.Fatalf("growing overwrite = %v, want ErrSlotFull", err)
	}
	if v, _, ok := sl.Get([]byte("key-0"), 1); !ok || string(v) != string(value) {
		t.Fatalf("key-0 = %q, %v after a refused overwrite", v, ok)
	}
	// Adding an expiry needs 8 more bytes: refused, key unchanged.
	for i := range n {
		ok, err := sl.SetExpire(fmt.Appendf(nil, "key-%d", i), 1000, 1)
		if !ok {
			t.Fatalf("key-%d missing", i)
		}
		if errors.Is(err, ErrSlotFull) {
			if _, exp, _ := sl.Peek(fmt.Appendf(nil, "key-%d", i), 1); exp != 0 {
				t.Fatalf("refused SetExpire changed the expiry to %d", exp)
			}
			break
		}
	}
	// Deleting makes room again.
	for i := range n / 2 {
		sl.Delete(fmt.Appendf(nil, "key-%d", i))
	}
	if err := sl.Set([]byte("again"), value, 0, 1); err != nil {
		t.Fatalf("Set after deletes = %v", err)
	}
}
