package resp

// isSpace reports whether c is a blank for C's isspace in the C locale.
func isSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r'
}

// unhex returns the value of the hex digit c, or -1.
func unhex(c byte) int {
	switch {
	case c >= '0' && c <= '9':
		return int(c - '0')
	case c >= 'a' && c <= 'f':
		return int(c-'a') + 10
	case c >= 'A' && c <= 'F':
		return int(c-'A') + 10
	}
	return -1
}

// splitArgs splits an inline request line (terminator removed) into
// arguments with the semantics of Redis's sdssplitargs, appending them to
// args. It reports false for unbalanced quotes or a closing quote followed by
// something other than a blank. All arguments share one new allocation.
//
// Unlike sdssplitargs, which works on a C string, NUL bytes are ordinary
// bytes here.
func splitArgs(line []byte, args [][]byte) ([][]byte, bool) {
	var out []byte // backing store; arguments never exceed the line
	n := len(line)
	i := 0
	for {
		for i < n && isSpace(line[i]) {
			i++
		}
		if i == n {
			return args, true
		}
		if out == nil {
			out = make([]byte, 0, n-i)
		}
		tokStart := len(out)
		inDouble, inSingle := false, false
	token:
		for {
			switch {
			case inDouble:
				if i == n {
					return args, false // unterminated quotes
				}
				c := line[i]
				switch {
				case c == '\\' && i+3 < n && line[i+1] == 'x' && unhex(line[i+2]) >= 0 && unhex(line[i+3]) >= 0:
					out = append(out, byte(unhex(line[i+2])<<4|unhex(line[i+3])))
					i += 4
				case c == '\\' && i+1 < n:
					i++
					switch c = line[i]; c {
					case 'n':
						c = '\n'
					case 'r':
						c = '\r'
					case 't':
						c = '\t'
					case 'b':
						c = '\b'
					case 'a':
						c = '\a'
					}
					out = append(out, c)
					i++
				case c == '"':
					// The closing quote must be followed by a blank or
					// the end of the line.
					if i+1 < n && !isSpace(line[i+1]) {
						return args, false
					}
					i++
					break token
				default:
					out = append(out, c)
					i++
				}
			case inSingle:
				if i == n {
					return args, false // unterminated quotes
				}
				c := line[i]
				switch {
				case c == '\\' && i+1 < n && line[i+1] == '\'':
					out = append(out, '\'')
					i += 2
				case c == '\'':
					if i+1 < n && !isSpace(line[i+1]) {
						return args, false
					}
					i++
					break token
				default:
					out = append(out, c)
					i++
				}
			default:
				if i == n {
					break token
				}
				c := line[i]
				i++
				switch c {
				case ' ', '\n', '\r', '\t':
					break token
				case '"':
					inDouble = true
				case '\'':
					inSingle = true
				default:
					out = append(out, c)
				}
			}
		}
		args = append(args, out[tokStart:len(out):len(out)])
	}
}
