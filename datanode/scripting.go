package datanode

import (
	"crypto/sha1"
	"encoding/hex"
	"slices"
	"strings"
	"sync"

	lua "github.com/yuin/gopher-lua"
	"github.com/yuin/gopher-lua/parse"
)

// Lua scripting, as Redis 7.0's EVAL family: scripts are compiled once per
// SHA1 into the server's script cache and run on a pooled Lua VM (see
// scriptvm.go) with the slots of their declared keys locked (see
// scriptrun.go). The VM is github.com/yuin/gopher-lua, a pure-Go Lua 5.1,
// the Lua version Redis embeds.

const (
	errNoScript        = "NOSCRIPT No matching script. Please use EVAL."
	errNumkeysNegative = "ERR Number of keys can't be negative"
	errNumkeysTooMany  = "ERR Number of keys can't be greater than number of args"
	errNotBusy         = "NOTBUSY No scripts in execution right now."
	errUnkillable      = "UNKILLABLE Sorry the script already executed write commands against the dataset. You can either wait the script termination or kill the server in a hard way using the SHUTDOWN NOSAVE command."
	errBusyScript      = "BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE."
)

// scriptCache holds the compiled scripts by lower-case hex SHA1, as
// Redis's lua_scripts dictionary.
type scriptCache struct {
	mu      sync.RWMutex
	scripts map[string]*cachedScript
}

// cachedScript is a compiled script and its shebang's flags.
type cachedScript struct {
	proto    *lua.FunctionProto
	noWrites bool // flags=no-writes: write commands are refused
}

// get returns the compiled script with the SHA1 sha (any case), or nil.
func (sc *scriptCache) get(sha []byte) *cachedScript {
	var buf [40]byte
	if len(sha) != len(buf) {
		return nil
	}
	for i, ch := range sha {
		if 'A' <= ch && ch <= 'Z' {
			ch += 'a' - 'A'
		}
		buf[i] = ch
	}
	sc.mu.RLock()
	defer sc.mu.RUnlock()
	return sc.scripts[string(buf[:])]
}

// load compiles body unless cached and returns its SHA1 and compiled
// form, or Redis's error for a bad shebang or a compile error.
func (sc *scriptCache) load(body []byte) (string, *cachedScript, string) {
	sum := sha1.Sum(body)
	sha := hex.EncodeToString(sum[:])
	sc.mu.RLock()
	cs := sc.scripts[sha]
	sc.mu.RUnlock()
	if cs != nil {
		return sha, cs, ""
	}
	src := string(body)
	cs = &cachedScript{}
	if strings.HasPrefix(src, "#!") {
		var msg string
		if cs.noWrites, msg = parseShebang(src); msg != "" {
			return "", nil, msg
		}
		src = src[strings.IndexByte(src, '\n'):] // the line still counts
	}
	chunk, err := parse.Parse(strings.NewReader(src), "user_script")
	if err == nil {
		cs.proto, err = lua.Compile(chunk, "user_script")
	}
	if err != nil {
		return "", nil, "ERR Error compiling script (new function): " + compileErrorText(err)
	}
	sc.mu.Lock()
	if sc.scripts == nil {
		sc.scripts = make(map[string]*cachedScript)
	}
	sc.scripts[sha] = cs
	sc.mu.Unlock()
	return sha, cs, ""
}

// scriptFlagNames are the flags a script's shebang may set.
var scriptFlagNames = []string{"no-writes", "allow-oom", "allow-stale", "no-cluster", "allow-cross-slot-keys"}

// parseShebang reads a "#!lua flags=..." first line as Redis 7.0's
// evalExtractShebangFlags, returning whether no-writes is set, or the
// error. The other flags are accepted and have no effect.
func parseShebang(src string) (noWrites bool, msg string) {
	end := strings.IndexByte(src, '\n')
	if end < 0 {
		return false, "ERR Invalid script shebang"
	}
	parts := strings.Fields(src[:end])
	if len(parts) == 0 {
		return false, "ERR Invalid engine in script shebang"
	}
	if parts[0] != "#!lua" {
		return false, "ERR Unexpected engine in script shebang: " + parts[0]
	}
	for _, p := range parts[1:] {
		flags, ok := strings.CutPrefix(p, "flags=")
		if !ok {
			return false, "ERR Unknown lua shebang option: " + p
		}
		if flags == "" {
			continue
		}
		for _, f := range strings.Split(flags, ",") {
			if !slices.Contains(scriptFlagNames, f) {
				return false, "ERR Unexpected flag in script shebang: " + f
			}
			noWrites = noWrites || f == "no-writes"
		}
	}
	return noWrites, ""
}

