package datanode

// resetCommand is RESET: it returns the connection to the state of a new
// one, as Redis 6.2+ does.
func resetCommand() *command {
	return &command{name: "reset", arity: 1, flags: flagNoScript | flagLoading | flagStale | flagFast | flagNoAuth | flagAllowBusy | flagNoQueue, run: cmdReset,
		doc: commandDoc{"connection", "Reset the connection", "6.2.0", "O(1)", ""}}
}

// cmdReset discards the client's transaction and watches, drops its
// subscriptions (without the unsubscribe replies), clears its name and,
// when a password is required, its authentication, then replies +RESET.
// Inside MULTI it runs at once (flagNoQueue), as in Redis.
func cmdReset(c *client, _ [][]byte) {
	c.endMulti(true)
	c.unwatchAll()
	c.srv.pubsub.dropClient(c)
	if c.monitoring.Load() {
		c.srv.monitors.drop(c)
	}
	c.noEvict.Store(false)
	c.setName("")
	c.authenticated = c.srv.settings.Load().RequirePass == ""
	c.replyStatus("RESET")
}
