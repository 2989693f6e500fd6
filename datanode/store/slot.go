package store

import (
	"encoding/binary"
	"sync"
	"sync/atomic"
)

// Slot holds the keys of one hash slot: an index and a slab of packed
// entries, both in arena blocks off the Go heap (see index.go and
// entry.go). Every method but Lock, Unlock and Len requires the caller to
// hold the slot's lock.
//
// Slices returned by Get, Peek, Scan and ForEach point into the store's
// memory. They stay valid while the caller holds the lock and does not call
// Set, SetExpire or Delete on the slot; reads (Get, Peek, Scan, ForEach)
// never move or free another key's data, even when they drop an expired
// key.
type Slot struct {
	// What lookups need comes first, in one cache line.
	mu   sync.Mutex
	idx  []uint64 // index, in the block idxH; nil when empty
	slab []byte   // entries, in the block slabH; nil when empty
	used int      // bytes of slab holding entries, live or dead

	count    atomic.Int64 // keys, readable without the lock
	volatile atomic.Int64 // keys with a TTL, readable without the lock
	store    *Store
	idxH     uint64
	slabH    uint64
	garbage  int      // bytes of dead entries in slab[:used]
	tracker  *Tracker // non-nil while the slot is migrating
	id       int32
	idle     bool    // no keys; the blocks are kept for the next one
	_        [3]byte // to 128 bytes: slots start on cache lines
}

// Lock locks the slot.
func (sl *Slot) Lock() { sl.mu.Lock() }

// TryLock locks the slot if it is free and reports whether it did.
func (sl *Slot) TryLock() bool { return sl.mu.TryLock() }

// Unlock unlocks the slot.
func (sl *Slot) Unlock() { sl.mu.Unlock() }

// ID returns the slot's number.
func (sl *Slot) ID() int { return int(sl.id) }

// Len returns the number of keys in the slot, expired ones not yet removed
// included. It does not need the lock.
func (sl *Slot) Len() int { return int(sl.count.Load()) }

// Get returns the value and expiry of key and records the access for
// eviction. An expired key is removed and reported absent. The value may be
// of any Type; see GetTyped.
func (sl *Slot) Get(key []byte, now int64) (value []byte, expireAt int64, ok bool) {
	value, expireAt, _, ok = sl.GetTyped(key, now)
	return value, expireAt, ok
}

// GetTyped is Get that also returns the value's Type.
func (sl *Slot) GetTyped(key []byte, now int64) (value []byte, expireAt int64, typ Type, ok bool) {
	q := sl.lookup(key, now)
	if q < 0 {
		return nil, 0, 0, false
	}
	e := parseEntry(sl.slab, entOff(sl.idx[q]))
	acc := sl.slab[e.acc : e.acc+accessSize]
	binary.LittleEndian.PutUint32(acc, touch(binary.LittleEndian.Uint32(acc), now))
	return sl.value(&e), e.expireAt(sl.slab), e.typ(), true
}

// Peek is Get without recording an access.
func (sl *Slot) Peek(key []byte, now int64) (value []byte, expireAt int64, ok bool) {
	value, expireAt, _, ok = sl.PeekTyped(key, now)
	return value, expireAt, ok
}

// PeekTyped is GetTyped without recording an access.
func (sl *Slot) PeekTyped(key []byte, now int64) (value []byte, expireAt int64, typ Type, ok bool) {
	q := sl.lookup(key, now)
	if q < 0 {
		return nil, 0, 0, false
	}
	e := parseEntry(sl.slab, entOff(sl.idx[q]))
	return sl.value(&e), e.expireAt(sl.slab), e.typ(), true
}

// Set stores a copy of key and the string value with the given expiry (0:
// none), replacing any previous value, of whatever type, and expiry. key
// and value may point into the store, into this slot included.
func (sl *Slot) Set(key, value []byte, expireAt int64, now int64) error {
	return sl.SetTyped(key, value, TypeString, expireAt, now)
}

// SetTyped is Set for a value of type typ.
func (sl *Slot) SetTyped(key, value []byte, typ Type, expireAt int64, now int64) error {
	return sl.setTyped(key, value, len(value), nil, typ, expireAt, now)
}

