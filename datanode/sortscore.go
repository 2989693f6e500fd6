package datanode

import (
	"bytes"
	"math"
	"math/big"
	"strconv"
	"strings"
)

// SORT reads numbers and compares strings as Redis's sort.c does with the
// C library: strtod for scores, strcoll for ALPHA without STORE. CHKV
// collates bytewise, as strcoll does in the C locale.

// sortScore parses b as SORT's weight: strtod must read the whole string
// (up to a NUL byte, where C stops reading), after optional white space,
// and an empty string is 0. It fails, as Redis's "One or more scores
// can't be converted into double" does, on trailing bytes, NaN, overflow,
// and an inexact underflow (where glibc's strtod sets ERANGE).
func sortScore(b []byte) (float64, bool) {
	if i := bytes.IndexByte(b, 0); i >= 0 {
		b = b[:i]
	}
	if len(b) == 0 {
		return 0, true
	}
	if f, err := strconv.ParseFloat(string(b), 64); err == nil && plainDecimal(b) {
		return f, !math.IsNaN(f) && !inexactUnderflow(string(b), f)
	}
	s := strings.TrimLeft(string(b), " \t\n\v\f\r")
	lit, ok := cFloatLiteral(s)
	if !ok {
		return 0, false
	}
	if inf, ok := cInfinity(lit); ok {
		return inf, true
	}
	f, err := strconv.ParseFloat(lit, 64)
	if err != nil || math.IsNaN(f) {
		return 0, false
	}
	return f, !inexactUnderflow(lit, f)
}

// plainDecimal reports whether b holds only what a decimal C literal
// can (digits, sign, point, exponent): the bytes ParseFloat and strtod
// read alike.
func plainDecimal(b []byte) bool {
	for _, ch := range b {
		if (ch < '0' || ch > '9') && ch != '.' && ch != '-' && ch != '+' && ch != 'e' && ch != 'E' {
			return false
		}
	}
	return true
}

// cInfinity returns ±Inf for C's inf and infinity, in any case.
func cInfinity(s string) (float64, bool) {
	sign := 1.0
	if s != "" && (s[0] == '+' || s[0] == '-') {
		if s[0] == '-' {
			sign = -1
		}
		s = s[1:]
	}
	if strings.EqualFold(s, "inf") || strings.EqualFold(s, "infinity") {
		return math.Inf(int(sign)), true
	}
	return 0, false
}

// cFloatLiteral checks that the whole of s is a number strtod reads (a
// decimal or hexadecimal floating-point number, infinity or NaN) and
// returns it in a form ParseFloat reads the same way: a hexadecimal
// mantissa gets the binary exponent Go requires.
func cFloatLiteral(s string) (string, bool) {
	body := s
	if body != "" && (body[0] == '+' || body[0] == '-') {
		body = body[1:]
	}
	if _, ok := cInfinity(body); ok {
		return s, true
	}
	if strings.EqualFold(body, "nan") || len(body) > 4 && strings.EqualFold(body[:4], "nan(") && body[len(body)-1] == ')' {
		return "", false // NaN is refused anyway
	}
	hex := len(body) > 2 && body[0] == '0' && (body[1] == 'x' || body[1] == 'X')
	digit := func(ch byte) bool { return '0' <= ch && ch <= '9' }
	mant := digit
	p := 0
	if hex {
		mant = func(ch byte) bool { return digit(ch) || 'a' <= ch|0x20 && ch|0x20 <= 'f' }
		p = 2
	}
	digits, point := 0, false
	for ; p < len(body); p++ {
		switch ch := body[p]; {
		case mant(ch):
			digits++
			continue
		case ch == '.' && !point:
			point = true
			continue
		}
		break
	}
	if digits == 0 {
		return "", false
	}
	expMark := byte('e')
	if hex {
		expMark = 'p'
	}
	hasExp := false
	if p < len(body) && body[p]|0x20 == expMark {
		q := p + 1
		if q < len(body) && (body[q] == '+' || body[q] == '-') {
			q++
		}
		start := q
		for q < len(body) && digit(body[q]) {
			q++
		}
		if q == start {
			return "", false // strtod stops before the exponent: trailing bytes
		}
		p, hasExp = q, true
	}
	if p != len(body) {
		return "", false
	}
	if hex && !hasExp {
		s += "p0"
	}
	return s, true
}

// inexactUnderflow reports whether strtod would set ERANGE for lit, read
// as f: the result is zero or subnormal and not exactly lit's value.
func inexactUnderflow(lit string, f float64) bool {
	if math.Abs(f) >= 0x1p-1022 || math.IsInf(f, 0) {
		return false
	}
	exact, ok := new(big.Rat).SetString(lit)
	if !ok {
		return false
	}
	return exact.Cmp(new(big.Rat).SetFloat64(f)) != 0
}

// collate compares a and b as strcoll does in the C locale: bytewise, up
// to the first NUL byte of each.
func collate(a, b []byte) int {
	if i := bytes.IndexByte(a, 0); i >= 0 {
		a = a[:i]
	}
	if i := bytes.IndexByte(b, 0); i >= 0 {
		b = b[:i]
	}
	return bytes.Compare(a, b)
}
