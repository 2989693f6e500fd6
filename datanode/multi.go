package datanode

import (
	"strings"
	"sync"
	"time"

	"github.com/chkv/chkv/common/slot"
	"github.com/chkv/chkv/datanode/ownership"
)

// Transactions: MULTI queues the client's commands, EXEC runs them as one
// atomic step, DISCARD drops them, and WATCH makes EXEC run nothing if a
// watched key changed in between (optimistic locking), all with Redis
// 7.0's replies. How EXEC excludes the other clients is in txlock.go, how
// WATCH notices changes in watch.go.

const (
	errNestedMulti    = "ERR MULTI calls can not be nested"
	errExecNoMulti    = "ERR EXEC without MULTI"
	errDiscardNoMulti = "ERR DISCARD without MULTI"
	errWatchInMulti   = "ERR WATCH inside MULTI is not allowed"
	errExecAbort      = "EXECABORT Transaction discarded because of previous errors."
)

// transactionCommands are the commands of Redis's "transactions" group.
// MULTI, EXEC, DISCARD and WATCH are never queued (flagNoQueue), as Redis's
// processCommand runs them at once inside MULTI; UNWATCH is queued and
// then a no-op, its watches being gone by then.
func transactionCommands() []*command {
	const flags = flagNoScript | flagLoading | flagStale
	return []*command{
		{name: "multi", arity: 1, flags: flags | flagFast | flagAllowBusy | flagNoQueue, run: cmdMulti,
			doc: commandDoc{"transactions", "Mark the start of a transaction block", "1.2.0", "O(1)", ""}},
		{name: "exec", arity: 1, flags: flags | flagSkipSlowlog | flagNoQueue, run: cmdExec,
			doc: commandDoc{"transactions", "Execute all commands issued after MULTI", "1.2.0", "Depends on commands in the transaction", ""}},
		{name: "discard", arity: 1, flags: flags | flagFast | flagAllowBusy | flagNoQueue, run: cmdDiscard,
			doc: commandDoc{"transactions", "Discard all commands issued after MULTI", "2.0.0", "O(N), when N is the number of queued commands", ""}},
		{name: "watch", arity: -2, flags: flags | flagFast | flagAllowBusy | flagNoQueue, firstKey: 1, lastKey: -1, keyStep: 1, run: cmdWatch,
			keyFlags: []string{"RO"},
			doc:      commandDoc{"transactions", "Watch the given keys to determine execution of the MULTI/EXEC block", "2.2.0", "O(1) for every key.", "key [key ...]"}},
		{name: "unwatch", arity: 1, flags: flags | flagFast | flagAllowBusy, run: cmdUnwatch,
			doc: commandDoc{"transactions", "Forget about all watched keys", "2.2.0", "O(1)", ""}},
	}
}

// multiState is a client's open transaction: what MULTI started. A
// client's last one is recycled for its next (see recycleMulti), so that
// a transaction allocates nothing once the buffers have grown.
type multiState struct {
	cmds    []queuedCommand
	argv    [][]byte // the queued commands' arguments, back to back
	buf     []byte   // and their bytes
	aborted bool     // a command was refused while queued: EXEC answers EXECABORT
	denyOOM bool     // a queued command is refused when out of memory, so is EXEC
}

// Largest buffers recycleMulti keeps for the next transaction; larger ones
// are left to the garbage collector, bounding what an idle client holds.
const (
	maxKeptMultiBytes = 64 << 10
	maxKeptMultiArgs  = 4 << 10
)

// newMulti returns an empty transaction, the client's recycled one if any.
func (c *client) newMulti() *multiState {
	if m := c.spareMulti; m != nil {
		c.spareMulti = nil
		return m
	}
	return &multiState{}
}

// recycleMulti keeps m, which has ended, for the client's next transaction,
// unless its buffers grew large.
func (c *client) recycleMulti(m *multiState) {
	if cap(m.buf) > maxKeptMultiBytes || cap(m.argv) > maxKeptMultiArgs {
		return
	}
	clear(m.argv) // they may point into buffers outgrown since
	*m = multiState{cmds: m.cmds[:0], argv: m.argv[:0], buf: m.buf[:0]}
	c.spareMulti = m
}

// queuedCommand is a command waiting for EXEC. Its arguments are copies:
// the parsed ones point into the read buffer, which the next read reuses.
type queuedCommand struct {
	cmd  *command
	args [][]byte
}