// SetTypedFunc is SetTyped for a value of size bytes that fill writes. A
// value too large to keep inline in the slab (over 8 KiB) is written
// straight into the block that holds it, so that rebuilding a large value
// costs no copy of it on the Go heap. fill may read any value of the slot,
// key's old one included: they stay valid during the call. It is not
// called when the slot has no room (ErrSlotFull).
func (sl *Slot) SetTypedFunc(key []byte, size int, typ Type, expireAt int64, now int64, fill func(value []byte)) error {
	if size <= inlineMax {
		v := make([]byte, size)
		fill(v)
		return sl.SetTyped(key, v, typ, expireAt, now)
	}
	return sl.setTyped(key, nil, size, fill, typ, expireAt, now)
}

// setTyped stores key with a value of vlen bytes: value, or with fill
// non-nil, what fill writes in a new out-of-line block.
func (sl *Slot) setTyped(key, value []byte, vlen int, fill func([]byte), typ Type, expireAt int64, now int64) error {
	sl.touched(key)
	h := hashKey(key)
	if q := sl.find(h, key); q >= 0 {
		return sl.overwrite(q, h, key, value, vlen, fill, typ, expireAt, now)
	}
	out := vlen > inlineMax
	size := entrySize(len(key), vlen, expireAt != 0, out)
	if !sl.fits(size) {
		return ErrSlotFull
	}
	if sl.idle {
		sl.wake()
	}
	sl.growIndex()
	a := &sl.store.arena
	var ref uint64
	if out {
		ref = sl.allocValue(value, vlen, fill)
	}
	oldSlab := sl.reserve(size)
	off := sl.used
	sl.used += putEntry(sl.slab, off, key, vlen, value, ref, out, expireAt, newAccess(now), typ)
	sl.insertIndex(makeEnt(h, off, expireAt != 0))
	if sl.count.Add(1) == 1 {
		sl.store.nonEmpty.set(int(sl.id))
	}
	sl.store.keys.add(sl.id, 1)
	if expireAt != 0 {
		sl.addVolatile(1)
	}
	if oldSlab != 0 {
		a.free(oldSlab)
	}
	return nil
}

// allocValue returns a new out-of-line block of vlen bytes holding value,
// or what fill writes in it.
func (sl *Slot) allocValue(value []byte, vlen int, fill func([]byte)) uint64 {
	ref, b := sl.store.arena.alloc(vlen)
	if fill != nil {
		fill(b)
	} else {
		copy(b, value)
	}
	return ref
}

// overwrite replaces the value and expiry of the entry at index position
// q with value, or with fill non-nil with what fill writes (see setTyped).
func (sl *Slot) overwrite(q int, h uint32, key, value []byte, vlen int, fill func([]byte), typ Type, expireAt, now int64) error {
	a := &sl.store.arena
	off := entOff(sl.idx[q])
	e := parseEntry(sl.slab, off)
	acc := touchLRU(binary.LittleEndian.Uint32(sl.slab[e.acc:]), now)
	exp, out := expireAt != 0, vlen > inlineMax
	oldExp, oldOut := e.exp != 0, e.flags&hdrOut != 0
	if fill == nil && e.vlen == vlen && exp == oldExp && out == oldOut {
		// Same layout: rewrite in place. copy is a memmove, so value may
		// alias the old value.
		if exp {
			binary.LittleEndian.PutUint64(sl.slab[e.exp:], uint64(expireAt))
		}
		sl.slab[off] = sl.slab[off]&^(hdrTypeMask|hdrRaw) | byte(typ)<<hdrTypeShift
		binary.LittleEndian.PutUint32(sl.slab[e.acc:], acc)
		if out {
			copy(a.bytes(e.ref(sl.slab), e.vlen), value)
		} else {
			copy(sl.slab[e.val:e.end], value)
		}
		return nil
	}
	size := entrySize(len(key), vlen, exp, out)
	if !sl.fits(size) {
		return ErrSlotFull
	}
	var oldRef, ref uint64
	if oldOut {
		oldRef = e.ref(sl.slab)
	}
	if out {
		ref = sl.allocValue(value, vlen, fill)
	}
	oldSize := e.end - off
	// The old slab, which key and value may point into, is freed last.
	oldSlab := sl.reserve(size)
	newOff := sl.used
	sl.used += putEntry(sl.slab, newOff, key, vlen, value, ref, out, expireAt, acc, typ)
	sl.idx[q] = makeEnt(h, newOff, exp)
	sl.addGarbage(oldSize)
	if exp != oldExp {
		if exp {
			sl.addVolatile(1)
		} else {
			sl.addVolatile(-1)
		}
	}
	if oldOut {
		a.free(oldRef)
	}
	if oldSlab != 0 {
		a.free(oldSlab)
	}
	return nil
}

