package datanode

import (
	"bytes"
	"encoding/binary"
	"math"
	"slices"
	"sort"

	"github.com/cespare/xxhash/v2"
)

// A sorted set is stored as one store value of type store.TypeZSet:
//
//	encoding  1 byte        zsetListpack or zsetSkiplist: what OBJECT ENCODING says
//	count     4 bytes       n, little-endian
//	offsets   n × 4 bytes   offset of each element, in rank order
//	byHash    n × 4 bytes   the ranks ordered by (memberHash(member), rank)
//	elements  n times, ordered by (score, member): 8 bytes of the score's
//	          IEEE 754 bits, little-endian; uvarint member length; member
//
// The elements are kept in Redis's order, so a rank is an index into
// offsets and a score or lex range is found by binary search; byHash makes
// a member's lookup (ZSCORE, ZADD of an existing member) a binary search
// too. The encoding byte only records whether Redis would have converted
// the set to a skiplist (zset-max-listpack-entries/-value), which, as in
// Redis, is never undone by a write; the layout is the same. The same
// bytes are the migration record of a sorted set.
//
// Every write rebuilds the value: time linear in the set's size, plus
// sorting the member hashes.
const (
	zsetListpack = 0
	zsetSkiplist = 1
)

// zsetHeader is the size of the encoding byte and the count.
const zsetHeader = 5

// zsetMaxLen bounds a sorted set's size so that its offsets fit in 32 bits.
const zsetMaxLen = math.MaxUint32

// zsetValue is a packed sorted set.
type zsetValue []byte

// zsetElem is one element of a sorted set; member may point into a
// zsetValue.
type zsetElem struct {
	score  float64
	member []byte
}

// zsetLimits are the listpack limits of Redis's zset-max-listpack-entries
// and zset-max-listpack-value.
type zsetLimits struct {
	entries int64
	value   int64
}

// fits reports whether a set of n elements whose longest member is maxLen
// bytes stays listpack-encoded.
func (l zsetLimits) fits(n, maxLen int) bool {
	return int64(n) <= l.entries && int64(maxLen) <= l.value
}

// zsetCompare orders elements as Redis does: by score, then by member
// bytes.
func zsetCompare(a, b zsetElem) int {
	switch {
	case a.score < b.score:
		return -1
	case a.score > b.score:
		return 1
	}
	return bytes.Compare(a.member, b.member)
}

// memberHash orders a sorted set's byHash table and a hashtable set's
// members.
func memberHash(member []byte) uint32 { return uint32(xxhash.Sum64(member)) }

// encoding returns the set's encoding byte.
func (z zsetValue) encoding() byte { return z[0] }

// len returns the number of elements.
func (z zsetValue) len() int { return int(binary.LittleEndian.Uint32(z[1:])) }

// offset returns the offset of the element of rank i.
func (z zsetValue) offset(i int) int {
	return int(binary.LittleEndian.Uint32(z[zsetHeader+4*i:]))
}

// score returns the score of the element of rank i.
func (z zsetValue) score(i int) float64 {
	return math.Float64frombits(binary.LittleEndian.Uint64(z[z.offset(i):]))
}

// member returns the member of rank i.
func (z zsetValue) member(i int) []byte {
	p := z.offset(i) + 8
	l, k := fastUvarint(z, p)
	p += k
	return z[p : p+l : p+l]
}

// at returns the element of rank i.
func (z zsetValue) at(i int) zsetElem { return zsetElem{z.score(i), z.member(i)} }

// hashRank returns the rank stored at position i of the byHash table.
func (z zsetValue) hashRank(i int) int {
	return int(binary.LittleEndian.Uint32(z[zsetHeader+4*z.len()+4*i:]))
}

// find returns the rank of member, by binary search on byHash.
func (z zsetValue) find(member []byte) (int, bool) {
	n := z.len()
	h := memberHash(member)
	i := sort.Search(n, func(i int) bool { return memberHash(z.member(z.hashRank(i))) >= h })
	for ; i < n; i++ {
		r := z.hashRank(i)
		m := z.member(r)
		if memberHash(m) != h {
			break
		}
		if string(m) == string(member) {
			return r, true
		}
	}
	return 0, false
}

