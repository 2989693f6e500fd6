package datanode

import (
	"math"
	"strconv"

	lua "github.com/yuin/gopher-lua"
)

// Conversions between RESP2 replies and Lua values, as Redis 7.0's
// script_lua.c does them.

// maxLuaReplyDepth bounds the nesting of a script's reply (a table may
// contain itself).
const maxLuaReplyDepth = 1000

// replyLua writes the script's result v as Redis's luaReplyToRedisReply:
// a string is a bulk string, a number an integer (truncated), true 1 and
// false a nil bulk; a table with a string err field is an error, with a
// string ok field a status, otherwise an array of its elements up to the
// first nil; anything else is a nil bulk.
func (c *client) replyLua(v lua.LValue, depth int) {
	switch v := v.(type) {
	case lua.LString:
		c.replyBulkString(string(v))
	case lua.LNumber:
		c.replyInt(luaInteger(float64(v)))
	case lua.LBool:
		if v {
			c.replyInt(1)
		} else {
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
		n := 0
		for v.RawGetInt(n+1) != lua.LNil {
			n++
		}
		c.replyArray(n)
		for i := 1; i <= n; i++ {
			c.replyLua(v.RawGetInt(i), depth+1)
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

// respToLua converts the RESP2 reply at the start of b as Redis's
// redisProtocolToLuaType: an integer is a number, a bulk string a string
// and a nil bulk or array false, a status {ok=...}, an error {err=...},
// an array a table. It returns the rest of b.
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
		for range n {
			var v lua.LValue
			v, rest = respToLua(L, rest)
			t.Append(v)
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
