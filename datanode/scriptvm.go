package datanode

import (
	"crypto/sha1"
	"encoding/hex"
	"sync"

	lua "github.com/yuin/gopher-lua"
)

// scriptVM is one Lua state with Redis's sandbox and API, reused across
// script runs (a pool of them serves the scripts running at once on
// different slots). run is the script it is running, which the redis.*
// functions act for.
type scriptVM struct {
	L       *lua.LState
	run     *scriptRun
	handler *lua.LFunction // the error handler, adding the script's position
}

// vmPool holds idle scriptVMs.
var vmPool = sync.Pool{New: func() any { return newScriptVM() }}

// Redis's log levels, redis.LOG_*.
var scriptLogLevels = []struct {
	name  string
	level int
}{{"LOG_DEBUG", 0}, {"LOG_VERBOSE", 1}, {"LOG_NOTICE", 2}, {"LOG_WARNING", 3}}

// newScriptVM returns a Lua state with the libraries Redis loads (base
// without the file loaders, table, string, math, cjson, bit, cmsgpack,
// struct), the redis table, and Redis 7's protection of globals.
func newScriptVM() *scriptVM {
	vm := &scriptVM{}
	L := lua.NewState(lua.Options{SkipOpenLibs: true, RegistrySize: lua.RegistrySize, RegistryMaxSize: maxLuaRegistry})
	vm.L = L
	for _, lib := range []struct {
		name string
		open lua.LGFunction
	}{{lua.BaseLibName, lua.OpenBase}, {lua.TabLibName, lua.OpenTable}, {lua.StringLibName, lua.OpenString}, {lua.MathLibName, lua.OpenMath}} {
		L.Push(L.NewFunction(lib.open))
		L.Push(lua.LString(lib.name))
		L.Call(1, 0)
	}
	g := L.G.Global
	g.RawSetString("unpack", L.NewFunction(luaUnpack))
	str := g.RawGetString(lua.StringLibName).(*lua.LTable)
	stringByte := str.RawGetString("byte").(*lua.LFunction)
	str.RawSetString("byte", L.NewFunction(func(L *lua.LState) int { return luaStringByte(L, stringByte) }))
	for _, name := range []string{"loadfile", "dofile", "load", "loadstring", "module", "require", "_printregs", "newproxy", "print", "getfenv", "setfenv"} {
		g.RawSetString(name, lua.LNil)
	}
	redis := L.NewTable()
	L.SetFuncs(redis, map[string]lua.LGFunction{
		"call":         func(L *lua.LState) int { return vm.call(L, true) },
		"pcall":        func(L *lua.LState) int { return vm.call(L, false) },
		"error_reply":  luaErrorReply,
		"status_reply": luaStatusReply,
		"sha1hex":      luaSHA1Hex,
		"log":          luaLog,
		"setresp":      vm.setResp,
		"set_repl":     func(*lua.LState) int { return 0 },
		"replicate_commands": func(L *lua.LState) int {
			L.Push(lua.LTrue)
			return 1
		},
		"breakpoint": func(L *lua.LState) int { L.Push(lua.LFalse); return 1 },
		"debug":      func(*lua.LState) int { return 0 },
	})
	for _, l := range scriptLogLevels {
		redis.RawSetString(l.name, lua.LNumber(l.level))
	}
	redis.RawSetString("REDIS_VERSION", lua.LString(redisVersion))
	redis.RawSetString("REDIS_VERSION_NUM", lua.LNumber(redisVersionNum()))
	for i, name := range []string{"REPL_NONE", "REPL_AOF", "REPL_SLAVE", "REPL_REPLICA", "REPL_ALL"} {
		redis.RawSetString(name, lua.LNumber([]int{0, 1, 2, 2, 3}[i]))
	}
	g.RawSetString("error", L.NewFunction(luaError))
	g.RawSetString("tostring", L.NewFunction(luaToStringFunc))
	g.RawSetString("pcall", L.NewFunction(vm.pcall))
	for _, lib := range []struct {
		name string
		t    *lua.LTable
	}{{"redis", redis}, {"cjson", newCJSON(L)}, {"bit", newBitLib(L)}, {"cmsgpack", newCMsgpack(L)}, {"struct", newStructLib(L)}} {
		g.RawSetString(lib.name, lib.t)
	}
	for _, name := range []string{"redis", "cjson", "bit", "cmsgpack", "struct", lua.StringLibName, lua.TabLibName, lua.MathLibName} {
		g.RawSetString(name, readOnlyTable(L, g.RawGetString(name).(*lua.LTable)))
	}
	vm.handler = L.NewFunction(vm.errorHandler)
	protectGlobals(L)
	return vm
}