// maxMemberLen returns the length of the longest member of es.
func maxMemberLen(es []zsetElem) int {
	m := 0
	for _, e := range es {
		m = max(m, len(e.member))
	}
	return m
}

// buildZset packs es, which must be in (score, member) order without
// repeated members, with encoding enc, appended to dst[:0] (which must not
// overlap the members). As in Redis, a listpack-encoded set turns a score
// of -0 into 0.
func buildZset(dst []byte, enc byte, es []zsetElem) zsetValue {
	n := len(es)
	dst = append(dst[:0], enc)
	dst = binary.LittleEndian.AppendUint32(dst, uint32(n))
	tables := len(dst)
	dst = append(dst, make([]byte, 8*n)...)
	keys := make([]uint64, n)
	for i, e := range es {
		binary.LittleEndian.PutUint32(dst[tables+4*i:], uint32(len(dst)))
		score := e.score
		if enc == zsetListpack && score == 0 {
			score = 0 // a listpack keeps "-0" as the integer 0
		}
		dst = binary.LittleEndian.AppendUint64(dst, math.Float64bits(score))
		dst = binary.AppendUvarint(dst, uint64(len(e.member)))
		dst = append(dst, e.member...)
		keys[i] = uint64(memberHash(e.member))<<32 | uint64(i)
	}
	slices.Sort(keys)
	for i, k := range keys {
		binary.LittleEndian.PutUint32(dst[tables+4*n+4*i:], uint32(k))
	}
	return dst
}

// validZset reports whether b is a well-formed packed sorted set: every
// offset where the previous element ends, elements in strict (score,
// member) order without NaN, no member twice, byHash a permutation in
// (hash, rank) order.
func validZset(b []byte) bool {
	if len(b) < zsetHeader || b[0] > zsetSkiplist {
		return false
	}
	n := uint64(binary.LittleEndian.Uint32(b[1:]))
	if n == 0 || uint64(len(b)-zsetHeader)/8 < n {
		return false
	}
	z := zsetValue(b)
	p := zsetHeader + 8*int(n)
	seen := make(map[string]bool, n)
	var prev zsetElem
	for i := range int(n) {
		if z.offset(i) != p || len(b)-p < 9 {
			return false
		}
		score := math.Float64frombits(binary.LittleEndian.Uint64(b[p:]))
		l, k := binary.Uvarint(b[p+8:])
		if k <= 0 || uint64(len(b)-p-8-k) < l || math.IsNaN(score) || (b[0] == zsetListpack && score == 0 && math.Signbit(score)) {
			return false
		}
		e := z.at(i)
		if (i > 0 && zsetCompare(prev, e) >= 0) || seen[string(e.member)] {
			return false
		}
		seen[string(e.member)] = true
		prev = e
		p += 8 + k + int(l)
	}
	if p != len(b) {
		return false
	}
	var last uint64
	used := make([]bool, n)
	for i := range int(n) {
		r := z.hashRank(i)
		if uint64(r) >= n || used[r] {
			return false
		}
		used[r] = true
		key := uint64(memberHash(z.member(r)))<<32 | uint64(r)
		if i > 0 && key <= last {
			return false
		}
		last = key
	}
	return true
}

