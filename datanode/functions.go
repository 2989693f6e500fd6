package datanode

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	lua "github.com/yuin/gopher-lua"
	"github.com/yuin/gopher-lua/parse"
)

// Redis 7 functions: libraries of Lua functions loaded by FUNCTION LOAD
// and called by FCALL. As in Redis, all libraries live in one Lua state
// (a library's top-level locals are shared by its functions and persist
// between calls), so one function runs at a time per DataNode; the state
// is guarded by functionEngine.vmMu. The library set is per DataNode, as
// each Redis Cluster node has its own: FUNCTION LOAD (or RESTORE) must be
// sent to every DataNode.
//
// Lock order: a call holds its keys' slots, then vmMu. A function that
// touches an undeclared key's slot only tries that slot's lock (never
// waits for it while holding vmMu), so a caller holding slots and waiting
// for vmMu cannot deadlock with the running function.

// functionLoadTimeout bounds the run of a library's top-level code, as
// Redis's LOAD_TIMEOUT_MS. FUNCTION RESTORE is bounded too (Redis is not).
const functionLoadTimeout = 500 * time.Millisecond

const (
	errFunctionNotFound  = "ERR Function not found"
	errLibraryNotFound   = "ERR Library not found"
	errBadNumkeys        = "ERR Bad number of keys provided"
	errWriteFlagRO       = "ERR Can not execute a script with write flag using *_ro command."
	errNoClusterFlag     = "ERR Can not run script on cluster, 'no-cluster' flag is set."
	errBusyFunction      = "BUSY Redis is busy running a script. You can only call FUNCTION KILL or SHUTDOWN NOSAVE."
	errBadFunctionName   = "Library names can only contain letters, numbers, or underscores(_) and must be at least one character long"
	errRegisterOnLoad    = "redis.register_function can only be called on FUNCTION LOAD command"
	errFunctionLoadTimed = "FUNCTION LOAD timeout"
)

// Script flags, of a function or an EVAL shebang.
const (
	scriptNoWrites uint8 = 1 << iota
	scriptAllowOOM
	scriptAllowStale
	scriptNoCluster
	scriptAllowCrossSlot
)

// luaFunction is a registered function.
type luaFunction struct {
	name    string
	desc    string
	hasDesc bool
	flags   uint8
	fn      *lua.LFunction
}

// functionLib is a loaded library: its name, code (shebang included) and
// functions in registration order.
type functionLib struct {
	name  string
	code  []byte
	funcs []*luaFunction
}

// libSet is a set of libraries and their functions by lower-case name
// (function names are case-insensitive, as Redis's).
type libSet struct {
	libs  map[string]*functionLib
	funcs map[string]*luaFunction
}

func newLibSet() *libSet {
	return &libSet{libs: map[string]*functionLib{}, funcs: map[string]*luaFunction{}}
}

// link adds lib to the set.
func (ls *libSet) link(lib *functionLib) {
	ls.libs[lib.name] = lib
	for _, f := range lib.funcs {
		if k := strings.ToLower(f.name); ls.funcs[k] == nil {
			ls.funcs[k] = f
		}
	}
}

// unlink removes lib from the set.
func (ls *libSet) unlink(lib *functionLib) {
	delete(ls.libs, lib.name)
	for _, f := range lib.funcs {
		if k := strings.ToLower(f.name); ls.funcs[k] == f {
			delete(ls.funcs, k)
		}
	}
}

// clashes returns the first of lib's functions whose name is taken in ls.
func (ls *libSet) clashes(lib *functionLib) string {
	for _, f := range lib.funcs {
		if ls.funcs[strings.ToLower(f.name)] != nil {
			return f.name
		}
	}
	return ""
}

// sorted returns the libraries by name.
func (ls *libSet) sorted() []*functionLib {
	out := make([]*functionLib, 0, len(ls.libs))
	for _, l := range ls.libs {
		out = append(out, l)
	}
	slices.SortFunc(out, func(a, b *functionLib) int { return strings.Compare(a.name, b.name) })
	return out
}

