package store

import (
	"encoding/binary"
	"fmt"
	"sync"
	"sync/atomic"
)

// The arena hands out the blocks that hold slabs, indexes and out-of-line
// values. Its memory is mapped from the OS outside the Go heap, so the
// garbage collector neither scans nor moves it, and nothing in it is a Go
// pointer. Blocks are named by 64-bit handles:
//
//   - Small blocks (up to 16 KiB) come in size classes at most 25% apart,
//     and 1 KiB apart from 4 KiB up, so that slabs, which grow in steps of
//     an eighth, waste little. A class carves its blocks from spans of up to
//     16 pages that they divide exactly, keeps freed blocks on a per-span
//     free list threaded through the blocks themselves, and returns a span
//     to the page heap once it is empty.
//   - Page runs (up to maxRunPages pages, about 1 MiB) come from the page
//     heap (pageheap.go): 64 MiB chunks of 4 KiB pages.
//   - Huge blocks are mapped directly and unmapped when freed.
//
// Freed pages are handed back to the OS (madvise) once more than a few MiB
// of them are waiting, so the resident size follows the bytes in use.
//
// Handle layout:
//
//	bits  0..25  byte offset in the chunk
//	bits 26..39  chunk number (1..maxChunks-1)
//	bits 40..47  size class + 1, or 0 for a page run
//	bit  63      huge block; bits 0..31 then number it
const (
	pageShift     = 12
	pageSize      = 1 << pageShift
	chunkShift    = 26
	chunkSize     = 1 << chunkShift
	chunkPageBits = chunkShift - pageShift
	chunkPages    = 1 << chunkPageBits
	maxChunks     = 1 << 14
	maxRunPages   = 255
	classShift    = 40
	hugeFlag      = uint64(1) << 63

	// minDirtyPages is how many freed pages may wait for reuse before the
	// page heap returns them to the OS.
	minDirtyPages = (4 << 20) >> pageShift
)

// classSizes are the small block sizes. Each is carved from spans whose
// length in pages it divides, so spans waste nothing.
var classSizes = [...]uint32{
	16, 32, 48, 64, 80, 96, 112, 128,
	160, 192, 224, 256, 320, 384, 448, 512,
	640, 768, 896, 1024, 1280, 1536, 1792, 2048,
	2560, 3072, 3584, 4096, 5120, 6144, 7168, 8192,
	9216, 10240, 11264, 12288, 13312, 14336, 15360, 16384,
}

const (
	numClasses = len(classSizes)
	maxSmall   = 16384
)

// classIndex maps (size+15)/16 to the smallest class that holds size.
var classIndex = func() (t [maxSmall/16 + 1]uint8) {
	c := 0
	for i := range t {
		for int(classSizes[c]) < i*16 {
			c++
		}
		t[i] = uint8(c)
	}
	return t
}()

// blockSize returns the size of the block alloc hands out for n bytes.
func blockSize(n int) int {
	if n <= maxSmall {
		return int(classSizes[classIndex[(n+15)>>4]])
	}
	return (n + pageSize - 1) &^ (pageSize - 1)
}

// Page kinds, recorded in pageMeta.kind.
const (
	pgFree = 1 + iota // head or tail page of a free run
	pgRun             // head or tail page of an allocated run
	pgSpan            // any page of a small-class span
)

// pageMeta describes one page of a chunk. Only the head and tail pages of
// runs, and every page of a span, are kept current.
type pageMeta struct {
	kind  uint8
	class uint8
	dirty bool   // free run head: pages may be resident
	n     uint32 // run: length in pages; span: distance to its head page
	next  uint32 // free-run bucket list or class partial-span list
	prev  uint32
	x     uint32 // free run: dirty-list next; span head: blocks in use
	y     uint32 // free run: dirty-list prev; span head: first free block offset + 1
	bump  uint32 // span head: blocks carved so far
}

// chunk is one 64 MiB mapping of the page heap.
type chunk struct {
	mem  []byte
	meta []pageMeta
}

// sizeClass is the state of one small size class, guarded by its mutex.
type sizeClass struct {
	mu       sync.Mutex
	size     uint32
	pages    uint32 // pages per span
	blocks   uint32 // blocks per span
	partial  uint32 // head page id of the list of spans with free blocks
	nPartial int
	_        [24]byte
}

