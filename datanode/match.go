package datanode

// maxMatchNesting bounds the '*' recursion of stringMatch, as Redis does
// since the fix for CVE-2024-31228: deeper patterns do not match.
const maxMatchNesting = 1000

// stringMatch reports whether str matches the glob pattern exactly as
// Redis's stringmatchlen (case-sensitive) does, quirks included:
//
//   - '*' matches any sequence, '?' any byte, '\x' the byte x;
//   - "[abc]", "[^abc]" and "[a-z]" match a byte of (not of) the set; ranges
//     may be reversed ("[z-a]") and compare bytes as C's signed char; '\'
//     escapes inside brackets; an unterminated bracket ends at the pattern's
//     end ("[abc" matches "b"; "[^" matches any byte);
//   - an empty string matches only the empty pattern, so "*" does not
//     match "" (KEYS and SCAN special-case the pattern "*" itself).
func stringMatch(pattern, str []byte) bool {
	skipLonger := false
	return matchFrom(pattern, str, &skipLonger, 0)
}

// matchFrom is stringmatchlen_impl. The C code reads the pattern's NUL
// terminator at the end; at returns 0 there too.
func matchFrom(p, s []byte, skipLonger *bool, nesting int) bool {
	if nesting > maxMatchNesting {
		return false
	}
	at := func(i int) byte {
		if i < len(p) {
			return p[i]
		}
		return 0
	}
	pi, si := 0, 0
	for pi < len(p) && si < len(s) {
		switch p[pi] {
		case '*':
			for pi < len(p) && at(pi+1) == '*' {
				pi++
			}
			if len(p)-pi == 1 {
				return true
			}
			for si < len(s) {
				if matchFrom(p[pi+1:], s[si:], skipLonger, nesting+1) {
					return true
				}
				if *skipLonger {
					return false
				}
				si++
			}
			// No match for the rest of the pattern from anywhere in the rest
			// of the string: longer matches of earlier stars cannot help.
			*skipLonger = true
			return false
		case '?':
			si++
		case '[':
			pi++
			not := at(pi) == '^'
			if not {
				pi++
			}
			match := false
			for {
				if at(pi) == '\\' && len(p)-pi >= 2 {
					pi++
					if p[pi] == s[si] {
						match = true
					}
				} else if at(pi) == ']' {
					break
				} else if pi == len(p) {
					pi-- // unterminated: the outer step moves back to the end
					break
				} else if len(p)-pi >= 3 && p[pi+1] == '-' {
					lo, hi, ch := int8(p[pi]), int8(p[pi+2]), int8(s[si])
					if lo > hi {
						lo, hi = hi, lo
					}
					pi += 2
					if ch >= lo && ch <= hi {
						match = true
					}
				} else if p[pi] == s[si] {
					match = true
				}
				pi++
			}
			if not {
				match = !match
			}
			if !match {
				return false
			}
			si++
		case '\\':
			if len(p)-pi >= 2 {
				pi++
			}
			fallthrough
		default:
			if p[pi] != s[si] {
				return false
			}
			si++
		}
		pi++
		if si == len(s) {
			for at(pi) == '*' {
				pi++
			}
			break
		}
	}
	return pi == len(p) && si == len(s)
}
