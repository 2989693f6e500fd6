package rdb

// RDB opcodes of function libraries. Redis 7.0 writes a library as
// OpcodeFunction2 followed by its code as a string. OpcodeFunctionPreGA is
// the release candidates' format: a function's name, engine, optional
// description and body, read as the library "#!<engine> name=<name>\n<body>".
const (
	OpcodeFunction2     = 245
	OpcodeFunctionPreGA = 246
)

// FunctionPayloadError is a malformed entry of a FUNCTION DUMP payload;
// its text is Redis's error message (without "ERR ").
type FunctionPayloadError string

// Error returns Redis's message.
func (e FunctionPayloadError) Error() string { return string(e) }

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
// codes of its libraries, in order; the error is ErrBadFooter or a
// FunctionPayloadError. As Redis's FUNCTION RESTORE, it reads entries
// until the last 10 bytes (the footer) are reached, and a string may run
// into the footer's bytes.
func DecodeFunctionsDump(payload []byte) ([][]byte, error) {
	if _, err := VerifyDump(payload); err != nil {
		return nil, err
	}
	r := &reader{b: payload}
	var codes [][]byte
	for len(payload)-r.p > footerSize {
		typ, _ := r.byte() // cannot fail: more than footerSize bytes remain
		var code []byte
		var err error
		switch typ {
		case OpcodeFunction2:
			if code, err = r.string(); err != nil {
				return nil, FunctionPayloadError("Failed loading library payload")
			}
		case OpcodeFunctionPreGA:
			if code, err = r.preGAFunction(); err != nil {
				return nil, err
			}
		default:
			return nil, FunctionPayloadError("given type is not a function")
		}
		codes = append(codes, code)
	}
	return codes, nil
}

// preGAFunction reads a pre-GA function and returns it as a library.
func (r *reader) preGAFunction() ([]byte, error) {
	name, err := r.string()
	if err != nil {
		return nil, FunctionPayloadError("Failed loading library name")
	}
	engine, err := r.string()
	if err != nil {
		return nil, FunctionPayloadError("Failed loading engine name")
	}
	hasDesc, encoded, err := r.length()
	if err != nil || encoded {
		return nil, FunctionPayloadError("Failed loading library description indicator")
	}
	if hasDesc != 0 {
		if _, err := r.string(); err != nil {
			return nil, FunctionPayloadError("Failed loading library description")
		}
	}
	body, err := r.string()
	if err != nil {
		return nil, FunctionPayloadError("Failed loading library blob")
	}
	code := append([]byte("#!"), engine...)
	code = append(append(append(code, " name="...), name...), '\n')
	return append(code, body...), nil
}