// arena is the store's memory allocator. It is safe for concurrent use.
type arena struct {
	chunks [maxChunks]atomic.Pointer[chunk]

	mu         sync.Mutex // the page heap: everything down to dirtyPages
	nchunks    uint32
	runs       [maxRunPages + 2]uint32 // free runs by length; the last holds longer runs
	runBits    [(maxRunPages + 2 + 63) / 64]uint64
	dirtyHead  uint32 // newest dirty free run
	dirtyTail  uint32 // oldest dirty free run
	dirtyPages int    // pages in dirty free runs
	purging    bool

	classes [numClasses]sizeClass

	hugeMu   sync.RWMutex
	huge     [][]byte
	hugeFree []uint32

	inUse  atomic.Int64 // bytes of blocks handed out
	mapped atomic.Int64 // bytes mapped from the OS

	// poison makes free overwrite blocks, so that tests catch reads of
	// freed memory. Set it before use.
	poison bool
}

const poisonByte = 0xdb

func (a *arena) init() {
	for i, size := range classSizes {
		c := &a.classes[i]
		c.size = size
		best := uint32(1)
		for p := uint32(1); p <= 16; p++ {
			if (p<<pageShift)%size == 0 {
				best = p
				break
			}
		}
		c.pages = best
		c.blocks = (best << pageShift) / size
	}
}

// alloc returns a block of at least n bytes (n > 0) and its handle. The
// block's length is blockSize(n); its contents are undefined.
func (a *arena) alloc(n int) (uint64, []byte) {
	switch {
	case n <= maxSmall:
		return a.allocSmall(int(classIndex[(n+15)>>4]))
	case n <= maxRunPages*pageSize:
		pages := uint32((n + pageSize - 1) >> pageShift)
		id := a.allocRun(pages, -1)
		c, p := a.page(id)
		off := p << pageShift
		size := int(pages) << pageShift
		a.inUse.Add(int64(size))
		return uint64(id>>chunkPageBits)<<chunkShift | uint64(off), c.mem[off : off+size : off+size]
	default:
		return a.allocHuge(n)
	}
}

// free returns the block named by h.
func (a *arena) free(h uint64) {
	switch {
	case h&hugeFlag != 0:
		a.freeHuge(h)
	case h>>classShift != 0:
		a.freeSmall(h)
	default:
		id := uint32(h>>chunkShift)<<chunkPageBits | uint32(h&(chunkSize-1))>>pageShift
		a.mu.Lock()
		c, p := a.page(id)
		n := c.meta[p].n
		if a.poison {
			fill(c.mem[p<<pageShift:(p+int(n))<<pageShift], poisonByte)
		}
		purge := a.freeRunLocked(id, n, true)
		a.mu.Unlock()
		a.inUse.Add(-int64(n) << pageShift)
		if purge {
			a.purge()
		}
	}
}

// bytes returns the first n bytes of the block named by h.
func (a *arena) bytes(h uint64, n int) []byte {
	if h&hugeFlag != 0 {
		a.hugeMu.RLock()
		b := a.huge[uint32(h)]
		a.hugeMu.RUnlock()
		return b[:n:n]
	}
	c := a.chunks[(h>>chunkShift)&(maxChunks-1)].Load()
	o := int(h & (chunkSize - 1))
	return c.mem[o : o+n : o+n]
}

// close unmaps all memory. The arena must not be used afterwards.
func (a *arena) close() {
	a.mu.Lock()
	for i := uint32(1); i <= a.nchunks; i++ {
		if c := a.chunks[i].Swap(nil); c != nil {
			osUnmap(c.mem)
		}
	}
	a.nchunks = 0
	a.runs = [len(a.runs)]uint32{}
	a.runBits = [len(a.runBits)]uint64{}
	a.dirtyHead, a.dirtyTail, a.dirtyPages = 0, 0, 0
	a.mu.Unlock()
	for i := range a.classes {
		c := &a.classes[i]
		c.mu.Lock()
		c.partial, c.nPartial = 0, 0
		c.mu.Unlock()
	}
	a.hugeMu.Lock()
	for _, b := range a.huge {
		if b != nil {
			osUnmap(b)
		}
	}
	a.huge, a.hugeFree = nil, nil
	a.hugeMu.Unlock()
	a.inUse.Store(0)
	a.mapped.Store(0)
}

// page returns the chunk and page number of the global page id.
func (a *arena) page(id uint32) (*chunk, int) {
	return a.chunks[id>>chunkPageBits].Load(), int(id & (chunkPages - 1))
}

func (a *arena) meta(id uint32) *pageMeta {
	c, p := a.page(id)
	return &c.meta[p]
}

// Small blocks.

