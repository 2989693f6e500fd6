package datanode

import (
	"strconv"
	"time"
)

// serverCommands are the administrative commands: introspection (COMMAND,
// INFO), keyspace-wide operations (DBSIZE, FLUSHDB, FLUSHALL), time, and
// the CLIENT and CONFIG containers.
func serverCommands() []*command {
	return []*command{
		commandCommand(),
		clientCommand(),
		configCommand(),
		monitorCommand(),
		slowlogCommand(),
		latencyCommand(),
		{name: "info", arity: -1, flags: flagLoading | flagStale, run: cmdInfo,
			doc: commandDoc{"server", "Returns information and statistics about the server.", "1.0.0", "O(1)", "[section [section ...]]"}},
		{name: "dbsize", arity: 1, flags: flagReadOnly | flagFast, run: cmdDBSize,
			doc: commandDoc{"server", "Returns the number of keys in the database.", "1.0.0", "O(1)", ""}},
		{name: "flushdb", arity: -1, flags: flagWrite, run: cmdFlush,
			doc: commandDoc{"server", "Remove all keys from the current database.", "1.0.0", "O(N) where N is the total number of keys in all databases", "[ASYNC | SYNC]"}},
		{name: "flushall", arity: -1, flags: flagWrite, run: cmdFlush,
			doc: commandDoc{"server", "Removes all keys from all databases.", "1.0.0", "O(N) where N is the total number of keys in all databases", "[ASYNC | SYNC]"}},
		{name: "time", arity: 1, flags: flagLoading | flagStale | flagFast, run: cmdTime,
			doc: commandDoc{"server", "Returns the server time.", "2.6.0", "O(1)", ""}},
	}
}

func cmdDBSize(c *client, _ [][]byte) { c.replyInt(int64(c.srv.store.Len())) }

// cmdFlush is FLUSHDB and FLUSHALL, the same with a single database. ASYNC
// is accepted; the keys are freed before the reply either way.
func cmdFlush(c *client, args [][]byte) {
	if len(args) > 2 || (len(args) == 2 && !equalFold(args[1], "async") && !equalFold(args[1], "sync")) {
		c.replyError(errSyntax)
		return
	}
	c.flushAll()
	c.replyOK()
}

func cmdTime(c *client, _ [][]byte) {
	now := time.Now()
	c.replyArray(2)
	c.replyBulkString(strconv.FormatInt(now.Unix(), 10))
	c.replyBulkString(strconv.FormatInt(int64(now.Nanosecond()/1000), 10))
}
