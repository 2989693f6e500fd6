package datanode

import (
	"bytes"
	"encoding/json"
	"math"
	"sort"
	"strconv"

	lua "github.com/yuin/gopher-lua"
)

// The cjson and bit libraries Redis's Lua loads, in Go: cjson.encode and
// cjson.decode (with cjson.null), and the bitop functions of LuaBitOp on
// 32-bit integers.

// newCJSON returns the cjson table.
func newCJSON(L *lua.LState) *lua.LTable {
	null := L.NewUserData()
	t := L.NewTable()
	L.SetFuncs(t, map[string]lua.LGFunction{
		"encode": func(L *lua.LState) int {
			var buf bytes.Buffer
			if err := encodeJSON(&buf, L.CheckAny(1), null, 0); err != "" {
				L.RaiseError("%s", err)
			}
			L.Push(lua.LString(buf.String()))
			return 1
		},
		"decode": func(L *lua.LState) int {
			dec := json.NewDecoder(bytes.NewReader([]byte(L.CheckString(1))))
			dec.UseNumber()
			var v any
			if err := dec.Decode(&v); err != nil {
				L.RaiseError("Expected value but found invalid token at character 1")
			}
			L.Push(jsonToLua(L, v, null))
			return 1
		},
	})
	t.RawSetString("null", null)
	return t
}

// encodeJSON writes v as cjson.encode does: a table whose keys are 1..n
// is an array, any other an object; numbers as "%.14g".
func encodeJSON(buf *bytes.Buffer, v lua.LValue, null *lua.LUserData, depth int) string {
	if depth > 1000 {
		return "Cannot serialise, excessive nesting (1001)"
	}
	switch v := v.(type) {
	case lua.LString:
		writeJSONString(buf, string(v))
	case lua.LNumber:
		f := float64(v)
		if math.IsInf(f, 0) || math.IsNaN(f) {
			return "Cannot serialise number: must not be NaN or Inf"
		}
		buf.WriteString(formatLuaNumber(f))
	case lua.LBool:
		buf.WriteString(strconv.FormatBool(bool(v)))
	case *lua.LNilType:
		buf.WriteString("null")
	case *lua.LUserData:
		if v != null {
			return "Cannot serialise userdata: type not supported"
		}
		buf.WriteString("null")
	case *lua.LTable:
		n, isArray := v.Len(), true
		count := 0
		v.ForEach(func(k, _ lua.LValue) {
			count++
			if kn, ok := k.(lua.LNumber); !ok || float64(kn) != math.Trunc(float64(kn)) || kn < 1 || int(kn) > n {
				isArray = false
			}
		})
		if count == 0 {
			buf.WriteString("{}")
			return ""
		}
		if isArray && count == n {
			buf.WriteByte('[')
			for i := 1; i <= n; i++ {
				if i > 1 {
					buf.WriteByte(',')
				}
				if err := encodeJSON(buf, v.RawGetInt(i), null, depth+1); err != "" {
					return err
				}
			}
			buf.WriteByte(']')
			return ""
		}
		type kv struct {
			k string
			v lua.LValue
		}
		var kvs []kv
		var bad string
		v.ForEach(func(k, val lua.LValue) {
			switch k := k.(type) {
			case lua.LString:
				kvs = append(kvs, kv{string(k), val})
			case lua.LNumber:
				kvs = append(kvs, kv{formatLuaNumber(float64(k)), val})
			default:
				bad = "Cannot serialise " + k.Type().String() + ": table key must be a number or string"
			}
		})
		if bad != "" {
			return bad
		}
		sort.Slice(kvs, func(i, j int) bool { return kvs[i].k < kvs[j].k })
		buf.WriteByte('{')
		for i, e := range kvs {
			if i > 0 {
				buf.WriteByte(',')
			}
			writeJSONString(buf, e.k)
			buf.WriteByte(':')
			if err := encodeJSON(buf, e.v, null, depth+1); err != "" {
				return err
			}
		}
		buf.WriteByte('}')
	default:
		return "Cannot serialise " + v.Type().String() + ": type not supported"
	}
	return ""
}

