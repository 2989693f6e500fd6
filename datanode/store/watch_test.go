package store

import (
	"testing"

	"github.com/chkv/chkv/common/slot"
)

// watchKey registers w under key in its slot.
func watchKey(s *Store, key string, w *Watcher) {
	sl := s.Slot(slot.OfString(key))
	sl.Lock()
	sl.Watch([]byte(key), w)
	sl.Unlock()
}

// Every change of a watched key marks its watcher, and nothing else does:
// not a change of another key of the slot, not a read, not a delete of a
// missing key, not clearing the slot while the key does not exist.
func TestWatcherSeesEveryChangeOfItsKey(t *testing.T) {
	s := newTestStore(Config{})
	defer s.Close()
	k := []byte("{w}k")
	sl := s.Slot(slot.OfString("{w}k"))
	put := func() { sl.Set(k, []byte("v"), 0, t0) }
	cases := []struct {
		name    string
		prepare func() // before the key is watched
		change  func()
		dirty   bool
	}{
		{"write", nil, put, true},
		{"other key", nil, func() { sl.Set([]byte("{w}other"), []byte("v"), 0, t0) }, false},
		{"read", nil, func() { sl.Get(k, t0) }, false},
		{"expiry set", nil, func() { sl.SetExpire(k, t0+10, t0) }, true},
		{"lazy expiry", nil, func() { sl.Get(k, t0+20) }, true},
		{"delete missing", nil, func() { sl.Delete(k) }, false},
		{"clear without the key", nil, func() { sl.Clear() }, false},
		{"delete", put, func() { sl.Delete(k) }, true},
		{"clear with the key", put, func() { sl.Clear() }, true},
	}
	for _, tc := range cases {
		var w Watcher
		sl.Lock()
		if tc.prepare != nil {
			tc.prepare()
		}
		sl.Watch(k, &w)
		tc.change()
		sl.Unwatch(k, &w)
		sl.Unlock()
		if w.Dirty() != tc.dirty {
			t.Errorf("%s: dirty = %v, want %v", tc.name, w.Dirty(), tc.dirty)
		}
	}
	if n := s.WatchedKeys(); n != 0 {
		t.Fatalf("%d registrations left after Unwatch", n)
	}
}

// Eviction and flushing reach watchers too; an unwatched watcher is no
// longer marked, and other watchers of the key still are.
func TestWatcherEvictionFlushAndUnwatch(t *testing.T) {
	s := newTestStore(Config{})
	defer s.Close()
	set(s, "a", "v", 0, t0)
	set(s, "b", "v", 0, t0)
	var wa, wb, gone Watcher
	watchKey(s, "a", &wa)
	watchKey(s, "a", &gone)
	watchKey(s, "b", &wb)
	sl := s.Slot(slot.OfString("a"))
	sl.Lock()
	sl.Unwatch([]byte("a"), &gone)
	sl.Unlock()
	for s.Len() > 1 {
		s.Evict(AllKeysRandom, 1, t0)
	}
	if wa.Dirty() == wb.Dirty() {
		t.Fatalf("one key evicted, watchers dirty: a %v, b %v", wa.Dirty(), wb.Dirty())
	}
	s.Flush()
	if !wa.Dirty() || !wb.Dirty() {
		t.Fatal("FLUSHALL of an existing key did not mark its watcher")
	}
	if gone.Dirty() {
		t.Fatal("an unwatched watcher was marked")
	}
	if n := s.WatchedKeys(); n != 2 {
		t.Fatalf("WatchedKeys = %d, want 2", n)
	}
}
