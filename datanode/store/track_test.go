package store

import (
	"maps"
	"slices"
	"testing"
	"unsafe"

	"github.com/chkv/chkv/common/slot"
)

func TestSlotSizeIsCacheLineMultiple(t *testing.T) {
	if n := unsafe.Sizeof(Slot{}); n != 128 {
		t.Fatalf("Slot is %d bytes, want 128", n)
	}
}

// Every way a key can change while its slot is tracked is recorded:
// writes, expiry changes, deletes, lazy expiry and eviction.
func TestTrackerRecordsEveryChange(t *testing.T) {
	s := newTestStore(Config{})
	defer s.Close()
	keys := []string{"{t}set", "{t}persist", "{t}del", "{t}expired", "{t}evicted", "{t}untouched"}
	for _, k := range keys {
		set(s, k, "v", 0, t0)
	}
	sl := s.Slot(slot.OfString("{t}"))
	sl.Lock()
	sl.SetExpire([]byte("{t}expired"), t0+10, t0)
	sl.SetExpire([]byte("{t}persist"), t0+1000, t0)
	tr := NewTracker()
	sl.Track(tr)
	sl.Unlock()

	set(s, "{t}set", "w", 0, t0)
	sl.Lock()
	if ok, err := sl.SetExpire([]byte("{t}persist"), 0, t0); !ok || err != nil {
		t.Fatalf("SetExpire = %v %v", ok, err)
	}
	sl.Delete([]byte("{t}del"))
	if _, _, ok := sl.Get([]byte("{t}expired"), t0+20); ok {
		t.Fatal("expired key returned")
	}
	sl.Unlock()
	if !s.Evict(AllKeysRandom, 1, t0+20) { // every key is in the tracked slot
		t.Fatal("nothing evicted")
	}
	sl.Lock()
	dirty := slices.Sorted(maps.Keys(sl.TakeDirty()))
	if sl.DirtyLen() != 0 {
		t.Fatal("TakeDirty did not start a new set")
	}
	sl.Unlock()
	sl.Lock()
	for _, k := range keys {
		_, _, present := sl.Peek([]byte(k), t0+20)
		changed := k != "{t}untouched" && k != "{t}evicted"
		if (changed || !present) && !slices.Contains(dirty, k) {
			t.Errorf("dirty %q misses %q", dirty, k)
		}
	}
	sl.Unlock()
	s.DropSlot(slot.OfString("{t}"))
	sl.Lock()
	defer sl.Unlock()
	if !tr.Reset {
		t.Fatal("clearing a tracked slot did not set Reset")
	}
	sl.Track(nil)
}

// A key forgotten (its current state is being sent) is not Changed until
// it is written again, in place included.
func TestTrackerForgetThenChanged(t *testing.T) {
	s := newTestStore(Config{})
	defer s.Close()
	key := []byte("{f}key")
	set(s, "{f}key", "abc", 0, t0)
	sl := s.Slot(slot.Of(key))
	sl.Lock()
	defer sl.Unlock()
	sl.Track(NewTracker())
	if sl.Set(key, []byte("xyz"), 0, t0) != nil || !sl.Changed(key) {
		t.Fatal("a write is not Changed")
	}
	sl.Forget(key)
	if sl.Changed(key) {
		t.Fatal("Changed right after Forget")
	}
	if !sl.Modify(key, t0, func(v []byte) { v[0] = 'q' }) || !sl.Changed(key) {
		t.Fatal("a write in place is not Changed")
	}
}

// Changes counts every write, delete and expiry, and each key a flush
// removes; reads count nothing.
func TestChangesCountsWrites(t *testing.T) {
	s := newTestStore(Config{})
	defer s.Close()
	set(s, "a", "1", 0, t0)
	set(s, "b", "2", t0+10, t0)
	set(s, "a", "3", 0, t0)
	sl := s.Slot(slot.OfString("a"))
	sl.Lock()
	sl.Get([]byte("a"), t0)
	sl.Modify([]byte("a"), t0, func([]byte) {})
	sl.Delete([]byte("a"))
	sl.Unlock()
	if got := s.Changes(); got != 5 {
		t.Fatalf("after 3 sets, a modify and a delete: Changes = %d, want 5", got)
	}
	sl = s.Slot(slot.OfString("b"))
	sl.Lock()
	sl.Get([]byte("b"), t0+20) // lazily expires b
	sl.Unlock()
	set(s, "c", "1", 0, t0)
	set(s, "d", "1", 0, t0)
	s.Flush()
	if got := s.Changes(); got != 5+1+2+2 {
		t.Fatalf("after an expiry, 2 sets and a flush of 2 keys: Changes = %d, want 10", got)
	}
}
