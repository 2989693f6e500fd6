package store

import "encoding/binary"

// Type is the kind of value a key holds, as Redis's TYPE names it. The
// store keeps each value as bytes; what the bytes of a non-string value
// mean is up to the commands of its type (for hashes, see package
// datanode's hash encoding).
type Type uint8

// The types a value may have. String is 0: entries written before types
// existed are strings.
const (
	TypeString Type = iota
	TypeHash
	TypeList
	TypeSet
	TypeZSet
)

// String returns the type's name as TYPE replies it.
func (t Type) String() string {
	switch t {
	case TypeString:
		return "string"
	case TypeHash:
		return "hash"
	case TypeList:
		return "list"
	case TypeSet:
		return "set"
	case TypeZSet:
		return "zset"
	}
	return "unknown"
}

// ParseType returns the Type named name (as TYPE replies it), and false
// for an unknown name.
func ParseType(name string) (Type, bool) {
	for t := TypeString; t <= TypeZSet; t++ {
		if t.String() == name {
			return t, true
		}
	}
	return 0, false
}

// Access returns how long ago, in seconds, the live key was last accessed
// and its LFU counter decayed to now (OBJECT IDLETIME and FREQ), without
// recording an access.
func (sl *Slot) Access(key []byte, now int64) (idle uint32, freq uint8, ok bool) {
	q := sl.lookup(key, now)
	if q < 0 {
		return 0, 0, false
	}
	e := parseEntry(sl.slab, entOff(sl.idx[q]))
	acc := binary.LittleEndian.Uint32(sl.slab[e.acc:])
	return idleSeconds(acc&lruMask, lruClock(now)), lfuOf(acc, now), true
}

// Modify lets fn change the bytes of the live key's value in place, its
// length and type unchanged, and records the write as Set does (for
// migration's tracking and the LRU clock). fn must not keep value. It
// reports whether the key exists.
func (sl *Slot) Modify(key []byte, now int64, fn func(value []byte)) bool {
	q := sl.lookup(key, now)
	if q < 0 {
		return false
	}
	sl.touched(key)
	e := parseEntry(sl.slab, entOff(sl.idx[q]))
	acc := sl.slab[e.acc : e.acc+accessSize]
	binary.LittleEndian.PutUint32(acc, touchLRU(binary.LittleEndian.Uint32(acc), now))
	fn(sl.value(&e))
	return true
}
