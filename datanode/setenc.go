package datanode

import (
	"encoding/binary"
	"math/rand/v2"
	"slices"
	"strconv"
)

// A set is stored as one store value of type store.TypeSet, in one of the
// two layouts Redis 7.0 has, named as OBJECT ENCODING names them:
//
//	intset     1 byte setIntset, then the members as 8-byte little-endian
//	           integers in ascending order
//	hashtable  the table layout of a large hash (hashtable.go), each
//	           member a field with an empty value
//
// A set whose members are all integers (as Redis's string2ll reads them),
// no more than set-max-intset-entries of them, is an intset, as in Redis;
// any other member or one more member turns it into a hashtable, which, as
// in Redis, is never undone. Integers are in ascending order, as Redis
// replies them, and found by binary search; a hashtable's members are in
// hash order, the order SMEMBERS replies and SSCAN's cursor, found in
// O(1), and added or removed in place in amortized O(1) (see
// hashtable.go). An intset is rebuilt by every write, as Redis moves an
// intset's bytes. The same bytes are the migration record of a set. No
// stored set is empty: removing the last member deletes the key.
const (
	setIntset = 0
	setTable  = hashTable
)

// maxIntsetEntries caps set-max-intset-entries, as Redis caps it (intset
// internals limit it to 2^30 entries).
const maxIntsetEntries = 1 << 30

// setValue is a packed set.
type setValue []byte

// validSet reports whether b is a well-formed packed set: every lookup on
// it then finds what iteration finds, without panicking.
func validSet(b []byte) bool {
	if len(b) < 1 {
		return false
	}
	switch b[0] {
	case setIntset:
		if len(b) == 1 || (len(b)-1)%8 != 0 {
			return false
		}
		s := setValue(b)
		for i := 1; i < s.len(); i++ {
			if s.intAt(i-1) >= s.intAt(i) {
				return false
			}
		}
		return true
	case setTable:
		if !validTable(b) {
			return false
		}
		empty := true
		hashValue(b).each(func(f hashField) bool {
			empty = len(f.value) == 0
			return empty
		})
		return empty
	}
	return false
}

// encoding returns setIntset or setTable.
func (s setValue) encoding() byte { return s[0] }

// len returns the number of members.
func (s setValue) len() int {
	if s[0] == setIntset {
		return (len(s) - 1) / 8
	}
	return hashValue(s).len()
}

// intAt returns member i of an intset.
func (s setValue) intAt(i int) int64 { return int64(binary.LittleEndian.Uint64(s[1+8*i:])) }

// randomMember returns a member chosen uniformly at random; an intset's
// is formatted into buf.
func (s setValue) randomMember(buf []byte) []byte {
	if s[0] == setIntset {
		return strconv.AppendInt(buf[:0], s.intAt(rand.IntN(s.len())), 10)
	}
	return hashValue(s).randomField().field
}

// randomDistinct returns k distinct members chosen at random (k below
// the set's size): an intset's formatted into fresh memory, a hashtable's
// pointing into s.
func (s setValue) randomDistinct(k int) [][]byte {
	n := s.len()
	if s[0] == setIntset || 2*k > n {
		// A partial Fisher-Yates shuffle of all the members.
		ms := s.members()
		for i := range k {
			j := i + rand.IntN(n-i)
			ms[i], ms[j] = ms[j], ms[i]
		}
		return ms[:k]
	}
	fs := hashValue(s).randomFields(k)
	out := make([][]byte, len(fs))
	for i, f := range fs {
		out[i] = f.field
	}
	return out
}

// each calls fn with every member in order until it returns false. The
// slice is valid only during the call.
func (s setValue) each(fn func(m []byte) bool) {
	if s[0] == setTable {
		hashValue(s).each(func(f hashField) bool { return fn(f.field) })
		return
	}
	var buf [20]byte
	for i := range s.len() {
		if !fn(strconv.AppendInt(buf[:0], s.intAt(i), 10)) {
			return
		}
	}
}

// members returns every member in order; a hashtable's point into s, an
// intset's are formatted into fresh memory.
func (s setValue) members() [][]byte {
	out := make([][]byte, 0, s.len())
	if s[0] == setTable {
		s.each(func(m []byte) bool {
			out = append(out, m)
			return true
		})
		return out
	}
	for i := range s.len() {
		out = append(out, strconv.AppendInt(nil, s.intAt(i), 10))
	}
	return out
}

// searchInt returns where v is or would be in an intset.
func (s setValue) searchInt(v int64) (int, bool) {
	n := s.len()
	lo, hi := 0, n
	for lo < hi {
		mid := int(uint(lo+hi) >> 1)
		if s.intAt(mid) < v {
			lo = mid + 1
		} else {
			hi = mid
		}
	}
	return lo, lo < n && s.intAt(lo) == v
}

