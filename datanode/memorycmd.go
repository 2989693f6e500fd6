package datanode

import "time"

// memoryCommand is MEMORY, of which CHKV serves USAGE and HELP.
//
// MEMORY USAGE's figure is CHKV's own accounting, not Redis's: the bytes
// the key costs this DataNode's store (store.Slot.Footprint), which keeps
// every value, whatever its type, as one packed blob beside its key, so
// the figure is exact and SAMPLES, accepted as Redis parses it, changes
// nothing.
func memoryCommand() *command {
	return newContainer("memory", -2, 0, commandDoc{"server", "A container for memory diagnostics commands", "4.0.0", "Depends on subcommand.", ""},
		[]*command{
			{name: "memory|help", arity: 2, flags: flagLoading | flagStale, run: cmdMemoryHelp,
				doc: commandDoc{"server", "Show helpful text about the different subcommands", "4.0.0", "O(1)", ""}},
			{name: "memory|usage", arity: -3, flags: flagReadOnly, firstKey: 2, lastKey: 2, keyStep: 1, run: cmdMemoryUsage,
				keyFlags: []string{"RO"},
				doc:      commandDoc{"server", "Estimate the memory usage of a key", "4.0.0", "O(N) where N is the number of samples.", ""},
				extra:    &docExtra{args: []docArg{{name: "key", typ: argKey}, {name: "count", typ: argInteger, token: "SAMPLES", optional: true}}}},
		})
}

// cmdMemoryUsage is MEMORY USAGE key [SAMPLES count]: the bytes key costs,
// or a null for a missing key. Like Redis it looks the key up without
// recording an access.
func cmdMemoryUsage(c *client, args [][]byte) {
	for j := 3; j < len(args); j++ {
		if !equalFold(args[j], "samples") || j+1 >= len(args) {
			c.replyError(errSyntax)
			return
		}
		n, ok := parseInt(args[j+1])
		if !ok {
			c.replyError(errNotInteger)
			return
		}
		if n < 0 {
			c.replyError(errSyntax)
			return
		}
		j++
	}
	key := args[2]
	sl := c.lockKeySlot(key)
	n, ok := sl.Footprint(key, time.Now().UnixMilli())
	c.unlock(sl)
	if !ok {
		c.replyNull()
		return
	}
	c.replyInt(int64(n))
}

func cmdMemoryHelp(c *client, _ [][]byte) {
	c.replyHelp("memory", []string{
		"USAGE <key> [SAMPLES <count>]",
		"    Return memory in bytes used by <key> and its value. Nested values are",
		"    sampled up to <count> times (default: 5, 0 means sample all).",
	})
}
