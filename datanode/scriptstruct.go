package datanode

import (
	"encoding/binary"
	"math"
	"strconv"
	"strings"

	lua "github.com/yuin/gopher-lua"
)

// The struct library, as Redis's lua_struct.c (Roberto Ierusalimschy's
// struct 0.2 with Redis's fixes) on x86-64: pack, unpack and size over
// formats of '>' '<' (endianness, little by default), '!n' (alignment, 1
// by default), ' ', and the options b B h H l L T i[n] I[n] f d x s c[n].

const (
	structMaxIntSize = 32 // MAXINTSIZE
	structMaxAlign   = 8  // offsetof(struct cD, u)
)

// structHeader is the format's current endianness and alignment.
type structHeader struct {
	little bool
	align  int
}

// luaArgError raises Lua's "bad argument" error for argument n of fname.
func luaArgError(L *lua.LState, n int, fname, msg string) {
	L.RaiseError("bad argument #%d to '%s' (%s)", n, fname, msg)
}

// luaTypeNameAt is the type name luaL_typerror reports for argument n,
// with top values on the stack plus one nil above them when mark is set
// (b_pack pushes it).
func luaTypeNameAt(L *lua.LState, n int, mark bool) string {
	top := L.GetTop()
	if n > top+boolIntInt(mark) {
		return "no value"
	}
	return L.Get(n).Type().String()
}

func boolIntInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// luaCheckString is luaL_checklstring: a string, or a number converted.
func luaCheckString(L *lua.LState, n int, fname string, mark bool) string {
	if s, ok := luaStringArg(L.Get(n)); ok && n <= L.GetTop() {
		return s
	}
	luaArgError(L, n, fname, "string expected, got "+luaTypeNameAt(L, n, mark))
	return ""
}

// luaCheckNumber is luaL_checknumber: a number, or a numeric string.
func luaCheckNumber(L *lua.LState, n int, fname string, mark bool) float64 {
	if n <= L.GetTop() {
		switch v := L.Get(n).(type) {
		case lua.LNumber:
			return float64(v)
		case lua.LString:
			if f, ok := parseLuaNumber(string(v)); ok {
				return f
			}
		}
	}
	luaArgError(L, n, fname, "number expected, got "+luaTypeNameAt(L, n, mark))
	return 0
}

// parseLuaNumber converts s as Lua's lua_str2number (strtod, or hex).
func parseLuaNumber(s string) (float64, bool) {
	s = strings.TrimSpace(s)
	if f, err := strconv.ParseFloat(s, 64); err == nil {
		return f, true
	}
	if len(s) > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X') {
		if n, err := strconv.ParseUint(s[2:], 16, 64); err == nil {
			return float64(n), true
		}
	}
	return 0, false
}

// luaOptNumber is luaL_optnumber: absent or nil gives df.
func luaOptNumber(L *lua.LState, n int, fname string, df float64) float64 {
	if n > L.GetTop() || L.Get(n) == lua.LNil {
		return df
	}
	return luaCheckNumber(L, n, fname, false)
}

// newStructLib returns the struct table.
func newStructLib(L *lua.LState) *lua.LTable {
	t := L.NewTable()
	L.SetFuncs(t, map[string]lua.LGFunction{"pack": structPack, "unpack": structUnpack, "size": structSize})
	return t
}

// structFormat walks a format string.
type structFormat struct {
	L     *lua.LState
	fname string
	fmt   string
	i     int
	h     structHeader
}

