package rdb

import "errors"

// RDB opcodes of function libraries. Redis 7.0 writes a library as
// OpcodeFunction2 followed by its code as a string; OpcodeFunctionPreGA
// is the release candidates' format, which Redis 7.0 refuses.
const (
	OpcodeFunction2     = 245
	OpcodeFunctionPreGA = 246
)

// Errors of decoding a FUNCTION DUMP payload, besides ErrBadFooter.
var (
	// ErrNotFunction means an entry's type is not OpcodeFunction2.
	ErrNotFunction = errors.New("rdb: given type is not a function")
	// ErrPreGAFunction means an entry is in the pre-GA function format.
	ErrPreGAFunction = errors.New("rdb: pre-GA function format not supported")
	// ErrBadLibrary means an entry's library code cannot be read.
	ErrBadLibrary = errors.New("rdb: failed loading library payload")
)

// AppendFunctionsDump appends a FUNCTION DUMP payload of the libraries'
// codes: each as OpcodeFunction2 and the code string (LZF-compressed as
// Redis compresses it), then the footer.
func AppendFunctionsDump(dst []byte, codes [][]byte) []byte {
	start := len(dst)
	for _, code := range codes {
		dst = appendString(append(dst, OpcodeFunction2), code)
	}
	return AppendFooter(dst, start)
}

// DecodeFunctionsDump verifies a FUNCTION DUMP payload and returns the
// codes of its libraries, in order. As Redis's FUNCTION RESTORE, it reads
// entries until the last 10 bytes (the footer) are reached, and a code
// string may run into the footer's bytes.
func DecodeFunctionsDump(payload []byte) ([][]byte, error) {
	if _, err := VerifyDump(payload); err != nil {
		return nil, err
	}
	r := &reader{b: payload}
	var codes [][]byte
	for len(payload)-r.p > footerSize {
		typ, _ := r.byte() // cannot fail: more than footerSize bytes remain
		switch typ {
		case OpcodeFunction2:
		case OpcodeFunctionPreGA:
			return nil, ErrPreGAFunction
		default:
			return nil, ErrNotFunction
		}
		code, err := r.string()
		if err != nil {
			return nil, ErrBadLibrary
		}
		codes = append(codes, code)
	}
	return codes, nil
}
