package datanode

import (
	"slices"
	"sort"
	"strings"
)

// commandCommand is COMMAND, which reports the server's command table: the
// Redis 7 COMMAND INFO entries and the COMMAND DOCS argument trees that
// client libraries and redis-cli (for its hints) read.
func commandCommand() *command {
	cmd := newContainer("command", -1, flagLoading|flagStale, commandDoc{"server", "A container for command introspection commands.", "2.8.13", "O(N) where N is the total number of Redis commands", ""},
		[]*command{
			{name: "command|count", arity: 2, flags: flagLoading | flagStale, run: cmdCommandCount,
				doc: commandDoc{"server", "Returns a count of commands.", "2.8.13", "O(1)", ""}},
			{name: "command|docs", arity: -2, flags: flagLoading | flagStale, run: cmdCommandDocs,
				doc: commandDoc{"server", "Returns documentary information about one, multiple or all commands.", "7.0.0", "O(N) where N is the number of commands to look up", "[command-name [command-name ...]]"}},
			{name: "command|getkeys", arity: -4, flags: flagLoading | flagStale, run: cmdCommandGetKeys,
				doc: commandDoc{"server", "Extracts the key names from an arbitrary command.", "2.8.13", "O(N) where N is the number of arguments to the command", "command [arg [arg ...]]"}},
			{name: "command|getkeysandflags", arity: -4, flags: flagLoading | flagStale, run: cmdCommandGetKeys,
				doc: commandDoc{"server", "Extracts the key names and access flags for an arbitrary command.", "7.0.0", "O(N) where N is the number of arguments to the command", "command [arg [arg ...]]"}},
			{name: "command|help", arity: 2, flags: flagLoading | flagStale, run: cmdCommandHelp,
				doc: commandDoc{"server", "Returns helpful text about the different subcommands.", "5.0.0", "O(1)", ""}},
			{name: "command|info", arity: -2, flags: flagLoading | flagStale, run: cmdCommandInfo,
				doc: commandDoc{"server", "Returns information about one, multiple or all commands.", "2.8.13", "O(N) where N is the number of commands to look up", "[command-name [command-name ...]]"}},
			{name: "command|list", arity: -2, flags: flagLoading | flagStale, run: cmdCommandList,
				doc: commandDoc{"server", "Returns a list of command names.", "7.0.0", "O(N) where N is the total number of Redis commands", "[FILTERBY <MODULE module-name | ACLCAT category | PATTERN pattern>]"}},
		})
	// Without a subcommand, COMMAND lists every command.
	cmd.run = func(c *client, args [][]byte) {
		if len(args) == 1 {
			cmdCommandAll(c)
			return
		}
		runSubcommand(c, cmd, args)
	}
	return cmd
}

// newContainer returns a command whose subcommands are chosen by the first
// argument, as Redis's container commands (CLIENT, CONFIG, ...).
func newContainer(name string, arity int, flags cmdFlag, doc commandDoc, subs []*command) *command {
	cmd := &command{name: name, arity: arity, flags: flags, doc: doc, subcommands: subs}
	cmd.run = func(c *client, args [][]byte) { runSubcommand(c, cmd, args) }
	return cmd
}

// runSubcommand runs the subcommand args[1] of container, with Redis's
// errors for an unknown subcommand or a wrong number of arguments.
func runSubcommand(c *client, container *command, args [][]byte) {
	sub := container.subcommand(args[1])
	if sub == nil {
		c.replyError(unknownSubcommandError(args[1], container.name))
		return
	}
	if !sub.arityOK(len(args)) {
		c.replyError(arityError(sub.name))
		return
	}
	c.lastCmd.Store(&sub.name)
	sub.run(c, args)
}

// subcommand returns cmd's subcommand named name (in any case), or nil.
func (cmd *command) subcommand(name []byte) *command {
	for _, sub := range cmd.subcommands {
		if equalFold(name, sub.name[len(cmd.name)+1:]) {
			return sub
		}
	}
	return nil
}

