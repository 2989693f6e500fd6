package datanode

// errUnblocked is what a client blocked in a blocking command gets when
// CLIENT UNBLOCK ... ERROR releases it.
const errUnblocked = "UNBLOCKED client unblocked via CLIENT UNBLOCK"

// clientUnblockCommand is CLIENT UNBLOCK; sub are the CLIENT subcommands'
// common flags.
func clientUnblockCommand(sub cmdFlag) *command {
	return &command{name: "client|unblock", arity: -3, flags: flagAdmin | sub, run: cmdClientUnblock,
		doc: commandDoc{"connection", "Unblock a client blocked in a blocking command from a different connection", "5.0.0",
			"O(log N) where N is the number of client connections", ""},
		extra: &docExtra{args: []docArg{{name: "client-id", typ: argInteger},
			{name: "timeout_error", typ: argOneOf, optional: true, args: []docArg{
				{name: "timeout", typ: argPureToken, token: "TIMEOUT"}, {name: "error", typ: argPureToken, token: "ERROR"}}}}}}
}

// cmdClientUnblock releases a blocked client as if its timeout passed, or
// with an UNBLOCKED error; it replies 1 if the client was blocked.
func cmdClientUnblock(c *client, args [][]byte) {
	if len(args) > 4 {
		c.replyError("ERR unknown subcommand or wrong number of arguments for '" + string(args[1]) + "'. Try CLIENT HELP.")
		return
	}
	id, ok := parseInt(args[2])
	if !ok {
		c.replyError(errNotInteger)
		return
	}
	reply := nullArrayReply
	if len(args) == 4 {
		switch {
		case equalFold(args[3], "timeout"):
		case equalFold(args[3], "error"):
			reply = "-" + errUnblocked + "\r\n"
		default:
			c.replyError("ERR CLIENT UNBLOCK reason should be TIMEOUT or ERROR")
			return
		}
	}
	target := c.srv.clientByID(uint64(id))
	c.replyBool(target != nil && c.srv.blocking.unblock(target, reply))
}

// unblock releases c, if blocked, with reply, and reports whether it was.
func (h *blockHub) unblock(c *client, reply string) bool {
	w := c.waiter.Load()
	if w == nil || w.paused {
		return false
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if w.done.Load() {
		return false
	}
	h.release(w, []byte(reply))
	return true
}
