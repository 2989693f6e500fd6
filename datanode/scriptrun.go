package datanode

import (
	"context"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	lua "github.com/yuin/gopher-lua"

	"github.com/chkv/chkv/common/slot"
)

// Running a script. A script runs atomically: it holds the slots of its
// declared KEYS locked (every slot, standalone, when it declares none)
// for its whole run, as EXEC holds its transaction's (txlock.go), and the
// commands it calls lock through c.lock, which skips them. Inside EXEC the
// transaction holds every slot for a script (see wholeKeyspace).
//
// A key the script did not declare: in cluster mode it is refused with
// Redis Cluster's error for a non-local key. Standalone, its slot is added
// to the held ones for the rest of the run (extendHeld): waiting for it
// if it is above every held slot, which keeps every wait in ascending
// slot order as EXEC's and multi-key commands' are, so no deadlock;
// otherwise only if it is free at once, and the command is refused when
// another client holds it (errUndeclaredBusy). A command on the whole
// keyspace (KEYS, SCAN, FLUSHALL...) needs every slot held, so a script
// that declared keys may not call one.

const (
	errNonLocalKey     = "Script attempted to access a non local key in a cluster node"
	errScriptKilled    = "ERR Script killed by user with SCRIPT KILL..."
	errUnknownFromLua  = "Unknown Redis command called from script"
	errArityFromLua    = "Wrong number of args calling Redis command from script"
	errNoScriptFromLua = "This Redis command is not allowed from script"
	errWriteFromRO     = "Write commands are not allowed from read-only scripts."
	errLuaArgType      = "Lua redis lib command arguments must be strings or integers"
	errLuaNoArgs       = "Please specify at least one argument for this redis lib call"
	errUndeclaredBusy  = "Script attempted to access a key not declared in KEYS whose slot another client holds; declare the key in KEYS"
)

// scriptRun is one run of a script.
type scriptRun struct {
	sha        string             // EVAL's script, or
	proto      *lua.FunctionProto // (EVAL)
	fn         *luaFunction       // FCALL's function
	args       [][]byte           // the calling command, for FUNCTION STATS
	keys, argv [][]byte
	readOnly   bool // EVAL_RO, EVALSHA_RO, flags=no-writes: write commands are refused
	// resp3 is redis.setresp(3): redis.call's replies are read in RESP3,
	// and the script's booleans reply as RESP3 booleans.
	resp3 bool

	c      *client
	start  time.Time
	wrote  atomic.Bool // a write command ran: SCRIPT KILL answers UNKILLABLE
	killed atomic.Bool
	cancel context.CancelFunc
	// callErrors are the error tables redis.call and redis.pcall made of
	// error replies: such an error, returned or raised by the script, was
	// counted in INFO errorstats when its command ran, and is not counted
	// again as the script's reply (Redis's ERR_REPLY_FLAG_NO_STATS_UPDATE).
	callErrors map[*lua.LTable]struct{}
}

// runScript runs r for c and writes its reply.
func (c *client) runScript(r *scriptRun) {
	if c.held == nil {
		c.holdScriptSlots(r.keys)
		defer c.releaseSlots()
	}
	var vm *scriptVM
	if r.fn != nil {
		vm = c.srv.functions.lockVM()
		defer c.srv.functions.unlockVM()
		c.srv.functions.owner.Store(c)
		defer c.srv.functions.owner.Store(nil)
	} else {
		vm = vmPool.Get().(*scriptVM)
		defer vmPool.Put(vm)
	}
	L := vm.L
	ctx, cancel := context.WithCancel(context.Background())
	r.c, r.start, r.cancel = c, time.Now(), cancel
	c.srv.scriptRuns.add(r)
	defer c.srv.scriptRuns.remove(r)
	defer cancel()
	L.SetContext(ctx)
	defer L.RemoveContext()
	vm.run = r
	defer func() { vm.run = nil }()
	nargs := 0
	if r.fn != nil {
		L.Push(r.fn.fn)
		L.Push(luaStrings(L, r.keys))
		L.Push(luaStrings(L, r.argv))
		nargs = 2
	} else {
		g := L.G.Global
		g.RawSetString("KEYS", luaStrings(L, r.keys))
		g.RawSetString("ARGV", luaStrings(L, r.argv))
		L.Push(L.NewFunctionFromProto(r.proto))
	}
	err := L.PCall(nargs, 1, vm.handler)
	if err != nil {
		if apiErr, ok := err.(*lua.ApiError); ok {
			c.errorCounted = r.isCallError(apiErr.Object)
		}
		c.replyScriptError(r, err)
		return
	}
	v := L.Get(-1)
	L.Pop(1)
	c.errorCounted = r.isCallError(v)
	c.replyLua(v, 0, r.resp3)
}

