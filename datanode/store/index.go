package store

import (
	"bytes"
	"unsafe"

	"github.com/chkv/chkv/datanode/rhindex"
)

// A slot's index is an rhindex table of uint64 entries in an arena block:
//
//	bits 32..63  hash of the key (hashKey)
//	bit  31      the key has a TTL
//	bits  0..30  slab offset of the entry + 1 (0: empty position)
//
// Its length n is whatever fits its block (any size, so growth steps can be
// small), and it is at most 3/4 full. The table is sorted by hash, read
// circularly (see rhindex), so Scan walks it in hash order from any cursor,
// whatever the table's size.
const (
	entVolatile = 1 << 31
	entOffMask  = 1<<31 - 1
	maxSlab     = entOffMask - 1 // largest slab, in bytes
	minIndex    = 8
)

func entHash(e uint64) uint32 { return rhindex.Hash(e) }
func entOff(e uint64) int     { return int(e&entOffMask) - 1 }

func makeEnt(h uint32, off int, volatile bool) uint64 {
	e := uint64(h)<<32 | uint64(off+1)
	if volatile {
		e |= entVolatile
	}
	return e
}

// find returns the index position of key, whose hash is h, or -1.
func (sl *Slot) find(h uint32, key []byte) int {
	return rhindex.Find(rhindex.Words(sl.idx), h, func(e uint64) bool { return sl.keyEqual(entOff(e), key) })
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
func (sl *Slot) insertIndex(e uint64) { rhindex.Insert(rhindex.Words(sl.idx), e) }

// deleteIndex empties position q, shifting the rest of its cluster back.
func (sl *Slot) deleteIndex(q int) { rhindex.Delete(rhindex.Words(sl.idx), q) }

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

// seek returns an iterator at the first entry whose hash is at least c.
func (sl *Slot) seek(c uint32) rhindex.Iter { return rhindex.Seek(rhindex.Words(sl.idx), c) }

// next returns the position of the iterator's next entry and advances, or
// returns -1 at the end of the hash space. After deleting the entry at the
// returned position q, set it.Q = q to visit the entry shifted into it.
func (sl *Slot) next(it *rhindex.Iter) int { return rhindex.Next(rhindex.Words(sl.idx), it) }