// compileErrorText is a gopher-lua parse error on one line, as Redis's
// error replies have no newlines.
func compileErrorText(err error) string {
	return strings.Join(strings.Fields(err.Error()), " ")
}

// flush empties the cache.
func (sc *scriptCache) flush() {
	sc.mu.Lock()
	sc.scripts = nil
	sc.mu.Unlock()
}

// scriptingCommands are EVAL, EVALSHA, their read-only forms and SCRIPT.
func scriptingCommands() []*command {
	const evalFlags = flagNoScript | flagStale | flagSkipMonitor | flagNoMandatoryKeys | flagMovable
	spec := []keySpec{{flags: []string{"RW", "access", "update"}, begin: 2, keynum: true, firstKey: 1, keyStep: 1}}
	roSpec := []keySpec{{flags: []string{"RO", "access"}, begin: 2, keynum: true, firstKey: 1, keyStep: 1}}
	const notes = "We cannot tell how the keys will be used so we assume the worst, "
	evalSpec := []keySpec{spec[0]}
	evalSpec[0].notes = notes + "RW and UPDATE"
	evalROSpec := []keySpec{roSpec[0]}
	evalROSpec[0].notes = notes + "RO and ACCESS"
	evalArgs := func(first docArg) *docExtra {
		return &docExtra{args: []docArg{first, {name: "numkeys", typ: argInteger},
			{name: "key", typ: argKey, keySpec: 0, optional: true, multiple: true},
			{name: "arg", typ: argString, optional: true, multiple: true}}}
	}
	script := docArg{name: "script", typ: argString}
	sha := docArg{name: "sha1", typ: argString}
	const complexity = "Depends on the script that is executed."
	return []*command{
		{name: "eval", arity: -3, flags: evalFlags, run: cmdEval(false, false), keySpecs: evalSpec, extra: evalArgs(script),
			doc: commandDoc{"scripting", "Execute a Lua script server side", "2.6.0", complexity, ""}},
		{name: "evalsha", arity: -3, flags: evalFlags, run: cmdEval(true, false), keySpecs: spec, extra: evalArgs(sha),
			doc: commandDoc{"scripting", "Execute a Lua script server side", "2.6.0", complexity, ""}},
		{name: "eval_ro", arity: -3, flags: evalFlags | flagReadOnly, run: cmdEval(false, true), keySpecs: evalROSpec, extra: evalArgs(script),
			doc: commandDoc{"scripting", "Execute a read-only Lua script server side", "7.0.0", complexity, ""}},
		{name: "evalsha_ro", arity: -3, flags: evalFlags | flagReadOnly, run: cmdEval(true, true), keySpecs: roSpec, extra: evalArgs(sha),
			doc: commandDoc{"scripting", "Execute a read-only Lua script server side", "7.0.0", complexity, ""}},
		scriptCommand(),
	}
}

// scriptCommand is the SCRIPT container.
func scriptCommand() *command {
	const sub = flagNoScript
	return newContainer("script", -2, 0, commandDoc{"scripting", "A container for Lua scripts management commands", "2.6.0", "Depends on subcommand.", ""},
		[]*command{
			{name: "script|exists", arity: -3, flags: sub, run: cmdScriptExists,
				extra: &docExtra{tips: []string{"request_policy:all_shards", "response_policy:agg_logical_and"}},
				doc:   commandDoc{"scripting", "Check existence of scripts in the script cache.", "2.6.0", "O(N) with N being the number of scripts to check (so checking a single script is an O(1) operation).", "sha1 [sha1 ...]"}},
			{name: "script|help", arity: 2, flags: flagLoading | flagStale, run: cmdScriptHelp,
				doc: commandDoc{"scripting", "Show helpful text about the different subcommands", "5.0.0", "O(1)", ""}},
			{name: "script|flush", arity: -2, flags: sub, run: cmdScriptFlush,
				extra: &docExtra{tips: []string{"request_policy:all_nodes", "response_policy:all_succeeded"},
					history: [][2]string{{"6.2.0", "Added the `ASYNC` and `SYNC` flushing mode modifiers."}},
					args: []docArg{{name: "async", typ: "oneof", since: "6.2.0", optional: true, args: []docArg{
						{name: "async", typ: "pure-token", token: "ASYNC"}, {name: "sync", typ: "pure-token", token: "SYNC"}}}}},
				doc: commandDoc{"scripting", "Remove all the scripts from the script cache.", "2.6.0", "O(N) with N being the number of scripts in cache", ""}},
			{name: "script|debug", arity: 3, flags: sub, run: cmdScriptDebug,
				extra: &docExtra{args: []docArg{{name: "mode", typ: "oneof", args: []docArg{{name: "yes", typ: "pure-token", token: "YES"},
					{name: "sync", typ: "pure-token", token: "SYNC"}, {name: "no", typ: "pure-token", token: "NO"}}}}},
				doc: commandDoc{"scripting", "Set the debug mode for executed scripts.", "3.2.0", "O(1)", ""}},
			{name: "script|kill", arity: 2, flags: sub | flagAllowBusy, run: cmdScriptKill,
				extra: &docExtra{tips: []string{"request_policy:all_shards", "response_policy:one_succeeded"}},
				doc:   commandDoc{"scripting", "Kill the script currently in execution.", "2.6.0", "O(1)", ""}},
			{name: "script|load", arity: 3, flags: sub | flagStale, run: cmdScriptLoad,
				extra: &docExtra{tips: []string{"request_policy:all_nodes", "response_policy:all_succeeded"}},
				doc:   commandDoc{"scripting", "Load the specified Lua script into the script cache.", "2.6.0", "O(N) with N being the length in bytes of the script body.", "script"}},
		})
}