// functionEngine holds a DataNode's libraries and the Lua state their
// functions run in.
type functionEngine struct {
	mu  sync.RWMutex // guards set
	set *libSet

	vmMu    sync.Mutex             // the Lua state: one load or call at a time
	owner   atomic.Pointer[client] // the client whose function runs, under vmMu
	vm      *scriptVM
	fenv    *lua.LTable // the functions' globals: reads go to envMeta's __index
	envMeta *lua.LTable
	loadAPI *lua.LTable // what a library's top-level code sees
	loading *functionLib
}

// lookup returns the function named name (any case), or nil.
func (fe *functionEngine) lookup(name []byte) *luaFunction {
	fe.mu.RLock()
	defer fe.mu.RUnlock()
	if fe.set == nil {
		return nil
	}
	return fe.set.funcs[strings.ToLower(string(name))]
}

// current returns the library set, which the caller must not modify.
func (fe *functionEngine) current() *libSet {
	fe.mu.RLock()
	defer fe.mu.RUnlock()
	if fe.set == nil {
		return newLibSet()
	}
	return fe.set
}

// lockVM locks the Lua state, creating it on first use, and returns it.
func (fe *functionEngine) lockVM() *scriptVM {
	fe.vmMu.Lock()
	if fe.vm == nil {
		fe.initVM()
	}
	return fe.vm
}

func (fe *functionEngine) unlockVM() { fe.vmMu.Unlock() }

// initVM creates the Lua state: EVAL's sandbox and API, plus the globals
// table of functions, whose reads go to the full globals when a function
// runs and to the load API (redis.register_function, redis.log and the
// version) while a library loads, as Redis's function_lua.c switches them.
func (fe *functionEngine) initVM() {
	vm := newScriptVM()
	L := vm.L
	fe.vm = vm
	fe.fenv, fe.envMeta = L.NewTable(), L.NewTable()
	fe.envMeta.RawSetString("__index", L.G.Global)
	fe.envMeta.RawSetString("__newindex", L.NewFunction(func(L *lua.LState) int {
		L.RaiseError("Attempt to modify a readonly table")
		return 0
	}))
	L.SetMetatable(fe.fenv, fe.envMeta)

	redis := map[string]lua.LValue{
		"register_function": L.NewFunction(fe.registerFunction),
		"log":               L.NewFunction(luaLog),
		"REDIS_VERSION":     lua.LString(redisVersion),
		"REDIS_VERSION_NUM": lua.LNumber(redisVersionNum()),
	}
	for _, l := range scriptLogLevels {
		redis[l.name] = lua.LNumber(l.level)
	}
	fe.loadAPI = strictTable(L, map[string]lua.LValue{"redis": strictTable(L, redis)})
}

// redisVersionNum is redisVersion as Redis's REDIS_VERSION_NUM, 0x00MMmmpp.
func redisVersionNum() int {
	n, part := 0, 0
	for _, ch := range redisVersion + "." {
		if ch == '.' {
			n, part = n<<8|part, 0
			continue
		}
		part = part*10 + int(ch-'0')
	}
	return n
}

// strictTable returns a read-only table of fields whose missing fields are
// errors, as the tables Redis gives a library's top-level code.
func strictTable(L *lua.LState, fields map[string]lua.LValue) *lua.LTable {
	inner := L.NewTable()
	for k, v := range fields {
		inner.RawSetString(k, v)
	}
	proxy, mt := L.NewTable(), L.NewTable()
	mt.RawSetString("__index", L.NewFunction(func(L *lua.LState) int {
		v := inner.RawGet(L.Get(2))
		if v == lua.LNil {
			L.RaiseError("Script attempted to access nonexistent global variable '%s'", L.ToString(2))
		}
		L.Push(v)
		return 1
	}))
	mt.RawSetString("__newindex", L.NewFunction(func(L *lua.LState) int {
		L.RaiseError("Attempt to modify a readonly table")
		return 0
	}))
	L.SetMetatable(proxy, mt)
	return proxy
}

