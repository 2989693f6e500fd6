package store

import (
	"fmt"
	"math/bits"
)

// The page heap hands out runs of pages from 64 MiB chunks. Free runs sit on
// lists by length (best fit; one list for runs longer than maxRunPages), and
// their head and tail pages are tagged with their length, so a freed run
// merges with free neighbours in O(1). Freed pages stay resident ("dirty")
// for quick reuse until more than minDirtyPages (or 1/64 of the memory in
// use) wait; then they all go back to the OS. All of it is guarded by a.mu.

func runBucket(n uint32) int {
	if n > maxRunPages {
		return maxRunPages + 1
	}
	return int(n)
}

// allocRun returns the id of the first page of a run of n pages, tagged as
// a span of size class class, or as a plain run if class < 0. (Tagging
// happens under a.mu, which guards the tags freeing neighbours read.)
func (a *arena) allocRun(n uint32, class int) uint32 {
	a.mu.Lock()
	defer a.mu.Unlock()
	b := a.firstBucket(int(n))
	if b < 0 {
		a.grow()
		b = maxRunPages + 1
	}
	id := a.runs[b]
	c, p := a.page(id)
	m := &c.meta[p]
	a.unlinkRun(id, m)
	total, dirty := m.n, m.dirty
	if total > n {
		a.setFree(c, p+int(n), total-n, dirty)
		a.linkRun(id+n, &c.meta[p+int(n)])
	}
	if class < 0 {
		c.meta[p] = pageMeta{kind: pgRun, n: n}
		c.meta[p+int(n)-1] = pageMeta{kind: pgRun, n: n}
	} else {
		for i := range int(n) {
			c.meta[p+i] = pageMeta{kind: pgSpan, class: uint8(class), n: uint32(i)}
		}
	}
	return id
}

// freeRunLocked returns the n-page run starting at page id, merging it with
// free neighbours, and reports whether enough dirty pages wait that the
// caller should call purge once it has released its locks. a.mu must be
// held.
func (a *arena) freeRunLocked(id, n uint32, dirty bool) (purge bool) {
	c, p := a.page(id)
	base := id - uint32(p)
	start, length := p, n
	if p > 0 {
		if l := &c.meta[p-1]; l.kind == pgFree {
			lh := p - int(l.n)
			dirty = dirty || c.meta[lh].dirty
			length += l.n
			a.unlinkRun(base+uint32(lh), &c.meta[lh])
			start = lh
		}
	}
	if end := p + int(n); end < chunkPages {
		if r := &c.meta[end]; r.kind == pgFree {
			dirty = dirty || r.dirty
			length += r.n
			a.unlinkRun(base+uint32(end), r)
		}
	}
	a.setFree(c, start, length, dirty)
	a.linkRun(base+uint32(start), &c.meta[start])
	return a.dirtyPages > a.dirtyLimit() && !a.purging
}

// dirtyLimit is how many freed pages may stay resident for reuse.
func (a *arena) dirtyLimit() int {
	return max(minDirtyPages, int(a.inUse.Load()>>pageShift)/64)
}

func (a *arena) setFree(c *chunk, p int, n uint32, dirty bool) {
	c.meta[p+int(n)-1] = pageMeta{kind: pgFree, n: n}
	c.meta[p] = pageMeta{kind: pgFree, n: n, dirty: dirty}
}

func (a *arena) linkRun(id uint32, m *pageMeta) {
	b := runBucket(m.n)
	m.prev, m.next = 0, a.runs[b]
	if m.next != 0 {
		a.meta(m.next).prev = id
	}
	a.runs[b] = id
	a.runBits[b>>6] |= 1 << (b & 63)
	if m.dirty {
		// The dirty list runs from the newest (head) to the oldest (tail).
		m.y, m.x = 0, a.dirtyHead
		if m.x != 0 {
			a.meta(m.x).y = id
		} else {
			a.dirtyTail = id
		}
		a.dirtyHead = id
		a.dirtyPages += int(m.n)
	}
}

func (a *arena) unlinkRun(id uint32, m *pageMeta) {
	b := runBucket(m.n)
	if m.prev != 0 {
		a.meta(m.prev).next = m.next
	} else {
		a.runs[b] = m.next
		if m.next == 0 {
			a.runBits[b>>6] &^= 1 << (b & 63)
		}
	}
	if m.next != 0 {
		a.meta(m.next).prev = m.prev
	}
	if m.dirty {
		if m.y != 0 {
			a.meta(m.y).x = m.x
		} else {
			a.dirtyHead = m.x
		}
		if m.x != 0 {
			a.meta(m.x).y = m.y
		} else {
			a.dirtyTail = m.y
		}
		a.dirtyPages -= int(m.n)
	}
	m.next, m.prev, m.x, m.y = 0, 0, 0, 0
}

// firstBucket returns the shortest non-empty free-run bucket holding runs
// of at least n pages, or -1.
func (a *arena) firstBucket(n int) int {
	for w := n >> 6; w < len(a.runBits); w++ {
		word := a.runBits[w]
		if w == n>>6 {
			word &= ^uint64(0) << (n & 63)
		}
		if word != 0 {
			return w<<6 + bits.TrailingZeros64(word)
		}
	}
	return -1
}

// purge returns the oldest dirty free runs' pages to the OS until at most
// half the limit remain. It takes the runs out of the heap while the
// syscalls run, so that other goroutines can allocate meanwhile; one
// goroutine purges at a time. a.mu must not be held.
func (a *arena) purge() {
	var batch [64]struct{ id, n uint32 }
	a.mu.Lock()
	if a.purging {
		a.mu.Unlock()
		return
	}
	a.purging = true
	for rounds := 0; rounds < 64 && a.dirtyPages > a.dirtyLimit()/2; rounds++ {
		k := 0
		for ; k < len(batch) && a.dirtyTail != 0; k++ {
			id := a.dirtyTail
			c, p := a.page(id)
			n := c.meta[p].n
			a.unlinkRun(id, &c.meta[p])
			// Tagged as allocated, the run cannot merge or be handed out.
			c.meta[p] = pageMeta{kind: pgRun, n: n}
			c.meta[p+int(n)-1] = pageMeta{kind: pgRun, n: n}
			batch[k].id, batch[k].n = id, n
		}
		a.mu.Unlock()
		for _, r := range batch[:k] {
			c, p := a.page(r.id)
			osRelease(c.mem[p<<pageShift : p<<pageShift+int(r.n)<<pageShift])
		}
		a.mu.Lock()
		for _, r := range batch[:k] {
			a.freeRunLocked(r.id, r.n, false)
		}
	}
	a.purging = false
	a.mu.Unlock()
}

// grow maps a new chunk and adds it as one free run. a.mu must be held.
func (a *arena) grow() {
	if a.nchunks+1 >= maxChunks {
		panic("store: arena address space exhausted")
	}
	mem, err := osMap(chunkSize)
	if err != nil {
		panic(fmt.Sprintf("store: mapping %d bytes: %v", chunkSize, err))
	}
	a.nchunks++
	c := &chunk{mem: mem, meta: make([]pageMeta, chunkPages)}
	a.chunks[a.nchunks].Store(c)
	a.mapped.Add(chunkSize)
	a.setFree(c, 0, chunkPages, false)
	a.linkRun(a.nchunks<<chunkPageBits, &c.meta[0])
}