func cmdScriptLoad(c *client, args [][]byte) {
	sha, _, msg := c.srv.scripts.load(args[2])
	if msg != "" {
		c.replyError(msg)
		return
	}
	c.replyBulkString(sha)
}

func cmdScriptExists(c *client, args [][]byte) {
	c.replyArray(len(args) - 2)
	for _, sha := range args[2:] {
		c.replyBool(c.srv.scripts.get(sha) != nil)
	}
}

func cmdScriptFlush(c *client, args [][]byte) {
	if len(args) > 3 || len(args) == 3 && !equalFold(args[2], "async") && !equalFold(args[2], "sync") {
		c.replyError("ERR SCRIPT FLUSH only support SYNC|ASYNC option")
		return
	}
	c.srv.scripts.flush()
	c.replyOK()
}

// cmdScriptDebug answers SCRIPT DEBUG: the Lua debugger (LDB) is not
// implemented; the modes are checked as Redis does.
func cmdScriptDebug(c *client, args [][]byte) {
	if !equalFold(args[2], "no") && !equalFold(args[2], "yes") && !equalFold(args[2], "sync") {
		c.replyError("ERR Use SCRIPT DEBUG YES/SYNC/NO")
		return
	}
	if equalFold(args[2], "no") {
		c.replyOK()
		return
	}
	c.replyError("ERR SCRIPT DEBUG is not supported by CHKV")
}

func cmdScriptHelp(c *client, _ [][]byte) {
	c.replyHelp("script", []string{
		"DEBUG (YES|SYNC|NO)",
		"    Set the debug mode for subsequent scripts executed.",
		"EXISTS <sha1> [<sha1> ...]",
		"    Return information about the existence of the scripts in the script cache.",
		"FLUSH [ASYNC|SYNC]",
		"    Flush the Lua scripts cache. Very dangerous on replicas.",
		"    When called without the optional mode argument, the behavior is determined by the",
		"    lazyfree-lazy-user-flush configuration directive. Valid modes are:",
		"    * ASYNC: Asynchronously flush the scripts cache.",
		"    * SYNC: Synchronously flush the scripts cache.",
		"KILL",
		"    Kill the currently executing Lua script.",
		"LOAD <script>",
		"    Load a script into the scripts cache without executing it.",
	})
}

// cmdEval returns the run function of EVAL (bySHA false) or EVALSHA, and
// of their read-only forms.
func cmdEval(bySHA, readOnly bool) func(c *client, args [][]byte) {
	return func(c *client, args [][]byte) {
		if c.srv.monitors.n.Load() > 0 {
			// EVAL is skip_monitor: as in Redis, it is shown before the
			// commands it runs rather than after them.
			c.srv.feedMonitors(c, args, false)
		}
		numkeys, ok := parseInt(args[2])
		switch {
		case !ok:
			c.replyError(errNotInteger)
			return
		case numkeys > int64(len(args)-3):
			c.replyError(errNumkeysTooMany)
			return
		case numkeys < 0:
			c.replyError(errNumkeysNegative)
			return
		}
		var sha string
		var cs *cachedScript
		if bySHA {
			if cs = c.srv.scripts.get(args[1]); cs == nil {
				c.replyError(errNoScript)
				return
			}
			sha = strings.ToLower(string(args[1]))
		} else {
			var msg string
			if sha, cs, msg = c.srv.scripts.load(args[1]); msg != "" {
				c.replyError(msg)
				return
			}
		}
		keys := args[3 : 3+numkeys]
		c.runScript(&scriptRun{sha: sha, proto: cs.proto, keys: keys, argv: args[3+numkeys:], readOnly: readOnly || cs.noWrites})
	}
}