// libraryMeta is a library's shebang: its engine and name, and the code
// after the shebang (from its newline, so that line numbers count it).
type libraryMeta struct {
	engine, name string
	body         string
}

// parseLibraryMeta reads "#!<engine> name=<name>" as Redis's
// functionExtractLibMetaData, returning Redis's error text.
func parseLibraryMeta(code []byte) (libraryMeta, string) {
	src := string(code)
	if !strings.HasPrefix(src, "#!") {
		return libraryMeta{}, "Missing library metadata"
	}
	end := strings.IndexByte(src, '\n')
	if end < 0 {
		return libraryMeta{}, "Invalid library metadata"
	}
	parts := strings.Fields(src[:end])
	if len(parts) == 0 {
		return libraryMeta{}, "Invalid library metadata"
	}
	md := libraryMeta{engine: parts[0][2:], body: src[end:]}
	hasName := false
	for _, p := range parts[1:] {
		if len(p) >= 5 && strings.EqualFold(p[:5], "name=") {
			if hasName {
				return libraryMeta{}, "Invalid metadata value, name argument was given multiple times"
			}
			md.name, hasName = p[5:], true
			continue
		}
		return libraryMeta{}, "Invalid metadata value given: " + p
	}
	if !hasName {
		return libraryMeta{}, "Library name was not given"
	}
	return md, ""
}

// validFunctionName reports whether name is letters, digits and '_' only,
// and not empty (functionsVerifyName).
func validFunctionName(name string) bool {
	if name == "" {
		return false
	}
	for i := range len(name) {
		ch := name[i]
		if !('a' <= ch && ch <= 'z' || 'A' <= ch && ch <= 'Z' || '0' <= ch && ch <= '9' || ch == '_') {
			return false
		}
	}
	return true
}

// create compiles code and runs its top-level code, which registers the
// library's functions, as Redis's functionsCreateWithLibraryCtx, into ls:
// an existing library of the name is replaced if replace is set. It
// returns the library's name, or Redis's error text (without "ERR ").
// The caller holds vmMu and owns ls.
func (fe *functionEngine) create(ls *libSet, code []byte, replace bool) (string, string) {
	md, msg := parseLibraryMeta(code)
	if msg != "" {
		return "", msg
	}
	if !validFunctionName(md.name) {
		return "", errBadFunctionName
	}
	if !strings.EqualFold(md.engine, "lua") {
		return "", "Engine '" + md.engine + "' not found"
	}
	old := ls.libs[md.name]
	if old != nil && !replace {
		return "", "Library '" + md.name + "' already exists"
	}
	lib := &functionLib{name: md.name, code: slices.Clone(code)}
	if msg := fe.runLoad(lib, md.body); msg != "" {
		return "", msg
	}
	if len(lib.funcs) == 0 {
		return "", "No functions registered"
	}
	if old != nil {
		ls.unlink(old)
	}
	if name := ls.clashes(lib); name != "" {
		if old != nil {
			ls.link(old)
		}
		return "", "Function " + name + " already exists"
	}
	ls.link(lib)
	return lib.name, ""
}

// runLoad compiles body and runs it with the load API as its globals,
// registering lib's functions. It returns Redis's error text, if any.
func (fe *functionEngine) runLoad(lib *functionLib, body string) string {
	chunk, err := parse.Parse(strings.NewReader(body), "user_function")
	var proto *lua.FunctionProto
	if err == nil {
		proto, err = lua.Compile(chunk, "user_function")
	}
	if err != nil {
		return "Error compiling function: " + compileErrorText(err)
	}
	L := fe.vm.L
	fn := L.NewFunctionFromProto(proto)
	fn.Env = fe.fenv
	fe.envMeta.RawSetString("__index", fe.loadAPI)
	fe.loading = lib
	ctx, cancel := context.WithTimeout(context.Background(), functionLoadTimeout)
	L.SetContext(ctx)
	defer func() {
		L.RemoveContext()
		cancel()
		fe.loading = nil
		fe.envMeta.RawSetString("__index", L.G.Global)
	}()
	L.Push(fn)
	if err := L.PCall(0, 0, nil); err != nil {
		return "Error registering functions: " + loadErrorText(err, ctx)
	}
	return ""
}

