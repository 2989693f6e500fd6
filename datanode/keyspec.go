package datanode

// keySpec is one of Redis's key specs, for the commands whose keys are not
// one range with one set of flags (those derive their single key spec from
// firstKey, lastKey and keyStep): LMOVE's source and destination have
// different flags, LMPOP's keys are counted by an argument.
type keySpec struct {
	flags []string
	index int // begin_search index: the position of the key, or of the key count
	// keynum marks a find_keys keynum spec: the argument at index counts
	// the keys that follow it. Without it the spec is the one key at index.
	keynum bool
}

// keysOf returns the positions in args (the command name first) of the
// command's keys and each key's flags, by its key specs.
func (cmd *command) keysOf(args [][]byte) (pos []int, flags [][]string) {
	if cmd.keySpecs == nil {
		pos = cmd.keyPositions(len(args))
		f := keySpecFlags(cmd)
		for range pos {
			flags = append(flags, f)
		}
		return pos, flags
	}
	for _, ks := range cmd.keySpecs {
		if ks.index >= len(args) {
			return nil, nil
		}
		if !ks.keynum {
			pos, flags = append(pos, ks.index), append(flags, ks.flags)
			continue
		}
		n, ok := parseInt(args[ks.index])
		if !ok || n <= 0 || n > int64(len(args)-ks.index-1) {
			return nil, nil
		}
		for i := range int(n) {
			pos, flags = append(pos, ks.index+1+i), append(flags, ks.flags)
		}
	}
	return pos, flags
}

// replyKeySpecs writes COMMAND INFO's key specs of a command with keySpecs.
func (c *client) replyKeySpecs(cmd *command) {
	c.replyArray(len(cmd.keySpecs))
	for _, ks := range cmd.keySpecs {
		c.replyArray(6)
		c.replyBulkString("flags")
		c.replyArray(len(ks.flags))
		for _, f := range ks.flags {
			c.replyStatus(f)
		}
		c.replyBulkString("begin_search")
		c.replyArray(4)
		c.replyBulkString("type")
		c.replyBulkString("index")
		c.replyBulkString("spec")
		c.replyArray(2)
		c.replyBulkString("index")
		c.replyInt(int64(ks.index))
		c.replyBulkString("find_keys")
		c.replyArray(4)
		c.replyBulkString("type")
		if ks.keynum {
			c.replyBulkString("keynum")
			c.replyBulkString("spec")
			c.replyArray(6)
			c.replyBulkString("keynumidx")
			c.replyInt(0)
			c.replyBulkString("firstkey")
			c.replyInt(1)
			c.replyBulkString("keystep")
			c.replyInt(1)
			continue
		}
		c.replyBulkString("range")
		c.replyBulkString("spec")
		c.replyArray(6)
		c.replyBulkString("lastkey")
		c.replyInt(0)
		c.replyBulkString("keystep")
		c.replyInt(1)
		c.replyBulkString("limit")
		c.replyInt(0)
	}
}
