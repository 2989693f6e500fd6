package datanode

import (
	"math"
	"strconv"

	lua "github.com/yuin/gopher-lua"
)

// Conversions between RESP replies and Lua values, as Redis 7.0's
// script_lua.c does them.

// maxLuaReplyDepth bounds the nesting of a script's reply (a table may
// contain itself).
const maxLuaReplyDepth = 1000

// replyLua writes the script's result v as Redis's luaReplyToRedisReply:
// a string is a bulk string, a number an integer (truncated), true 1 and
// false a nil bulk (booleans after redis.setresp(3), scriptResp3); a
// table with a string err field is an error, with a string ok field a
// status, with a number double field a double, with a string big_number
// field a big number, with a table map or set field a map or set of its
// pairs or keys, otherwise an array of its elements up to the first nil;
// anything else is a nil bulk.
func (c *client) replyLua(v lua.LValue, depth int, scriptResp3 bool) {
	switch v := v.(type) {
	case lua.LString:
		c.replyBulkString(string(v))
	case lua.LNumber:
		c.replyInt(luaInteger(float64(v)))
	case lua.LBool:
		switch {
		case scriptResp3:
			c.replyBoolean(bool(v))
		case bool(v):
			c.replyInt(1)
		default:
			c.replyNull()
		}
	case *lua.LTable:
		if depth >= maxLuaReplyDepth {
			c.replyError("ERR reached lua stack limit")
			return
		}
		if e, ok := v.RawGetString("err").(lua.LString); ok {
			msg := string(e)
			if len(msg) > 0 && msg[0] == '-' {
				msg = msg[1:]
			}
			c.replyError(oneLine(msg))
			return
		}
		if s, ok := v.RawGetString("ok").(lua.LString); ok {
			c.replyStatus(oneLine(string(s)))
			return
		}
		if d, ok := v.RawGetString("double").(lua.LNumber); ok {
			c.replyDouble(float64(d))
			return
		}
		if b, ok := v.RawGetString("big_number").(lua.LString); ok {
			c.replyBigNumber(oneLine(string(b)))
			return
		}
		if m, ok := v.RawGetString("map").(*lua.LTable); ok {
			n := 0
			m.ForEach(func(_, _ lua.LValue) { n++ })
			c.replyMap(n)
			m.ForEach(func(k, val lua.LValue) {
				c.replyLua(k, depth+1, scriptResp3)
				c.replyLua(val, depth+1, scriptResp3)
			})
			return
		}
		if s, ok := v.RawGetString("set").(*lua.LTable); ok {
			n := 0
			s.ForEach(func(_, _ lua.LValue) { n++ })
			c.replySet(n)
			s.ForEach(func(k, _ lua.LValue) { c.replyLua(k, depth+1, scriptResp3) })
			return
		}
		n := 0
		for v.RawGetInt(n+1) != lua.LNil {
			n++
		}
		c.replyArray(n)
		for i := 1; i <= n; i++ {
			c.replyLua(v.RawGetInt(i), depth+1, scriptResp3)
		}
	default:
		c.replyNull()
	}
}

// luaInteger is C's conversion of a Lua number to long long: truncation,
// with Redis's results for NaN and out-of-range values on x86-64.
func luaInteger(f float64) int64 {
	if math.IsNaN(f) || f >= 9223372036854775807 || f < -9223372036854775808 {
		return math.MinInt64
	}
	return int64(f)
}

// respToLua converts the RESP reply at the start of b as Redis's
// redisProtocolToLuaType: an integer is a number, a bulk string a string
// and a nil bulk or array false, a status {ok=...}, an error {err=...},
// an array a table; and after redis.setresp(3): a null nil, a boolean a
// boolean, a map {map={k=v...}}, a set {set={m=true...}}, a double
// {double=d}, a big number {big_number=s}, a verbatim string
// {verbatim_string={format=f, string=s}}. It returns the rest of b.
func respToLua(L *lua.LState, b []byte) (lua.LValue, []byte) {
	if len(b) < 3 {
		return lua.LFalse, nil
	}
	end := 1
	for end < len(b) && b[end] != '\r' {
		end++
	}
	line, rest := string(b[1:end]), b[min(end+2, len(b)):]
	switch b[0] {
	case ':':
		n, _ := strconv.ParseInt(line, 10, 64)
		return lua.LNumber(n), rest
	case '+':
		t := L.NewTable()
		t.RawSetString("ok", lua.LString(line))
		return t, rest
	case '-':
		return errorTable(L, "-"+line), rest
	case '$':
		n, _ := strconv.Atoi(line)
		if n < 0 {
			return lua.LFalse, rest
		}
		return lua.LString(rest[:n]), rest[n+2:]
	case '*':
		n, _ := strconv.Atoi(line)
		if n < 0 {
			return lua.LFalse, rest
		}
		t := L.CreateTable(n, 0)
		for i := range n {
			var v lua.LValue
			v, rest = respToLua(L, rest)
			t.RawSetInt(i+1, v) // a RESP3 null leaves a hole, as in Redis
		}
		return t, rest
	case '_':
		return lua.LNil, rest
	case '#':
		return lua.LBool(line == "t"), rest
	case ',':
		t := L.NewTable()
		d, _ := strconv.ParseFloat(line, 64) // inf, -inf and nan included
		t.RawSetString("double", lua.LNumber(d))
		return t, rest
	case '(':
		t := L.NewTable()
		t.RawSetString("big_number", lua.LString(line))
		return t, rest
	case '=':
		n, _ := strconv.Atoi(line)
		body := string(rest[:n])
		v := L.NewTable()
		v.RawSetString("format", lua.LString(body[:min(3, len(body))]))
		v.RawSetString("string", lua.LString(body[min(4, len(body)):]))
		t := L.NewTable()
		t.RawSetString("verbatim_string", v)
		return t, rest[n+2:]
	case '%', '~':
		n, _ := strconv.Atoi(line)
		m := L.NewTable()
		for range n {
			var k, v lua.LValue = nil, lua.LTrue
			k, rest = respToLua(L, rest)
			if b[0] == '%' {
				v, rest = respToLua(L, rest)
			}
			if k != lua.LNil {
				m.RawSet(k, v)
			}
		}
		t := L.NewTable()
		if b[0] == '%' {
			t.RawSetString("map", m)
		} else {
			t.RawSetString("set", m)
		}
		return t, rest
	}
	return lua.LFalse, nil
}

// formatLuaNumber is Lua 5.1's tostring of a number ("%.14g").
func formatLuaNumber(f float64) string {
	switch {
	case math.IsInf(f, 1):
		return "inf"
	case math.IsInf(f, -1):
		return "-inf"
	case math.IsNaN(f):
		return "nan"
	}
	return strconv.FormatFloat(f, 'g', 14, 64)
}
