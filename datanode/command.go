package datanode

import (
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// cmdFlag is a Redis command flag, as COMMAND reports it.
type cmdFlag uint32

// Command flags. Only those CHKV acts on or reports are defined.
const (
	flagWrite           cmdFlag = 1 << iota // modifies the keyspace
	flagReadOnly                            // reads the keyspace only
	flagDenyOOM                             // refused when over maxmemory
	flagAdmin                               // administrative
	flagNoAuth                              // allowed before AUTH
	flagFast                                // O(1) or O(log N)
	flagLoading                             // allowed while loading
	flagStale                               // allowed on a stale replica
	flagNoScript                            // not allowed in scripts
	flagPubSub                              // a Pub/Sub command
	flagSkipSlowlog                         // not logged in the slow log
	flagAllowBusy                           // allowed while a script is busy
	flagNoQueue                             // runs at once inside MULTI (internal: not reported)
	flagMovable                             // keys found by key specs, not first/last/step
	flagSkipMonitor                         // not shown by MONITOR
	flagNoMandatoryKeys                     // may be called without keys
	flagBlocking                            // may block the client (see blocking.go)
	flagNoMulti                             // refused inside MULTI (internal: not reported)
)

var flagNames = []struct {
	flag cmdFlag
	name string
}{
	{flagWrite, "write"}, {flagReadOnly, "readonly"}, {flagDenyOOM, "denyoom"},
	{flagAdmin, "admin"}, {flagPubSub, "pubsub"}, {flagNoScript, "noscript"}, {flagBlocking, "blocking"}, {flagLoading, "loading"},
	{flagStale, "stale"}, {flagSkipMonitor, "skip_monitor"}, {flagSkipSlowlog, "skip_slowlog"}, {flagFast, "fast"},
	{flagNoAuth, "no_auth"}, {flagNoMandatoryKeys, "no_mandatory_keys"}, {flagAllowBusy, "allow_busy"}, {flagMovable, "movablekeys"},
}

// names returns the Redis names of the set flags, in COMMAND's order.
func (f cmdFlag) names() []string {
	var out []string
	for _, fn := range flagNames {
		if f&fn.flag != 0 {
			out = append(out, fn.name)
		}
	}
	return out
}

// command describes one command: how to run it and what COMMAND says of it.
type command struct {
	name     string // lower case; "container|sub" for subcommands
	id       int    // index of the command's counters in Server.cmdStats
	arity    int    // Redis arity: n means exactly n args, -n at least n
	flags    cmdFlag
	firstKey int // position of the first key argument, 0 if none
	lastKey  int // position of the last key, negative counts from the end
	keyStep  int // distance between keys
	run      func(c *client, args [][]byte)
	doc      commandDoc
	// keyFlags are the key spec's flags where Redis's differ from the
	// ones derived from the command's flags (see keySpecFlags).
	keyFlags []string
	// extra holds the COMMAND INFO and DOCS details some commands have.
	extra *docExtra
	// subcommands are reported by COMMAND; the container's run dispatches.
	subcommands []*command
	// keySpecs, when set, replace the key spec derived from firstKey,
	// lastKey and keyStep (see keyspec.go).
	keySpecs []keySpec
	// getKeys, when set, finds the keys of a call instead of keySpecs, as
	// Redis's getkeys_proc does for SORT.
	getKeys func(args [][]byte) []keyRef
	// patternKeys, when set, reports whether a call reads keys its
	// arguments do not name (SORT's BY and GET patterns): EXEC, which
	// cannot know them in advance, then holds every slot.
	patternKeys func(args [][]byte) bool
}

// commandDoc is what COMMAND DOCS reports for a command.
type commandDoc struct {
	group      string // generic, string, connection, server, cluster
	summary    string
	since      string
	complexity string
	syntax     string // argument syntax as in Redis's docs, e.g. "key [NX | XX]"
}

// docExtra is what COMMAND DOCS and COMMAND INFO report of a command
// beyond commandDoc, given where Redis's reply has it.
type docExtra struct {
	args            []docArg    // the argument tree, instead of parsing doc.syntax
	history         [][2]string // version, change
	deprecatedSince string      // with replacedBy, marks the command deprecated
	replacedBy      string
	tips            []string // COMMAND INFO's tips
	categories      []string // ACL categories beyond those aclCategories derives
	// notCategories are ACL categories aclCategories derives that Redis
	// does not give the command (SORT is generic but not @keyspace).
	notCategories []string
}

// arityOK reports whether argc arguments (the name included) fit the arity.
func (cmd *command) arityOK(argc int) bool {
	if cmd.arity >= 0 {
		return argc == cmd.arity
	}
	return argc >= -cmd.arity
}

// keyPositions returns the indexes of args that are keys.
func (cmd *command) keyPositions(argc int) []int {
	if cmd.firstKey <= 0 || argc <= cmd.firstKey {
		return nil
	}
	last := cmd.lastKey
	if last < 0 {
		last = argc + last
	}
	last = min(last, argc-1)
	var out []int
	for i := cmd.firstKey; i <= last; i += max(cmd.keyStep, 1) {
		out = append(out, i)
	}
	return out
}

// buildCommandTable returns the server's commands by lower-case name.
func buildCommandTable() map[string]*command {
	table := make(map[string]*command)
	for _, family := range [][]*command{
		connectionCommands(),
		stringCommands(),
		hashCommands(),
		listCommands(), blockingListCommands(),
		zsetCommands(), blockingZsetCommands(),
		setCommands(),
		{objectCommand()},
		keyCommands(),
		serverCommands(), {memoryCommand()},
		persistCommands(),
		clusterCommands(),
		transactionCommands(),
		pubsubCommands(), {resetCommand()},
		dumpCommands(),
		bitmapCommands(), {lcsCommand(), copyCommand()}, sortCommands(),
		scriptingCommands(), functionCommands(),
	} {
		for _, cmd := range family {
			if _, dup := table[cmd.name]; dup {
				panic("datanode: command registered twice: " + cmd.name)
			}
			table[cmd.name] = cmd
		}
	}
	return table
}

// lookup finds the command named by name, in any letter case, without
// allocating.
func (s *Server) lookup(name []byte) *command {
	var buf [32]byte
	if len(name) > len(buf) {
		return nil
	}
	for i, ch := range name {
		if 'A' <= ch && ch <= 'Z' {
			ch += 'a' - 'A'
		}
		buf[i] = ch
	}
	return s.commands[string(buf[:len(name)])]
}

// execute runs one command for c, as Redis's processCommand does: existence,
// arity, authentication, ownership and memory checks, then the command
// itself, or, inside MULTI, its queueing (see multi.go). A check that fails
// inside MULTI also makes the transaction's EXEC fail.
func (s *Server) execute(c *client, args [][]byte) {
	c.takeOutbox() // messages published before this command precede its reply
	cmd := s.lookup(args[0])
	if cmd == nil {
		c.reject(nil, &s.cmdStats.unknown().results[resultError], unknownCommandError(args))
		return
	}
	cs := &s.cmdStats.stats[cmd.id]
	if !cmd.arityOK(len(args)) {
		c.reject(cmd, &cs.results[resultError], arityError(cmd.name))
		return
	}
	st := s.settings.Load()
	if st.RequirePass != "" && !c.authenticated && cmd.flags&flagNoAuth == 0 {
		c.reject(cmd, &cs.results[resultError], errNoAuth)
		return
	}
	if k := s.pause.kind.Load(); k != pauseOff && c.pauses(k, cmd) && s.postpone(c, args) {
		return
	}
	if msg := s.busy(c, cmd, args); msg != "" {
		c.reject(cmd, &cs.results[resultError], msg)
		return
	}
	if (cmd.flags&flagWrite != 0 || cmd.name == "ping") && s.writesDenied(st) {
		c.reject(cmd, &cs.results[resultError], errMisconf)
		return
	}
	if c.monitoring.Load() && cmd.flags&(flagWrite|flagReadOnly) != 0 {
		c.reject(cmd, &cs.results[resultError], errMonitorKeyspace)
		return
	}
	var gate *sync.RWMutex
	if s.member != nil && (cmd.firstKey > 0 || cmd.keySpecs != nil || len(cmd.subcommands) > 0) {
		var reject string
		if gate, reject = s.admit(cmd, args); reject != "" {
			c.reject(cmd, &cs.results[classifyError(reject)], reject)
			return
		}
	}
	if st.MaxMemory > 0 && !s.freeMemory(st) && c.deniedOnOOM(cmd) {
		if gate != nil {
			gate.RUnlock()
		}
		c.reject(cmd, &cs.results[resultError], errOOM)
		return
	}
	if c.inPubSub() && !c.resp3 {
		if msg := pubsubContextError(cmd, args); msg != "" {
			if gate != nil {
				gate.RUnlock()
			}
			c.reject(cmd, &cs.results[resultError], msg)
			return
		}
	}
	if c.multi != nil && cmd.flags&flagNoMulti != 0 {
		if gate != nil {
			gate.RUnlock()
		}
		c.reject(cmd, &cs.results[resultError], errNotInTransaction)
		return
	}
	if c.multi != nil && cmd.flags&flagNoQueue == 0 {
		c.queue(cmd, args)
	} else {
		s.call(c, cmd, cs, args)
	}
	if gate != nil {
		gate.RUnlock()
	}
	if len(c.readyKeys) > 0 && c.held == nil {
		s.serveReady(c)
	}
}

// reject answers a command refused before it ran (cmd, nil if unknown),
// counting it in result, and, inside MULTI, makes EXEC fail (Redis's
// rejectCommand). A refused EXEC discards the transaction (execAbort).
func (c *client) reject(cmd *command, result *atomic.Uint64, msg string) {
	result.Add(1)
	if cmd != nil {
		c.srv.cmdStats.stats[cmd.id].rejected.Add(1)
	}
	c.srv.errors.record([]byte(msg))
	if cmd != nil && cmd.name == "exec" {
		c.execAbort(msg)
		return
	}
	if c.multi != nil {
		c.multi.aborted = true
	}
	c.replyError(msg)
}

// call runs an admitted command and records its statistics, as Redis's
// call does; EXEC calls it for each queued command.
func (s *Server) call(c *client, cmd *command, cs *cmdStat, args [][]byte) {
	start := time.Now()
	c.lastActive.Store(start.UnixMilli())
	c.lastCmd.Store(&cmd.name)
	s.stats.commandsProcessed.Add(1)
	mark := len(c.out)
	cmd.run(c, args)
	c.noteReady(cmd, args)
	d := time.Since(start)
	cs.observe(d)
	// The slow log and the latency monitor cost two comparisons unless
	// the command was slow.
	if st := s.settings.Load(); (st.SlowlogLogSlowerThan >= 0 && d.Microseconds() >= st.SlowlogLogSlowerThan) ||
		(st.LatencyMonitorThreshold > 0 && d.Milliseconds() >= st.LatencyMonitorThreshold) {
		s.maybeSlowlog(st, c, cmd, args, d)
		s.maybeLatency(st, cmd, d)
	}
	if s.monitors.n.Load() > 0 {
		s.maybeFeedMonitors(c, cmd, args)
	}
	r := resultOK
	failed := len(c.out) > mark && c.out[mark] == '-'
	if failed {
		r = classifyError(c.out[mark+1:])
		cs.failed.Add(1)
		if !c.errorCounted {
			s.errors.record(c.out[mark+1:])
		}
	}
	c.errorCounted = false
	if cmd.subcommands != nil {
		s.cmdStats.observeSub(cmd, args, d, failed)
	}
	cs.results[r].Add(1)
}

// maxEvictionsPerCommand bounds the work one command spends evicting, as
// Redis's maxmemory-eviction-tenacity does.
const maxEvictionsPerCommand = 1024

// freeMemory evicts keys by policy until used memory is within maxmemory,
// and reports whether it got there.
func (s *Server) freeMemory(st *Settings) bool {
	for range maxEvictionsPerCommand {
		if s.usedMemory() <= st.MaxMemory {
			return true
		}
		if !s.store.Evict(st.MaxMemoryPolicy, st.MaxMemorySamples, time.Now().UnixMilli()) {
			return false
		}
	}
	return s.usedMemory() <= st.MaxMemory
}

// unknownCommandError is Redis's reply to a command it does not know.
func unknownCommandError(args [][]byte) string {
	var b strings.Builder
	for _, a := range args[1:] {
		if b.Len() >= 128 {
			break
		}
		fmt.Fprintf(&b, "'%.*s' ", 128-b.Len(), a)
	}
	return fmt.Sprintf("ERR unknown command '%.128s', with args beginning with: %s", args[0], b.String())
}

// arityError is Redis's reply to a command with the wrong number of
// arguments; name is the full name, e.g. "client|setname".
func arityError(name string) string {
	return "ERR wrong number of arguments for '" + name + "' command"
}

// unknownSubcommandError is Redis's reply to an unknown subcommand.
func unknownSubcommandError(sub []byte, container string) string {
	return fmt.Sprintf("ERR unknown subcommand '%.128s'. Try %s HELP.", sub, strings.ToUpper(container))
}