// replyHelp replies with Redis's help layout: a heading, the given lines
// and the HELP entry, each a status line.
func (c *client) replyHelp(container string, lines []string) {
	c.replyArray(len(lines) + 3)
	c.replyStatus(strings.ToUpper(container) + " <subcommand> [<arg> [value] [opt] ...]. Subcommands are:")
	for _, l := range lines {
		c.replyStatus(l)
	}
	c.replyStatus("HELP")
	c.replyStatus("    Prints this help.")
}

// findCommand looks a command up by name, "container|sub" for a subcommand,
// in any case.
func (s *Server) findCommand(name string) *command {
	name = strings.ToLower(name)
	parent, sub, isSub := strings.Cut(name, "|")
	cmd := s.commands[parent]
	if cmd == nil || !isSub {
		return cmd
	}
	return cmd.subcommand([]byte(sub))
}

// lookupFull finds the command that args (a full command line) run: the
// subcommand where the command has subcommands, as Redis's lookupCommand.
func (s *Server) lookupFull(args [][]byte) *command {
	cmd := s.commands[lower(args[0])]
	if cmd == nil || len(cmd.subcommands) == 0 || len(args) < 2 {
		return cmd
	}
	return cmd.subcommand(args[1])
}

// sortedCommands returns the top-level commands ordered by name.
func (s *Server) sortedCommands() []*command {
	list := make([]*command, 0, len(s.commands))
	for _, cmd := range s.commands {
		list = append(list, cmd)
	}
	sort.Slice(list, func(i, j int) bool { return list[i].name < list[j].name })
	return list
}

// ACL categories in Redis's bit order, which is the order COMMAND lists them.
var aclCategoryOrder = []string{
	"keyspace", "read", "write", "set", "sortedset", "list", "hash", "string",
	"bitmap", "hyperloglog", "geo", "stream", "pubsub", "admin", "fast", "slow",
	"blocking", "dangerous", "connection", "transaction", "scripting",
}

// aclCategories derives a command's ACL categories from its flags and
// group, as Redis's setImplicitACLCategories plus the group's category.
func aclCategories(cmd *command) []string {
	has := map[string]bool{}
	if cmd.flags&flagWrite != 0 {
		has["write"] = true
	}
	if cmd.flags&flagReadOnly != 0 && cmd.doc.group != "scripting" {
		has["read"] = true
	}
	if cmd.flags&flagAdmin != 0 {
		has["admin"], has["dangerous"] = true, true
	}
	if cmd.flags&flagPubSub != 0 {
		has["pubsub"] = true
	}
	if cmd.flags&flagBlocking != 0 {
		has["blocking"] = true
	}
	if cmd.flags&flagFast != 0 {
		has["fast"] = true
	} else {
		has["slow"] = true
	}
	if len(cmd.subcommands) == 0 {
		switch cmd.doc.group {
		case "generic":
			has["keyspace"] = true
		case "string":
			has["string"] = true
		case "bitmap":
			has["bitmap"] = true
		case "hash":
			has["hash"] = true
		case "list":
			has["list"] = true
		case "set":
			has["set"] = true
		case "sorted-set":
			has["sortedset"] = true
		case "connection":
			has["connection"] = true
		case "transactions":
			has["transaction"] = true
		case "scripting":
			has["scripting"] = true
		}
	}
	if cmd.extra != nil {
		for _, cat := range cmd.extra.categories {
			has[cat] = true
		}
		for _, cat := range cmd.extra.notCategories {
			delete(has, cat)
		}
	}
	var out []string
	for _, cat := range aclCategoryOrder {
		if has[cat] {
			out = append(out, cat)
		}
	}
	return out
}

// keySpecFlags are the key-spec flags of a command's keys, derived from
// whether it reads or writes.
func keySpecFlags(cmd *command) []string {
	if cmd.keyFlags != nil {
		return cmd.keyFlags
	}
	if cmd.flags&flagWrite != 0 {
		return []string{"RW", "update"}
	}
	return []string{"RO", "access"}
}