// SetExpire changes the expiry of an existing live key (0: persist). It
// reports whether the key exists; ErrSlotFull means the key exists but the
// slot has no room for the expiry, and nothing changed.
func (sl *Slot) SetExpire(key []byte, expireAt int64, now int64) (bool, error) {
	q := sl.lookup(key, now)
	if q < 0 {
		return false, nil
	}
	sl.touched(key)
	e := parseEntry(sl.slab, entOff(sl.idx[q]))
	exp := expireAt != 0
	if exp == (e.exp != 0) {
		if exp {
			binary.LittleEndian.PutUint64(sl.slab[e.exp:], uint64(expireAt))
		}
		return true, nil
	}
	// The entry gains or loses its expireAt field: write a new copy.
	size := e.end - entOff(sl.idx[q])
	oldSize := size
	if exp {
		size += 8
	} else {
		size -= 8
	}
	if !sl.fits(size) {
		return true, ErrSlotFull
	}
	oldSlab := sl.reserve(size)
	e = parseEntry(sl.slab, entOff(sl.idx[q])) // the slab may have moved
	out := e.flags&hdrOut != 0
	var ref uint64
	var value []byte
	if out {
		ref = e.ref(sl.slab)
	} else {
		value = sl.slab[e.val:e.end]
	}
	acc := binary.LittleEndian.Uint32(sl.slab[e.acc:])
	newOff := sl.used
	sl.used += putEntry(sl.slab, newOff, e.keyBytes(sl.slab), e.vlen, value, ref, out, expireAt, acc, e.typ())
	sl.slab[newOff] |= e.flags & hdrRaw
	sl.idx[q] = makeEnt(entHash(sl.idx[q]), newOff, exp)
	sl.addGarbage(oldSize)
	if exp {
		sl.addVolatile(1)
	} else {
		sl.addVolatile(-1)
	}
	if oldSlab != 0 {
		sl.store.arena.free(oldSlab)
	}
	return true, nil
}

// Delete removes key, expired or not, and reports whether it was present.
func (sl *Slot) Delete(key []byte) bool {
	q := sl.find(hashKey(key), key)
	if q < 0 {
		return false
	}
	sl.removeAt(q)
	sl.tidy()
	return true
}

// Scan calls fn for the live keys whose scan hash is at least cursor, in
// hash order, until it has returned at least count keys and the next key has
// a different hash. It returns the cursor to continue from, and done when no
// key is left. A key present for the whole of a sequence of Scan calls is
// returned by one of them, however the slot grows or shrinks in between.
// fn must not modify the slot; key, as any slice from a Slot, is valid until
// the slot is modified or unlocked.
func (sl *Slot) Scan(cursor uint32, count int, now int64, fn func(key []byte, expireAt int64)) (next uint32, done bool) {
	return sl.ScanValues(cursor, count, now, func(key, _ []byte, expireAt int64) { fn(key, expireAt) })
}

// ScanValues is Scan that also passes each key's value.
func (sl *Slot) ScanValues(cursor uint32, count int, now int64, fn func(key, value []byte, expireAt int64)) (next uint32, done bool) {
	return sl.ScanTyped(cursor, count, now, func(key, value []byte, _ Type, expireAt int64) { fn(key, value, expireAt) })
}