// Lua 5.1 bounds the values a C function returns at once by its C stack
// (LUAI_MAXCSTACK, 8000 slots); gopher-lua's stack is its registry, which
// may grow to maxLuaRegistry slots. unpack and string.byte check their
// result counts as Lua 5.1's do, so no script overflows it.
const (
	maxLuaResults  = 8000
	maxLuaRegistry = 64 * 1024
)

// luaUnpack is Lua 5.1's unpack, refusing maxLuaResults results or more.
func luaUnpack(L *lua.LState) int {
	t := L.CheckTable(1)
	i := L.OptInt(2, 1)
	e := L.OptInt(3, t.Len())
	if i > e {
		return 0
	}
	if n := int64(e) - int64(i) + 1; n >= maxLuaResults {
		L.RaiseError("too many results to unpack")
	}
	for j := i; j <= e; j++ {
		L.Push(t.RawGetInt(j))
	}
	return e - i + 1
}

// luaStringByte is string.byte (gopher-lua's, orig), refusing slices
// longer than Lua 5.1's stack allows.
func luaStringByte(L *lua.LState, orig *lua.LFunction) int {
	s := L.CheckString(1)
	i := L.OptInt(2, 1)
	j := L.OptInt(3, i)
	l := len(s)
	if i < 0 {
		i += l + 1
	}
	if j < 0 {
		j += l + 1
	}
	i, j = max(i, 1), min(j, l)
	if i <= j && j-i+1 >= maxLuaResults {
		L.RaiseError("stack overflow (string slice too long)")
	}
	return orig.GFunction(L)
}

// readOnlyTable returns a proxy of t whose fields cannot be set, as
// Redis 7 makes its libraries' tables read-only.
func readOnlyTable(L *lua.LState, t *lua.LTable) *lua.LTable {
	proxy, mt := L.NewTable(), L.NewTable()
	mt.RawSetString("__index", t)
	mt.RawSetString("__newindex", L.NewFunction(func(L *lua.LState) int {
		L.RaiseError("Attempt to modify a readonly table")
		return 0
	}))
	L.SetMetatable(proxy, mt)
	return proxy
}

// raiseRedisError raises Redis's error table for msg, without a position
// in the message, as the C functions of Redis's Lua API do (luaError).
func raiseRedisError(L *lua.LState, msg string) {
	L.Error(errorTable(L, msg), 1)
}

// pcall is Redis 7's pcall: an error table raised by redis.call (or any
// {err=...} table) is returned as its message string. A killed script's
// error is raised again, so that pcall cannot catch SCRIPT KILL.
func (vm *scriptVM) pcall(L *lua.LState) int {
	top := L.GetTop()
	if top == 0 {
		L.ArgError(1, "value expected")
	}
	if err := L.PCall(top-1, lua.MultRet, nil); err != nil {
		var v lua.LValue = lua.LString(err.Error())
		if apiErr, ok := err.(*lua.ApiError); ok {
			v = apiErr.Object
		}
		if vm.run != nil && vm.run.killed.Load() {
			L.Error(v, 0)
		}
		if t, ok := v.(*lua.LTable); ok {
			if e, ok := t.RawGetString("err").(lua.LString); ok {
				v = e
			}
		}
		L.Push(lua.LFalse)
		L.Push(v)
		return 2
	}
	L.Insert(lua.LTrue, 1)
	return L.GetTop()
}

// protectGlobals makes reading an undefined global and writing any global
// errors, as Redis 7 does once its libraries are loaded.
func protectGlobals(L *lua.LState) {
	mt := L.NewTable()
	mt.RawSetString("__index", L.NewFunction(func(L *lua.LState) int {
		L.RaiseError("Script attempted to access nonexistent global variable '%s'", L.ToString(2))
		return 0
	}))
	mt.RawSetString("__newindex", L.NewFunction(func(L *lua.LState) int {
		L.RaiseError("Attempt to modify a readonly table")
		return 0
	}))
	L.SetMetatable(L.G.Global, mt)
}

// errorHandler turns the error a script raised into Redis's error table,
// {err=..., source=..., line=...}, the position being the innermost Lua
// function's, as Redis's __redis__err__handler does.
func (vm *scriptVM) errorHandler(L *lua.LState) int {
	v := L.Get(1)
	t, ok := v.(*lua.LTable)
	if !ok {
		t = L.NewTable()
		t.RawSetString("err", lua.LString("ERR "+luaErrorText(luaToString(v))))
	}
	for level := 0; ; level++ {
		dbg, ok := L.GetStack(level)
		if !ok {
			break
		}
		if _, err := L.GetInfo("Sl", dbg, nil); err != nil || dbg.What == "G" || dbg.CurrentLine < 0 {
			continue
		}
		t.RawSetString("source", lua.LString("@"+dbg.Source))
		t.RawSetString("line", lua.LNumber(dbg.CurrentLine))
		break
	}
	L.Push(t)
	return 1
}