// deleteRange returns z without the elements of ranks [lo, hi), appended
// to dst[:0] (which must not overlap z): one pass over the tables and two
// copies, without decoding the elements or hashing members again.
func (z zsetValue) deleteRange(dst []byte, lo, hi int) zsetValue {
	n, k := z.len(), hi-lo
	m := n - k
	body := zsetHeader + 8*n
	cut0, cut1 := z.offset(lo), len(z)
	if hi < n {
		cut1 = z.offset(hi)
	}
	removed := cut1 - cut0
	total := len(z) - 8*k - removed
	dst = slices.Grow(dst[:0], total)[:total]
	dst[0] = z.encoding()
	le := binary.LittleEndian
	le.PutUint32(dst[1:], uint32(m))
	offsIn, hashIn := z[zsetHeader:zsetHeader+4*n], z[zsetHeader+4*n:body]
	offsOut := dst[zsetHeader : zsetHeader+4*m]
	for i := range lo {
		le.PutUint32(offsOut[4*i:], le.Uint32(offsIn[4*i:])-uint32(8*k))
	}
	for i := hi; i < n; i++ {
		le.PutUint32(offsOut[4*(i-k):], le.Uint32(offsIn[4*i:])-uint32(8*k+removed))
	}
	if m > 0 {
		// Keep the ranks outside [lo, hi), those above it lowered by k,
		// without data-dependent branches: every entry is written, the
		// position advances only for a kept one (the entries region after
		// hashOut takes the writes past its end, overwritten below).
		base, o := zsetHeader+4*m, 0
		span, ulo, uk := uint32(k), uint32(lo), uint32(k)
		for i := 0; i+4 <= len(hashIn); i += 4 {
			r := le.Uint32(hashIn[i : i+4 : i+4])
			var above, gone uint32
			if r >= ulo+span {
				above = 1
			}
			if r-ulo < span {
				gone = 1
			}
			le.PutUint32(dst[base+o:], r-above*uk)
			o += 4 * int(1-gone)
		}
	}
	p := zsetHeader + 8*m
	p += copy(dst[p:], z[body:cut0])
	copy(dst[p:], z[cut1:])
	return dst
}

// insert returns z with e, whose member is not in z, at its place, with
// encoding enc, appended to dst[:0] (which must not overlap z or e): one
// pass over the tables and a binary search for its member hash.
func (z zsetValue) insert(dst []byte, enc byte, e zsetElem) zsetValue {
	if enc == zsetListpack && e.score == 0 {
		e.score = 0 // as buildZset
	}
	if len(z) == 0 {
		return buildZset(dst, enc, []zsetElem{e})
	}
	n := z.len()
	p := sort.Search(n, func(i int) bool { return zsetCompare(z.at(i), e) > 0 })
	h := memberHash(e.member)
	q := sort.Search(n, func(i int) bool {
		hi := memberHash(z.member(z.hashRank(i)))
		return hi > h || (hi == h && z.hashRank(i) >= p)
	})
	size := 8 + uvarintLen(len(e.member)) + len(e.member)
	body := zsetHeader + 8*n
	cut := len(z)
	if p < n {
		cut = z.offset(p)
	}
	total := len(z) + 8 + size
	dst = slices.Grow(dst[:0], total)[:total]
	dst[0] = enc
	le := binary.LittleEndian
	le.PutUint32(dst[1:], uint32(n+1))
	offsIn, hashIn := z[zsetHeader:zsetHeader+4*n], z[zsetHeader+4*n:body]
	offsOut, hashOut := dst[zsetHeader:zsetHeader+4*(n+1)], dst[zsetHeader+4*(n+1):zsetHeader+8*(n+1)]
	for i := range p {
		le.PutUint32(offsOut[4*i:], le.Uint32(offsIn[4*i:])+8)
	}
	le.PutUint32(offsOut[4*p:], uint32(cut+8))
	for i := p; i < n; i++ {
		le.PutUint32(offsOut[4*(i+1):], le.Uint32(offsIn[4*i:])+uint32(8+size))
	}
	copy(hashOut, hashIn[:4*q])
	copy(hashOut[4*q+4:], hashIn[4*q:])
	shiftRanks(hashOut[:4*q], uint32(p), math.MaxUint32, 1)
	shiftRanks(hashOut[4*q+4:], uint32(p), math.MaxUint32, 1)
	le.PutUint32(hashOut[4*q:], uint32(p))
	w := zsetHeader + 8*(n+1)
	w += copy(dst[w:], z[body:cut])
	le.PutUint64(dst[w:], math.Float64bits(e.score))
	w += 8
	w += binary.PutUvarint(dst[w:], uint64(len(e.member)))
	w += copy(dst[w:], e.member)
	copy(dst[w:], z[cut:])
	return dst
}