// ScanTyped is Scan that also passes each key's value and its Type.
func (sl *Slot) ScanTyped(cursor uint32, count int, now int64, fn func(key, value []byte, typ Type, expireAt int64)) (next uint32, done bool) {
	if sl.idx == nil {
		return 0, true
	}
	n := 0
	var last uint32
	it := sl.seek(cursor)
	for {
		q := sl.next(&it)
		if q < 0 {
			return 0, true
		}
		ent := sl.idx[q]
		h := entHash(ent)
		if n > 0 && n >= count && h != last {
			return h, false
		}
		e := parseEntry(sl.slab, entOff(ent))
		exp := e.expireAt(sl.slab)
		if expired(exp, now) {
			continue
		}
		fn(e.keyBytes(sl.slab), sl.value(&e), e.typ(), exp)
		n++
		last = h
	}
}

// ForEach calls fn for every live key of the slot until fn returns false.
// fn must not modify the slot; the slices passed to it are valid only
// during the call.
func (sl *Slot) ForEach(now int64, fn func(key, value []byte, expireAt int64) bool) {
	for _, ent := range sl.idx {
		if ent == 0 {
			continue
		}
		e := parseEntry(sl.slab, entOff(ent))
		exp := e.expireAt(sl.slab)
		if expired(exp, now) {
			continue
		}
		if !fn(e.keyBytes(sl.slab), sl.value(&e), exp) {
			return
		}
	}
}

// value returns the value of a parsed entry.
func (sl *Slot) value(e *entry) []byte {
	if e.flags&hdrOut != 0 {
		return sl.store.arena.bytes(e.ref(sl.slab), e.vlen)
	}
	return sl.slab[e.val:e.end:e.end]
}

// lookup returns the index position of the live key, or -1. An expired key
// is removed without compacting, so earlier results stay valid.
func (sl *Slot) lookup(key []byte, now int64) int {
	q := sl.find(hashKey(key), key)
	if q < 0 {
		return -1
	}
	if ent := sl.idx[q]; ent&entVolatile != 0 {
		e := parseEntry(sl.slab, entOff(ent))
		if expired(e.expireAt(sl.slab), now) {
			sl.removeAt(q)
			sl.store.expired.Add(1)
			if sl.count.Load() == 0 || sl.garbage*4 >= sl.used {
				sl.store.untidy.set(int(sl.id))
			}
			return -1
		}
	}
	return q
}

// removeAt removes the entry at index position q. Its out-of-line value is
// freed; its slab bytes become garbage until the next compaction.
func (sl *Slot) removeAt(q int) {
	ent := sl.idx[q]
	off := entOff(ent)
	e := parseEntry(sl.slab, off)
	sl.touched(e.keyBytes(sl.slab))
	if e.flags&hdrOut != 0 {
		sl.store.arena.free(e.ref(sl.slab))
	}
	sl.addGarbage(e.end - off)
	sl.deleteIndex(q)
	if sl.count.Add(-1) == 0 {
		sl.store.nonEmpty.clear(int(sl.id))
	}
	sl.store.keys.add(sl.id, -1)
	if ent&entVolatile != 0 {
		sl.addVolatile(-1)
	}
}

func (sl *Slot) addGarbage(n int) {
	sl.garbage += n
	sl.store.garbage.add(sl.id, n)
}

func (sl *Slot) addVolatile(d int64) {
	switch v := sl.volatile.Add(d); {
	case d > 0 && v == d:
		sl.store.volatile.set(int(sl.id))
	case d < 0 && v == 0:
		sl.store.volatile.clear(int(sl.id))
	}
}

// reserve makes room to append n bytes to the slab. When the slab is full
// it moves the live entries to a new block sized for them plus n plus an
// eighth, which grows, compacts or shrinks the slab as needed, and returns
// the old block's handle: the caller frees it once done reading from it.
func (sl *Slot) reserve(n int) (oldSlab uint64) {
	if sl.used+n <= len(sl.slab) {
		return 0
	}
	need := sl.used - sl.garbage + n
	return sl.moveSlab(min(need+need/8, sl.store.slabLimit))
}

// fits reports whether n more bytes can be appended to the slab without
// passing the largest slab an index entry can address. Callers check it
// before changing anything, so that reserve never fails.
func (sl *Slot) fits(n int) bool {
	return sl.used+n <= len(sl.slab) || sl.used-sl.garbage+n <= sl.store.slabLimit
}