// writeJSONString writes s quoted as cjson does ("/" escaped too).
func writeJSONString(buf *bytes.Buffer, s string) {
	buf.WriteByte('"')
	for i := range len(s) {
		switch ch := s[i]; ch {
		case '"':
			buf.WriteString(`\"`)
		case '\\':
			buf.WriteString(`\\`)
		case '/':
			buf.WriteString(`\/`)
		case '\n':
			buf.WriteString(`\n`)
		case '\r':
			buf.WriteString(`\r`)
		case '\t':
			buf.WriteString(`\t`)
		case '\b':
			buf.WriteString(`\b`)
		case '\f':
			buf.WriteString(`\f`)
		default:
			if ch < 0x20 || ch == 0x7f {
				buf.WriteString(`\u00`)
				buf.WriteByte("0123456789abcdef"[ch>>4])
				buf.WriteByte("0123456789abcdef"[ch&15])
			} else {
				buf.WriteByte(ch)
			}
		}
	}
	buf.WriteByte('"')
}

// jsonToLua converts a decoded JSON value to Lua, null to cjson.null.
func jsonToLua(L *lua.LState, v any, null *lua.LUserData) lua.LValue {
	switch v := v.(type) {
	case nil:
		return null
	case bool:
		return lua.LBool(v)
	case json.Number:
		f, _ := strconv.ParseFloat(string(v), 64)
		return lua.LNumber(f)
	case string:
		return lua.LString(v)
	case []any:
		t := L.CreateTable(len(v), 0)
		for i, e := range v {
			t.RawSetInt(i+1, jsonToLua(L, e, null))
		}
		return t
	case map[string]any:
		t := L.CreateTable(0, len(v))
		for k, e := range v {
			t.RawSetString(k, jsonToLua(L, e, null))
		}
		return t
	}
	return lua.LNil
}

// newBitLib returns the bit table (LuaBitOp).
func newBitLib(L *lua.LState) *lua.LTable {
	arg := func(L *lua.LState, i int) int32 { return int32(int64(L.CheckNumber(i))) }
	fold := func(op func(a, b int32) int32) lua.LGFunction {
		return func(L *lua.LState) int {
			r := arg(L, 1)
			for i := 2; i <= L.GetTop(); i++ {
				r = op(r, arg(L, i))
			}
			L.Push(lua.LNumber(r))
			return 1
		}
	}
	shift := func(op func(a int32, n uint) int32) lua.LGFunction {
		return func(L *lua.LState) int {
			L.Push(lua.LNumber(op(arg(L, 1), uint(arg(L, 2))&31)))
			return 1
		}
	}
	t := L.NewTable()
	L.SetFuncs(t, map[string]lua.LGFunction{
		"tobit":   func(L *lua.LState) int { L.Push(lua.LNumber(arg(L, 1))); return 1 },
		"bnot":    func(L *lua.LState) int { L.Push(lua.LNumber(^arg(L, 1))); return 1 },
		"band":    fold(func(a, b int32) int32 { return a & b }),
		"bor":     fold(func(a, b int32) int32 { return a | b }),
		"bxor":    fold(func(a, b int32) int32 { return a ^ b }),
		"lshift":  shift(func(a int32, n uint) int32 { return int32(uint32(a) << n) }),
		"rshift":  shift(func(a int32, n uint) int32 { return int32(uint32(a) >> n) }),
		"arshift": shift(func(a int32, n uint) int32 { return a >> n }),
		"rol":     shift(func(a int32, n uint) int32 { return int32(uint32(a)<<n | uint32(a)>>(32-n)) }),
		"ror":     shift(func(a int32, n uint) int32 { return int32(uint32(a)>>n | uint32(a)<<(32-n)) }),
		"bswap": func(L *lua.LState) int {
			x := uint32(arg(L, 1))
			L.Push(lua.LNumber(int32(x>>24 | x>>8&0xff00 | x<<8&0xff0000 | x<<24)))
			return 1
		},
		"tohex": func(L *lua.LState) int {
			s := strconv.FormatUint(uint64(uint32(arg(L, 1))), 16)
			for len(s) < 8 {
				s = "0" + s
			}
			L.Push(lua.LString(s))
			return 1
		},
	})
	return t
}