// luaError is Lua 5.1's error: a number message gets the position too,
// which gopher-lua adds to strings only.
func luaError(L *lua.LState) int {
	v := L.Get(1)
	if v == lua.LNil {
		L.Error(lua.LString("nil"), 0) // gopher-lua cannot raise nil itself
	}
	if n, ok := v.(lua.LNumber); ok {
		v = lua.LString(formatLuaNumber(float64(n)))
	}
	L.Error(v, L.OptInt(2, 1))
	return 0
}

// luaToStringFunc is Lua 5.1's tostring, numbers formatted with "%.14g".
func luaToStringFunc(L *lua.LState) int {
	v := L.CheckAny(1)
	if n, ok := v.(lua.LNumber); ok {
		L.Push(lua.LString(formatLuaNumber(float64(n))))
		return 1
	}
	if mt := L.GetMetaField(v, "__tostring"); mt != lua.LNil {
		L.Push(mt)
		L.Push(v)
		L.Call(1, 1)
		return 1
	}
	L.Push(lua.LString(v.String()))
	return 1
}

// luaToString is Lua's tostring of v.
func luaToString(v lua.LValue) string {
	if n, ok := v.(lua.LNumber); ok {
		return formatLuaNumber(float64(n))
	}
	return v.String()
}

// errorTable returns Redis's Lua error table for an error reply text,
// "-CODE msg" or "msg" (luaPushErrorBuff): {err="CODE msg"}, ERR being
// the code of a message without one.
func errorTable(L *lua.LState, msg string) *lua.LTable {
	code, text := "ERR", msg
	if len(msg) > 0 && msg[0] == '-' {
		if sp := indexByte(msg, ' '); sp < 0 {
			text = msg[1:]
		} else {
			code, text = msg[1:sp], msg[sp+1:]
		}
	}
	for len(text) > 0 && (text[len(text)-1] == '\n' || text[len(text)-1] == '\r') {
		text = text[:len(text)-1]
	}
	t := L.NewTable()
	t.RawSetString("err", lua.LString(code+" "+text))
	return t
}

// indexByte is strings.IndexByte without the import.
func indexByte(s string, b byte) int {
	for i := range len(s) {
		if s[i] == b {
			return i
		}
	}
	return -1
}

// luaErrorReply is redis.error_reply(msg).
func luaErrorReply(L *lua.LState) int {
	if L.GetTop() != 1 || L.Get(1).Type() != lua.LTString {
		L.Push(errorTable(L, "wrong number or type of arguments"))
		return 1
	}
	msg := L.ToString(1)
	if len(msg) == 0 || msg[0] != '-' {
		msg = "-" + msg
	}
	L.Push(errorTable(L, msg))
	return 1
}

// luaStatusReply is redis.status_reply(msg).
func luaStatusReply(L *lua.LState) int {
	if L.GetTop() != 1 || L.Get(1).Type() != lua.LTString {
		L.Push(errorTable(L, "wrong number or type of arguments"))
		return 1
	}
	t := L.NewTable()
	t.RawSetString("ok", L.Get(1))
	L.Push(t)
	return 1
}

// luaSHA1Hex is redis.sha1hex(s).
func luaSHA1Hex(L *lua.LState) int {
	if L.GetTop() != 1 {
		raiseRedisError(L, "wrong number of arguments")
	}
	sum := sha1.Sum([]byte(luaToString(L.Get(1))))
	L.Push(lua.LString(hex.EncodeToString(sum[:])))
	return 1
}

// luaLog is redis.log(level, msg...): checked and dropped, the DataNode
// having no Redis log file.
func luaLog(L *lua.LState) int {
	if L.GetTop() < 2 {
		raiseRedisError(L, "redis.log() requires two arguments or more.")
	}
	n, ok := L.Get(1).(lua.LNumber)
	if !ok {
		raiseRedisError(L, "First argument must be a number (log level).")
	}
	if n < 0 || n > 3 {
		raiseRedisError(L, "Invalid debug level.")
	}
	return 0
}

// setResp is redis.setresp(n): the protocol in which redis.call's replies
// reach the script, RESP2 at each script's start.
func (vm *scriptVM) setResp(L *lua.LState) int {
	if L.GetTop() != 1 {
		raiseRedisError(L, "redis.setresp() requires one argument.")
	}
	n, ok := L.Get(1).(lua.LNumber)
	if !ok || n != 2 && n != 3 {
		raiseRedisError(L, "RESP version must be 2 or 3.")
	}
	if vm.run != nil {
		vm.run.resp3 = n == 3
	}
	return 0
}
