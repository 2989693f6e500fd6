package store

import "encoding/binary"

// SetIdle makes the live key look last accessed idle seconds ago, as
// RESTORE's IDLETIME does in Redis: the LRU clock wraps, so an idle time
// counts modulo the clock's range, as in Redis. The LFU counter is kept.
// It reports whether the key exists.
func (sl *Slot) SetIdle(key []byte, idle int64, now int64) bool {
	return sl.setAccess(key, now, func(acc uint32) uint32 {
		at := (int64(lruClock(now)) - idle%(lruMask+1) + lruMask + 1) & lruMask
		return acc&^lruMask | uint32(at)
	})
}

// SetFreq sets the live key's LFU counter to freq, as of now, as RESTORE's
// FREQ does in Redis.
func (sl *Slot) SetFreq(key []byte, freq uint8, now int64) bool {
	return sl.setAccess(key, now, func(uint32) uint32 { return lruClock(now) | uint32(freq)<<24 })
}

// setAccess replaces the live key's access word by edit's result.
func (sl *Slot) setAccess(key []byte, now int64, edit func(acc uint32) uint32) bool {
	q := sl.lookup(key, now)
	if q < 0 {
		return false
	}
	e := parseEntry(sl.slab, entOff(sl.idx[q]))
	binary.LittleEndian.PutUint32(sl.slab[e.acc:], edit(binary.LittleEndian.Uint32(sl.slab[e.acc:])))
	return true
}