// moveSlab copies the live entries into a new block of size bytes and
// returns the old block's handle, which the caller must free.
func (sl *Slot) moveSlab(size int) (oldSlab uint64) {
	h, b := sl.store.arena.alloc(size)
	pos := 0
	if sl.garbage == 0 {
		// Nothing to drop: the entries keep their offsets.
		pos = copy(b, sl.slab[:sl.used])
	} else {
		pos = sl.compactInto(b)
	}
	sl.store.garbage.add(sl.id, -sl.garbage)
	oldSlab = sl.slabH
	sl.slab, sl.slabH, sl.used, sl.garbage = b, h, pos, 0
	return oldSlab
}

// compactInto copies the live entries into b, updating the index, and
// returns the bytes copied.
func (sl *Slot) compactInto(b []byte) int {
	pos := 0
	for q, ent := range sl.idx {
		if ent == 0 {
			continue
		}
		off := entOff(ent)
		e := parseEntry(sl.slab, off)
		n := copy(b[pos:], sl.slab[off:e.end])
		sl.idx[q] = ent&^entOffMask | uint64(pos+1)
		pos += n
	}
	return pos
}

// tidy reclaims garbage and shrinks the index after removals. It may move
// every entry, so it only runs in modifying calls.
func (sl *Slot) tidy() {
	n := int(sl.count.Load())
	if n == 0 {
		if len(sl.idx) <= keepIndex && len(sl.slab) <= keepSlab {
			// Keep small blocks for the next key, so that a slot that
			// empties and fills again (short-lived keys in a small
			// keyspace) costs no allocator traffic. UsedBytes leaves
			// them out, as if freed.
			sl.addGarbage(-sl.garbage)
			sl.used = 0
			if !sl.idle {
				sl.idle = true
				sl.store.idle.add(sl.id, sl.blockBytes())
			}
			return
		}
		sl.release()
		return
	}
	if sl.garbage > 0 && sl.garbage*4 >= sl.used {
		live := sl.used - sl.garbage
		if old := sl.moveSlab(live + live/8); old != 0 {
			sl.store.arena.free(old)
		}
	}
	if len(sl.idx) > 2*minIndex && n*8 < len(sl.idx) {
		sl.resizeIndex(indexSizeFor(n))
	}
}

// An emptied slot keeps an index and slab this small (see tidy).
const (
	keepIndex = 16
	keepSlab  = 256
)

// blockBytes is the size of the slot's index and slab blocks.
func (sl *Slot) blockBytes() int {
	n := len(sl.slab)
	if sl.idx != nil {
		n += blockSize(len(sl.idx) * 8)
	}
	return n
}

// wake takes an idle slot's kept blocks back into use.
func (sl *Slot) wake() {
	sl.idle = false
	sl.store.idle.add(sl.id, -sl.blockBytes())
}

// release frees the index and slab of a slot without keys.
func (sl *Slot) release() {
	if sl.idle {
		sl.wake()
	}
	a := &sl.store.arena
	if sl.idxH != 0 {
		a.free(sl.idxH)
	}
	if sl.slabH != 0 {
		a.free(sl.slabH)
	}
	sl.store.garbage.add(sl.id, -sl.garbage)
	sl.idx, sl.idxH, sl.slab, sl.slabH, sl.used, sl.garbage = nil, 0, nil, 0, 0, 0
}

// Clear removes every key and frees the slot's memory.
func (sl *Slot) Clear() {
	sl.clear()
	sl.store.untidy.clear(int(sl.id))
}

// clear removes every key and frees the slot's memory.
func (sl *Slot) clear() {
	if sl.tracker != nil {
		sl.tracker.Reset = true
	}
	sl.clearWatched()
	for _, ent := range sl.idx {
		if ent == 0 {
			continue
		}
		if e := parseEntry(sl.slab, entOff(ent)); e.flags&hdrOut != 0 {
			sl.store.arena.free(e.ref(sl.slab))
		}
	}
	if n := sl.count.Swap(0); n != 0 {
		sl.store.keys.add(sl.id, -int(n))
		sl.store.changes.add(sl.id, int(n))
		sl.store.nonEmpty.clear(int(sl.id))
	}
	if sl.volatile.Swap(0) != 0 {
		sl.store.volatile.clear(int(sl.id))
	}
	sl.release()
}
