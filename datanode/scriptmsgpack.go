package datanode

import (
	"encoding/binary"
	"math"

	lua "github.com/yuin/gopher-lua"
)

// The cmsgpack library, as Redis's lua_cmsgpack.c (on Lua 5.1): pack,
// unpack, unpack_one and unpack_limit, with its encodings (the smallest
// integer form; float 32 when a number survives it, else float 64; str8
// for 32..255 bytes) and its error texts. Written directly: the codec is
// small and must reproduce lua_cmsgpack.c's choices byte for byte.

const (
	// msgpackMaxNesting is LUACMSGPACK_MAX_NESTING: deeper tables are
	// packed as nil (so a table containing itself packs).
	msgpackMaxNesting = 16
	// msgpackMaxValues and msgpackMaxDepth stand for Lua's C stack limit
	// (LUAI_MAXCSTACK, 8000 slots), which bounds what unpack returns at
	// once and how deep the tables it builds nest.
	msgpackMaxValues = 7999
	msgpackMaxDepth  = 3999
)

// newCMsgpack returns the cmsgpack table.
func newCMsgpack(L *lua.LState) *lua.LTable {
	t := L.NewTable()
	L.SetFuncs(t, map[string]lua.LGFunction{
		"pack":   msgpackPack,
		"unpack": func(L *lua.LState) int { return msgpackUnpack(L, "unpack", 0, 0) },
		"unpack_one": func(L *lua.LState) int {
			offset := luaOptNumber(L, 2, "unpack_one", 0)
			L.SetTop(1)
			return msgpackUnpack(L, "unpack_one", 1, int(int32(luaInteger(offset))))
		},
		"unpack_limit": func(L *lua.LState) int {
			limit := luaCheckNumber(L, 2, "unpack_limit", false)
			offset := luaOptNumber(L, 3, "unpack_limit", 0)
			L.SetTop(1)
			return msgpackUnpack(L, "unpack_limit", int(int32(luaInteger(limit))), int(int32(luaInteger(offset))))
		},
	})
	return t
}

func msgpackPack(L *lua.LState) int {
	n := L.GetTop()
	if n == 0 {
		luaArgError(L, 0, "pack", "MessagePack pack needs input.")
	}
	var buf []byte
	for i := 1; i <= n; i++ {
		buf = msgpackEncode(buf, L.Get(i), 0)
	}
	L.Push(lua.LString(buf))
	return 1
}

// msgpackEncode appends v's encoding (mp_encode_lua_type).
func msgpackEncode(b []byte, v lua.LValue, level int) []byte {
	switch v := v.(type) {
	case lua.LString:
		return msgpackString(b, string(v))
	case lua.LBool:
		if v {
			return append(b, 0xc3)
		}
		return append(b, 0xc2)
	case lua.LNumber:
		return msgpackNumber(b, float64(v))
	case *lua.LTable:
		if level == msgpackMaxNesting {
			return append(b, 0xc0)
		}
		return msgpackTable(b, v, level)
	}
	return append(b, 0xc0)
}

func msgpackString(b []byte, s string) []byte {
	switch n := len(s); {
	case n < 32:
		b = append(b, 0xa0|byte(n))
	case n <= 0xff:
		b = append(b, 0xd9, byte(n))
	case n <= 0xffff:
		b = binary.BigEndian.AppendUint16(append(b, 0xda), uint16(n))
	default:
		b = binary.BigEndian.AppendUint32(append(b, 0xdb), uint32(n))
	}
	return append(b, s...)
}

// msgpackNumber encodes an integral number (IS_INT64_EQUIVALENT) as an
// integer, any other as float 32 if it survives the conversion, else
// float 64.
func msgpackNumber(b []byte, f float64) []byte {
	if !math.IsInf(f, 0) && f >= -9223372036854775808 && f < 9223372036854775808 && float64(int64(f)) == f {
		return msgpackInt(b, int64(f))
	}
	if f32 := float32(f); float64(f32) == f {
		return binary.BigEndian.AppendUint32(append(b, 0xca), math.Float32bits(f32))
	}
	return binary.BigEndian.AppendUint64(append(b, 0xcb), math.Float64bits(f))
}