// isCallError reports whether v is an error table made by redis.call or
// redis.pcall from a command's error reply.
func (r *scriptRun) isCallError(v lua.LValue) bool {
	t, ok := v.(*lua.LTable)
	if !ok {
		return false
	}
	_, found := r.callErrors[t]
	return found
}

// luaStrings returns ss as a Lua array of strings.
func luaStrings(L *lua.LState, ss [][]byte) *lua.LTable {
	t := L.CreateTable(len(ss), 0)
	for _, s := range ss {
		t.Append(lua.LString(s))
	}
	return t
}

// holdScriptSlots locks the slots of keys, ascending, or every slot for a
// standalone script without keys, and records them in c.held.
func (c *client) holdScriptSlots(keys [][]byte) {
	h := &c.heldBuf
	h.all, h.ids = len(keys) == 0 && c.srv.member == nil, h.ids[:0]
	if !h.all {
		for _, k := range keys {
			h.ids = append(h.ids, slot.Of(k))
		}
	}
	c.lockHeld(h)
}

// extendHeld adds slot id, not held, to the held slots of a standalone
// script, locking it: waiting if it is above every held slot, else only
// if it is free. A function never waits: it holds the functions' Lua
// state, which a client holding that slot may be waiting for. It reports
// whether the slot is held now.
func (c *client) extendHeld(id int) bool {
	h := c.held
	sl := c.srv.store.Slot(id)
	tryOnly := c.srv.functions.owner.Load() == c
	if !tryOnly && (len(h.ids) == 0 || id > h.ids[len(h.ids)-1]) {
		sl.Lock()
	} else if !sl.TryLock() {
		return false
	}
	i, _ := slices.BinarySearch(h.ids, id)
	h.ids = slices.Insert(h.ids, i, id)
	return true
}

// hasID reports whether slot id is held.
func (h *heldSlots) hasID(id int) bool {
	if h.all {
		return true
	}
	_, ok := slices.BinarySearch(h.ids, id)
	return ok
}

// replyScriptError answers a script that raised err, as Redis's
// luaCallFunction: the error table's message, then the script and the
// position it was raised at.
func (c *client) replyScriptError(r *scriptRun, err error) {
	apiErr, ok := err.(*lua.ApiError)
	t, isTable := (*lua.LTable)(nil), false
	if ok {
		t, isTable = apiErr.Object.(*lua.LTable)
	}
	name, source := r.sha, "@user_script"
	if r.fn != nil {
		name, source = r.fn.name, "@user_function"
	}
	if r.killed.Load() {
		line := "1"
		if isTable && t.RawGetString("line") != lua.LNil {
			line = luaToString(t.RawGetString("line"))
		}
		c.replyError(errScriptKilled + " script: " + name + ", on " + source + ":" + line + ".")
		return
	}
	if !isTable {
		msg := err.Error()
		if ok {
			msg = luaToString(apiErr.Object)
		}
		if r.fn == nil {
			name = "f_" + name
		}
		c.replyError(oneLine("ERR Error running script " + name + ", " + truncate(msg, 100)))
		return
	}
	msg := luaToString(t.RawGetString("err"))
	src, line := t.RawGetString("source"), t.RawGetString("line")
	if src != lua.LNil && line != lua.LNil {
		msg += " script: " + name + ", on " + luaToString(src) + ":" + luaToString(line) + "."
	}
	c.replyError(oneLine(msg))
}

