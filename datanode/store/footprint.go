package store

// MarkRaw records that the live string key was edited in place, as
// Redis's APPEND, SETRANGE, SETBIT and BITFIELD do to a string, after
// which OBJECT ENCODING reports it raw; the next Set of the key forgets
// it. It reports whether the key exists. The mark is not a write: it is
// not tracked and leaves the access clock alone.
func (sl *Slot) MarkRaw(key []byte, now int64) bool {
	q := sl.lookup(key, now)
	if q < 0 {
		return false
	}
	sl.slab[entOff(sl.idx[q])] |= hdrRaw
	return true
}

// Raw reports whether the live key is a string MarkRaw marked.
func (sl *Slot) Raw(key []byte, now int64) bool {
	q := sl.lookup(key, now)
	return q >= 0 && sl.slab[entOff(sl.idx[q])]&hdrRaw != 0
}

// indexBytesPerKey is the share of a slot's index one key costs: an
// 8-byte entry in an index kept at most 3/8 full (indexSizeFor).
const indexBytesPerKey = 8 * 8 / 3

// Footprint returns the bytes the live key costs this store, without
// recording an access: its entry in the slab (header, key, expiry, access
// word and the value, or the handle of the block holding it), the
// block's size class when the value is out of line, and its share of the
// slot's index. It is MEMORY USAGE's figure.
func (sl *Slot) Footprint(key []byte, now int64) (int, bool) {
	q := sl.lookup(key, now)
	if q < 0 {
		return 0, false
	}
	e := parseEntry(sl.slab, entOff(sl.idx[q]))
	n := e.end - entOff(sl.idx[q]) + indexBytesPerKey
	if e.flags&hdrOut != 0 {
		n += blockSize(e.vlen)
	}
	return n, true
}