// replyCommandInfo writes cmd's Redis 7 COMMAND INFO entry: name, arity,
// flags, first key, last key, step, ACL categories, tips, key specs and
// subcommands.
func (c *client) replyCommandInfo(cmd *command) {
	c.replyArray(10)
	c.replyBulkString(cmd.name)
	c.replyInt(int64(cmd.arity))
	flags := cmd.flags.names()
	c.replyArray(len(flags))
	for _, f := range flags {
		c.replyStatus(f)
	}
	c.replyInt(int64(cmd.firstKey))
	c.replyInt(int64(cmd.lastKey))
	c.replyInt(int64(cmd.keyStep))
	cats := aclCategories(cmd)
	c.replyArray(len(cats))
	for _, cat := range cats {
		c.replyStatus("@" + cat)
	}
	var tips []string
	if cmd.extra != nil {
		tips = cmd.extra.tips
	}
	c.replyArray(len(tips))
	for _, tip := range tips {
		c.replyBulkString(tip)
	}
	if cmd.keySpecs != nil {
		c.replyKeySpecs(cmd)
	} else if cmd.firstKey > 0 {
		c.replyArray(1)
		c.replyKeySpec(cmd)
	} else {
		c.replyArray(0)
	}
	c.replyArray(len(cmd.subcommands))
	for _, sub := range cmd.subcommands {
		c.replyCommandInfo(sub)
	}
}

// replyKeySpec writes the key spec equivalent to cmd's first/last/step.
func (c *client) replyKeySpec(cmd *command) {
	last := cmd.lastKey
	if last >= 0 {
		last -= cmd.firstKey
	}
	c.replyArray(6)
	c.replyBulkString("flags")
	flags := keySpecFlags(cmd)
	c.replyArray(len(flags))
	for _, f := range flags {
		c.replyStatus(f)
	}
	c.replyBulkString("begin_search")
	c.replyArray(4)
	c.replyBulkString("type")
	c.replyBulkString("index")
	c.replyBulkString("spec")
	c.replyArray(2)
	c.replyBulkString("index")
	c.replyInt(int64(cmd.firstKey))
	c.replyBulkString("find_keys")
	c.replyArray(4)
	c.replyBulkString("type")
	c.replyBulkString("range")
	c.replyBulkString("spec")
	c.replyArray(6)
	c.replyBulkString("lastkey")
	c.replyInt(int64(last))
	c.replyBulkString("keystep")
	c.replyInt(int64(max(cmd.keyStep, 1)))
	c.replyBulkString("limit")
	c.replyInt(0)
}

// replyCommandDocs writes cmd's COMMAND DOCS map (a flat array in RESP2):
// summary, since, group, complexity, arguments and subcommands.
func (c *client) replyCommandDocs(cmd *command) {
	var args []docArg
	var extra docExtra
	if cmd.extra != nil {
		extra = *cmd.extra
		args = extra.args
	}
	if args == nil {
		var err error
		if args, err = parseDocSyntax(cmd.doc.syntax); err != nil {
			c.srv.log.Error("bad command syntax", "command", cmd.name, "err", err)
			args = nil
		}
	}
	n := 4
	if len(args) > 0 {
		n++
	}
	if extra.deprecatedSince != "" {
		n += 3
	}
	if len(extra.history) > 0 {
		n++
	}
	if len(cmd.subcommands) > 0 {
		n++
	}
	c.replyArray(2 * n)
	c.replyBulkString("summary")
	c.replyBulkString(cmd.doc.summary)
	c.replyBulkString("since")
	c.replyBulkString(cmd.doc.since)
	c.replyBulkString("group")
	c.replyBulkString(cmd.doc.group)
	c.replyBulkString("complexity")
	c.replyBulkString(cmd.doc.complexity)
	if extra.deprecatedSince != "" {
		c.replyBulkString("doc_flags")
		c.replyArray(1)
		c.replyStatus("deprecated")
		c.replyBulkString("deprecated_since")
		c.replyBulkString(extra.deprecatedSince)
		c.replyBulkString("replaced_by")
		c.replyBulkString(extra.replacedBy)
	}
	if len(extra.history) > 0 {
		c.replyBulkString("history")
		c.replyArray(len(extra.history))
		for _, h := range extra.history {
			c.replyArray(2)
			c.replyBulkString(h[0])
			c.replyBulkString(h[1])
		}
	}
	if len(args) > 0 {
		c.replyBulkString("arguments")
		c.replyDocArgs(args, cmd.firstKey > 0 || cmd.keySpecs != nil)
	}
	if len(cmd.subcommands) > 0 {
		c.replyBulkString("subcommands")
		c.replyArray(2 * len(cmd.subcommands))
		for _, sub := range cmd.subcommands {
			c.replyBulkString(sub.name)
			c.replyCommandDocs(sub)
		}
	}
}

