package store

import (
	"bytes"
	"unsafe"
)

// A slot's index is an open-addressing table of uint64 entries in an arena
// block:
//
//	bits 32..63  hash of the key (hashKey)
//	bit  31      the key has a TTL
//	bits  0..30  slab offset of the entry + 1 (0: empty position)
//
// Its length n is whatever fits its block (any size, so growth steps can be
// small), and it is at most 3/4 full. A key's home position is
// hash*n/2^32, and collisions probe linearly, circularly, keeping every
// cluster sorted by (home, hash) as in Robin Hood hashing. Since the home is
// monotonic in the hash, the whole table is then sorted by hash, read
// circularly: Scan walks it in hash order from any cursor, whatever the
// table's size, and a lookup stops as soon as it passes where its key would
// be. Deletion shifts the rest of the cluster back (no tombstones).
const (
	entVolatile = 1 << 31
	entOffMask  = 1<<31 - 1
	maxSlab     = entOffMask - 1 // largest slab, in bytes
	minIndex    = 8
)

func entHash(e uint64) uint32 { return uint32(e >> 32) }
func entOff(e uint64) int     { return int(e&entOffMask) - 1 }

func makeEnt(h uint32, off int, volatile bool) uint64 {
	e := uint64(h)<<32 | uint64(off+1)
	if volatile {
		e |= entVolatile
	}
	return e
}

// home is the home position of hash h in a table of n positions.
func home(h uint32, n int) int { return int(uint64(h) * uint64(n) >> 32) }

// find returns the index position of key, whose hash is h, or -1.
func (sl *Slot) find(h uint32, key []byte) int {
	t := sl.idx
	n := len(t)
	if n == 0 {
		return -1
	}
	q := home(h, n)
	for d := 0; ; d++ {
		e := t[q]
		if e == 0 {
			return -1
		}
		eh := entHash(e)
		ed := q - home(eh, n)
		if ed < 0 {
			ed += n
		}
		if ed < d {
			return -1
		}
		if ed == d {
			if eh == h {
				if sl.keyEqual(entOff(e), key) {
					return q
				}
			} else if eh > h {
				return -1
			}
		}
		if q++; q == n {
			q = 0
		}
	}
}

func (sl *Slot) keyEqual(off int, key []byte) bool {
	b := sl.slab
	p := off + 1
	if b[p] < 0x80 && b[p+1] < 0x80 {
		klen := int(b[p])
		if klen != len(key) {
			return false
		}
		p += 2 + accessSize
		if b[off]&hdrExpire != 0 {
			p += 8
		}
		return bytes.Equal(b[p:p+klen], key)
	}
	e := parseEntry(b, off)
	return bytes.Equal(e.keyBytes(b), key)
}

// insertIndex adds e, whose key is not in the table, keeping clusters
// sorted. The table must have a free position.
func (sl *Slot) insertIndex(e uint64) {
	t := sl.idx
	n := len(t)
	h := entHash(e)
	q := home(h, n)
	for d := 0; ; d++ {
		o := t[q]
		if o == 0 {
			t[q] = e
			return
		}
		oh := entHash(o)
		od := q - home(oh, n)
		if od < 0 {
			od += n
		}
		if od < d || (od == d && oh > h) {
			// Shift the rest of the cluster one position on.
			for e != 0 {
				t[q], e = e, t[q]
				if q++; q == n {
					q = 0
				}
			}
			return
		}
		if q++; q == n {
			q = 0
		}
	}
}

// deleteIndex empties position q, shifting the rest of its cluster back.
func (sl *Slot) deleteIndex(q int) {
	t := sl.idx
	n := len(t)
	for {
		nq := q + 1
		if nq == n {
			nq = 0
		}
		e := t[nq]
		if e == 0 || home(entHash(e), n) == nq {
			t[q] = 0
			return
		}
		t[q] = e
		q = nq
	}
}

// resizeIndex rebuilds the index with at least n positions; it takes all
// its block holds.
func (sl *Slot) resizeIndex(n int) {
	a := &sl.store.arena
	h, b := a.alloc(n * 8)
	clear(b)
	old, oldH := sl.idx, sl.idxH
	sl.idx = unsafe.Slice((*uint64)(unsafe.Pointer(&b[0])), len(b)/8)
	sl.idxH = h
	for _, e := range old {
		if e != 0 {
			sl.insertIndex(e)
		}
	}
	if oldH != 0 {
		a.free(oldH)
	}
}

// growIndex makes room for one more key. The index grows by a fifth (or
// more, to the next size class): small steps keep it near 3/4 full, which
// matters since it is a sixth of the memory of small keys, and a slot's
// index is small enough to rebuild often.
func (sl *Slot) growIndex() {
	if n := int(sl.count.Load()) + 1; sl.idx == nil || n*4 > len(sl.idx)*3 {
		sl.resizeIndex(max(minIndex, len(sl.idx)*6/5))
	}
}

// indexSizeFor is the index length for n keys after a shrink: load 3/8.
func indexSizeFor(n int) int { return max(minIndex, n*8/3) }

// iter walks index positions in hash order; see seek.
type iter struct {
	q       int
	wrapped bool // q has passed the end of the table
}

// seek returns an iterator at the first entry whose hash is at least c.
func (sl *Slot) seek(c uint32) iter {
	t := sl.idx
	n := len(t)
	it := iter{q: home(c, n)}
	for d := 0; ; d++ {
		e := t[it.q]
		if e == 0 {
			break
		}
		ed := it.q - home(entHash(e), n)
		if ed < 0 {
			ed += n
		}
		if ed < d || (ed == d && entHash(e) >= c) {
			break
		}
		if it.q++; it.q == n {
			it.q, it.wrapped = 0, true
		}
	}
	return it
}

// next returns the position of the iterator's next entry and advances, or
// returns -1 at the end of the hash space. After deleting the entry at the
// returned position q, set it.q = q to visit the entry shifted into it.
func (sl *Slot) next(it *iter) int {
	t := sl.idx
	for {
		if it.q == len(t) {
			it.q, it.wrapped = 0, true
		}
		e := t[it.q]
		if it.wrapped {
			// Past the end, only entries whose home is further on (they
			// wrapped around) still come later in hash order.
			if e == 0 || home(entHash(e), len(t)) <= it.q {
				return -1
			}
		} else if e == 0 {
			it.q++
			continue
		}
		it.q++
		return it.q - 1
	}
}