// truncate returns s cut to at most n bytes.
func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

// oneLine replaces the line breaks of an error message with spaces.
func oneLine(s string) string {
	if strings.ContainsAny(s, "\r\n") {
		s = strings.NewReplacer("\r", " ", "\n", " ").Replace(s)
	}
	return s
}

// call is redis.call (raise true) and redis.pcall: it runs a command
// through the command table and returns its reply converted to Lua; an
// error is raised by redis.call and returned as an error table by pcall.
func (vm *scriptVM) call(L *lua.LState, raise bool) int {
	fail := func(msg string) int {
		t := errorTable(L, msg)
		if raise {
			L.Error(t, 1)
		}
		L.Push(t)
		return 1
	}
	argc := L.GetTop()
	if argc == 0 {
		return fail(errLuaNoArgs)
	}
	args := make([][]byte, argc)
	for i := range argc {
		switch v := L.Get(i + 1).(type) {
		case lua.LString:
			args[i] = []byte(v)
		case lua.LNumber:
			args[i] = strconv.AppendFloat(nil, float64(v), 'g', 17, 64)
		default:
			return fail(errLuaArgType)
		}
	}
	r := vm.run
	c := r.c
	reply, msg := c.scriptCommand(r, args)
	if msg != "" {
		return fail(msg)
	}
	v, _ := respToLua(L, reply)
	if t, ok := v.(*lua.LTable); ok && len(reply) > 0 && reply[0] == '-' {
		if r.callErrors == nil {
			r.callErrors = make(map[*lua.LTable]struct{})
		}
		r.callErrors[t] = struct{}{}
	}
	if raise {
		if t, ok := v.(*lua.LTable); ok && t.RawGetString("err") != lua.LNil {
			L.Error(t, 1)
		}
	}
	L.Push(v)
	return 1
}

// scriptCommand runs args, called by the script r, and returns the reply's
// bytes (valid until c's next reply), or why the script may not run it.
func (c *client) scriptCommand(r *scriptRun, args [][]byte) ([]byte, string) {
	s := c.srv
	cmd := s.lookup(args[0])
	switch {
	case cmd == nil:
		return nil, errUnknownFromLua
	case !cmd.arityOK(len(args)):
		return nil, errArityFromLua
	case cmd.flags&flagNoScript != 0:
		return nil, errNoScriptFromLua
	}
	if cmd.subcommands != nil {
		if sub := cmd.subcommand(args[1]); sub != nil && sub.flags&flagNoScript != 0 {
			return nil, errNoScriptFromLua
		}
	}
	if cmd.flags&flagDenyOOM != 0 {
		if st := s.settings.Load(); st.MaxMemory > 0 && !s.freeMemory(st) {
			return nil, "-" + errOOM
		}
	}
	if cmd.flags&flagWrite != 0 {
		if r.readOnly {
			return nil, errWriteFromRO
		}
		r.wrote.Store(true)
	}
	if cmd.keySpecs == nil && cmd.wholeKeyspace() && !c.held.all {
		return nil, errNonLocalKey
	}
	for _, i := range cmd.callKeys(args) {
		if id := slot.Of(args[i]); !c.held.hasID(id) {
			if s.member != nil {
				return nil, errNonLocalKey
			}
			if !c.extendHeld(id) {
				return nil, errUndeclaredBusy
			}
		}
	}
	mark := len(c.out)
	// The script reads replies in the protocol it chose (redis.setresp),
	// whatever the client speaks.
	resp3 := c.resp3
	c.resp3 = r.resp3
	c.inScript = true
	s.call(c, cmd, &s.cmdStats.stats[cmd.id], args)
	c.inScript = false
	c.resp3 = resp3
	reply := slices.Clone(c.out[mark:])
	c.out = c.out[:mark]
	return reply, ""
}