// replyDocArgs writes an argument list of COMMAND DOCS; hasKeySpec tells
// whether key arguments refer to key spec 0.
func (c *client) replyDocArgs(args []docArg, hasKeySpec bool) {
	c.replyArray(len(args))
	for _, a := range args {
		var flags []string
		if a.optional {
			flags = append(flags, "optional")
		}
		if a.multiple {
			flags = append(flags, "multiple")
		}
		if a.multipleToken {
			flags = append(flags, "multiple_token")
		}
		keySpec := (a.typ == argKey || a.patternKeys) && hasKeySpec
		n := 2
		for _, present := range []bool{keySpec, a.token != "", a.since != "", len(flags) > 0, len(a.args) > 0} {
			if present {
				n++
			}
		}
		c.replyArray(2 * n)
		c.replyBulkString("name")
		c.replyBulkString(a.name)
		c.replyBulkString("type")
		c.replyBulkString(a.typ)
		if keySpec {
			c.replyBulkString("key_spec_index")
			c.replyInt(int64(a.keySpec))
		}
		if a.token != "" {
			c.replyBulkString("token")
			c.replyBulkString(a.token)
		}
		if a.since != "" {
			c.replyBulkString("since")
			c.replyBulkString(a.since)
		}
		if len(flags) > 0 {
			c.replyBulkString("flags")
			c.replyArray(len(flags))
			for _, f := range flags {
				c.replyStatus(f)
			}
		}
		if len(a.args) > 0 {
			c.replyBulkString("arguments")
			c.replyDocArgs(a.args, hasKeySpec)
		}
	}
}

// cmdCommandAll is COMMAND without arguments: every command's INFO entry.
func cmdCommandAll(c *client) {
	cmds := c.srv.sortedCommands()
	c.replyArray(len(cmds))
	for _, cmd := range cmds {
		c.replyCommandInfo(cmd)
	}
}

func cmdCommandCount(c *client, _ [][]byte) { c.replyInt(int64(len(c.srv.commands))) }

func cmdCommandInfo(c *client, args [][]byte) {
	if len(args) == 2 {
		cmdCommandAll(c)
		return
	}
	c.replyArray(len(args) - 2)
	for _, name := range args[2:] {
		if cmd := c.srv.findCommand(string(name)); cmd != nil {
			c.replyCommandInfo(cmd)
		} else {
			c.replyNull()
		}
	}
}

func cmdCommandDocs(c *client, args [][]byte) {
	var cmds []*command
	if len(args) == 2 {
		cmds = c.srv.sortedCommands()
	} else {
		for _, name := range args[2:] {
			if cmd := c.srv.findCommand(string(name)); cmd != nil {
				cmds = append(cmds, cmd)
			}
		}
	}
	c.replyArray(2 * len(cmds))
	for _, cmd := range cmds {
		c.replyBulkString(cmd.name)
		c.replyCommandDocs(cmd)
	}
}

