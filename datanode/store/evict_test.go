package store

import (
	"fmt"
	"strings"
	"testing"
)

// evictGroups loads two groups of keys, evicts n keys with policy at now and
// returns how many of each group went.
func evictCount(t *testing.T, s *Store, policy Policy, now int64, n int, groups ...string) []int {
	t.Helper()
	before := make([]int, len(groups))
	for i, g := range groups {
		before[i] = countPrefix(s, g, now)
	}
	for i := range n {
		if !s.Evict(policy, 0, now) {
			t.Fatalf("%v: Evict %d returned false", policy, i)
		}
	}
	gone := make([]int, len(groups))
	for i, g := range groups {
		gone[i] = before[i] - countPrefix(s, g, now)
	}
	return gone
}

func countPrefix(s *Store, prefix string, now int64) int {
	n := 0
	for id := range s.slots {
		sl := s.Slot(id)
		if sl.Len() == 0 {
			continue
		}
		sl.Lock()
		sl.ForEach(now, func(k, _ []byte, _ int64) bool {
			if strings.HasPrefix(string(k), prefix) {
				n++
			}
			return true
		})
		sl.Unlock()
	}
	return n
}

func TestEvictNothing(t *testing.T) {
	s := newTestStore(Config{})
	defer s.Close()
	for p := NoEviction; p <= VolatileTTL; p++ {
		if s.Evict(p, 0, t0) {
			t.Fatalf("%v evicted from an empty store", p)
		}
	}
	set(s, "persistent", "v", 0, t0)
	for _, p := range []Policy{NoEviction, VolatileLRU, VolatileLFU, VolatileRandom, VolatileTTL} {
		if s.Evict(p, 0, t0) {
			t.Fatalf("%v evicted with no volatile keys", p)
		}
	}
	if !exists(s, "persistent", t0) || s.Stats().EvictedKeys != 0 {
		t.Fatal("a key went")
	}
	if !s.Evict(AllKeysRandom, 0, t0) || s.Len() != 0 || s.Stats().EvictedKeys != 1 {
		t.Fatalf("allkeys-random: Len %d, evicted %d", s.Len(), s.Stats().EvictedKeys)
	}
}

func TestEvictLRU(t *testing.T) {
	for _, policy := range []Policy{AllKeysLRU, VolatileLRU} {
		s := newTestStore(Config{Seed: 7})
		for i := range 4000 {
			set(s, fmt.Sprintf("old%d", i), "v", t0+1e9, t0)
			set(s, fmt.Sprintf("new%d", i), "v", t0+1e9, t0)
		}
		later := t0 + 3600_000
		for i := range 4000 {
			get(s, fmt.Sprintf("new%d", i), later) // touched an hour later
		}
		gone := evictCount(t, s, policy, later, 1000, "old", "new")
		// A new key goes only when all 5 samples are new: 2-6% of the time.
		if gone[0] < 880 || gone[1] > 120 {
			t.Fatalf("%v evicted %d old and %d recently used keys", policy, gone[0], gone[1])
		}
		if s.Stats().EvictedKeys != 1000 {
			t.Fatalf("EvictedKeys = %d", s.Stats().EvictedKeys)
		}
		s.Close()
	}
}

func TestEvictLFU(t *testing.T) {
	for _, policy := range []Policy{AllKeysLFU, VolatileLFU} {
		s := newTestStore(Config{Seed: 8})
		for i := range 4000 {
			set(s, fmt.Sprintf("cold%d", i), "v", t0+1e9, t0)
			set(s, fmt.Sprintf("hot%d", i), "v", t0+1e9, t0)
			for range 30 {
				get(s, fmt.Sprintf("hot%d", i), t0)
			}
		}
		// Peek does not count as a use.
		for i := range 4000 {
			for range 30 {
				peek(s, fmt.Sprintf("cold%d", i), t0)
			}
		}
		gone := evictCount(t, s, policy, t0+1000, 1000, "cold", "hot")
		if gone[0] < 880 || gone[1] > 120 {
			t.Fatalf("%v evicted %d cold and %d hot keys", policy, gone[0], gone[1])
		}
		s.Close()
	}
}

