package store

import (
	"fmt"
	"testing"

	"github.com/chkv/chkv/common/slot"
)

// check verifies the store's internal invariants: every index sorted and
// consistent with its slab, the counters, and the arena's accounting. The
// store must be quiescent: check takes no locks.
func (s *Store) check() error {
	var keys, garbage, allocated, idle int64
	for id := range s.slots {
		sl := &s.slots[id]
		if sl.idx == nil && sl.slab == nil && s.nonEmpty[id>>6].Load()|s.volatile[id>>6].Load() == 0 {
			continue
		}
		err := sl.check()
		if sl.idle && err == nil && (sl.count.Load() != 0 || sl.used != 0) {
			err = fmt.Errorf("idle with %d keys, %d bytes used", sl.count.Load(), sl.used)
		}
		keys += sl.count.Load()
		garbage += int64(sl.garbage)
		if sl.idle {
			idle += int64(sl.blockBytes())
		}
		if sl.idxH != 0 {
			allocated += int64(blockSize(len(sl.idx) * 8))
		}
		if sl.slabH != 0 {
			allocated += int64(len(sl.slab))
		}
		for _, ent := range sl.idx {
			if ent == 0 {
				continue
			}
			if e := parseEntry(sl.slab, entOff(ent)); e.flags&hdrOut != 0 {
				allocated += int64(blockSize(e.vlen))
			}
		}
		nonEmpty, volatile := s.nonEmpty.has(id), s.volatile.has(id)
		if nonEmpty != (sl.count.Load() > 0) || volatile != (sl.volatile.Load() > 0) {
			err = fmt.Errorf("bitmaps: nonEmpty %v volatile %v for %d keys, %d volatile", nonEmpty, volatile, sl.count.Load(), sl.volatile.Load())
		}
		if err != nil {
			return fmt.Errorf("slot %d: %w", id, err)
		}
	}
	if got := s.keys.load(); got != keys {
		return fmt.Errorf("store counts %d keys, slots %d", got, keys)
	}
	if got := s.garbage.load(); got != garbage {
		return fmt.Errorf("store counts %d bytes of garbage, slots %d", got, garbage)
	}
	if got := s.idle.load(); got != idle {
		return fmt.Errorf("store counts %d idle bytes, slots %d", got, idle)
	}
	if got := s.arena.inUse.Load(); got != allocated {
		return fmt.Errorf("arena has %d bytes in use, slots hold %d", got, allocated)
	}
	return nil
}

func (sl *Slot) check() error {
	n := int(sl.count.Load())
	if sl.idx == nil {
		if n != 0 || sl.slab != nil && sl.used != sl.garbage {
			return fmt.Errorf("no index but %d keys, %d/%d bytes", n, sl.used, sl.garbage)
		}
		return nil
	}
	if n*4 > len(sl.idx)*3 {
		return fmt.Errorf("%d keys in an index of %d", n, len(sl.idx))
	}
	found, volatile, live := 0, 0, 0
	for q, ent := range sl.idx {
		if ent == 0 {
			continue
		}
		found++
		off := entOff(ent)
		if off < 0 || off >= sl.used {
			return fmt.Errorf("position %d: offset %d outside %d", q, off, sl.used)
		}
		e := parseEntry(sl.slab, off)
		live += e.end - off
		key := e.keyBytes(sl.slab)
		if hashKey(key) != entHash(ent) {
			return fmt.Errorf("position %d: hash %08x, key %q hashes to %08x", q, entHash(ent), key, hashKey(key))
		}
		if (ent&entVolatile != 0) != (e.exp != 0) {
			return fmt.Errorf("position %d: volatile bit disagrees with entry", q)
		}
		if e.exp != 0 {
			volatile++
		}
		if slot.Of(key) != int(sl.id) {
			return fmt.Errorf("key %q of slot %d in slot %d", key, slot.Of(key), sl.id)
		}
		if got := sl.find(entHash(ent), key); got != q {
			return fmt.Errorf("key %q at %d found at %d", key, q, got)
		}
	}
	if found != n || volatile != int(sl.volatile.Load()) {
		return fmt.Errorf("index holds %d keys (%d volatile), counters %d (%d)", found, volatile, n, sl.volatile.Load())
	}
	if live != sl.used-sl.garbage {
		return fmt.Errorf("live entries take %d bytes, used %d garbage %d", live, sl.used, sl.garbage)
	}
	// Hash order, read from cursor 0, visits every entry once.
	it := sl.seek(0)
	var last uint32
	for i := 0; ; i++ {
		q := sl.next(&it)
		if q < 0 {
			if i != n {
				return fmt.Errorf("hash-order walk visited %d of %d keys", i, n)
			}
			break
		}
		h := entHash(sl.idx[q])
		if i > 0 && h < last {
			return fmt.Errorf("hash-order walk: %08x after %08x", h, last)
		}
		last = h
	}
	return nil
}

func (b *bitmap) has(i int) bool { return b[i>>6].Load()&(1<<(i&63)) != 0 }

func mustCheck(t testing.TB, s *Store) {
	t.Helper()
	if err := s.check(); err != nil {
		t.Fatal(err)
	}
}

// Convenience wrappers that lock the key's slot.

func set(s *Store, key, value string, expireAt, now int64) {
	sl := s.Slot(slot.OfString(key))
	sl.Lock()
	sl.Set([]byte(key), []byte(value), expireAt, now)
	sl.Unlock()
}

func get(s *Store, key string, now int64) (string, int64, bool) {
	sl := s.Slot(slot.OfString(key))
	sl.Lock()
	defer sl.Unlock()
	v, exp, ok := sl.Get([]byte(key), now)
	return string(v), exp, ok
}

func peek(s *Store, key string, now int64) (string, int64, bool) {
	sl := s.Slot(slot.OfString(key))
	sl.Lock()
	defer sl.Unlock()
	v, exp, ok := sl.Peek([]byte(key), now)
	return string(v), exp, ok
}

func del(s *Store, key string) bool {
	sl := s.Slot(slot.OfString(key))
	sl.Lock()
	defer sl.Unlock()
	return sl.Delete([]byte(key))
}

func setExpire(s *Store, key string, expireAt, now int64) bool {
	sl := s.Slot(slot.OfString(key))
	sl.Lock()
	defer sl.Unlock()
	ok, err := sl.SetExpire([]byte(key), expireAt, now)
	if err != nil {
		panic(err) // tests never fill a slot
	}
	return ok
}

func exists(s *Store, key string, now int64) bool {
	_, _, ok := peek(s, key, now)
	return ok
}

func bytesOf(n int, seed byte) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = seed + byte(i*7+i>>8)
	}
	return b
}

// newTestStore returns a store whose freed memory is poisoned, so that a
// read of freed memory shows as corrupt data.
func newTestStore(cfg Config) *Store {
	s := New(cfg)
	s.arena.poison = true
	return s
}