// contains reports whether m is a member: a binary search in an intset, a
// hash lookup in a hashtable.
func (s setValue) contains(m []byte) bool {
	if s[0] == setTable {
		q, _ := hashValue(s).tableFind(m)
		return q >= 0
	}
	v, ok := parseInt(m)
	if !ok {
		return false
	}
	_, found := s.searchInt(v)
	return found
}

// setLimits is Redis's set-max-intset-entries.
type setLimits struct{ intsetEntries int64 }

// maxInts returns how many members an intset may hold.
func (l setLimits) maxInts() int { return int(min(l.intsetEntries, maxIntsetEntries)) }

// appendIntset appends an intset of vals (ascending, distinct) to dst.
func appendIntset(dst []byte, vals []int64) setValue {
	dst = append(dst[:0], setIntset)
	for _, v := range vals {
		dst = binary.LittleEndian.AppendUint64(dst, uint64(v))
	}
	return dst
}

// appendTable appends to dst[:0] a hashtable of the members ms (repeats
// allowed), which must not overlap dst. It reports false when the members
// are too large to address.
func appendTable(dst []byte, ms [][]byte) (setValue, bool) {
	data := 0
	for _, m := range ms {
		data += recordSize(m, nil)
	}
	slots, size := tableSizes(len(ms), data)
	if size > htMaxSize {
		return nil, false
	}
	t := hashValue(slices.Grow(dst[:0], size)[:size])
	t.initTable(slots)
	for _, m := range ms {
		t.tableSet(m, nil)
	}
	return setValue(t), true
}

// intsOf parses ms as integers, sorted and without repeats; it reports
// false when one is not an integer.
func intsOf(ms [][]byte) ([]int64, bool) {
	vals := make([]int64, len(ms))
	for i, m := range ms {
		v, ok := parseInt(m)
		if !ok {
			return nil, false
		}
		vals[i] = v
	}
	slices.Sort(vals)
	return slices.Compact(vals), true
}

// buildSet appends to dst the set of ms (repeats allowed), encoded as Redis
// encodes a set made by adding them to an empty one: an intset when they
// are all integers and few enough. ok is false when it is too large.
func buildSet(dst []byte, ms [][]byte, lim setLimits) (s setValue, ok bool) {
	if vals, isInt := intsOf(ms); isInt && len(vals) <= lim.maxInts() {
		return appendIntset(dst, vals), true
	}
	return appendTable(dst, ms)
}

// add returns the intset s with ms added, appended to dst (which must not
// overlap s), and how many members are new: an intset while Redis's would
// stay one, else a hashtable. With none new it returns s itself. ok is
// false when the set would be too large. (A hashtable is added to in
// place: see setEdit.)
func (s setValue) add(dst []byte, ms [][]byte, lim setLimits) (ns setValue, added int, ok bool) {
	var kept [][]byte
	for _, m := range ms {
		if !s.contains(m) {
			kept = append(kept, m)
		}
	}
	if len(kept) == 0 {
		return s, 0, true
	}
	if vals, isInt := intsOf(kept); isInt && s.len()+len(vals) <= lim.maxInts() {
		all := make([]int64, 0, s.len()+len(vals))
		for i := range s.len() {
			all = append(all, s.intAt(i))
		}
		all = append(all, vals...)
		slices.Sort(all)
		return appendIntset(dst, all), len(vals), true
	}
	all := append(s.members(), kept...)
	ns, ok = appendTable(dst, all)
	if !ok {
		return nil, 0, false
	}
	return ns, ns.len() - s.len(), true
}

// remove returns the intset s without the members ms, appended to dst
// (which must not overlap s), and how many were there. With none there it
// returns s itself; with all gone, nil.
func (s setValue) remove(dst []byte, ms [][]byte) (setValue, int) {
	var gone []int
	for _, m := range ms {
		if v, ok := parseInt(m); ok {
			if i, ok := s.searchInt(v); ok {
				gone = append(gone, i)
			}
		}
	}
	if len(gone) == 0 {
		return s, 0
	}
	slices.Sort(gone)
	gone = slices.Compact(gone)
	if len(gone) == s.len() {
		return nil, len(gone)
	}
	dst = append(dst[:0], setIntset)
	prev := 0
	for _, g := range append(gone, s.len()) {
		dst = append(dst, s[1+8*prev:1+8*g]...)
		prev = g + 1
	}
	return dst, len(gone)
}

// scanTable returns a hashtable's members whose hash is at least cursor,
// at least count of them (fewer only at the end), members of the same hash
// kept together, and the cursor to continue from (0 at the end). A member
// present through a whole scan is returned by one of its calls, whatever
// is added or removed meanwhile.
func (s setValue) scanTable(cursor uint64, count int) ([][]byte, uint64) {
	fs, next := hashValue(s).scanFields(cursor, count)
	out := make([][]byte, len(fs))
	for i, f := range fs {
		out[i] = f.field
	}
	return out, next
}