func msgpackInt(b []byte, n int64) []byte {
	if n >= 0 {
		switch {
		case n <= 127:
			return append(b, byte(n))
		case n <= 0xff:
			return append(b, 0xcc, byte(n))
		case n <= 0xffff:
			return binary.BigEndian.AppendUint16(append(b, 0xcd), uint16(n))
		case n <= 0xffffffff:
			return binary.BigEndian.AppendUint32(append(b, 0xce), uint32(n))
		}
		return binary.BigEndian.AppendUint64(append(b, 0xcf), uint64(n))
	}
	switch {
	case n >= -32:
		return append(b, byte(int8(n)))
	case n >= -128:
		return append(b, 0xd0, byte(int8(n)))
	case n >= -32768:
		return binary.BigEndian.AppendUint16(append(b, 0xd1), uint16(int16(n)))
	case n >= -2147483648:
		return binary.BigEndian.AppendUint32(append(b, 0xd2), uint32(int32(n)))
	}
	return binary.BigEndian.AppendUint64(append(b, 0xd3), uint64(n))
}

// msgpackTable encodes t as an array when its keys are exactly 1..n
// (table_is_an_array; the empty table is an empty array), else as a map
// in the table's iteration order.
func msgpackTable(b []byte, t *lua.LTable, level int) []byte {
	count, maxKey, isArray := 0, 0.0, true
	t.ForEach(func(k, _ lua.LValue) {
		count++
		n, ok := k.(lua.LNumber)
		if !ok || n <= 0 || float64(n) != math.Trunc(float64(n)) {
			isArray = false
			return
		}
		maxKey = max(maxKey, float64(n))
	})
	if isArray && maxKey == float64(count) {
		n := t.Len()
		switch {
		case n <= 15:
			b = append(b, 0x90|byte(n))
		case n <= 0xffff:
			b = binary.BigEndian.AppendUint16(append(b, 0xdc), uint16(n))
		default:
			b = binary.BigEndian.AppendUint32(append(b, 0xdd), uint32(n))
		}
		for i := 1; i <= n; i++ {
			b = msgpackEncode(b, t.RawGetInt(i), level+1)
		}
		return b
	}
	switch {
	case count <= 15:
		b = append(b, 0x80|byte(count))
	case count <= 0xffff:
		b = binary.BigEndian.AppendUint16(append(b, 0xde), uint16(count))
	default:
		b = binary.BigEndian.AppendUint32(append(b, 0xdf), uint32(count))
	}
	t.ForEach(func(k, v lua.LValue) {
		b = msgpackEncode(b, k, level+1)
		b = msgpackEncode(b, v, level+1)
	})
	return b
}

// msgpackUnpack is mp_unpack_full: it decodes up to limit values (all
// when limit and offset are 0) from the string argument, starting at
// offset, returning them, preceded by the next offset (-1 at the end)
// unless decoding all.
func msgpackUnpack(L *lua.LState, fname string, limit, offset int) int {
	s := luaCheckString(L, 1, fname, false)
	all := limit == 0 && offset == 0
	if offset < 0 || limit < 0 {
		L.RaiseError("Invalid request to unpack with offset of %d and limit of %d.", offset, len(s))
	} else if offset > len(s) {
		L.RaiseError("Start offset %d greater than input length %d.", offset, len(s))
	}
	if all {
		limit = math.MaxInt
	}
	d := &msgpackDecoder{L: L, b: []byte(s[offset:])}
	var vals []lua.LValue
	for len(d.b) > 0 && len(vals) < limit {
		if len(vals) >= msgpackMaxValues {
			L.RaiseError("stack overflow (too many return values at once; use unpack_one or unpack_limit instead.)")
		}
		v := d.decode(0)
		switch d.err {
		case errMsgpackEOF:
			L.RaiseError("Missing bytes in input.")
		case errMsgpackFormat:
			L.RaiseError("Bad data format in input.")
		}
		vals = append(vals, v)
	}
	if !all {
		next := len(s) - len(d.b)
		if len(d.b) == 0 {
			next = -1
		}
		L.Push(lua.LNumber(next))
	}
	for _, v := range vals {
		L.Push(v)
	}
	return len(vals) + int(boolInt(!all))
}

// Decoding errors (mp_cur's err).
const (
	errMsgpackEOF = 1 + iota
	errMsgpackFormat
)

// msgpackDecoder is a cursor over the input (mp_cur).
type msgpackDecoder struct {
	L   *lua.LState
	b   []byte
	err int
}

// need reports whether n bytes remain, setting the EOF error if not.
func (d *msgpackDecoder) need(n uint64) bool {
	if uint64(len(d.b)) < n {
		d.err = errMsgpackEOF
		return false
	}
	return true
}

