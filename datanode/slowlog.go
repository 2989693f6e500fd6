package datanode

import (
	"fmt"
	"math"
	"strconv"
	"sync"
	"time"
)

// Redis's slow log defaults and entry trimming.
const (
	// DefaultSlowlogLogSlowerThan is slowlog-log-slower-than's default, in
	// microseconds; -1 turns the slow log off, 0 logs every command.
	DefaultSlowlogLogSlowerThan = 10000
	// DefaultSlowlogMaxLen is slowlog-max-len's default.
	DefaultSlowlogMaxLen = 128
	slowlogMaxArgc       = 32  // SLOWLOG_ENTRY_MAX_ARGC
	slowlogMaxString     = 128 // SLOWLOG_ENTRY_MAX_STRING
)

// slowlogCommand is SLOWLOG.
func slowlogCommand() *command {
	const sub = flagAdmin | flagLoading | flagStale
	return newContainer("slowlog", -2, 0, commandDoc{"server", "A container for slow log commands.", "2.2.12", "Depends on subcommand.", ""},
		[]*command{
			{name: "slowlog|get", arity: -2, flags: sub, run: cmdSlowlogGet,
				doc: commandDoc{"server", "Get the slow log's entries", "2.2.12", "O(N) where N is the number of entries returned", "[count]"}},
			{name: "slowlog|len", arity: 2, flags: sub, run: cmdSlowlogLen,
				doc: commandDoc{"server", "Get the slow log's length", "2.2.12", "O(1)", ""}},
			{name: "slowlog|reset", arity: 2, flags: sub, run: cmdSlowlogReset,
				doc: commandDoc{"server", "Clear all entries from the slow log", "2.2.12", "O(N) where N is the number of entries in the slowlog", ""}},
			{name: "slowlog|help", arity: 2, flags: flagLoading | flagStale, run: cmdSlowlogHelp,
				doc: commandDoc{"server", "Show helpful text about the different subcommands", "6.2.0", "O(1)", ""}},
		})
}

// slowlogEntry is one logged command.
type slowlogEntry struct {
	id       int64
	time     int64 // Unix seconds
	duration int64 // microseconds
	args     []string
	addr     string
	name     string
}

// slowlog keeps the last slowlog-max-len commands that took at least
// slowlog-log-slower-than microseconds.
type slowlog struct {
	mu      sync.Mutex
	nextID  int64
	entries []slowlogEntry // oldest first
}

// maybeSlowlog logs args, run by c and taking d, if the settings ask for it.
// It is called after every command; the common case costs a comparison.
func (s *Server) maybeSlowlog(st *Settings, c *client, cmd *command, args [][]byte, d time.Duration) {
	if st.SlowlogLogSlowerThan < 0 || d.Microseconds() < st.SlowlogLogSlowerThan || cmd.flags&flagSkipSlowlog != 0 {
		return
	}
	e := slowlogEntry{time: time.Now().Unix(), duration: d.Microseconds(), args: slowlogArgs(redactArgs(args)), addr: peerAddr(c.conn)}
	if n := c.name.Load(); n != nil {
		e.name = *n
	}
	l := &s.slowlog
	l.mu.Lock()
	e.id = l.nextID
	l.nextID++
	l.entries = append(l.entries, e)
	if over := int64(len(l.entries)) - st.SlowlogMaxLen; over > 0 {
		clear(l.entries[:over])
		l.entries = l.entries[over:]
	}
	l.mu.Unlock()
}

// slowlogArgs trims args as Redis's slowlogCreateEntry: at most 32, the
// last of which says how many more there were, each of at most 128 bytes
// followed by how many more it had.
func slowlogArgs(args [][]byte) []string {
	n := min(len(args), slowlogMaxArgc)
	out := make([]string, n)
	for i := range n {
		if i == n-1 && n != len(args) {
			out[i] = fmt.Sprintf("... (%d more arguments)", len(args)-n+1)
			break
		}
		if a := args[i]; len(a) > slowlogMaxString {
			out[i] = fmt.Sprintf("%s... (%d more bytes)", a[:slowlogMaxString], len(a)-slowlogMaxString)
		} else {
			out[i] = string(a)
		}
	}
	return out
}

func cmdSlowlogGet(c *client, args [][]byte) {
	count := int64(10)
	switch len(args) {
	case 2:
	case 3:
		n, ok := parseInt(args[2])
		if !ok || n < -1 {
			c.replyError("ERR count should be greater than or equal to -1")
			return
		}
		if count = n; n == -1 {
			count = math.MaxInt64
		}
	default:
		c.replyError(fmt.Sprintf("ERR unknown subcommand or wrong number of arguments for '%s'. Try SLOWLOG HELP.", args[1]))
		return
	}
	l := &c.srv.slowlog
	l.mu.Lock()
	n := min(int64(len(l.entries)), count)
	c.replyArray(int(n))
	for i := range n {
		e := &l.entries[int64(len(l.entries))-1-i]
		c.replyArray(6)
		c.replyInt(e.id)
		c.replyInt(e.time)
		c.replyInt(e.duration)
		c.replyStrings(e.args)
		c.replyBulkString(e.addr)
		c.replyBulkString(e.name)
	}
	l.mu.Unlock()
}

func cmdSlowlogLen(c *client, _ [][]byte) {
	l := &c.srv.slowlog
	l.mu.Lock()
	n := len(l.entries)
	l.mu.Unlock()
	c.replyInt(int64(n))
}

func cmdSlowlogReset(c *client, _ [][]byte) {
	l := &c.srv.slowlog
	l.mu.Lock()
	l.entries = nil
	l.mu.Unlock()
	c.replyOK()
}

func cmdSlowlogHelp(c *client, _ [][]byte) {
	c.replyHelp("slowlog", []string{
		"GET [<count>]",
		"    Return top <count> entries from the slowlog (default: 10, -1 mean all).",
		"    Entries are made of:",
		"    id, timestamp, time in microseconds, arguments array, client IP and port,",
		"    client name",
		"LEN",
		"    Return the length of the slowlog.",
		"RESET",
		"    Reset the slowlog.",
	})
}

// slowlogConfigParams are the CONFIG parameters of the slow log.
var slowlogConfigParams = []configParam{
	{"slowlog-log-slower-than", func(_ *Server, st *Settings) string { return strconv.FormatInt(st.SlowlogLogSlowerThan, 10) },
		intSetter(-1, math.MaxInt64, func(st *Settings, n int64) { st.SlowlogLogSlowerThan = n })},
	{"slowlog-max-len", func(_ *Server, st *Settings) string { return strconv.FormatInt(st.SlowlogMaxLen, 10) },
		intSetter(0, math.MaxInt64, func(st *Settings, n int64) { st.SlowlogMaxLen = n })},
}
