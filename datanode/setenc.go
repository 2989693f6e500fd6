package datanode

import (
	"bytes"
	"encoding/binary"
	"math"
	"slices"
	"strconv"
)

// A set is stored as one store value of type store.TypeSet, in one of the
// two layouts Redis 7.0 has, named as OBJECT ENCODING names them:
//
//	intset     1 byte setIntset, then the members as 8-byte little-endian
//	           integers in ascending order
//	hashtable  1 byte setTable, 4-byte member count n, n index entries
//	           (4-byte member hash, 4-byte offset of the member in the
//	           data), then the data: the members concatenated
//
// A set whose members are all integers (as Redis's string2ll reads them),
// no more than set-max-intset-entries of them, is an intset, as in Redis;
// any other member or one more member turns it into a hashtable, which, as
// in Redis, is never undone. Integers are in ascending order, as Redis
// replies them; a hashtable's index is ordered by (memberHash, member),
// and member i is data[offset(i):offset(i+1)] (the last one runs to the
// end), so that membership is a binary search in both layouts: O(log n).
// The hash order is the order SMEMBERS replies and SSCAN's cursor.
//
// Every write rebuilds the value, so it costs time linear in the set's
// size. The same bytes are the migration record of a set. No stored set is
// empty: removing the last member deletes the key.
const (
	setIntset = 0
	setTable  = 1
)

// setTableHeader is the size of a hashtable's encoding byte and count;
// setIndexEntry the size of one index entry.
const (
	setTableHeader = 5
	setIndexEntry  = 8
)

// maxIntsetEntries caps set-max-intset-entries, as Redis caps it (intset
// internals limit it to 2^30 entries).
const maxIntsetEntries = 1 << 30

// maxSetData is the most member bytes a hashtable can address with its
// 4-byte offsets; a store slot holds less anyway.
const maxSetData = math.MaxUint32

// setValue is a packed set.
type setValue []byte

// setEntry is one member of a hashtable-encoded set being built.
type setEntry struct {
	hash   uint32
	member []byte
}

// compareEntries orders hashtable members by hash, then bytes.
func compareEntries(a, b setEntry) int {
	switch {
	case a.hash < b.hash:
		return -1
	case a.hash > b.hash:
		return 1
	}
	return bytes.Compare(a.member, b.member)
}

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
		if len(b) < setTableHeader {
			return false
		}
		n := uint64(binary.LittleEndian.Uint32(b[1:]))
		if n == 0 || uint64(len(b)) < setTableHeader+setIndexEntry*n {
			return false
		}
		s := setValue(b)
		data := len(b) - s.dataStart()
		if uint64(data) > maxSetData {
			return false
		}
		prev := setEntry{}
		for i := range int(n) {
			off := int(binary.LittleEndian.Uint32(b[setTableHeader+setIndexEntry*i+4:]))
			if (i == 0 && off != 0) || off > data {
				return false
			}
			if i > 0 && off < s.offset(i-1) {
				return false
			}
		}
		for i := range int(n) {
			e := s.entry(i)
			if e.hash != memberHash(e.member) || (i > 0 && compareEntries(prev, e) >= 0) {
				return false
			}
			prev = e
		}
		return true
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
	return int(binary.LittleEndian.Uint32(s[1:]))
}

// intAt returns member i of an intset.
func (s setValue) intAt(i int) int64 { return int64(binary.LittleEndian.Uint64(s[1+8*i:])) }

// dataStart returns the offset of a hashtable's data.
func (s setValue) dataStart() int { return setTableHeader + setIndexEntry*s.len() }

// offset returns where member i of a hashtable starts in its data.
func (s setValue) offset(i int) int {
	return int(binary.LittleEndian.Uint32(s[setTableHeader+setIndexEntry*i+4:]))
}

// entry returns member i of a hashtable with its hash.
func (s setValue) entry(i int) setEntry {
	p := setTableHeader + setIndexEntry*i
	d := s.dataStart()
	end := len(s)
	if i+1 < s.len() {
		end = d + s.offset(i+1)
	}
	m := s[d+s.offset(i) : end : end]
	return setEntry{hash: binary.LittleEndian.Uint32(s[p:]), member: m}
}

// member returns member i in either encoding; an intset's is formatted
// into buf.
func (s setValue) member(i int, buf []byte) []byte {
	if s[0] == setIntset {
		return strconv.AppendInt(buf[:0], s.intAt(i), 10)
	}
	return s.entry(i).member
}

// each calls fn with every member in order until it returns false. The
// slice is valid only during the call.
func (s setValue) each(fn func(m []byte) bool) {
	var buf [20]byte
	for i := range s.len() {
		if !fn(s.member(i, buf[:0])) {
			return
		}
	}
}

