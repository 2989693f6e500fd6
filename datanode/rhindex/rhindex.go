// Package rhindex is an open-addressing hash index kept in hash order.
//
// A table is n positions of uint64 entries: the high 32 bits are the
// entry's hash, the low 32 bits belong to the caller (an offset, flags),
// and 0 is an empty position, so no entry may be 0. An entry's home
// position is hash*n/2^32 and collisions probe linearly, circularly,
// keeping every cluster sorted by (home, hash) as in Robin Hood hashing.
// Since the home is monotonic in the hash, the whole table is then sorted
// by hash, read circularly: Seek and Next walk it in hash order from any
// cursor whatever the table's size, so a scan resumed from a hash cursor
// after a resize misses nothing, and a lookup stops as soon as it passes
// where its key would be. Deletion shifts the rest of the cluster back (no
// tombstones). Callers keep the table at most 3/4 full.
//
// The functions are generic over the table's storage, so the store's
// index (a []uint64 off the Go heap) and the index inside a packed value
// (bytes in the value, Bytes) share one implementation.
package rhindex

import "encoding/binary"

// Table is a table's storage: Len positions, each holding one entry.
type Table interface {
	Len() int
	At(q int) uint64
	Put(q int, e uint64)
}

// Words is a Table in a []uint64.
type Words []uint64

// Len returns the number of positions.
func (t Words) Len() int { return len(t) }

// At returns the entry at position q.
func (t Words) At(q int) uint64 { return t[q] }

// Put sets the entry at position q.
func (t Words) Put(q int, e uint64) { t[q] = e }

// Bytes is a Table of 8-byte little-endian entries in a byte slice, which
// need not be aligned (the index inside a packed value).
type Bytes []byte

// Len returns the number of positions.
func (t Bytes) Len() int { return len(t) / 8 }

// At returns the entry at position q.
func (t Bytes) At(q int) uint64 { return binary.LittleEndian.Uint64(t[8*q:]) }

// Put sets the entry at position q.
func (t Bytes) Put(q int, e uint64) { binary.LittleEndian.PutUint64(t[8*q:], e) }

// Hash returns the hash of entry e.
func Hash(e uint64) uint32 { return uint32(e >> 32) }

// Home returns the home position of hash h in a table of n positions.
func Home(h uint32, n int) int { return int(uint64(h) * uint64(n) >> 32) }

// displacement returns how far position q is from the home of entry e.
func displacement(e uint64, q, n int) int {
	d := q - Home(Hash(e), n)
	if d < 0 {
		d += n
	}
	return d
}

// Find returns the position of the entry of hash h for which match is
// true, or -1. match is called only for entries of hash h.
func Find[T Table](t T, h uint32, match func(e uint64) bool) int {
	n := t.Len()
	if n == 0 {
		return -1
	}
	q := Home(h, n)
	for d := 0; ; d++ {
		e := t.At(q)
		if e == 0 {
			return -1
		}
		ed := displacement(e, q, n)
		if ed < d {
			return -1
		}
		if ed == d {
			if eh := Hash(e); eh == h {
				if match(e) {
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

// Insert adds e, keeping clusters sorted. The table must have a free
// position.
func Insert[T Table](t T, e uint64) {
	n := t.Len()
	h := Hash(e)
	q := Home(h, n)
	for d := 0; ; d++ {
		o := t.At(q)
		if o == 0 {
			t.Put(q, e)
			return
		}
		if od := displacement(o, q, n); od < d || (od == d && Hash(o) > h) {
			// Shift the rest of the cluster one position on.
			for e != 0 {
				o := t.At(q)
				t.Put(q, e)
				e = o
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

// Delete empties position q, shifting the rest of its cluster back.
func Delete[T Table](t T, q int) {
	n := t.Len()
	for {
		nq := q + 1
		if nq == n {
			nq = 0
		}
		e := t.At(nq)
		if e == 0 || Home(Hash(e), n) == nq {
			t.Put(q, 0)
			return
		}
		t.Put(q, e)
		q = nq
	}
}

// Iter walks a table's positions in hash order; see Seek.
type Iter struct {
	// Q is the next position to look at. After deleting the entry at the
	// position Next returned, set Q back to it to visit the entry shifted
	// into it.
	Q       int
	wrapped bool // Q has passed the end of the table
}

// Seek returns an iterator at the first entry whose hash is at least c.
func Seek[T Table](t T, c uint32) Iter {
	n := t.Len()
	it := Iter{Q: Home(c, n)}
	for d := 0; ; d++ {
		e := t.At(it.Q)
		if e == 0 {
			break
		}
		if ed := displacement(e, it.Q, n); ed < d || (ed == d && Hash(e) >= c) {
			break
		}
		if it.Q++; it.Q == n {
			it.Q, it.wrapped = 0, true
		}
	}
	return it
}

// Next returns the position of the iterator's next entry and advances, or
// returns -1 at the end of the hash space.
func Next[T Table](t T, it *Iter) int {
	n := t.Len()
	for {
		if it.Q == n {
			it.Q, it.wrapped = 0, true
		}
		e := t.At(it.Q)
		if it.wrapped {
			// Past the end, only entries whose home is further on (they
			// wrapped around) still come later in hash order.
			if e == 0 || Home(Hash(e), n) <= it.Q {
				return -1
			}
		} else if e == 0 {
			it.Q++
			continue
		}
		it.Q++
		return it.Q - 1
	}
}
