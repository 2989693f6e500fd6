package datanode

import (
	"errors"
	"strings"
	"time"

	"github.com/chkv/chkv/datanode/rdb"
)

// FCALL, FCALL_RO and the FUNCTION container (functions.go holds the
// libraries).

// functionCommands are FCALL, FCALL_RO and FUNCTION.
func functionCommands() []*command {
	const fcallFlags = flagNoScript | flagStale | flagSkipMonitor | flagNoMandatoryKeys | flagMovable
	const notes = "We cannot tell how the keys will be used so we assume the worst, "
	spec := []keySpec{{flags: []string{"RW", "access", "update"}, begin: 2, keynum: true, firstKey: 1, keyStep: 1, notes: notes + "RW and UPDATE"}}
	roSpec := []keySpec{{flags: []string{"RO", "access"}, begin: 2, keynum: true, firstKey: 1, keyStep: 1, notes: notes + "RO and ACCESS"}}
	args := &docExtra{args: []docArg{{name: "function", typ: argString}, {name: "numkeys", typ: argInteger},
		{name: "key", typ: argKey, keySpec: 0, optional: true, multiple: true},
		{name: "arg", typ: argString, optional: true, multiple: true}}}
	const complexity = "Depends on the function that is executed."
	return []*command{
		{name: "fcall", arity: -3, flags: fcallFlags, run: cmdFcall(false), keySpecs: spec, extra: args,
			doc: commandDoc{"scripting", "Invoke a function", "7.0.0", complexity, ""}},
		{name: "fcall_ro", arity: -3, flags: fcallFlags | flagReadOnly, run: cmdFcall(true), keySpecs: roSpec, extra: args,
			doc: commandDoc{"scripting", "Invoke a read-only function", "7.0.0", complexity, ""}},
		functionCommand(),
	}
}

// functionCommand is the FUNCTION container.
func functionCommand() *command {
	const sub = flagNoScript
	allShards := []string{"request_policy:all_shards", "response_policy:all_succeeded"}
	return newContainer("function", -2, 0, commandDoc{"scripting", "A container for function commands", "7.0.0", "Depends on subcommand.", ""},
		[]*command{
			{name: "function|load", arity: -3, flags: sub | flagWrite | flagDenyOOM, run: cmdFunctionLoad,
				extra: &docExtra{tips: allShards},
				doc:   commandDoc{"scripting", "Create a function with the given arguments (name, code, description)", "7.0.0", "O(1) (considering compilation time is redundant)", "[REPLACE] function-code"}},
			{name: "function|list", arity: -2, flags: sub, run: cmdFunctionList,
				extra: &docExtra{tips: []string{"nondeterministic_output_order"}},
				doc:   commandDoc{"scripting", "List information about all the functions", "7.0.0", "O(N) where N is the number of functions", "[LIBRARYNAME library-name-pattern] [WITHCODE]"}},
			{name: "function|delete", arity: 3, flags: sub | flagWrite, run: cmdFunctionDelete,
				extra: &docExtra{tips: allShards},
				doc:   commandDoc{"scripting", "Delete a function by name", "7.0.0", "O(1)", "library-name"}},
			{name: "function|flush", arity: -2, flags: sub | flagWrite, run: cmdFunctionFlush,
				extra: &docExtra{tips: allShards, args: []docArg{{name: "async", typ: "oneof", optional: true, args: []docArg{
					{name: "async", typ: "pure-token", token: "ASYNC"}, {name: "sync", typ: "pure-token", token: "SYNC"}}}}},
				doc: commandDoc{"scripting", "Deleting all functions", "7.0.0", "O(N) where N is the number of functions deleted", ""}},
			{name: "function|dump", arity: 2, flags: sub, run: cmdFunctionDump,
				doc: commandDoc{"scripting", "Dump all functions into a serialized binary payload", "7.0.0", "O(N) where N is the number of functions", ""}},
			{name: "function|restore", arity: -3, flags: sub | flagWrite | flagDenyOOM, run: cmdFunctionRestore,
				extra: &docExtra{tips: allShards, args: []docArg{{name: "serialized-value", typ: argString},
					{name: "policy", typ: "oneof", optional: true, args: []docArg{{name: "flush", typ: "pure-token", token: "FLUSH"},
						{name: "append", typ: "pure-token", token: "APPEND"}, {name: "replace", typ: "pure-token", token: "REPLACE"}}}}},
				doc: commandDoc{"scripting", "Restore all the functions on the given payload", "7.0.0", "O(N) where N is the number of functions on the payload", ""}},
			{name: "function|stats", arity: 2, flags: sub | flagAllowBusy, run: cmdFunctionStats,
				extra: &docExtra{tips: []string{"nondeterministic_output", "request_policy:all_shards", "response_policy:special"}},
				doc:   commandDoc{"scripting", "Return information about the function currently running (name, description, duration)", "7.0.0", "O(1)", ""}},
			{name: "function|kill", arity: 2, flags: sub | flagAllowBusy, run: cmdFunctionKill,
				extra: &docExtra{tips: []string{"request_policy:all_shards", "response_policy:one_succeeded"}},
				doc:   commandDoc{"scripting", "Kill the function currently in execution.", "7.0.0", "O(1)", ""}},
			{name: "function|help", arity: 2, flags: flagLoading | flagStale, run: cmdFunctionHelp,
				doc: commandDoc{"scripting", "Show helpful text about the different subcommands", "7.0.0", "O(1)", ""}},
		})
}

