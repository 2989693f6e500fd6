package rdb

// Opcodes of an RDB file, the byte before each record that is not a key
// (Redis's RDB_OPCODE_*).
const (
	OpFunction2 = 0xF5 // a function library
	OpModuleAux = 0xF7 // module auxiliary data
	OpIdle      = 0xF8 // the next key's LRU idle time
	OpFreq      = 0xF9 // the next key's LFU counter
	OpAux       = 0xFA // an auxiliary field, name and value
	OpResizeDB  = 0xFB // the database's key and expire counts
	OpExpireMS  = 0xFC // the next key's expiry, Unix ms, 8 bytes little-endian
	OpExpire    = 0xFD // the next key's expiry, Unix s, 4 bytes little-endian
	OpSelectDB  = 0xFE // the database the next keys belong to
	OpEOF       = 0xFF // the end, before the 8-byte CRC64
)

// AppendLength appends n in the RDB length encoding.
func AppendLength(dst []byte, n uint64) []byte { return appendLength(dst, n) }

// AppendRawString appends s in the RDB string encoding (integer, LZF or
// raw, as Redis chooses), without a type byte: keys and auxiliary fields
// are written so.
func AppendRawString(dst, s []byte) []byte { return appendString(dst, s) }

// ReadLength reads a plain length from the start of b and returns it and
// the bytes it takes; a special string encoding is ErrBadFormat.
func ReadLength(b []byte) (uint64, int, error) {
	r := &reader{b: b}
	n, encoded, err := r.length()
	if err == nil && encoded {
		err = ErrBadFormat
	}
	return n, r.p, err
}

// ReadString reads a string in any RDB string encoding from the start of
// b and returns it and the bytes it takes. A raw string points into b.
func ReadString(b []byte) ([]byte, int, error) {
	r := &reader{b: b}
	s, err := r.string()
	return s, r.p, err
}

// ReadValue reads the body of a value of RDB type typ (the type byte
// already read) from the start of b and returns it and the bytes it
// takes. Types this package does not know (streams, modules, Redis 7.2's
// set listpacks) are ErrUnsupported.
func ReadValue(typ byte, b []byte) (Value, int, error) {
	if !Supported(typ) {
		return Value{}, 0, ErrUnsupported
	}
	r := &reader{b: b}
	v, err := r.object(typ)
	return v, r.p, err
}

// Supported reports whether typ is a value type ReadValue decodes.
func Supported(typ byte) bool {
	switch typ {
	case TypeString, TypeList, TypeSet, TypeZSet, TypeHash, TypeZSet2, TypeHashZiplist, TypeZSetZiplist,
		TypeSetIntset, TypeListQuicklist, TypeHashListpack, TypeZSetListpack, TypeListQuicklist2:
		return true
	}
	return false
}
