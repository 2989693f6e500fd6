package rdb

// maxLZFRatio bounds how many bytes LZF can expand one compressed byte
// into: a 3-byte back reference copies at most 264 bytes.
const maxLZFRatio = 88

// lzfDecompress expands the LZF stream in into exactly n bytes, as
// Redis's lzf_decompress does, and reports false when in is malformed or
// does not expand to n bytes. The caller bounds n.
func lzfDecompress(in []byte, n int) ([]byte, bool) {
	out := make([]byte, 0, n)
	for ip := 0; ip < len(in); {
		ctrl := int(in[ip])
		ip++
		if ctrl < 32 { // literal run of ctrl+1 bytes
			run := ctrl + 1
			if ip+run > len(in) || len(out)+run > n {
				return nil, false
			}
			out = append(out, in[ip:ip+run]...)
			ip += run
			continue
		}
		length := ctrl >> 5 // back reference
		if length == 7 {
			if ip >= len(in) {
				return nil, false
			}
			length += int(in[ip])
			ip++
		}
		if ip >= len(in) {
			return nil, false
		}
		ref := len(out) - (ctrl&0x1f)<<8 - int(in[ip]) - 1
		ip++
		length += 2
		if ref < 0 || len(out)+length > n {
			return nil, false
		}
		for i := range length { // byte by byte: the source may overlap the copy
			out = append(out, out[ref+i])
		}
	}
	return out, len(out) == n
}
