package store

import "testing"

// TestSetIdleAndFreq checks RESTORE's IDLETIME and FREQ edits of a key's
// access word, the LRU clock's wrap included.
func TestSetIdleAndFreq(t *testing.T) {
	s := newTestStore(Config{})
	defer s.Close()
	sl := s.Slot(0)
	now := int64(1_000_000_000_000)
	key := []byte("k")
	if err := sl.Set(key, []byte("v"), 0, now); err != nil {
		t.Fatal(err)
	}
	if !sl.SetIdle(key, 1000, now) {
		t.Fatal("SetIdle on an existing key reported false")
	}
	if idle, _, _ := sl.Access(key, now); idle != 1000 {
		t.Fatalf("idle = %d, want 1000", idle)
	}
	if !sl.SetIdle(key, 99999999999, now) {
		t.Fatal("SetIdle reported false")
	}
	if idle, _, _ := sl.Access(key, now); idle != 99999999999%(lruMask+1) {
		t.Fatalf("wrapped idle = %d", idle)
	}
	if !sl.SetFreq(key, 200, now) {
		t.Fatal("SetFreq reported false")
	}
	if idle, freq, _ := sl.Access(key, now); freq != 200 || idle != 0 {
		t.Fatalf("after SetFreq: idle %d freq %d", idle, freq)
	}
	if sl.SetIdle([]byte("missing"), 1, now) || sl.SetFreq([]byte("missing"), 1, now) {
		t.Fatal("edited a missing key")
	}
}