// scriptRuns are the scripts running now, for BUSY and SCRIPT KILL.
type scriptRuns struct {
	n    atomic.Int32 // len(runs), read without the lock
	mu   sync.Mutex
	runs map[*scriptRun]struct{}
}

func (sr *scriptRuns) add(r *scriptRun) {
	sr.mu.Lock()
	if sr.runs == nil {
		sr.runs = make(map[*scriptRun]struct{})
	}
	sr.runs[r] = struct{}{}
	sr.n.Store(int32(len(sr.runs)))
	sr.mu.Unlock()
}

func (sr *scriptRuns) remove(r *scriptRun) {
	sr.mu.Lock()
	delete(sr.runs, r)
	sr.n.Store(int32(len(sr.runs)))
	sr.mu.Unlock()
}

// slow returns the runs, not c's, past the busy-reply-threshold.
func (sr *scriptRuns) slow(c *client, threshold time.Duration) []*scriptRun {
	if sr.n.Load() == 0 {
		return nil
	}
	sr.mu.Lock()
	defer sr.mu.Unlock()
	var out []*scriptRun
	for r := range sr.runs {
		if r.c != c && time.Since(r.start) >= threshold {
			out = append(out, r)
		}
	}
	return out
}

// busy returns the BUSY error cmd is refused with, if a script has run
// longer than busy-reply-threshold and cmd is not allowed while one does,
// or "".
func (s *Server) busy(c *client, cmd *command, args [][]byte) string {
	if s.scriptRuns.n.Load() == 0 {
		return ""
	}
	flags := cmd.flags
	if cmd.subcommands != nil && len(args) > 1 {
		if sub := cmd.subcommand(args[1]); sub != nil {
			flags = sub.flags
		}
	}
	if flags&flagAllowBusy != 0 {
		return ""
	}
	return busyError(s.scriptRuns.slow(c, s.busyThreshold()))
}

// busyError is the BUSY error while runs are slow: the one naming
// FUNCTION KILL when a function runs, or "" when none is slow.
func busyError(runs []*scriptRun) string {
	if len(runs) == 0 {
		return ""
	}
	if slices.ContainsFunc(runs, func(r *scriptRun) bool { return r.fn != nil }) {
		return errBusyFunction
	}
	return errBusyScript
}

// busyThreshold is busy-reply-threshold as a duration.
func (s *Server) busyThreshold() time.Duration {
	return time.Duration(s.settings.Load().BusyReplyThreshold) * time.Millisecond
}

// cmdScriptKill stops the slow scripts unless one has written.
func cmdScriptKill(c *client, _ [][]byte) { killScripts(c, false) }

// cmdFunctionKill stops the slow functions unless one has written.
func cmdFunctionKill(c *client, _ [][]byte) { killScripts(c, true) }

// killScripts is SCRIPT KILL and FUNCTION KILL (functions set), as
// Redis's scriptKill: each refuses to kill the other's kind.
func killScripts(c *client, functions bool) {
	runs := c.srv.scriptRuns.slow(c, c.srv.busyThreshold())
	if len(runs) == 0 {
		c.replyError(errNotBusy)
		return
	}
	for _, r := range runs {
		if r.wrote.Load() {
			c.replyError(errUnkillable)
			return
		}
	}
	for _, r := range runs {
		if (r.fn != nil) != functions {
			c.replyError(map[bool]string{false: errBusyFunction, true: errBusyScript}[functions])
			return
		}
	}
	for _, r := range runs {
		r.killed.Store(true)
		r.cancel()
	}
	c.replyOK()
}