// members returns every member in order; a hashtable's point into s, an
// intset's are formatted into fresh memory.
func (s setValue) members() [][]byte {
	out := make([][]byte, s.len())
	for i := range out {
		if s[0] == setIntset {
			out[i] = strconv.AppendInt(nil, s.intAt(i), 10)
		} else {
			out[i] = s.entry(i).member
		}
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

// searchEntry returns where e is or would be in a hashtable.
func (s setValue) searchEntry(e setEntry) (int, bool) {
	n := s.len()
	lo, hi := 0, n
	for lo < hi {
		mid := int(uint(lo+hi) >> 1)
		if compareEntries(s.entry(mid), e) < 0 {
			lo = mid + 1
		} else {
			hi = mid
		}
	}
	return lo, lo < n && compareEntries(s.entry(lo), e) == 0
}

// contains reports whether m is a member: a binary search.
func (s setValue) contains(m []byte) bool {
	_, ok := s.find(m)
	return ok
}

// find returns the index of member m.
func (s setValue) find(m []byte) (int, bool) {
	if s[0] == setIntset {
		v, ok := parseInt(m)
		if !ok {
			return 0, false
		}
		return s.searchInt(v)
	}
	return s.searchEntry(setEntry{memberHash(m), m})
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

// appendTable appends a hashtable of es (in compareEntries order, distinct)
// to dst, which must not overlap the members. It reports false when the
// members are too large to address.
func appendTable(dst []byte, es []setEntry) (setValue, bool) {
	size := 0
	for _, e := range es {
		size += len(e.member)
	}
	if size > maxSetData {
		return nil, false
	}
	dst = append(dst[:0], setTable)
	dst = binary.LittleEndian.AppendUint32(dst, uint32(len(es)))
	dst = slices.Grow(dst, setIndexEntry*len(es)+size)
	off := 0
	for _, e := range es {
		dst = binary.LittleEndian.AppendUint32(dst, e.hash)
		dst = binary.LittleEndian.AppendUint32(dst, uint32(off))
		off += len(e.member)
	}
	for _, e := range es {
		dst = append(dst, e.member...)
	}
	return dst, true
}

// tableEntries returns a hashtable's members as entries.
func (s setValue) tableEntries() []setEntry {
	out := make([]setEntry, s.len())
	for i := range out {
		out[i] = s.entry(i)
	}
	return out
}

// toEntries returns the set's members as hashtable entries, sorted; an
// intset's are formatted into fresh memory.
func (s setValue) toEntries() []setEntry {
	if s[0] == setTable {
		return s.tableEntries()
	}
	return entriesOf(s.members())
}

// entriesOf hashes ms and sorts them into hashtable order, dropping
// repeats.
func entriesOf(ms [][]byte) []setEntry {
	es := make([]setEntry, len(ms))
	for i, m := range ms {
		es[i] = setEntry{memberHash(m), m}
	}
	slices.SortFunc(es, compareEntries)
	return slices.CompactFunc(es, func(a, b setEntry) bool { return compareEntries(a, b) == 0 })
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
	return appendTable(dst, entriesOf(ms))
}

// add returns s with ms added, appended to dst (which must not overlap s),
// and how many members are new. With none new it returns s itself. ok is
// false when the set would be too large.
func (s setValue) add(dst []byte, ms [][]byte, lim setLimits) (ns setValue, added int, ok bool) {
	if len(ms) == 1 && s.contains(ms[0]) {
		return s, 0, true // the common case of SADD, without allocating
	}
	if s[0] == setIntset {
		if vals, isInt := intsOf(ms); isInt {
			fresh := vals[:0]
			for _, v := range vals {
				if _, found := s.searchInt(v); !found {
					fresh = append(fresh, v)
				}
			}
			if len(fresh) == 0 {
				return s, 0, true
			}
			if s.len()+len(fresh) <= lim.maxInts() {
				all := make([]int64, 0, s.len()+len(fresh))
				for i := range s.len() {
					all = append(all, s.intAt(i))
				}
				all = append(all, fresh...)
				slices.Sort(all)
				return appendIntset(dst, all), len(fresh), true
			}
		}
	}
	fresh := entriesOf(ms)
	kept := fresh[:0]
	for _, e := range fresh {
		if !s.contains(e.member) {
			kept = append(kept, e)
		}
	}
	if len(kept) == 0 {
		return s, 0, true
	}
	if s[0] == setTable && len(kept) == 1 {
		ns, ok = s.insertOne(dst, kept[0])
		return ns, 1, ok
	}
	all := append(s.toEntries(), kept...)
	slices.SortFunc(all, compareEntries)
	ns, ok = appendTable(dst, all)
	return ns, len(kept), ok
}

// insertOne returns hashtable s with the new member e, appended to dst: one
// pass of copies, the common case of SADD on a large set.
func (s setValue) insertOne(dst []byte, e setEntry) (setValue, bool) {
	n := s.len()
	d := s.dataStart()
	if len(s)-d+len(e.member) > maxSetData {
		return nil, false
	}
	at, _ := s.searchEntry(e)
	off := len(s) - d
	if at < n {
		off = s.offset(at)
	}
	dst = slices.Grow(dst[:0], len(s)+setIndexEntry+len(e.member))
	dst = append(dst, setTable)
	dst = binary.LittleEndian.AppendUint32(dst, uint32(n+1))
	dst = append(dst, s[setTableHeader:setTableHeader+setIndexEntry*at]...)
	dst = binary.LittleEndian.AppendUint32(dst, e.hash)
	dst = binary.LittleEndian.AppendUint32(dst, uint32(off))
	for i := at; i < n; i++ {
		p := setTableHeader + setIndexEntry*i
		dst = append(dst, s[p:p+4]...)
		dst = binary.LittleEndian.AppendUint32(dst, uint32(s.offset(i)+len(e.member)))
	}
	dst = append(dst, s[d:d+off]...)
	dst = append(dst, e.member...)
	return append(dst, s[d+off:]...), true
}

// remove returns s without the members ms, appended to dst (which must not
// overlap s), and how many were there. With none there it returns s
// itself; with all gone, nil.
func (s setValue) remove(dst []byte, ms [][]byte) (setValue, int) {
	var gone []int
	for _, m := range ms {
		if i, ok := s.find(m); ok {
			gone = append(gone, i)
		}
	}
	if len(gone) == 0 {
		return s, 0
	}
	slices.Sort(gone)
	gone = slices.Compact(gone)
	return s.without(dst, gone), len(gone)
}

// without returns s without the members at the indexes gone (ascending,
// distinct), appended to dst (which must not overlap s); nil when none is
// left. It copies the kept runs of members whole.
func (s setValue) without(dst []byte, gone []int) setValue {
	n := s.len()
	if len(gone) == n {
		return nil
	}
	if s[0] == setIntset {
		dst = append(dst[:0], setIntset)
		prev := 0
		for _, g := range append(slices.Clip(gone), n) {
			dst = append(dst, s[1+8*prev:1+8*g]...)
			prev = g + 1
		}
		return dst
	}
	d := s.dataStart()
	end := func(i int) int { // where member i ends in the data
		if i+1 < n {
			return s.offset(i + 1)
		}
		return len(s) - d
	}
	dst = slices.Grow(dst[:0], len(s))
	dst = append(dst, setTable)
	dst = binary.LittleEndian.AppendUint32(dst, uint32(n-len(gone)))
	shift, prev := 0, 0
	for _, g := range append(slices.Clip(gone), n) {
		for i := prev; i < g; i++ {
			p := setTableHeader + setIndexEntry*i
			dst = append(dst, s[p:p+4]...)
			dst = binary.LittleEndian.AppendUint32(dst, uint32(s.offset(i)-shift))
		}
		if g < n {
			shift += end(g) - s.offset(g)
		}
		prev = g + 1
	}
	prev = 0
	for _, g := range append(slices.Clip(gone), n) {
		if prev < g {
			dst = append(dst, s[d+s.offset(prev):d+end(g-1)]...)
		}
		prev = g + 1
	}
	return dst
}

// scanTable returns a hashtable's members whose hash is at least cursor,
// at least count of them (fewer only at the end), members of the same hash
// kept together, and the cursor to continue from (0 at the end). A member
// present through a whole scan is returned by one of its calls, whatever
// is added or removed meanwhile.
func (s setValue) scanTable(cursor uint64, count int) ([][]byte, uint64) {
	if cursor > math.MaxUint32 {
		return nil, 0
	}
	n := s.len()
	lo, hi := 0, n
	for lo < hi {
		mid := int(uint(lo+hi) >> 1)
		if uint64(s.entry(mid).hash) < cursor {
			lo = mid + 1
		} else {
			hi = mid
		}
	}
	end := lo + min(count, n-lo)
	for end < n && end > lo && s.entry(end).hash == s.entry(end-1).hash {
		end++
	}
	out := make([][]byte, 0, end-lo)
	for i := lo; i < end; i++ {
		out = append(out, s.entry(i).member)
	}
	if end == n {
		return out, 0
	}
	return out, uint64(s.entry(end).hash)
}
