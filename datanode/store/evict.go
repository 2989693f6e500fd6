package store

import (
	"encoding/binary"

	"github.com/chkv/chkv/common/slot"
)

// RandomKey returns a copy of a random live key, or false when the store has
// none.
func (s *Store) RandomKey(now int64) ([]byte, bool) { return s.randomKey(now, true) }

// RandomKeyLocked is RandomKey for a caller that holds every slot's lock.
func (s *Store) RandomKeyLocked(now int64) ([]byte, bool) { return s.randomKey(now, false) }

// randomKey is RandomKey, locking each slot it looks into if lock is set.
func (s *Store) randomKey(now int64, lock bool) ([]byte, bool) {
	for range 64 {
		id := nextSet(&s.nonEmpty, nil, s.randN(slot.Count))
		if id < 0 {
			return nil, false
		}
		sl := &s.slots[id]
		r := s.rand64()
		if lock {
			sl.Lock()
		}
		q := sl.pick(r, false, true, now)
		var key []byte
		if q >= 0 {
			e := parseEntry(sl.slab, entOff(sl.idx[q]))
			key = append([]byte(nil), e.keyBytes(sl.slab)...)
		}
		if lock {
			sl.Unlock()
		}
		if q >= 0 {
			return key, true
		}
	}
	return nil, false
}

// pick returns the index position of a random key (with a TTL, if volatile;
// not expired, if live), or -1. It probes a random position and walks on to
// the next suitable entry.
func (sl *Slot) pick(r uint64, volatile, live bool, now int64) int {
	t := sl.idx
	if len(t) == 0 {
		return -1
	}
	for i, q := 0, int(r%uint64(len(t))); i < len(t); i++ {
		if q++; q == len(t) {
			q = 0
		}
		ent := t[q]
		if ent == 0 || volatile && ent&entVolatile == 0 {
			continue
		}
		if live && ent&entVolatile != 0 {
			e := parseEntry(sl.slab, entOff(ent))
			if expired(e.expireAt(sl.slab), now) {
				continue
			}
		}
		return q
	}
	return -1
}

// ExpireCycle removes expired keys, visiting the slots that have keys with a
// TTL round-robin from where the previous cycle stopped (within a slot, in
// hash order from where it stopped), until it has examined about maxWork
// keys. It also compacts slots that lazy expiry left full of garbage. It
// returns the number of keys removed. The server calls it on a timer.
func (s *Store) ExpireCycle(now int64, maxWork int) int {
	s.expireMu.Lock()
	defer s.expireMu.Unlock()
	maxWork = max(maxWork, 1)
	removed, work, steps := 0, 0, 0
	pos := s.expireSlot
	// One lap, plus the start of the first slot if it resumes mid-slot.
	lap := slot.Count
	if s.expireHash != 0 {
		lap++
	}
	for work < maxWork {
		id := nextSet(&s.volatile, &s.untidy, pos)
		if id < 0 {
			break
		}
		if steps += (id-pos)&(slot.Count-1) + 1; steps > lap {
			break // back where this cycle started
		}
		from := uint32(0)
		if id == s.expireSlot {
			from = s.expireHash
		}
		sl := &s.slots[id]
		sl.Lock()
		if s.untidy.testAndClear(id) {
			sl.tidy()
		}
		n, w, next, done := sl.expire(from, now, maxWork-work)
		sl.Unlock()
		removed += n
		work += w + 1
		if !done {
			s.expireSlot, s.expireHash = id, next
			break
		}
		pos = (id + 1) & (slot.Count - 1)
		s.expireSlot, s.expireHash = pos, 0
	}
	s.expired.Add(int64(removed))
	return removed
}

// expire removes the slot's expired keys in hash order from hash c,
// examining at most budget keys. It returns the keys removed and examined,
// and the hash to resume from unless done.
func (sl *Slot) expire(c uint32, now int64, budget int) (removed, work int, next uint32, done bool) {
	if sl.idx == nil || sl.volatile.Load() == 0 {
		return 0, 0, 0, true
	}
	it := sl.seek(c)
	for {
		q := sl.next(&it)
		if q < 0 {
			done = true
			break
		}
		ent := sl.idx[q]
		if work >= budget {
			next = entHash(ent)
			break
		}
		work++
		if ent&entVolatile == 0 {
			continue
		}
		e := parseEntry(sl.slab, entOff(ent))
		if expired(e.expireAt(sl.slab), now) {
			sl.removeAt(q)
			removed++
			it.Q = q // visit the entry shifted into q
			if sl.volatile.Load() == 0 {
				done = true
				break
			}
		}
	}
	if removed > 0 {
		sl.tidy()
	}
	return removed, work, next, done
}

// Evict removes one key chosen by policy, as Redis approximates LRU, LFU and
// TTL order: it samples `samples` keys (Redis's maxmemory-samples; 0 means
// DefaultEvictionSamples) from random slots (only keys with a TTL for
// volatile policies) and removes the best victim: the longest idle (LRU),
// the least frequently used (LFU), the nearest to expiring (TTL) or any
// (random). It returns false when policy allows no key to be evicted.
func (s *Store) Evict(policy Policy, samples int, now int64) bool {
	if policy == NoEviction || policy < 0 || int(policy) >= len(policyNames) {
		return false
	}
	if samples <= 0 {
		samples = DefaultEvictionSamples
	}
	from := &s.nonEmpty
	if policy.Volatile() {
		from = &s.volatile
	}
	var buf [64]byte
	var (
		best      []byte
		bestSlot  = -1
		bestScore uint64
	)
	for attempt := 0; attempt < 4*samples && (attempt < samples || bestSlot < 0); attempt++ {
		id := nextSet(from, nil, s.randN(slot.Count))
		if id < 0 {
			break
		}
		sl := &s.slots[id]
		r := s.rand64()
		sl.Lock()
		if q := sl.pick(r, policy.Volatile(), false, now); q >= 0 {
			ent := sl.idx[q]
			e := parseEntry(sl.slab, entOff(ent))
			score := evictScore(policy, &e, sl.slab, now, r>>32)
			if bestSlot < 0 || score > bestScore {
				best = append(buf[:0], e.keyBytes(sl.slab)...)
				bestSlot, bestScore = id, score
			}
		}
		sl.Unlock()
	}
	if bestSlot < 0 {
		return false
	}
	sl := &s.slots[bestSlot]
	sl.Lock()
	if q := sl.find(hashKey(best), best); q >= 0 {
		e := parseEntry(sl.slab, entOff(sl.idx[q]))
		if expired(e.expireAt(sl.slab), now) {
			s.expired.Add(1)
		} else {
			s.evicted.Add(1)
		}
		sl.removeAt(q)
		sl.tidy()
	}
	sl.Unlock()
	return true
}

// evictScore rates an eviction candidate; higher is a better victim.
func evictScore(policy Policy, e *entry, slab []byte, now int64, random uint64) uint64 {
	if expired(e.expireAt(slab), now) {
		return ^uint64(0) // free to take
	}
	acc := binary.LittleEndian.Uint32(slab[e.acc:])
	idle := uint64(idleSeconds(acc&lruMask, lruClock(now)))
	switch policy {
	case AllKeysLRU, VolatileLRU:
		return idle
	case AllKeysLFU, VolatileLFU:
		return uint64(255-lfuOf(acc, now))<<32 | idle
	case VolatileTTL:
		return ^uint64(e.expireAt(slab))
	default:
		return random
	}
}
