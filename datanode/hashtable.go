package datanode

import (
	"encoding/binary"
	"math"
	"math/rand/v2"
	"slices"

	"github.com/chkv/chkv/datanode/rhindex"
)

// A hash that Redis would encode as a hash table (more than
// hash-max-listpack-entries fields, or a field or value longer than
// hash-max-listpack-value) is stored in a layout of its own, so that a
// lookup costs O(1) and a write amortized O(1) whatever its size:
//
//	encoding  1 byte   hashTable
//	count     4 bytes  number of fields
//	slots     4 bytes  number of index positions n
//	used      4 bytes  offset just past the last record
//	garbage   4 bytes  bytes of records no index entry points to
//	index     n 8-byte entries of an rhindex table: the field's fieldHash,
//	          then the offset of its record (0: empty position)
//	records   uvarint field length, field, uvarint value length, value
//	spare     the rest of the value, free for new records
//
// All numbers are little-endian. A write stays inside the value, whose
// length does not change, through the store's Slot.Modify: a value of the
// same length overwrites the old one; any other is appended in the spare
// bytes and the old record becomes garbage; an index entry is inserted or
// deleted in place. When the spare bytes or the index (at most 3/4 full)
// run out, the hash is rebuilt with room in proportion to its size, and
// when garbage passes half the records or the index is less than 1/8 full
// it is rebuilt compacted: so a run of writes costs amortized O(1) per
// field. The index is in fieldHash order, which is the order HGETALL
// replies and HSCAN's cursor. The same bytes are the migration record of
// the hash.
const (
	htCount   = 1
	htSlots   = 5
	htUsed    = 9
	htGarbage = 13
	htHeader  = 17

	// htMinSlots is the smallest index; htMinSpare the fewest spare bytes a
	// rebuilt table gets.
	htMinSlots = 8
	htMinSpare = 64

	// htMaxSize bounds a table value so that offsets fit in 32 bits.
	htMaxSize = math.MaxUint32
)

func (h hashValue) u32(at int) int { return int(binary.LittleEndian.Uint32(h[at:])) }

func (h hashValue) putU32(at, v int) { binary.LittleEndian.PutUint32(h[at:], uint32(v)) }

// index returns the table's index.
func (h hashValue) index() rhindex.Bytes {
	return rhindex.Bytes(h[htHeader : htHeader+8*h.u32(htSlots)])
}

// recordSize is the size of the record of field and value.
func recordSize(field, value []byte) int {
	return uvarintSize(len(field)) + len(field) + uvarintSize(len(value)) + len(value)
}

// tableFind returns the index position and the record of field name, or
// -1.
func (h hashValue) tableFind(name []byte) (int, hashField) {
	var f hashField
	q := rhindex.Find(h.index(), fieldHash(name), func(e uint64) bool {
		f = h.next(int(uint32(e)))
		return string(f.field) == string(name)
	})
	return q, f
}

// tableEach calls fn for every field in index (fieldHash) order, from the
// first whose hash is at least from, until it returns false.
func (h hashValue) tableEach(from uint32, fn func(hash uint32, f hashField) bool) {
	t := h.index()
	it := rhindex.Seek(t, from)
	for q := rhindex.Next(t, &it); q >= 0; q = rhindex.Next(t, &it) {
		e := t.At(q)
		if !fn(rhindex.Hash(e), h.next(int(uint32(e)))) {
			return
		}
	}
}

// tableSet sets field to value in place and reports whether the field is
// new. It reports !fits, changing nothing, when the value has no room for
// the write: the hash must be rebuilt larger first.
func (h hashValue) tableSet(field, value []byte) (added, fits bool) {
	q, f := h.tableFind(field)
	if q >= 0 && len(f.value) == len(value) {
		copy(h[f.end-len(value):], value)
		return false, true
	}
	used, size := h.u32(htUsed), recordSize(field, value)
	n := h.u32(htCount)
	if used+size > len(h) || (q < 0 && 4*(n+1) > 3*h.u32(htSlots)) {
		return false, false
	}
	end := appendHashField(h[used:used], field, value)
	h.putU32(htUsed, used+len(end))
	e := uint64(fieldHash(field))<<32 | uint64(used)
	if q >= 0 {
		h.putU32(htGarbage, h.u32(htGarbage)+f.end-f.start)
		h.index().Put(q, e)
		return false, true
	}
	rhindex.Insert(h.index(), e)
	h.putU32(htCount, n+1)
	return true, true
}

