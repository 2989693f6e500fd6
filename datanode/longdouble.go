package datanode

import (
	"bytes"
	"math/big"
)

// INCRBYFLOAT computes in C's long double, which on x86-64 Linux is the x87
// 80-bit extended format: a 64-bit mantissa and a 15-bit exponent. These
// helpers emulate it with big.Float so that CHKV's results and their
// formatting are Redis's to the last digit.
const (
	ldPrec     = 64     // mantissa bits
	ldMaxExp   = 16384  // finite values are below 2^ldMaxExp
	ldMinExp   = -16381 // big.Float exponent of the smallest normal, 2^-16382
	ldSubShift = 16445  // the smallest subnormal is 2^-16445
	// ldMaxChars is Redis's MAX_LONG_DOUBLE_CHARS: longer strings are not
	// floats.
	ldMaxChars = 5 * 1024
	// ldHugeExp bounds the decimal or binary exponents worth computing: the
	// mantissa (under ldMaxChars digits) cannot bring a larger exponent
	// back into range.
	ldHugeExp = 100000
)

func newLongDouble() *big.Float {
	return new(big.Float).SetPrec(ldPrec).SetMode(big.ToNearestEven)
}

// roundLongDouble rounds x to the long double format in place. It returns
// false when x is out of range: beyond the largest finite value, or nonzero
// but smaller than the smallest subnormal.
func roundLongDouble(x *big.Float) bool {
	if x.IsInf() || x.Sign() == 0 {
		return true
	}
	exp := x.MantExp(nil)
	if exp > ldMaxExp {
		return false
	}
	if exp < ldMinExp {
		bits := exp + ldSubShift // mantissa bits left to a subnormal
		if bits <= 0 {
			return false
		}
		x.SetPrec(uint(bits)).SetPrec(ldPrec)
	}
	return true
}

// parseLongDouble parses b as Redis's string2ld does with strtold: an
// optional sign, then a decimal or hexadecimal ("0x1.8p3") float or
// "inf"/"infinity" in any case; no spaces, no NaN, nothing out of range.
func parseLongDouble(b []byte) (*big.Float, bool) {
	if len(b) == 0 || len(b) >= ldMaxChars {
		return nil, false
	}
	neg := b[0] == '-'
	body := b
	if b[0] == '+' || b[0] == '-' {
		body = b[1:]
	}
	if len(body) >= 3 && equalFold(body[:3], "inf") {
		if len(body) != 3 && !equalFold(body, "infinity") {
			return nil, false
		}
		return newLongDouble().SetInf(neg), true
	}
	hex := len(body) >= 2 && body[0] == '0' && (body[1] == 'x' || body[1] == 'X')
	digits := body
	isDigit := isDecimalDigit
	expChar := byte('e')
	if hex {
		digits = body[2:]
		isDigit = isHexDigit
		expChar = 'p'
	}
	// mantissa: digits [ "." digits ], at least one digit
	i, nonZero, seen := 0, false, false
	for i < len(digits) && isDigit(digits[i]) {
		nonZero = nonZero || digits[i] != '0'
		seen = true
		i++
	}
	if i < len(digits) && digits[i] == '.' {
		i++
		for i < len(digits) && isDigit(digits[i]) {
			nonZero = nonZero || digits[i] != '0'
			seen = true
			i++
		}
	}
	if !seen {
		return nil, false
	}
	// exponent: e|E (p|P for hex) [ sign ] digits
	exp := 0
	if i < len(digits) {
		if digits[i]|0x20 != expChar {
			return nil, false
		}
		i++
		expNeg := false
		if i < len(digits) && (digits[i] == '+' || digits[i] == '-') {
			expNeg = digits[i] == '-'
			i++
		}
		if i == len(digits) {
			return nil, false
		}
		for ; i < len(digits); i++ {
			if !isDecimalDigit(digits[i]) {
				return nil, false
			}
			exp = min(exp*10+int(digits[i]-'0'), 10*ldHugeExp)
		}
		if expNeg {
			exp = -exp
		}
	}
	if !nonZero {
		zero := newLongDouble()
		if neg {
			zero.Neg(zero)
		}
		return zero, true
	}
	if exp > ldHugeExp || exp < -ldHugeExp {
		return nil, false // overflow or underflow, whatever the mantissa
	}
	base := 10
	if hex {
		base = 0 // big.Float reads the 0x prefix and a binary exponent
	}
	x, _, err := newLongDouble().Parse(string(b), base)
	if err != nil || !roundLongDouble(x) {
		return nil, false
	}
	return x, true
}

func isDecimalDigit(ch byte) bool { return '0' <= ch && ch <= '9' }

func isHexDigit(ch byte) bool {
	return isDecimalDigit(ch) || ('a' <= ch|0x20 && ch|0x20 <= 'f')
}

// addLongDouble returns a+b rounded as the x87 does, or false when the sum
// is infinite or NaN.
func addLongDouble(a, b *big.Float) (*big.Float, bool) {
	if a.IsInf() || b.IsInf() {
		return nil, false
	}
	sum := newLongDouble().Add(a, b)
	if !roundLongDouble(sum) {
		if sum.MantExp(nil) > 0 {
			return nil, false
		}
		sum.SetInt64(0) // underflow to zero
	}
	return sum, true
}

// formatLongDouble formats x as Redis's ld2string in LD_STR_HUMAN mode:
// printf("%.17Lf") without trailing zeros (and point), "-0" as "0".
func formatLongDouble(x *big.Float) []byte {
	out := x.Append(nil, 'f', 17)
	if bytes.IndexByte(out, '.') >= 0 {
		out = bytes.TrimRight(out, "0")
		out = bytes.TrimSuffix(out, []byte("."))
	}
	if string(out) == "-0" {
		out = out[1:]
	}
	return out
}
