package rdb

import (
	"encoding/binary"
	"math"
	"slices"
	"strconv"
)

// Object types, the byte before a serialized value (Redis's RDB_TYPE_*).
const (
	TypeString          = 0
	TypeList            = 1
	TypeSet             = 2
	TypeZSet            = 3
	TypeHash            = 4
	TypeZSet2           = 5
	TypeHashZiplist     = 13
	TypeZSetZiplist     = 12
	TypeSetIntset       = 11
	TypeListQuicklist   = 14
	TypeHashListpack    = 16
	TypeZSetListpack    = 17
	TypeListQuicklist2  = 18
	quicklistNodePlain  = 1
	quicklistNodePacked = 2
)

// Kind is the Redis data type of a Value.
type Kind uint8

// The kinds of value.
const (
	KindString Kind = iota
	KindList
	KindSet
	KindZSet
	KindHash
)

// Value is a decoded value. Its byte slices may point into the payload.
type Value struct {
	Kind Kind
	// Elems are the string's one element, the list's elements, the set's
	// members, the sorted set's members, or the hash's fields and values
	// alternating.
	Elems [][]byte
	// Scores are the sorted set's scores, Scores[i] that of Elems[i].
	Scores []float64
}

// DecodeValue reads a value, its type byte first, from the start of b and
// returns it and the bytes it takes. Collections may hold repeated
// members or fields; the caller decides what to make of them.
func DecodeValue(b []byte) (Value, int, error) {
	r := &reader{b: b}
	typ, err := r.byte()
	if err != nil {
		return Value{}, 0, err
	}
	v, err := r.object(typ)
	if err != nil {
		return Value{}, 0, err
	}
	return v, r.p, nil
}

// object reads the body of a value of RDB type typ.
func (r *reader) object(typ byte) (Value, error) {
	switch typ {
	case TypeString:
		s, err := r.string()
		return Value{Kind: KindString, Elems: [][]byte{s}}, err
	case TypeList, TypeSet, TypeHash:
		kind, per := map[byte]Kind{TypeList: KindList, TypeSet: KindSet, TypeHash: KindHash}[typ], 1
		if typ == TypeHash {
			per = 2 // field and value
		}
		n, err := r.count(per)
		if err != nil {
			return Value{}, err
		}
		elems, err := r.strings(n * per)
		return Value{Kind: kind, Elems: elems}, err
	case TypeZSet, TypeZSet2:
		return r.zset(typ == TypeZSet2)
	case TypeSetIntset:
		return r.packed(KindSet, decodeIntset)
	case TypeHashListpack:
		return r.packed(KindHash, decodeListpack)
	case TypeHashZiplist:
		return r.packed(KindHash, decodeZiplist)
	case TypeZSetListpack:
		return r.packedZSet(decodeListpack)
	case TypeZSetZiplist:
		return r.packedZSet(decodeZiplist)
	case TypeListQuicklist, TypeListQuicklist2:
		return r.quicklist(typ == TypeListQuicklist2)
	}
	return Value{}, ErrBadFormat
}

// strings reads n strings.
func (r *reader) strings(n int) ([][]byte, error) {
	out := make([][]byte, n)
	for i := range out {
		s, err := r.string()
		if err != nil {
			return nil, err
		}
		out[i] = s
	}
	return out, nil
}

// packed reads a collection serialized as one string holding a listpack,
// ziplist or intset, which decode returns the elements of. A hash's
// elements must pair up.
func (r *reader) packed(kind Kind, decode func([]byte) ([][]byte, error)) (Value, error) {
	blob, err := r.string()
	if err != nil {
		return Value{}, err
	}
	elems, err := decode(blob)
	if err != nil || len(elems) == 0 || (kind == KindHash && len(elems)%2 != 0) {
		return Value{}, ErrBadFormat
	}
	return Value{Kind: kind, Elems: elems}, nil
}

// packedZSet reads a sorted set serialized as a listpack or ziplist of
// members and scores alternating.
func (r *reader) packedZSet(decode func([]byte) ([][]byte, error)) (Value, error) {
	v, err := r.packed(KindHash, decode) // pairs, as a hash's
	if err != nil {
		return Value{}, err
	}
	n := len(v.Elems) / 2
	z := Value{Kind: KindZSet, Elems: make([][]byte, n), Scores: make([]float64, n)}
	for i := range n {
		score, err := strconv.ParseFloat(string(v.Elems[2*i+1]), 64)
		if err != nil && !isRangeError(err) || math.IsNaN(score) {
			return Value{}, ErrBadFormat
		}
		z.Elems[i], z.Scores[i] = v.Elems[2*i], score
	}
	return z, nil
}

// isRangeError reports whether err is strconv's out-of-range error, for
// which ParseFloat returns ±Inf or 0, as C's strtod does.
func isRangeError(err error) bool {
	ne, ok := err.(*strconv.NumError)
	return ok && ne.Err == strconv.ErrRange
}

// zset reads a sorted set: a count, then members each with a score, binary
// (8 bytes, little-endian) if binary, else the old string form.
func (r *reader) zset(binaryScores bool) (Value, error) {
	n, err := r.count(2)
	if err != nil {
		return Value{}, err
	}
	z := Value{Kind: KindZSet, Elems: make([][]byte, n), Scores: make([]float64, n)}
	for i := range n {
		if z.Elems[i], err = r.string(); err != nil {
			return Value{}, err
		}
		if binaryScores {
			b, err := r.take(8)
			if err != nil {
				return Value{}, err
			}
			z.Scores[i] = math.Float64frombits(binary.LittleEndian.Uint64(b))
		} else if z.Scores[i], err = r.stringScore(); err != nil {
			return Value{}, err
		}
		if math.IsNaN(z.Scores[i]) {
			return Value{}, ErrBadFormat
		}
	}
	return z, nil
}

// stringScore reads a score in the old form: a length byte (253: NaN, 254:
// +Inf, 255: -Inf) and that many bytes of decimal.
func (r *reader) stringScore() (float64, error) {
	n, err := r.byte()
	if err != nil {
		return 0, err
	}
	switch n {
	case 253:
		return math.NaN(), nil
	case 254:
		return math.Inf(1), nil
	case 255:
		return math.Inf(-1), nil
	}
	b, err := r.take(uint64(n))
	if err != nil {
		return 0, err
	}
	f, err := strconv.ParseFloat(string(b), 64)
	if err != nil && !isRangeError(err) {
		return 0, ErrBadFormat
	}
	return f, nil
}

// quicklist reads a list as quicklist nodes: listpacks, each preceded by
// its container kind (plain: a single element), if v2, else ziplists.
// Empty listpack nodes are skipped, as Redis skips them.
func (r *reader) quicklist(v2 bool) (Value, error) {
	n, err := r.count(2)
	if err != nil {
		return Value{}, err
	}
	var elems [][]byte
	for range n {
		container := uint64(quicklistNodePacked)
		if v2 {
			var enc bool
			if container, enc, err = r.length(); err != nil || enc {
				return Value{}, ErrBadFormat
			}
		}
		blob, err := r.string()
		if err != nil {
			return Value{}, err
		}
		switch {
		case container == quicklistNodePlain:
			elems = append(elems, blob)
			continue
		case container != quicklistNodePacked:
			return Value{}, ErrBadFormat
		}
		decode := decodeZiplist
		if v2 {
			decode = decodeListpack
		}
		node, err := decode(blob)
		if err != nil {
			return Value{}, err
		}
		elems = append(elems, node...)
	}
	if len(elems) == 0 {
		return Value{}, ErrBadFormat
	}
	return Value{Kind: KindList, Elems: slices.Clip(elems)}, nil
}