// loadErrorText is the message of an error a library's top-level code
// raised: an error table's err field, else "ERR " and the message.
func loadErrorText(err error, ctx context.Context) string {
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return "ERR " + errFunctionLoadTimed
	}
	var apiErr *lua.ApiError
	if errors.As(err, &apiErr) {
		if t, ok := apiErr.Object.(*lua.LTable); ok {
			if e, ok := t.RawGetString("err").(lua.LString); ok {
				return oneLine(string(e))
			}
		}
		return oneLine("ERR " + luaErrorText(luaToString(apiErr.Object)))
	}
	return oneLine("ERR " + err.Error())
}

// registerFunction is redis.register_function, in its positional form
// (name, callback) and its named form ({function_name=, callback=,
// flags=, description=}), with Redis's error texts.
func (fe *functionEngine) registerFunction(L *lua.LState) int {
	lib := fe.loading
	if lib == nil {
		raiseRedisError(L, errRegisterOnLoad)
	}
	var f *luaFunction
	var msg string
	switch L.GetTop() {
	case 1:
		f, msg = namedRegisterArgs(L)
	case 2:
		f, msg = positionalRegisterArgs(L)
	default:
		msg = "wrong number of arguments to redis.register_function"
	}
	if msg == "" && !validFunctionName(f.name) {
		msg = errBadFunctionName
	}
	if msg == "" && slices.ContainsFunc(lib.funcs, func(g *luaFunction) bool { return g.name == f.name }) {
		msg = "Function already exists in the library"
	}
	if msg != "" {
		raiseRedisError(L, msg)
	}
	lib.funcs = append(lib.funcs, f)
	return 0
}

// luaStringArg returns v as Lua's lua_tostring would for a string or a
// number, and whether it is one.
func luaStringArg(v lua.LValue) (string, bool) {
	switch v := v.(type) {
	case lua.LString:
		return string(v), true
	case lua.LNumber:
		return luaToString(v), true
	}
	return "", false
}

func positionalRegisterArgs(L *lua.LState) (*luaFunction, string) {
	name, ok := luaStringArg(L.Get(1))
	if !ok {
		return nil, "first argument to redis.register_function must be a string"
	}
	fn, ok := L.Get(2).(*lua.LFunction)
	if !ok {
		return nil, "second argument to redis.register_function must be a function"
	}
	return &luaFunction{name: name, fn: fn}, ""
}

func namedRegisterArgs(L *lua.LState) (*luaFunction, string) {
	t, ok := L.Get(1).(*lua.LTable)
	if !ok {
		return nil, "calling redis.register_function with a single argument is only applicable to Lua table (representing named arguments)."
	}
	f := &luaFunction{}
	hasName := false
	var msg string
	t.ForEach(func(k, v lua.LValue) {
		if msg != "" {
			return
		}
		key, ok := luaStringArg(k)
		if !ok {
			msg = "named argument key given to redis.register_function is not a string"
			return
		}
		switch strings.ToLower(key) {
		case "function_name":
			if f.name, hasName = luaStringArg(v); !hasName {
				msg = "function_name argument given to redis.register_function must be a string"
			}
		case "description":
			if f.desc, f.hasDesc = luaStringArg(v); !f.hasDesc {
				msg = "description argument given to redis.register_function must be a string"
			}
		case "callback":
			if f.fn, ok = v.(*lua.LFunction); !ok {
				msg = "callback argument given to redis.register_function must be a function"
			}
		case "flags":
			ft, ok := v.(*lua.LTable)
			if !ok {
				msg = "flags argument to redis.register_function must be a table representing function flags"
				return
			}
			if f.flags, ok = functionFlags(ft); !ok {
				msg = "unknown flag given"
			}
		default:
			msg = "unknown argument given to redis.register_function"
		}
	})
	switch {
	case msg != "":
		return nil, msg
	case !hasName:
		return nil, "redis.register_function must get a function name argument"
	case f.fn == nil:
		return nil, "redis.register_function must get a callback argument"
	}
	return f, ""
}