// tableSetMany sets the field/value pairs of pairs in place until one
// does not fit. It returns how many fields are new and how many elements
// of pairs it consumed.
func (h hashValue) tableSetMany(pairs [][]byte) (added, done int) {
	for ; done < len(pairs); done += 2 {
		isNew, fits := h.tableSet(pairs[done], pairs[done+1])
		if !fits {
			break
		}
		added += int(boolInt(isNew))
	}
	return added, done
}

// grownWith returns the plan (see tablePlan) of h rebuilt as a table
// with room for pairs and with them set, the count of their fields that
// are new set by fill in *added; false when it would exceed htMaxSize.
func (h hashValue) grownWith(pairs [][]byte, added *int) (int, func(t []byte), bool) {
	extra := 0
	for i := 0; i+1 < len(pairs); i += 2 {
		extra += recordSize(pairs[i], pairs[i+1])
	}
	size, fill, ok := h.tablePlan(len(pairs)/2, extra)
	if !ok {
		return 0, nil, false
	}
	return size, func(t []byte) {
		fill(t)
		*added, _ = hashValue(t).tableSetMany(pairs) // it has room for them all
	}, true
}

// tableDel removes field in place and reports whether it was there.
func (h hashValue) tableDel(field []byte) bool {
	q, f := h.tableFind(field)
	if q < 0 {
		return false
	}
	h.putU32(htGarbage, h.u32(htGarbage)+f.end-f.start)
	rhindex.Delete(h.index(), q)
	h.putU32(htCount, h.u32(htCount)-1)
	return true
}

// wasteful reports whether a table should be rebuilt compacted: garbage
// is more than half its records, or its index is less than 1/8 full.
func (h hashValue) wasteful() bool {
	records := h.u32(htUsed) - htHeader - 8*h.u32(htSlots)
	return 2*h.u32(htGarbage) > records+htMinSpare || (h.u32(htSlots) > htMinSlots && 8*h.u32(htCount) < h.u32(htSlots))
}

// tableSizes returns the index positions and value length of a table
// rebuilt for count fields whose records take data bytes.
func tableSizes(count, data int) (slots, size int) {
	slots = max(htMinSlots, 2*count)
	return slots, htHeader + 8*slots + data + max(htMinSpare, data/2)
}

// rebuildTable returns h (either encoding) as a table with room for
// extraFields more fields taking extraBytes more record bytes, appended to
// dst[:0] (which must not overlap h), or false when it would exceed
// htMaxSize.
func (h hashValue) rebuildTable(dst []byte, extraFields, extraBytes int) (hashValue, bool) {
	size, fill, ok := h.tablePlan(extraFields, extraBytes)
	if !ok {
		return nil, false
	}
	t := slices.Grow(dst[:0], size)[:size]
	fill(t)
	return t, true
}

// tablePlan returns the size of h (either encoding) rebuilt as a table
// with room for extraFields more fields taking extraBytes more record
// bytes, and a function that writes it into a value of that size (such as
// the store's memory, see store.Slot.SetTypedFunc), or false when it would
// exceed htMaxSize.
func (h hashValue) tablePlan(extraFields, extraBytes int) (int, func(t []byte), bool) {
	count, data := h.len(), extraBytes
	h.each(func(f hashField) bool {
		data += f.end - f.start
		return true
	})
	slots, size := tableSizes(count+extraFields, data)
	if size > htMaxSize {
		return 0, nil, false
	}
	return size, func(b []byte) {
		t := hashValue(b)
		t.initTable(slots)
		t.putU32(htCount, count)
		used := htHeader + 8*slots
		idx := t.index()
		h.each(func(f hashField) bool {
			rhindex.Insert(idx, uint64(fieldHash(f.field))<<32|uint64(used))
			used += copy(t[used:], h[f.start:f.end])
			return true
		})
		t.putU32(htUsed, used)
		clear(t[used:]) // the spare bytes travel with the value: no stale memory
	}, true
}