// num reads an optional decimal number (getnum), or returns df.
func (f *structFormat) num(df int) int {
	if f.i >= len(f.fmt) || !isDigit(f.fmt[f.i]) {
		return df
	}
	a := 0
	for f.i < len(f.fmt) && isDigit(f.fmt[f.i]) {
		d := int(f.fmt[f.i] - '0')
		if a > math.MaxInt32/10 || a*10 > math.MaxInt32-d {
			f.L.RaiseError("integral size overflow")
		}
		a = a*10 + d
		f.i++
	}
	return a
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

// optSize is the size of option opt (optsize), reading its number.
func (f *structFormat) optSize(opt byte) int {
	switch opt {
	case 'B', 'b', 'x':
		return 1
	case 'H', 'h':
		return 2
	case 'L', 'l', 'T', 'd':
		return 8
	case 'f':
		return 4
	case 'c':
		return f.num(1)
	case 'i', 'I':
		sz := f.num(4)
		if sz > structMaxIntSize {
			f.L.RaiseError("integral size %d is larger than limit of %d", sz, structMaxIntSize)
		}
		return sz
	}
	return 0
}

// toAlign is the padding before an option of size at offset n.
func (f *structFormat) toAlign(n, opt, size int) int {
	if size == 0 || opt == 'c' {
		return 0
	}
	size = min(size, f.h.align)
	return (size - (n & (size - 1))) & (size - 1)
}

// control applies a non-data option (controloptions).
func (f *structFormat) control(opt byte) {
	switch opt {
	case ' ':
	case '>':
		f.h.little = false
	case '<':
		f.h.little = true
	case '!':
		a := f.num(structMaxAlign)
		if a <= 0 || a&(a-1) != 0 {
			f.L.RaiseError("alignment %d is not a power of 2", a)
		}
		f.h.align = a
	default:
		luaArgError(f.L, 1, f.fname, "invalid format option '"+string(opt)+"'")
	}
}

func newStructFormat(L *lua.LState, fname string) *structFormat {
	return &structFormat{L: L, fname: fname, fmt: luaCheckString(L, 1, fname, false), h: structHeader{little: true, align: 1}}
}

func structPack(L *lua.LState) int {
	f := newStructFormat(L, "pack")
	var b []byte
	arg := 2
	for f.i < len(f.fmt) {
		opt := f.fmt[f.i]
		f.i++
		size := f.optSize(opt)
		for range f.toAlign(len(b), int(opt), size) {
			b = append(b, 0)
		}
		switch opt {
		case 'b', 'B', 'h', 'H', 'l', 'L', 'T', 'i', 'I':
			n := luaCheckNumber(L, arg, "pack", true)
			arg++
			var v uint64
			if n < 0 {
				v = uint64(int64(n))
			} else {
				v = uint64(n)
			}
			b = appendStructInt(b, v, size, f.h.little)
		case 'x':
			b = append(b, 0)
		case 'f':
			bits := math.Float32bits(float32(luaCheckNumber(L, arg, "pack", true)))
			arg++
			b = appendOrder32(b, bits, f.h.little)
		case 'd':
			bits := math.Float64bits(luaCheckNumber(L, arg, "pack", true))
			arg++
			if f.h.little {
				b = binary.LittleEndian.AppendUint64(b, bits)
			} else {
				b = binary.BigEndian.AppendUint64(b, bits)
			}
		case 'c', 's':
			s := luaCheckString(L, arg, "pack", true)
			arg++
			if size == 0 {
				size = len(s)
			}
			if len(s) < size {
				luaArgError(L, arg, "pack", "string too short")
			}
			b = append(b, s[:size]...)
			if opt == 's' {
				b = append(b, 0)
			}
		default:
			f.control(opt)
		}
	}
	L.Push(lua.LString(b))
	return 1
}

// appendStructInt appends the low size bytes of v (zeros beyond 8).
func appendStructInt(b []byte, v uint64, size int, little bool) []byte {
	start := len(b)
	b = append(b, make([]byte, size)...)
	for i := range size {
		j := start + size - 1 - i
		if little {
			j = start + i
		}
		b[j] = byte(v)
		v >>= 8
	}
	return b
}

func appendOrder32(b []byte, bits uint32, little bool) []byte {
	if little {
		return binary.LittleEndian.AppendUint32(b, bits)
	}
	return binary.BigEndian.AppendUint32(b, bits)
}

// structInt reads a size-byte integer as getinteger does on x86-64 (only
// the last 8 bytes read count; the sign mask's shift is taken mod 64).
func structInt(d []byte, little, signed bool) float64 {
	var l uint64
	for i := range d {
		c := d[i]
		if little {
			c = d[len(d)-1-i]
		}
		l = l<<8 | uint64(c)
	}
	if !signed {
		return float64(l)
	}
	mask := ^uint64(0) << (uint(len(d)*8-1) & 63)
	if l&mask != 0 {
		l |= mask
	}
	return float64(int64(l))
}

func structUnpack(L *lua.LState) int {
	f := newStructFormat(L, "unpack")
	data := luaCheckString(L, 2, "unpack", false)
	pos := int(luaInteger(luaOptNumber(L, 3, "unpack", 1)))
	if pos <= 0 {
		luaArgError(L, 3, "unpack", "offset must be 1 or greater")
	}
	pos--
	var out []lua.LValue
	tooShort := func(size int) {
		if size > len(data) || pos > len(data)-size {
			luaArgError(L, 2, "unpack", "data string too short")
		}
	}
	for f.i < len(f.fmt) {
		opt := f.fmt[f.i]
		f.i++
		size := f.optSize(opt)
		pos += f.toAlign(pos, int(opt), size)
		tooShort(size)
		switch opt {
		case 'b', 'B', 'h', 'H', 'l', 'L', 'T', 'i', 'I':
			out = append(out, lua.LNumber(structInt([]byte(data[pos:pos+size]), f.h.little, opt >= 'a')))
		case 'x':
		case 'f':
			bits := binary.BigEndian.Uint32([]byte(data[pos : pos+4]))
			if f.h.little {
				bits = binary.LittleEndian.Uint32([]byte(data[pos : pos+4]))
			}
			out = append(out, lua.LNumber(math.Float32frombits(bits)))
		case 'd':
			bits := binary.BigEndian.Uint64([]byte(data[pos : pos+8]))
			if f.h.little {
				bits = binary.LittleEndian.Uint64([]byte(data[pos : pos+8]))
			}
			out = append(out, lua.LNumber(math.Float64frombits(bits)))
		case 'c':
			if size == 0 {
				n, ok := lua.LNil, false
				if len(out) > 0 {
					n = out[len(out)-1]
					_, ok = n.(lua.LNumber)
				}
				if !ok {
					L.RaiseError("format 'c0' needs a previous size")
				}
				size = int(luaInteger(float64(n.(lua.LNumber))))
				out = out[:len(out)-1]
				if size < 0 {
					size = len(data) + 1 // size_t of a negative: too short
				}
				tooShort(size)
			}
			out = append(out, lua.LString(data[pos:pos+size]))
		case 's':
			e := strings.IndexByte(data[pos:], 0)
			if e < 0 {
				L.RaiseError("unfinished string in data")
			}
			size = e + 1
			out = append(out, lua.LString(data[pos:pos+e]))
		default:
			f.control(opt)
		}
		pos += size
	}
	for _, v := range out {
		L.Push(v)
	}
	L.Push(lua.LNumber(pos + 1))
	return len(out) + 1
}

func structSize(L *lua.LState) int {
	f := newStructFormat(L, "size")
	pos := 0
	for f.i < len(f.fmt) {
		opt := f.fmt[f.i]
		f.i++
		size := f.optSize(opt)
		pos += f.toAlign(pos, int(opt), size)
		if opt == 's' {
			luaArgError(L, 1, "size", "option 's' has no fixed size")
		} else if opt == 'c' && size == 0 {
			luaArgError(L, 1, "size", "option 'c0' has no fixed size")
		}
		if !isAlnum(opt) {
			f.control(opt)
		}
		pos += size
	}
	L.Push(lua.LNumber(pos))
	return 1
}

func isAlnum(c byte) bool {
	return isDigit(c) || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z'
}
