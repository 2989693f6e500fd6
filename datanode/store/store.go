package store

import (
	"math/bits"
	"math/rand/v2"
	"sort"
	"sync"
	"sync/atomic"

	"github.com/cespare/xxhash/v2"

	"github.com/chkv/chkv/common/slot"
)

// Config configures a Store.
type Config struct {
	// Seed seeds the store's random choices (eviction samples, RANDOMKEY).
	Seed uint64
}

// DefaultEvictionSamples is Redis's default maxmemory-samples.
const DefaultEvictionSamples = 5

// Stats are cumulative counters of the store.
type Stats struct {
	ExpiredKeys int64 // keys removed because their TTL passed
	EvictedKeys int64 // keys removed by maxmemory eviction
}

// MemoryStats describes the memory a store holds.
type MemoryStats struct {
	// Used is UsedBytes: Allocated less Garbage and Idle.
	Used int64
	// Allocated is the bytes of the blocks holding slabs, indexes and
	// out-of-line values, slack included.
	Allocated int64
	// Garbage is the bytes of removed or overwritten entries still in
	// slabs; compaction reclaims them.
	Garbage int64
	// Idle is the bytes of the small blocks that slots emptied by
	// deletions keep for their next key.
	Idle int64
	// Mapped is the address space mapped from the OS. Only touched pages
	// in use count toward the resident size.
	Mapped int64
}

// Store is a concurrent keyspace partitioned into hash slots. Keys, values
// and indexes live in memory mapped outside the Go heap (see arena), so
// their volume costs the garbage collector nothing.
type Store struct {
	slots   [slot.Count]Slot
	arena   arena
	keys    stripedCounter
	garbage stripedCounter
	idle    stripedCounter // bytes of blocks kept by idle slots
	expired atomic.Int64
	evicted atomic.Int64
	// slabLimit is the largest slab a slot may have: maxSlab, lowered by
	// tests to reach ErrSlotFull without gigabytes.
	slabLimit int

	nonEmpty bitmap // slots with keys
	volatile bitmap // slots with keys that have a TTL
	untidy   bitmap // slots with garbage left by lazy expiry

	rngMu sync.Mutex
	rng   *rand.Rand

	// watches are the watched keys of each slot, guarded by the slot's
	// lock; watched counts them all, so that writes skip the lookup
	// while nobody watches (see Watcher).
	watches [slot.Count]map[string][]*Watcher
	watched atomic.Int64

	// changes counts writes, for Changes.
	changes stripedCounter

	expireMu   sync.Mutex
	expireSlot int    // where the next ExpireCycle starts
	expireHash uint32 // and from which hash in that slot
}

// New returns an empty store.
func New(cfg Config) *Store {
	s := &Store{slabLimit: maxSlab}
	s.rng = rand.New(rand.NewPCG(cfg.Seed, cfg.Seed^0x9e3779b97f4a7c15))
	s.arena.init()
	for i := range s.slots {
		s.slots[i].store = s
		s.slots[i].id = int32(i)
	}
	return s
}

// Close removes every key and unmaps the store's memory. The store must not
// be used afterwards.
func (s *Store) Close() {
	s.Flush()
	s.arena.close()
}

// Slot returns slot i. Lock it before calling its other methods.
func (s *Store) Slot(i int) *Slot { return &s.slots[i] }

// Len returns the number of keys in the store, expired ones not yet
// removed included.
func (s *Store) Len() int { return int(s.keys.load()) }

// VolatileLen returns the number of keys that have a TTL, expired ones not
// yet removed included (INFO keyspace's expires).
func (s *Store) VolatileLen() int {
	var n int64
	for i := range s.slots {
		n += s.slots[i].volatile.Load()
	}
	return int(n)
}

// UsedBytes returns the memory the store holds for keys, values and
// indexes: the arena blocks it has allocated, less the garbage of removed
// entries that compaction will reclaim and the few blocks kept by slots
// that emptied. Removing a key lowers it at once, which is what maxmemory
// eviction needs.
func (s *Store) UsedBytes() int64 { return s.Memory().Used }

// Memory returns the store's memory figures.
func (s *Store) Memory() MemoryStats {
	m := MemoryStats{
		Allocated: s.arena.inUse.Load(),
		Garbage:   s.garbage.load(),
		Idle:      s.idle.load(),
		Mapped:    s.arena.mapped.Load(),
	}
	m.Used = max(m.Allocated-m.Garbage-m.Idle, 0)
	return m
}

// Stats returns the store's cumulative counters.
func (s *Store) Stats() Stats {
	return Stats{ExpiredKeys: s.expired.Load(), EvictedKeys: s.evicted.Load()}
}

// Flush removes every key and frees the memory that held them.
func (s *Store) Flush() {
	for i := range s.slots {
		s.DropSlot(i)
	}
}

// DropSlot removes every key of slot i and frees its memory.
func (s *Store) DropSlot(i int) {
	sl := &s.slots[i]
	sl.Lock()
	sl.Clear()
	sl.Unlock()
}

// LockSlots locks the distinct slots in ids in ascending order, the order
// every multi-slot caller must use, and returns a function that unlocks them.
// ids is sorted in place.
func (s *Store) LockSlots(ids []int) (unlock func()) {
	sort.Ints(ids)
	n := 0
	for i, id := range ids {
		if i == 0 || id != ids[n-1] {
			ids[n] = id
			n++
		}
	}
	ids = ids[:n]
	for _, id := range ids {
		s.slots[id].Lock()
	}
	return func() {
		for _, id := range ids {
			s.slots[id].Unlock()
		}
	}
}

func (s *Store) randN(n int) int {
	s.rngMu.Lock()
	defer s.rngMu.Unlock()
	return s.rng.IntN(n)
}

func (s *Store) rand64() uint64 {
	s.rngMu.Lock()
	defer s.rngMu.Unlock()
	return s.rng.Uint64()
}

// hashKey is the hash that orders a slot's keys, in its index and for Scan.
func hashKey(key []byte) uint32 { return uint32(xxhash.Sum64(key)) }

// bitmap is a set of slot numbers, safe for concurrent use.
type bitmap [slot.Count / 64]atomic.Uint64

func (b *bitmap) set(i int)   { b[i>>6].Or(1 << (i & 63)) }
func (b *bitmap) clear(i int) { b[i>>6].And(^(uint64(1) << (i & 63))) }

// testAndClear clears i and reports whether it was set.
func (b *bitmap) testAndClear(i int) bool {
	bit := uint64(1) << (i & 63)
	return b[i>>6].And(^bit)&bit != 0
}

// nextSet returns the first slot at or after from, wrapping around, that is
// in b or in also (which may be nil), or -1 when there is none.
func nextSet(b, also *bitmap, from int) int {
	from &= slot.Count - 1
	for k := 0; k <= len(b); k++ {
		w := (from>>6 + k) % len(b)
		word := b[w].Load()
		if also != nil {
			word |= also[w].Load()
		}
		if k == 0 {
			word &= ^uint64(0) << (from & 63)
		}
		if word != 0 {
			return w<<6 + bits.TrailingZeros64(word)
		}
	}
	return -1
}

// stripedCounter is a sum spread over cache lines so that slots on
// different cores do not contend updating it.
type stripedCounter struct {
	stripes [16]struct {
		v atomic.Int64
		_ [56]byte
	}
}

func (c *stripedCounter) add(slot int32, d int) { c.stripes[slot&15].v.Add(int64(d)) }

func (c *stripedCounter) load() int64 {
	var sum int64
	for i := range c.stripes {
		sum += c.stripes[i].v.Load()
	}
	return sum
}