// cmdFcall returns the run function of FCALL, or FCALL_RO (readOnly).
func cmdFcall(readOnly bool) func(c *client, args [][]byte) {
	return func(c *client, args [][]byte) {
		f := c.srv.functions.lookup(args[1])
		if f == nil {
			c.replyError(errFunctionNotFound)
			return
		}
		numkeys, ok := parseInt(args[2])
		switch {
		case !ok:
			c.replyError(errBadNumkeys)
			return
		case numkeys > int64(len(args)-3):
			c.replyError(errNumkeysTooMany)
			return
		case numkeys < 0:
			c.replyError(errNumkeysNegative)
			return
		}
		noWrites := f.flags&scriptNoWrites != 0
		if readOnly && !noWrites {
			c.replyError(errWriteFlagRO)
			return
		}
		if f.flags&scriptNoCluster != 0 && c.srv.member != nil {
			c.replyError(errNoClusterFlag)
			return
		}
		if !noWrites && f.flags&scriptAllowOOM == 0 {
			if st := c.srv.settings.Load(); st.MaxMemory > 0 && !c.srv.freeMemory(st) {
				c.replyError(errOOM)
				return
			}
		}
		c.runScript(&scriptRun{fn: f, args: args, keys: args[3 : 3+numkeys], argv: args[3+numkeys:], readOnly: readOnly || noWrites})
	}
}

func cmdFunctionLoad(c *client, args [][]byte) {
	replace, i := false, 2
	for ; i < len(args)-1; i++ {
		if !equalFold(args[i], "replace") {
			c.replyError("ERR Unknown option given: " + string(args[i]))
			return
		}
		replace = true
	}
	name, msg := c.srv.functions.load(args[i], replace)
	if msg != "" {
		c.replyError(msg)
		return
	}
	c.replyBulkString(name)
}

func cmdFunctionList(c *client, args [][]byte) {
	withCode, pattern := false, []byte(nil)
	for i := 2; i < len(args); i++ {
		switch {
		case !withCode && equalFold(args[i], "withcode"):
			withCode = true
		case pattern == nil && equalFold(args[i], "libraryname"):
			if i == len(args)-1 {
				c.replyError("ERR library name argument was not given")
				return
			}
			i++
			pattern = []byte(strings.ToLower(string(args[i])))
		default:
			c.replyError("ERR Unknown argument " + string(args[i]))
			return
		}
	}
	var libs []*functionLib
	for _, lib := range c.srv.functions.current().sorted() {
		if pattern == nil || stringMatch(pattern, []byte(strings.ToLower(lib.name))) {
			libs = append(libs, lib)
		}
	}
	c.replyArray(len(libs))
	for _, lib := range libs {
		c.replyArray(6 + 2*int(boolInt(withCode)))
		c.replyBulkString("library_name")
		c.replyBulkString(lib.name)
		c.replyBulkString("engine")
		c.replyBulkString("LUA")
		c.replyBulkString("functions")
		c.replyArray(len(lib.funcs))
		for _, f := range lib.funcs {
			c.replyArray(6)
			c.replyBulkString("name")
			c.replyBulkString(f.name)
			c.replyBulkString("description")
			if f.hasDesc {
				c.replyBulkString(f.desc)
			} else {
				c.replyNull()
			}
			c.replyBulkString("flags")
			var flags []string
			for j, name := range scriptFlagNames {
				if f.flags&(1<<j) != 0 {
					flags = append(flags, name)
				}
			}
			c.replyArray(len(flags))
			for _, fl := range flags {
				c.replyStatus(fl)
			}
		}
		if withCode {
			c.replyBulkString("library_code")
			c.replyBulk(lib.code)
		}
	}
}

func cmdFunctionDelete(c *client, args [][]byte) {
	if !c.srv.functions.deleteLib(string(args[2])) {
		c.replyError(errLibraryNotFound)
		return
	}
	c.replyOK()
}

func cmdFunctionFlush(c *client, args [][]byte) {
	if len(args) > 3 {
		c.replyError(subcommandSyntaxError(args[1], "function"))
		return
	}
	if len(args) == 3 && !equalFold(args[2], "sync") && !equalFold(args[2], "async") {
		c.replyError("ERR FUNCTION FLUSH only supports SYNC|ASYNC option")
		return
	}
	c.srv.functions.flush()
	c.replyOK()
}

