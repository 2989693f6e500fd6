package datanode

import (
	"encoding/binary"

	"github.com/cespare/xxhash/v2"

	"github.com/chkv/chkv/datanode/store"
)

// A hash is stored as one store value of type store.TypeHash. A small one
// is packed as Redis packs a small hash in a listpack:
//
//	encoding  1 byte   hashListpack
//	count     uvarint  number of fields
//	fields    count times: uvarint field length, field, uvarint value
//	          length, value
//
// Fields keep their insertion order, so HGETALL, HKEYS and HVALS reply in
// the order Redis does for a listpack-encoded hash. Every write rebuilds
// the value, so it costs time linear in the hash's size, as a write to a
// listpack does in Redis. A hash that passes hash-max-listpack-entries or
// -value is converted to the table layout of hashtable.go, and as in Redis
// never back. The same bytes are the migration record of a hash.
//
// The listpack functions here build a listpack whatever its size; one
// that passed the limits carries the encoding byte hashListpackFull, and
// storeHash converts it to a table before it is stored.
const (
	hashListpack     = 0
	hashTable        = 1
	hashListpackFull = 2
)

// hashValue is a packed hash.
type hashValue []byte

// emptyHash returns a packed hash without fields.
func emptyHash() hashValue { return hashValue{hashListpack, 0} }

// validValue reports whether value is a well-formed value of type typ
// other than string, as migration receives them.
func validValue(typ store.Type, value []byte) bool {
	switch typ {
	case store.TypeHash:
		return validHash(value)
	case store.TypeList:
		return validList(value)
	case store.TypeZSet:
		return validZset(value)
	case store.TypeSet:
		return validSet(value)
	}
	return false
}

// validHash reports whether b is a well-formed packed hash.
func validHash(b []byte) bool {
	if len(b) < 2 {
		return false
	}
	switch b[0] {
	case hashTable:
		return validTable(b)
	case hashListpack:
	default:
		return false
	}
	n, p := binary.Uvarint(b[1:])
	if p <= 0 {
		return false
	}
	p++
	for range n {
		for range 2 {
			l, k := binary.Uvarint(b[p:])
			if k <= 0 || uint64(len(b)-p-k) < l {
				return false
			}
			p += k + int(l)
		}
	}
	return p == len(b)
}

// encoding returns the hash's encoding byte.
func (h hashValue) encoding() byte { return h[0] }

// len returns the number of fields.
func (h hashValue) len() int {
	if h[0] == hashTable {
		return h.u32(htCount)
	}
	n, _ := binary.Uvarint(h[1:])
	return int(n)
}

// body returns the offset of the first field.
func (h hashValue) body() int {
	_, k := binary.Uvarint(h[1:])
	return 1 + k
}

// hashField locates one field of a packed hash.
type hashField struct {
	start int // offset of the field's length
	field []byte
	value []byte
	end   int // offset just past the value
}

// next decodes the field at offset p.
func (h hashValue) next(p int) hashField {
	f := hashField{start: p}
	l, k := binary.Uvarint(h[p:])
	p += k
	f.field = h[p : p+int(l) : p+int(l)]
	p += int(l)
	l, k = binary.Uvarint(h[p:])
	p += k
	f.value = h[p : p+int(l) : p+int(l)]
	f.end = p + int(l)
	return f
}

// each calls fn for every field in order (a table's is fieldHash order)
// until it returns false.
func (h hashValue) each(fn func(f hashField) bool) {
	if h[0] == hashTable {
		h.tableEach(0, func(_ uint32, f hashField) bool { return fn(f) })
		return
	}
	for p := h.body(); p < len(h); {
		f := h.next(p)
		if !fn(f) {
			return
		}
		p = f.end
	}
}

// find returns the field named name. It is the hot loop of every hash
// command: it decodes only lengths until a field's length and bytes match.
func (h hashValue) find(name []byte) (hashField, bool) {
	if h[0] == hashTable {
		q, f := h.tableFind(name)
		return f, q >= 0
	}
	for p := h.body(); p < len(h); {
		start := p
		fl, k := fastUvarint(h, p)
		p += k
		if fl == len(name) && string(h[p:p+fl]) == string(name) {
			return h.next(start), true
		}
		p += fl
		vl, k := fastUvarint(h, p)
		p += k + vl
	}
	return hashField{}, false
}

// fastUvarint decodes the uvarint at h[p:], with a fast path for the
// one-byte lengths of small fields and values.
func fastUvarint(h []byte, p int) (int, int) {
	if x := h[p]; x < 0x80 {
		return int(x), 1
	}
	v, k := binary.Uvarint(h[p:])
	return int(v), k
}

// get returns the value of field name.
func (h hashValue) get(name []byte) ([]byte, bool) {
	f, ok := h.find(name)
	return f.value, ok
}

// appendHeader appends the encoding and count of a packed hash.
func appendHashHeader(dst []byte, enc byte, n int) []byte {
	dst = append(dst, enc)
	return binary.AppendUvarint(dst, uint64(n))
}

// appendHashField appends one field and its value.
func appendHashField(dst, field, value []byte) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(field)))
	dst = append(dst, field...)
	dst = binary.AppendUvarint(dst, uint64(len(value)))
	return append(dst, value...)
}

// hashLimits are the listpack limits of Redis's hash-max-listpack-entries
// and hash-max-listpack-value.
type hashLimits struct {
	entries int64
	value   int64
}

