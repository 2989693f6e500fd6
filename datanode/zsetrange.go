package datanode

import (
	"bytes"
	"math"
	"sort"
	"strconv"
)

// Redis's error replies of the sorted set commands.
const (
	errZsetNaN          = "ERR resulting score is not a number (NaN)"
	errZsetScoreRange   = "ERR min or max is not a float"
	errZsetLexRange     = "ERR min or max not valid string range item"
	errZsetWeight       = "ERR weight value is not a float"
	errZsetXXNX         = "ERR XX and NX options at the same time are not compatible"
	errZsetGTLTNX       = "ERR GT, LT, and/or NX options at the same time are not compatible"
	errZsetIncrPair     = "ERR INCR option supports a single increment-element pair"
	errZsetLimitRank    = "ERR syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX"
	errZsetLexScores    = "ERR syntax error, WITHSCORES not supported in combination with BYLEX"
	errNotPositive      = "ERR value is out of range, must be positive"
	errZsetOutOfRange   = "ERR value is out of range"
	errZsetRandRange    = "ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807"
	errNumkeysPositive  = "ERR numkeys should be greater than 0"
	errZsetCountPositve = "ERR count should be greater than 0"
)

// appendScore appends score as Redis replies a double: "inf", "-inf", or
// printf's %.17g.
func appendScore(dst []byte, score float64) []byte {
	switch {
	case math.IsInf(score, 1):
		return append(dst, "inf"...)
	case math.IsInf(score, -1):
		return append(dst, "-inf"...)
	}
	return strconv.AppendFloat(dst, score, 'g', 17, 64)
}

// appendListpackScore appends score as Redis's d2string writes it into a
// listpack, which ZSCAN of a listpack-encoded set replies: an integral
// score within ±2^62 as an integer, others as appendScore.
func appendListpackScore(dst []byte, score float64) []byte {
	if score >= -(1<<62) && score <= 1<<62 && score == math.Trunc(score) && score != 0 {
		return strconv.AppendInt(dst, int64(score), 10)
	}
	return appendScore(dst, score)
}

// replyScore replies score as Redis's addReplyDouble: a bulk string in
// RESP2, a double in RESP3.
func (c *client) replyScore(score float64) { c.replyDouble(score) }

// isCSpace reports whether ch is a space for C's isspace.
func isCSpace(ch byte) bool { return ch == ' ' || (ch >= '\t' && ch <= '\r') }

// strtod parses the whole of b as C's strtod does, leading spaces
// included, and reports whether all of b was a number; an empty string is
// 0. Out-of-range values are ±inf or 0, as strtod returns them, and
// reported in ranged. NaN is refused.
func strtod(b []byte) (v float64, ranged, ok bool) {
	for len(b) > 0 && isCSpace(b[0]) {
		b = b[1:]
	}
	if len(b) == 0 {
		return 0, false, true
	}
	if bytes.IndexByte(b, '_') >= 0 {
		return 0, false, false // Go syntax, not C's
	}
	s := string(b)
	body := s
	if body[0] == '+' || body[0] == '-' {
		body = body[1:]
	}
	if len(body) > 2 && body[0] == '0' && (body[1] == 'x' || body[1] == 'X') && !bytes.ContainsAny(b, "pP") {
		s += "p0" // C allows a hexadecimal float without exponent
	}
	v, err := strconv.ParseFloat(s, 64)
	if err == nil && v == 0 && nonZeroMantissa(body) {
		ranged = true // underflow, which strtod reports
	}
	if err != nil {
		ne, isNum := err.(*strconv.NumError)
		if !isNum || ne.Err != strconv.ErrRange {
			return 0, false, false
		}
		ranged = true
	}
	if math.IsNaN(v) {
		return 0, false, false
	}
	return v, ranged, true
}

// nonZeroMantissa reports whether the unsigned float text s has a nonzero
// digit before its exponent.
func nonZeroMantissa(s string) bool {
	exp := "eE"
	if len(s) > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X') {
		s, exp = s[2:], "pP"
	}
	for i := range len(s) {
		switch ch := s[i]; {
		case ch == exp[0] || ch == exp[1]:
			return false
		case ch != '0' && ch != '.':
			return true
		}
	}
	return false
}

// parseScore parses a score argument as Redis's getDoubleFromObject: a
// whole C float, no leading space, no NaN, not out of range.
func parseScore(b []byte) (float64, bool) {
	if len(b) == 0 || isCSpace(b[0]) {
		return 0, false
	}
	v, ranged, ok := strtod(b)
	if !ok || (ranged && (math.IsInf(v, 0) || v == 0)) {
		return 0, false
	}
	return v, true
}

// scoreRange is a score interval of ZRANGEBYSCORE and its kin.
type scoreRange struct {
	min, max     float64
	minex, maxex bool // the bound is exclusive: "(1.5"
}

// parseScoreBound parses one bound of a score range, as Redis's
// zslParseRange: "(" makes it exclusive; the rest is read by strtod.
func parseScoreBound(b []byte) (float64, bool, bool) {
	if _, isInt := parseInt(b); !isInt && len(b) > 0 && b[0] == '(' {
		v, _, ok := strtod(b[1:])
		return v, true, ok
	}
	v, _, ok := strtod(b)
	return v, false, ok
}