// queue adds an admitted command to the open transaction and answers
// +QUEUED.
func (c *client) queue(cmd *command, args [][]byte) {
	m := c.multi
	// Earlier arguments keep pointing into the old arrays when buf or
	// argv grows, which stay valid.
	start := len(m.argv)
	for _, a := range args {
		m.buf = append(m.buf, a...)
		m.argv = append(m.argv, m.buf[len(m.buf)-len(a):len(m.buf):len(m.buf)])
	}
	m.cmds = append(m.cmds, queuedCommand{cmd: cmd, args: m.argv[start:len(m.argv):len(m.argv)]})
	c.multiLen.Store(int64(len(m.cmds)))
	c.lastActive.Store(time.Now().UnixMilli())
	c.lastCmd.Store(&cmd.name)
	if cmd.flags&flagDenyOOM != 0 {
		m.denyOOM = true
	}
	c.replyStatus("QUEUED")
}

// deniedOnOOM reports whether cmd is refused while memory is over
// maxmemory: denyoom commands, and, inside MULTI, every command but EXEC
// (unless it would run a denyoom command), DISCARD and QUIT, as queueing
// takes memory too (Redis's processCommand).
func (c *client) deniedOnOOM(cmd *command) bool {
	if cmd.flags&flagDenyOOM != 0 {
		return true
	}
	if c.multi == nil {
		return false
	}
	switch cmd.name {
	case "exec":
		return c.multi.denyOOM
	case "discard", "quit":
		return false
	}
	return true
}

func cmdMulti(c *client, _ [][]byte) {
	if c.multi != nil {
		c.replyError(errNestedMulti)
		return
	}
	c.multi = c.newMulti()
	c.multiLen.Store(0)
	c.replyOK()
}

func cmdDiscard(c *client, _ [][]byte) {
	if c.multi == nil {
		c.replyError(errDiscardNoMulti)
		return
	}
	c.endMulti(true)
	c.unwatchAll()
	c.replyOK()
}

// endMulti closes the open transaction; recycle it unless it is still
// being used.
func (c *client) endMulti(recycle bool) {
	if recycle && c.multi != nil {
		c.recycleMulti(c.multi)
	}
	c.multi = nil
	c.multiLen.Store(-1)
}

// execAbort answers an EXEC refused before it ran (wrong arity, out of
// memory...) as Redis's execCommandAbort: the transaction, if any, and the
// watches are discarded, and the reason follows EXECABORT, without the
// ERR prefix Redis adds only to errors it formats.
func (c *client) execAbort(msg string) {
	c.endMulti(true)
	c.unwatchAll()
	c.replyError("EXECABORT Transaction discarded because of: " + strings.TrimPrefix(msg, "ERR "))
}

// execName is what CLIENT LIST shows as the last command after EXEC ran
// the queued ones.
var execName = "exec"

// cmdExec runs the transaction. In cluster mode its keys must share one
// slot, which is admitted once and whose gate is held for the whole EXEC:
// the transaction runs wholly before a handoff of the slot, or is answered
// MOVED or TRYAGAIN whole. The slots of its keys are locked for the whole
// EXEC (see holdSlots), so no other client's command on them interleaves.
func cmdExec(c *client, _ [][]byte) {
	m := c.multi
	if m == nil {
		c.replyError(errExecNoMulti)
		return
	}
	c.endMulti(false)
	defer c.recycleMulti(m) // last: after the run and the releases below
	defer c.unwatchAll()
	s := c.srv
	var gate *sync.RWMutex
	if s.member != nil {
		id, reject := m.slot()
		if reject == "" && id >= 0 {
			gate, reject = s.own.Admit(id)
		}
		if reject != "" {
			c.replyError(reject)
			return
		}
		if gate != nil {
			defer gate.RUnlock()
		}
	}
	if m.aborted {
		c.replyError(errExecAbort)
		return
	}
	c.holdSlots(m)
	defer c.releaseSlots()
	if c.watchFailed() {
		c.replyNullArray()
		return
	}
	c.replyArray(len(m.cmds))
	for _, q := range m.cmds {
		s.call(c, q.cmd, &s.cmdStats.stats[q.cmd.id], q.args)
	}
	c.lastCmd.Store(&execName)
}

// slot returns the one slot of the transaction's keys, -1 if it has none,
// or Redis Cluster's CROSSSLOT error, which EXEC answers after discarding
// the transaction.
func (m *multiState) slot() (int, string) {
	id := -1
	for _, q := range m.cmds {
		for _, i := range q.cmd.callKeys(q.args) {
			ks := slot.Of(q.args[i])
			if id >= 0 && ks != id {
				return -1, ownership.ErrCrossSlot
			}
			id = ks
		}
	}
	return id, ""
}