// set returns h, a listpack, with field set to value, appended to dst
// (which must not overlap h), and whether the field is new. The encoding
// turns to hashListpackFull when the hash passes the limits.
func (h hashValue) set(dst []byte, field, value []byte, lim hashLimits) (hashValue, bool) {
	f, found := h.find(field)
	return h.setAt(dst, f, found, field, value, lim), !found
}

// setAt is set for a field already looked up: f, found are h.find(field).
func (h hashValue) setAt(dst []byte, f hashField, found bool, field, value []byte, lim hashLimits) hashValue {
	enc := h.encoding()
	if enc == hashListpack && (int64(len(field)) > lim.value || int64(len(value)) > lim.value) {
		enc = hashListpackFull
	}
	n := h.len()
	if !found {
		n++
		if enc == hashListpack && int64(n) > lim.entries {
			enc = hashListpackFull
		}
	}
	dst = appendHashHeader(dst[:0], enc, n)
	if found {
		dst = append(dst, h[h.body():f.start]...)
		dst = appendHashField(dst, field, value)
		dst = append(dst, h[f.end:]...)
	} else {
		dst = append(dst, h[h.body():]...)
		dst = appendHashField(dst, field, value)
	}
	return dst
}

// del returns h without field, appended to dst (which must not overlap
// h), and whether the field was there.
func (h hashValue) del(dst []byte, field []byte) (hashValue, bool) {
	f, found := h.find(field)
	if !found {
		return h, false
	}
	dst = appendHashHeader(dst[:0], h.encoding(), h.len()-1)
	dst = append(dst, h[h.body():f.start]...)
	dst = append(dst, h[f.end:]...)
	return dst, true
}

// fields returns the hash's fields in order.
func (h hashValue) fields() []hashField {
	out := make([]hashField, 0, h.len())
	h.each(func(f hashField) bool {
		out = append(out, f)
		return true
	})
	return out
}

// fieldHash orders a hash-table-encoded hash's fields for HSCAN.
func fieldHash(field []byte) uint32 { return uint32(xxhash.Sum64(field)) }

// scanFields returns the fields of a table whose fieldHash is at least
// cursor, at least count of them (fewer only at the end) in hash order,
// fields of the same hash kept together, and the cursor to continue from
// (0 at the end). A field present through a whole scan is returned by one
// of its calls, whatever is added or removed meanwhile.
func (h hashValue) scanFields(cursor uint64, count int) ([]hashField, uint64) {
	if cursor > 1<<32-1 {
		return nil, 0
	}
	var out []hashField
	var next uint64
	last := uint32(0)
	h.tableEach(uint32(cursor), func(hash uint32, f hashField) bool {
		if len(out) >= count && hash != last {
			next = uint64(hash)
			return false
		}
		out = append(out, f)
		last = hash
		return true
	})
	return out, next
}

// manyFields is how many fields one command sets or deletes before it
// rebuilds the hash in one pass instead of one field at a time.
const manyFields = 8

// setMany is set for the field/value pairs of pairs (a later value of a
// repeated field wins), in one pass over h whatever their number. It
// returns the new hash, appended to dst (which must not overlap h), and
// how many fields are new.
func (h hashValue) setMany(dst []byte, pairs [][]byte, lim hashLimits) (hashValue, int) {
	last := make(map[string]int, len(pairs)/2) // field -> index of its last pair
	enc := h.encoding()
	for i := 0; i+1 < len(pairs); i += 2 {
		last[string(pairs[i])] = i
		if int64(len(pairs[i])) > lim.value || int64(len(pairs[i+1])) > lim.value {
			enc = hashListpackFull
		}
	}
	existing := 0
	h.each(func(f hashField) bool {
		if _, ok := last[string(f.field)]; ok {
			existing++
		}
		return true
	})
	added := len(last) - existing
	n := h.len() + added
	if enc == hashListpack && int64(n) > lim.entries {
		enc = hashListpackFull
	}
	dst = appendHashHeader(dst[:0], enc, n)
	h.each(func(f hashField) bool {
		if i, ok := last[string(f.field)]; ok {
			dst = appendHashField(dst, f.field, pairs[i+1])
			delete(last, string(f.field))
		} else {
			dst = append(dst, h[f.start:f.end]...)
		}
		return true
	})
	for i := 0; i+1 < len(pairs); i += 2 {
		if j, ok := last[string(pairs[i])]; ok {
			dst = appendHashField(dst, pairs[i], pairs[j+1])
			delete(last, string(pairs[i]))
		}
	}
	return dst, added
}

// delMany is del for several fields in one pass over h. It returns the new
// hash, appended to dst (which must not overlap h), and how many fields
// were removed.
func (h hashValue) delMany(dst []byte, fields [][]byte) (hashValue, int) {
	gone := make(map[string]bool, len(fields))
	for _, f := range fields {
		gone[string(f)] = true
	}
	removed := 0
	h.each(func(f hashField) bool {
		if gone[string(f.field)] {
			removed++
		}
		return true
	})
	if removed == 0 {
		return h, 0
	}
	dst = appendHashHeader(dst[:0], h.encoding(), h.len()-removed)
	h.each(func(f hashField) bool {
		if !gone[string(f.field)] {
			dst = append(dst, h[f.start:f.end]...)
		}
		return true
	})
	return dst, removed
}