// shiftRanks adds d to every rank of the table ranks (4-byte
// little-endian entries) within [lo, hi]. It is the hot loop of a write to
// a large set: no data-dependent branch.
func shiftRanks(ranks []byte, lo, hi, d uint32) {
	span := hi - lo
	for i := 0; i+4 <= len(ranks); i += 4 {
		b := ranks[i : i+4 : i+4]
		x := binary.LittleEndian.Uint32(b)
		var in uint32
		if x-lo <= span {
			in = 1
		}
		binary.LittleEndian.PutUint32(b, x+in*d)
	}
}

// uvarintLen returns the length of x as a uvarint.
func uvarintLen(x int) int {
	n := 1
	for ; x >= 0x80; x >>= 7 {
		n++
	}
	return n
}

// move gives the element of rank r the score of e (e.member is its
// member) and moves it to its new rank, in place: the element keeps its
// size, so only the elements between its old and new ranks move, and the
// tables are renumbered. enc must be z's encoding.
func (z zsetValue) move(r int, e zsetElem) {
	if z.encoding() == zsetListpack && e.score == 0 {
		e.score = 0 // as buildZset
	}
	n := z.len()
	le := binary.LittleEndian
	end := func(i int) int { // offset just past rank i
		if i+1 < n {
			return z.offset(i + 1)
		}
		return len(z)
	}
	t := sort.Search(n, func(i int) bool { return zsetCompare(z.at(i), e) > 0 })
	if zsetCompare(z.at(r), e) <= 0 {
		t-- // the old element is among those counted
	}
	size := end(r) - z.offset(r)
	var old []byte
	h, j := memberHash(e.member), 0
	if t != r {
		old = append(old, z[z.offset(r):end(r)]...)
		// The member's place in byHash, found before anything moves.
		j = sort.Search(n, func(i int) bool {
			hi := memberHash(z.member(z.hashRank(i)))
			return hi > h || (hi == h && z.hashRank(i) >= r)
		})
	}
	offs := z[zsetHeader : zsetHeader+4*n]
	switch {
	case t > r:
		from, to := z.offset(r+1), end(t)
		copy(z[z.offset(r):], z[from:to])
		for i := r; i < t; i++ {
			le.PutUint32(offs[4*i:], le.Uint32(offs[4*(i+1):])-uint32(size))
		}
		le.PutUint32(offs[4*t:], uint32(to-size))
	case t < r:
		from, to := z.offset(t), z.offset(r)
		copy(z[from+size:], z[from:to])
		for i := r; i > t; i-- {
			le.PutUint32(offs[4*i:], le.Uint32(offs[4*(i-1):])+uint32(size))
		}
	}
	p := z.offset(t)
	if t != r {
		copy(z[p:], old)
	}
	le.PutUint64(z[p:], math.Float64bits(e.score))
	if t == r {
		return
	}
	// Renumber byHash: the ranks between shift by one, the moved element
	// takes rank t; then keep (hash, rank) order among equal hashes.
	hashes := z[zsetHeader+4*n : zsetHeader+8*n]
	if t > r {
		shiftRanks(hashes, uint32(r+1), uint32(t), ^uint32(0)) // -1
	} else {
		shiftRanks(hashes, uint32(t), uint32(r-1), 1)
	}
	le.PutUint32(hashes[4*j:], uint32(t))
	key := func(i int) (uint32, int) { return memberHash(z.member(z.hashRank(i))), z.hashRank(i) }
	swap := func(a, b int) {
		x, y := le.Uint32(hashes[4*a:]), le.Uint32(hashes[4*b:])
		le.PutUint32(hashes[4*a:], y)
		le.PutUint32(hashes[4*b:], x)
	}
	for j > 0 {
		if ph, pr := key(j - 1); ph != h || pr < t {
			break
		}
		swap(j-1, j)
		j--
	}
	for j+1 < n {
		if nh, nr := key(j + 1); nh != h || nr > t {
			break
		}
		swap(j, j+1)
		j++
	}
}
