package rdb

import (
	"encoding/binary"
	"math"
	"strconv"
)

// quicklistNodeSize is the largest listpack a quicklist node grows to
// under Redis's default list-max-listpack-size of -2 (8 kB).
const quicklistNodeSize = 8 << 10

// AppendString appends the string value s, its type byte first.
func AppendString(dst, s []byte) []byte {
	return appendString(append(dst, TypeString), s)
}

// AppendList appends the list of elems as Redis 7.0 writes a list: a
// quicklist of listpack nodes, split where Redis's pushes split them.
func AppendList(dst []byte, elems [][]byte) []byte {
	var nodes [][]byte
	var lp *lpBuilder
	for _, e := range elems {
		if lp != nil && !nodeAllowsInsert(lp.size(), len(e)) {
			nodes = append(nodes, lp.finish())
			lp = nil
		}
		if lp == nil {
			lp = newLpBuilder(nil)
		}
		lp.add(e)
	}
	if lp != nil {
		nodes = append(nodes, lp.finish())
	}
	dst = appendLength(append(dst, TypeListQuicklist2), uint64(len(nodes)))
	for _, n := range nodes {
		dst = appendString(appendLength(dst, quicklistNodePacked), n)
	}
	return dst
}

// nodeAllowsInsert reports whether a quicklist node whose listpack has
// size bytes takes one more element of n bytes, by Redis 7.0's
// _quicklistNodeAllowInsert estimate (SIZE_ESTIMATE_OVERHEAD of 8 bytes).
func nodeAllowsInsert(size, n int) bool {
	return size+n+8 <= quicklistNodeSize
}

// AppendIntset appends the set of vals (ascending, distinct) as an intset.
func AppendIntset(dst []byte, vals []int64) []byte {
	return appendString(append(dst, TypeSetIntset), appendIntset(nil, vals))
}

// AppendSet appends the set of members as a hash table's.
func AppendSet(dst []byte, members [][]byte) []byte {
	dst = appendLength(append(dst, TypeSet), uint64(len(members)))
	for _, m := range members {
		dst = appendString(dst, m)
	}
	return dst
}

// AppendHash appends the hash of pairs (fields and values alternating), as
// a listpack if listpack, else as a hash table's.
func AppendHash(dst []byte, pairs [][]byte, listpack bool) []byte {
	if listpack {
		return appendString(append(dst, TypeHashListpack), appendListpack(nil, pairs))
	}
	dst = appendLength(append(dst, TypeHash), uint64(len(pairs)/2))
	for _, s := range pairs {
		dst = appendString(dst, s)
	}
	return dst
}

// AppendZSet appends the sorted set of members with scores, as a listpack
// of members and scores alternating if listpack, else as a skiplist's
// (binary scores).
func AppendZSet(dst []byte, members [][]byte, scores []float64, listpack bool) []byte {
	if listpack {
		pairs := make([][]byte, 0, 2*len(members))
		for i, m := range members {
			pairs = append(pairs, m, formatScore(scores[i]))
		}
		return appendString(append(dst, TypeZSetListpack), appendListpack(nil, pairs))
	}
	dst = appendLength(append(dst, TypeZSet2), uint64(len(members)))
	for i := len(members) - 1; i >= 0; i-- { // Redis writes from the tail
		dst = appendString(dst, members[i])
		dst = binary.LittleEndian.AppendUint64(dst, math.Float64bits(scores[i]))
	}
	return dst
}

// formatScore formats a score as Redis's d2string does for a listpack:
// an integer in (-(2^52-1), 2^52) in decimal (so the listpack encodes it
// as an integer), "inf" and "-inf", otherwise %.17g.
func formatScore(f float64) []byte {
	switch {
	case math.IsInf(f, 1):
		return []byte("inf")
	case math.IsInf(f, -1):
		return []byte("-inf")
	case f > -(1<<52-1) && f < 1<<52 && f == math.Trunc(f):
		return strconv.AppendInt(nil, int64(f), 10)
	}
	return strconv.AppendFloat(nil, f, 'g', 17, 64)
}