// subcommandSyntaxError is Redis's addReplySubcommandSyntaxError.
func subcommandSyntaxError(sub []byte, container string) string {
	return "ERR unknown subcommand or wrong number of arguments for '" + truncate(string(sub), 128) + "'. Try " + strings.ToUpper(container) + " HELP."
}

func cmdFunctionDump(c *client, _ [][]byte) {
	libs := c.srv.functions.current().sorted()
	codes := make([][]byte, len(libs))
	for i, lib := range libs {
		codes[i] = lib.code
	}
	c.replyBulk(rdb.AppendFunctionsDump(nil, codes))
}

func cmdFunctionRestore(c *client, args [][]byte) {
	if len(args) > 4 {
		c.replyError(subcommandSyntaxError(args[1], "function"))
		return
	}
	policy := restoreAppend
	if len(args) == 4 {
		switch {
		case equalFold(args[3], "append"):
		case equalFold(args[3], "replace"):
			policy = restoreReplace
		case equalFold(args[3], "flush"):
			policy = restoreFlush
		default:
			c.replyError("ERR Wrong restore policy given, value should be either FLUSH, APPEND or REPLACE.")
			return
		}
	}
	codes, err := rdb.DecodeFunctionsDump(args[2])
	var perr rdb.FunctionPayloadError
	switch {
	case errors.As(err, &perr):
		c.replyError("ERR " + string(perr))
		return
	case err != nil:
		c.replyError("ERR DUMP payload version or checksum are wrong")
		return
	}
	if msg := c.srv.functions.restore(codes, policy); msg != "" {
		c.replyError(msg)
		return
	}
	c.replyOK()
}

// cmdFunctionStats answers FUNCTION STATS: the slow function another
// client runs, if any, and the engine's counts. While an EVAL script is
// slow it is refused, as Redis refuses it.
func cmdFunctionStats(c *client, _ [][]byte) {
	runs := c.srv.scriptRuns.slow(c, c.srv.busyThreshold())
	var running *scriptRun
	for _, r := range runs {
		if r.fn == nil {
			c.replyError(errBusyScript)
			return
		}
		running = r
	}
	c.replyArray(4)
	c.replyBulkString("running_script")
	if running == nil {
		c.replyNull()
	} else {
		c.replyArray(6)
		c.replyBulkString("name")
		c.replyBulkString(running.fn.name)
		c.replyBulkString("command")
		c.replyArray(len(running.args))
		for _, a := range running.args {
			c.replyBulk(a)
		}
		c.replyBulkString("duration_ms")
		c.replyInt(time.Since(running.start).Milliseconds())
	}
	set := c.srv.functions.current()
	c.replyBulkString("engines")
	c.replyArray(2)
	c.replyBulkString("LUA")
	c.replyArray(4)
	c.replyBulkString("libraries_count")
	c.replyInt(int64(len(set.libs)))
	c.replyBulkString("functions_count")
	n := 0
	for _, lib := range set.libs {
		n += len(lib.funcs)
	}
	c.replyInt(int64(n))
}

func cmdFunctionHelp(c *client, _ [][]byte) {
	c.replyHelp("function", []string{
		"LOAD [REPLACE] <FUNCTION CODE>",
		"    Create a new library with the given library name and code.",
		"DELETE <LIBRARY NAME>",
		"    Delete the given library.",
		"LIST [LIBRARYNAME PATTERN] [WITHCODE]",
		"    Return general information on all the libraries:",
		"    * Library name",
		"    * The engine used to run the Library",
		"    * Library description",
		"    * Functions list",
		"    * Library code (if WITHCODE is given)",
		"    It also possible to get only function that matches a pattern using LIBRARYNAME argument.",
		"STATS",
		"    Return information about the current function running:",
		"    * Function name",
		"    * Command used to run the function",
		"    * Duration in MS that the function is running",
		"    If no function is running, return nil",
		"    In addition, returns a list of available engines.",
		"KILL",
		"    Kill the current running function.",
		"FLUSH [ASYNC|SYNC]",
		"    Delete all the libraries.",
		"    When called without the optional mode argument, the behavior is determined by the",
		"    lazyfree-lazy-user-flush configuration directive. Valid modes are:",
		"    * ASYNC: Asynchronously flush the libraries.",
		"    * SYNC: Synchronously flush the libraries.",
		"DUMP",
		"    Return a serialized payload representing the current libraries, can be restored using FUNCTION RESTORE command",
		"RESTORE <PAYLOAD> [FLUSH|APPEND|REPLACE]",
		"    Restore the libraries represented by the given payload, it is possible to give a restore policy to",
		"    control how to handle existing libraries (default APPEND):",
		"    * FLUSH: delete all existing libraries.",
		"    * APPEND: appends the restored libraries to the existing libraries. On collision, abort.",
		"    * REPLACE: appends the restored libraries to the existing libraries, On collision, replace the old",
		"      libraries with the new libraries (notice that even on this option there is a chance of failure",
		"      in case of functions name collision with another library).",
	})
}