func (a *arena) allocSmall(ci int) (uint64, []byte) {
	sc := &a.classes[ci]
	sc.mu.Lock()
	id := sc.partial
	if id == 0 {
		id = a.newSpan(sc, ci)
	}
	c, p := a.page(id)
	m := &c.meta[p]
	base := p << pageShift
	var off uint32
	if m.y != 0 {
		off = m.y - 1
		m.y = binary.LittleEndian.Uint32(c.mem[base+int(off):])
	} else {
		off = m.bump * sc.size
		m.bump++
	}
	m.x++
	if m.x == sc.blocks {
		a.unlinkSpan(sc, id, m)
	}
	size := int(sc.size)
	sc.mu.Unlock()
	a.inUse.Add(int64(size))
	o := base + int(off)
	h := uint64(id>>chunkPageBits)<<chunkShift | uint64(o) | uint64(ci+1)<<classShift
	return h, c.mem[o : o+size : o+size]
}

func (a *arena) freeSmall(h uint64) {
	ci := int(h>>classShift&0xff) - 1
	sc := &a.classes[ci]
	ci0 := uint32(h>>chunkShift) & (maxChunks - 1)
	c := a.chunks[ci0].Load()
	o := int(h & (chunkSize - 1))
	if a.poison {
		fill(c.mem[o:o+int(sc.size)], poisonByte)
	}
	sc.mu.Lock()
	p := o >> pageShift
	head := p - int(c.meta[p].n)
	m := &c.meta[head]
	id := ci0<<chunkPageBits | uint32(head)
	binary.LittleEndian.PutUint32(c.mem[o:], m.y)
	m.y = uint32(o-head<<pageShift) + 1
	if m.x == sc.blocks {
		a.linkSpan(sc, id, m)
	}
	m.x--
	purge := false
	if m.x == 0 && sc.nPartial > 1 {
		a.unlinkSpan(sc, id, m)
		a.mu.Lock()
		purge = a.freeRunLocked(id, sc.pages, true)
		a.mu.Unlock()
	}
	size := sc.size
	sc.mu.Unlock()
	a.inUse.Add(-int64(size))
	if purge {
		a.purge()
	}
}

// newSpan takes a run from the page heap for class ci and links it as a
// partial span. sc.mu must be held.
func (a *arena) newSpan(sc *sizeClass, ci int) uint32 {
	id := a.allocRun(sc.pages, ci)
	c, p := a.page(id)
	a.linkSpan(sc, id, &c.meta[p])
	return id
}

func (a *arena) linkSpan(sc *sizeClass, id uint32, m *pageMeta) {
	m.prev, m.next = 0, sc.partial
	if m.next != 0 {
		a.meta(m.next).prev = id
	}
	sc.partial = id
	sc.nPartial++
}

func (a *arena) unlinkSpan(sc *sizeClass, id uint32, m *pageMeta) {
	if m.prev != 0 {
		a.meta(m.prev).next = m.next
	} else {
		sc.partial = m.next
	}
	if m.next != 0 {
		a.meta(m.next).prev = m.prev
	}
	m.next, m.prev = 0, 0
	sc.nPartial--
}

// Huge blocks.

func (a *arena) allocHuge(n int) (uint64, []byte) {
	size := (n + pageSize - 1) &^ (pageSize - 1)
	mem, err := osMap(size)
	if err != nil {
		panic(fmt.Sprintf("store: mapping %d bytes: %v", size, err))
	}
	a.hugeMu.Lock()
	var i uint32
	if k := len(a.hugeFree); k > 0 {
		i = a.hugeFree[k-1]
		a.hugeFree = a.hugeFree[:k-1]
		a.huge[i] = mem
	} else {
		i = uint32(len(a.huge))
		a.huge = append(a.huge, mem)
	}
	a.hugeMu.Unlock()
	a.inUse.Add(int64(size))
	a.mapped.Add(int64(size))
	return hugeFlag | uint64(i), mem
}

func (a *arena) freeHuge(h uint64) {
	i := uint32(h)
	a.hugeMu.Lock()
	mem := a.huge[i]
	a.huge[i] = nil
	a.hugeFree = append(a.hugeFree, i)
	a.hugeMu.Unlock()
	osUnmap(mem)
	a.inUse.Add(-int64(len(mem)))
	a.mapped.Add(-int64(len(mem)))
}

func fill(b []byte, v byte) {
	if len(b) == 0 {
		return
	}
	b[0] = v
	for i := 1; i < len(b); i *= 2 {
		copy(b[i:], b[:i])
	}
}