func TestLFUCounter(t *testing.T) {
	acc := newAccess(t0)
	if lfuOf(acc, t0) != lfuInitVal {
		t.Fatalf("new counter %d", lfuOf(acc, t0))
	}
	for range 1000 {
		acc = touch(acc, t0)
	}
	c := lfuOf(acc, t0)
	if c <= lfuInitVal+3 || c == 255 {
		t.Fatalf("counter %d after 1000 hits", c)
	}
	// It decays by one per idle minute.
	if got := lfuOf(acc, t0+5*60_000); got != c-5 {
		t.Fatalf("after 5 idle minutes: %d, want %d", got, c-5)
	}
	if got := lfuOf(acc, t0+1000*60_000); got != 0 {
		t.Fatalf("after 1000 idle minutes: %d", got)
	}
	if idleSeconds(lruClock(t0), lruClock(t0+90_000)) != 90 {
		t.Fatal("idle seconds")
	}
	if idleSeconds(lruMask, 3) != 4 {
		t.Fatal("idle seconds across the clock's wrap")
	}
}

func TestEvictTTL(t *testing.T) {
	s := newTestStore(Config{Seed: 9})
	defer s.Close()
	for i := range 4000 {
		set(s, fmt.Sprintf("soon%d", i), "v", t0+60_000+int64(i), t0)
		set(s, fmt.Sprintf("late%d", i), "v", t0+3600_000+int64(i), t0)
		set(s, fmt.Sprintf("never%d", i), "v", 0, t0)
	}
	gone := evictCount(t, s, VolatileTTL, t0, 1000, "soon", "late", "never")
	if gone[0] < 880 || gone[2] != 0 {
		t.Fatalf("volatile-ttl evicted %d soon, %d late, %d persistent keys", gone[0], gone[1], gone[2])
	}
}

func TestEvictVolatileSparesPersistent(t *testing.T) {
	for _, policy := range []Policy{VolatileLRU, VolatileLFU, VolatileRandom, VolatileTTL} {
		s := newTestStore(Config{Seed: 10})
		for i := range 500 {
			set(s, fmt.Sprintf("p%d", i), "v", 0, t0)
			set(s, fmt.Sprintf("v%d", i), "v", t0+1e6, t0)
		}
		set(s, "{one}p", "v", 0, t0)
		set(s, "{one}v", "v", t0+1e6, t0)
		n := 0
		for s.Evict(policy, 0, t0) {
			if n++; n > 501 {
				t.Fatalf("%v: more evictions than volatile keys", policy)
			}
		}
		if n != 501 || s.Len() != 501 || countPrefix(s, "p", t0) != 500 || !exists(s, "{one}p", t0) {
			t.Fatalf("%v: evicted %d, left %d keys", policy, n, s.Len())
		}
		mustCheck(t, s)
		s.Close()
	}
}

func TestEvictRandom(t *testing.T) {
	s := newTestStore(Config{Seed: 11})
	defer s.Close()
	for i := range 2000 {
		set(s, fmt.Sprintf("a%d", i), "v", 0, t0)
		set(s, fmt.Sprintf("b%d", i), "v", t0+1e6, t0)
	}
	gone := evictCount(t, s, AllKeysRandom, t0, 1000, "a", "b")
	if gone[0] < 350 || gone[1] < 350 {
		t.Fatalf("allkeys-random evicted %d and %d", gone[0], gone[1])
	}
	gone = evictCount(t, s, VolatileRandom, t0, 500, "a", "b")
	if gone[0] != 0 || gone[1] != 500 {
		t.Fatalf("volatile-random evicted %d persistent keys", gone[0])
	}
}

func TestEvictPrefersExpired(t *testing.T) {
	s := newTestStore(Config{Seed: 12})
	defer s.Close()
	for i := range 100 {
		set(s, fmt.Sprintf("dead%d", i), "v", t0+10, t0)
		set(s, fmt.Sprintf("live%d", i), "v", 0, t0+5000)
	}
	for range 50 {
		s.Evict(AllKeysLRU, 0, t0+6000)
	}
	if n := countPrefix(s, "live", t0+6000); n < 95 {
		t.Fatalf("eviction took %d live keys while expired ones remained", 100-n)
	}
	if st := s.Stats(); st.ExpiredKeys+st.EvictedKeys != 50 {
		t.Fatalf("stats %+v after 50 evictions", st)
	}
}

func TestEvictToMemoryLimit(t *testing.T) {
	// The server's maxmemory loop: evict until UsedBytes is under the limit.
	s := newTestStore(Config{Seed: 13})
	defer s.Close()
	const n = 20000
	for i := range n {
		set(s, fmt.Sprintf("key:%012d", i), strings.Repeat("v", 32), 0, t0)
	}
	limit := s.UsedBytes() / 2
	evictions := 0
	for s.UsedBytes() > limit {
		if !s.Evict(AllKeysLRU, 0, t0) {
			t.Fatal("Evict failed")
		}
		evictions++
	}
	if evictions < n/3 || evictions > n*2/3 {
		t.Fatalf("halving memory took %d evictions of %d keys", evictions, n)
	}
	mustCheck(t, s)
}