// functionFlags reads the array of flag names t, in any case.
func functionFlags(t *lua.LTable) (uint8, bool) {
	var flags uint8
	for i := 1; ; i++ {
		v := t.RawGetInt(i)
		if v == lua.LNil {
			return flags, true
		}
		s, ok := luaStringArg(v)
		if !ok {
			return 0, false
		}
		j := slices.IndexFunc(scriptFlagNames, func(n string) bool { return strings.EqualFold(n, s) })
		if j < 0 {
			return 0, false
		}
		flags |= 1 << j
	}
}

// load is FUNCTION LOAD: it returns the library's name or the error reply.
func (fe *functionEngine) load(code []byte, replace bool) (string, string) {
	fe.lockVM()
	defer fe.unlockVM()
	ls := fe.cloneSet()
	name, msg := fe.create(ls, code, replace)
	if msg != "" {
		return "", "ERR " + msg
	}
	fe.swap(ls)
	return name, ""
}

// cloneSet returns a copy of the current set, to change and swap in.
func (fe *functionEngine) cloneSet() *libSet {
	cur := fe.current()
	ls := newLibSet()
	for _, l := range cur.libs {
		ls.link(l)
	}
	return ls
}

// swap makes ls the current set.
func (fe *functionEngine) swap(ls *libSet) {
	fe.mu.Lock()
	fe.set = ls
	fe.mu.Unlock()
}

// deleteLib is FUNCTION DELETE; it reports whether the library existed.
func (fe *functionEngine) deleteLib(name string) bool {
	fe.vmMu.Lock()
	defer fe.vmMu.Unlock()
	ls := fe.cloneSet()
	lib := ls.libs[name]
	if lib == nil {
		return false
	}
	ls.unlink(lib)
	fe.swap(ls)
	return true
}

// flush is FUNCTION FLUSH: every library is dropped. The Lua state is
// kept (a function looked up before the flush may still be about to run
// in it); the dropped functions are garbage once no call runs them.
func (fe *functionEngine) flush() {
	fe.vmMu.Lock()
	defer fe.vmMu.Unlock()
	fe.swap(newLibSet())
}

// Restore policies of FUNCTION RESTORE.
const (
	restoreAppend = iota
	restoreReplace
	restoreFlush
)

// restore is FUNCTION RESTORE of the libraries' codes: loaded into a new
// set, then swapped in (FLUSH) or joined to the current one, atomically.
// It returns the error reply, if any.
func (fe *functionEngine) restore(codes [][]byte, policy int) string {
	fe.lockVM()
	defer fe.unlockVM()
	fresh := newLibSet()
	for _, code := range codes {
		if _, msg := fe.create(fresh, code, false); msg != "" {
			return "ERR " + msg
		}
	}
	if policy == restoreFlush {
		fe.swap(fresh)
		return ""
	}
	ls := fe.cloneSet()
	libs := fresh.sorted()
	for _, lib := range libs {
		if old := ls.libs[lib.name]; old != nil {
			if policy != restoreReplace {
				return "ERR Library " + lib.name + " already exists"
			}
			ls.unlink(old)
		}
	}
	for _, lib := range libs {
		if name := ls.clashes(lib); name != "" {
			return "ERR Function " + name + " already exists"
		}
	}
	for _, lib := range libs {
		ls.link(lib)
	}
	fe.swap(ls)
	return ""
}