// parseScoreRange parses min and max of a score range.
func parseScoreRange(min, max []byte) (scoreRange, bool) {
	var r scoreRange
	var ok1, ok2 bool
	r.min, r.minex, ok1 = parseScoreBound(min)
	r.max, r.maxex, ok2 = parseScoreBound(max)
	return r, ok1 && ok2
}

// gteMin reports whether s is at or above the range's minimum.
func (r scoreRange) gteMin(s float64) bool {
	if r.minex {
		return s > r.min
	}
	return s >= r.min
}

// lteMax reports whether s is at or below the range's maximum.
func (r scoreRange) lteMax(s float64) bool {
	if r.maxex {
		return s < r.max
	}
	return s <= r.max
}

// empty reports whether no score can be in the range.
func (r scoreRange) empty() bool {
	return r.min > r.max || (r.min == r.max && (r.minex || r.maxex))
}

// span returns the ranks [lo, hi) of the elements in r.
func (z zsetValue) scoreSpan(r scoreRange) (int, int) {
	if r.empty() {
		return 0, 0
	}
	n := z.len()
	lo := sort.Search(n, func(i int) bool { return r.gteMin(z.score(i)) })
	hi := lo + sort.Search(n-lo, func(i int) bool { return !r.lteMax(z.score(lo + i)) })
	return lo, hi
}

// lexBound is one bound of a lex range: "-", "+", or a member, inclusive
// ("[a") or exclusive ("(a").
type lexBound struct {
	inf   int // -1 for "-", +1 for "+", 0 for a member
	value []byte
	ex    bool
}

// parseLexBound parses a lex range bound as Redis's zslParseLexRangeItem.
func parseLexBound(b []byte) (lexBound, bool) {
	if len(b) == 0 {
		return lexBound{}, false
	}
	switch b[0] {
	case '+', '-':
		if len(b) != 1 {
			return lexBound{}, false
		}
		inf := 1
		if b[0] == '-' {
			inf = -1
		}
		return lexBound{inf: inf, ex: true}, true
	case '(', '[':
		return lexBound{value: b[1:], ex: b[0] == '('}, true
	}
	return lexBound{}, false
}

// lexRange is a member interval of ZRANGEBYLEX and its kin.
type lexRange struct{ min, max lexBound }

// parseLexRange parses min and max of a lex range.
func parseLexRange(min, max []byte) (lexRange, bool) {
	lo, ok1 := parseLexBound(min)
	hi, ok2 := parseLexBound(max)
	return lexRange{lo, hi}, ok1 && ok2
}

// lexCompare compares member m with bound b, as Redis's sdscmplex.
func lexCompare(m []byte, b lexBound) int {
	if b.inf != 0 {
		return -b.inf
	}
	return bytes.Compare(m, b.value)
}

// gteMin reports whether m is at or above the range's minimum.
func (r lexRange) gteMin(m []byte) bool {
	c := lexCompare(m, r.min)
	return c > 0 || (c == 0 && !r.min.ex)
}

// lteMax reports whether m is at or below the range's maximum.
func (r lexRange) lteMax(m []byte) bool {
	c := lexCompare(m, r.max)
	return c < 0 || (c == 0 && !r.max.ex)
}

// empty reports whether no member can be in the range.
func (r lexRange) empty() bool {
	var c int
	switch {
	case r.min.inf != 0 && r.min.inf == r.max.inf:
		c = 0
	case r.min.inf == -1 || r.max.inf == 1:
		c = -1
	case r.min.inf == 1 || r.max.inf == -1:
		c = 1
	default:
		c = bytes.Compare(r.min.value, r.max.value)
	}
	return c > 0 || (c == 0 && (r.min.ex || r.max.ex))
}

// lexSpan returns the ranks [lo, hi) of the elements in r, seen from the
// low end, or from the high end when reverse. When all scores are equal,
// as lex ranges expect, both are the same binary search; otherwise the
// elements are walked as Redis walks a listpack: from one end to the first
// element within the near bound, then while within the far one.
func (z zsetValue) lexSpan(r lexRange, reverse bool) (int, int) {
	n := z.len()
	if r.empty() || n == 0 {
		return 0, 0
	}
	if z.score(0) == z.score(n-1) {
		lo := sort.Search(n, func(i int) bool { return r.gteMin(z.member(i)) })
		hi := lo + sort.Search(n-lo, func(i int) bool { return !r.lteMax(z.member(lo + i)) })
		return lo, hi
	}
	if !r.gteMin(z.member(n-1)) || !r.lteMax(z.member(0)) {
		return 0, 0 // Redis's zzlIsInLexRange
	}
	if reverse {
		hi := n
		for hi > 0 && !r.lteMax(z.member(hi-1)) {
			hi--
		}
		lo := hi
		for lo > 0 && r.gteMin(z.member(lo-1)) {
			lo--
		}
		return lo, hi
	}
	lo := 0
	for lo < n && !r.gteMin(z.member(lo)) {
		lo++
	}
	hi := lo
	for hi < n && r.lteMax(z.member(hi)) {
		hi++
	}
	return lo, hi
}

// rankSpan returns the ranks [lo, hi) of start..end as ZRANGE's indexes:
// negative ones count from the end.
func rankSpan(start, end int64, n int) (int, int) {
	ln := int64(n)
	if start < 0 {
		start += ln
	}
	if end < 0 {
		end += ln
	}
	start = max(start, 0)
	if start > end || start >= ln {
		return 0, 0
	}
	end = min(end, ln-1)
	return int(start), int(end) + 1
}