// initTable writes an empty table with an index of slots positions at the
// start of h.
func (h hashValue) initTable(slots int) {
	clear(h[:htHeader+8*slots])
	h[0] = hashTable
	h.putU32(htSlots, slots)
	h.putU32(htUsed, htHeader+8*slots)
}

// validTable reports whether b is a well-formed table-encoded hash: every
// index entry in order and pointing to a record of its field's hash,
// records inside the used bytes and not overlapping, and the counts
// adding up. Migration and RESTORE check a value before it is stored.
func validTable(b []byte) bool {
	h := hashValue(b)
	if len(b) < htHeader {
		return false
	}
	count, slots, used, garbage := h.u32(htCount), h.u32(htSlots), h.u32(htUsed), h.u32(htGarbage)
	start := htHeader + 8*slots
	if count == 0 || slots < htMinSlots || 4*count > 3*slots || start > len(b) || used < start || used > len(b) {
		return false
	}
	idx := h.index()
	type span struct{ start, end int }
	spans := make([]span, 0, count)
	var last uint32
	for q := range slots {
		e := idx.At(q)
		if e == 0 {
			continue
		}
		off := int(uint32(e))
		if off < start || off >= used {
			return false
		}
		end, ok := recordEnd(b[:used], off)
		if !ok || fieldHash(h.next(off).field) != rhindex.Hash(e) {
			return false
		}
		spans = append(spans, span{off, end})
	}
	if len(spans) != count {
		return false
	}
	// The entries must be where a lookup finds them, in hash order.
	n := 0
	h.tableEach(0, func(hash uint32, f hashField) bool {
		if n > 0 && hash < last {
			return false
		}
		if q, _ := h.tableFind(f.field); q < 0 || h.index().At(q) != uint64(hash)<<32|uint64(f.start) {
			return false
		}
		last = hash
		n++
		return true
	})
	if n != count {
		return false
	}
	slices.SortFunc(spans, func(a, b span) int { return a.start - b.start })
	live := 0
	for i, s := range spans {
		if i > 0 && spans[i-1].end > s.start {
			return false
		}
		live += s.end - s.start
	}
	return live+garbage == used-start
}

// recordEnd returns the offset past the record at off in b, or false if
// it does not fit.
func recordEnd(b []byte, off int) (int, bool) {
	for range 2 {
		l, k := binary.Uvarint(b[off:])
		if k <= 0 || l > uint64(len(b)-off-k) {
			return 0, false
		}
		off += k + int(l)
	}
	return off, true
}

// randomField returns a field chosen uniformly at random: in a table, at
// a random index position (the index is at least 1/8 full, so this takes
// a few tries).
func (h hashValue) randomField() hashField {
	if h[0] != hashTable {
		fs := h.fields()
		return fs[rand.IntN(len(fs))]
	}
	t := h.index()
	for {
		if e := t.At(rand.IntN(t.Len())); e != 0 {
			return h.next(int(uint32(e)))
		}
	}
}

// randomFields returns k distinct fields of a table chosen at random (k
// at most half its fields): distinct random index positions, a few tries
// each, since the index is at least 1/8 full.
func (h hashValue) randomFields(k int) []hashField {
	t := h.index()
	seen := make(map[int]bool, k)
	out := make([]hashField, 0, k)
	for len(out) < k {
		q := rand.IntN(t.Len())
		if e := t.At(q); e != 0 && !seen[q] {
			seen[q] = true
			out = append(out, h.next(int(uint32(e))))
		}
	}
	return out
}