// cmdCommandGetKeys serves both COMMAND GETKEYS and COMMAND GETKEYSANDFLAGS.
func cmdCommandGetKeys(c *client, args [][]byte) {
	withFlags := equalFold(args[1], "getkeysandflags")
	line := args[2:]
	cmd := c.srv.lookupFull(line)
	switch {
	case cmd == nil:
		c.replyError("ERR Invalid command specified")
		return
	case cmd.firstKey <= 0 && cmd.keySpecs == nil || slices.Contains(cmd.keyFlags, "not_key"):
		c.replyError("ERR The command has no key arguments")
		return
	case !cmd.arityOK(len(line)):
		c.replyError("ERR Invalid number of arguments specified for command")
		return
	}
	pos := cmd.keyPositions(len(line))
	refs, _ := cmd.specKeys(line)
	if cmd.keySpecs != nil {
		pos = pos[:0]
		for _, r := range refs {
			pos = append(pos, r.pos)
		}
	}
	if len(pos) == 0 && cmd.flags&flagNoMandatoryKeys == 0 {
		c.replyError("ERR Invalid arguments specified for command")
		return
	}
	flags := keySpecFlags(cmd)
	c.replyArray(len(pos))
	for i, p := range pos {
		if cmd.keySpecs != nil {
			flags = cmd.keySpecs[refs[i].spec].flags
		}
		if cmd.name == "bitfield" {
			flags = bitfieldKeyFlags(line)
		}
		if !withFlags {
			c.replyBulk(line[p])
			continue
		}
		c.replyArray(2)
		c.replyBulk(line[p])
		c.replyArray(len(flags))
		for _, f := range flags {
			c.replyStatus(f)
		}
	}
}

func cmdCommandList(c *client, args [][]byte) {
	var match func(cmd *command) bool
	switch {
	case len(args) == 2:
		match = func(*command) bool { return true }
	case len(args) == 5 && equalFold(args[2], "filterby"):
		value := string(args[4])
		switch {
		case equalFold(args[3], "module"):
			match = func(*command) bool { return false }
		case equalFold(args[3], "aclcat"):
			match = func(cmd *command) bool {
				for _, cat := range aclCategories(cmd) {
					if strings.EqualFold(cat, value) {
						return true
					}
				}
				return false
			}
		case equalFold(args[3], "pattern"):
			pattern := strings.ToLower(value)
			match = func(cmd *command) bool { return nameMatch(pattern, cmd.name) }
		}
	}
	if match == nil {
		c.replyError(errSyntax)
		return
	}
	var names []string
	for _, cmd := range c.srv.sortedCommands() {
		if match(cmd) {
			names = append(names, cmd.name)
		}
		for _, sub := range cmd.subcommands {
			if match(sub) {
				names = append(names, sub.name)
			}
		}
	}
	c.replyStrings(names)
}

// nameMatch reports whether name (lower case) matches a Redis glob pattern
// ignoring case, as Redis matches command and configuration names.
func nameMatch(pattern, name string) bool {
	return stringMatch([]byte(strings.ToLower(pattern)), []byte(name))
}

func cmdCommandHelp(c *client, _ [][]byte) {
	c.replyHelp("command", []string{
		"(no subcommand)",
		"    Return details about all Redis commands.",
		"COUNT",
		"    Return the total number of commands in this Redis server.",
		"LIST",
		"    Return a list of all commands in this Redis server.",
		"INFO [<command-name> ...]",
		"    Return details about multiple Redis commands.",
		"    If no command names are given, documentation details for all",
		"    commands are returned.",
		"DOCS [<command-name> ...]",
		"    Return documentation details about multiple Redis commands.",
		"    If no command names are given, documentation details for all",
		"    commands are returned.",
		"GETKEYS <full-command>",
		"    Return the keys from a full Redis command.",
		"GETKEYSANDFLAGS <full-command>",
		"    Return the keys and the access flags from a full Redis command.",
	})
}