// decode decodes one value at nesting depth; on error it sets d.err and
// returns nil.
func (d *msgpackDecoder) decode(depth int) lua.LValue {
	if !d.need(1) {
		return lua.LNil
	}
	c := d.b[0]
	fixed := func(n int) []byte {
		if !d.need(uint64(n) + 1) {
			return nil
		}
		v := d.b[1 : n+1]
		d.b = d.b[n+1:]
		return v
	}
	str := func(hdr int, n uint64) lua.LValue {
		d.b = d.b[hdr:]
		if !d.need(n) {
			return lua.LNil
		}
		s := lua.LString(d.b[:n])
		d.b = d.b[n:]
		return s
	}
	switch c {
	case 0xcc:
		if v := fixed(1); v != nil {
			return lua.LNumber(v[0])
		}
	case 0xd0:
		if v := fixed(1); v != nil {
			return lua.LNumber(int8(v[0]))
		}
	case 0xcd:
		if v := fixed(2); v != nil {
			return lua.LNumber(binary.BigEndian.Uint16(v))
		}
	case 0xd1:
		if v := fixed(2); v != nil {
			return lua.LNumber(int16(binary.BigEndian.Uint16(v)))
		}
	case 0xce:
		if v := fixed(4); v != nil {
			return lua.LNumber(binary.BigEndian.Uint32(v))
		}
	case 0xd2:
		if v := fixed(4); v != nil {
			return lua.LNumber(int32(binary.BigEndian.Uint32(v)))
		}
	case 0xcf, 0xd3: // lua_pushunsigned is lua_pushinteger on Lua 5.1
		if v := fixed(8); v != nil {
			return lua.LNumber(int64(binary.BigEndian.Uint64(v)))
		}
	case 0xc0:
		d.b = d.b[1:]
		return lua.LNil
	case 0xc3:
		d.b = d.b[1:]
		return lua.LTrue
	case 0xc2:
		d.b = d.b[1:]
		return lua.LFalse
	case 0xca:
		if v := fixed(4); v != nil {
			return lua.LNumber(math.Float32frombits(binary.BigEndian.Uint32(v)))
		}
	case 0xcb:
		if v := fixed(8); v != nil {
			return lua.LNumber(math.Float64frombits(binary.BigEndian.Uint64(v)))
		}
	case 0xd9:
		if d.need(2) {
			return str(2, uint64(d.b[1]))
		}
	case 0xda:
		if d.need(3) {
			return str(3, uint64(binary.BigEndian.Uint16(d.b[1:])))
		}
	case 0xdb:
		if d.need(5) {
			return str(5, uint64(binary.BigEndian.Uint32(d.b[1:])))
		}
	case 0xdc, 0xde:
		if v := fixed(2); v != nil {
			return d.collection(c == 0xde, uint64(binary.BigEndian.Uint16(v)), depth)
		}
	case 0xdd, 0xdf:
		if v := fixed(4); v != nil {
			return d.collection(c == 0xdf, uint64(binary.BigEndian.Uint32(v)), depth)
		}
	default:
		switch {
		case c&0x80 == 0:
			d.b = d.b[1:]
			return lua.LNumber(c)
		case c&0xe0 == 0xe0:
			d.b = d.b[1:]
			return lua.LNumber(int8(c))
		case c&0xe0 == 0xa0:
			if d.need(1 + uint64(c&0x1f)) {
				return str(1, uint64(c&0x1f))
			}
		case c&0xf0 == 0x90:
			d.b = d.b[1:]
			return d.collection(false, uint64(c&0xf), depth)
		case c&0xf0 == 0x80:
			d.b = d.b[1:]
			return d.collection(true, uint64(c&0xf), depth)
		default:
			d.err = errMsgpackFormat
		}
	}
	return lua.LNil
}

// collection decodes n elements (pairs, for a map) into a new table.
// Every element takes at least a byte, so a count beyond the input fails
// before it costs memory.
func (d *msgpackDecoder) collection(isMap bool, n uint64, depth int) lua.LValue {
	if depth >= msgpackMaxDepth {
		if isMap {
			d.L.RaiseError("stack overflow (too many return values at once; use unpack_one or unpack_limit instead.)")
		}
		d.L.RaiseError("stack overflow (in function mp_decode_to_lua_array)")
	}
	t := d.L.NewTable()
	for i := uint64(1); i <= n; i++ {
		if !isMap {
			v := d.decode(depth + 1)
			if d.err != 0 {
				return lua.LNil
			}
			t.RawSetInt(int(i), v)
			continue
		}
		k := d.decode(depth + 1)
		if d.err != 0 {
			return lua.LNil
		}
		v := d.decode(depth + 1)
		if d.err != 0 {
			return lua.LNil
		}
		switch kn, ok := k.(lua.LNumber); {
		case k == lua.LNil:
			d.L.Error(lua.LString("table index is nil"), 0)
		case ok && math.IsNaN(float64(kn)):
			d.L.Error(lua.LString("table index is NaN"), 0)
		}
		t.RawSet(k, v)
	}
	return t
}
