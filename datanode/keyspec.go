package datanode

// keySpec is one of Redis 7's key specifications, for a command whose
// keys first/last/step cannot describe (several kinds of keys, or a
// numkeys argument): COMMAND INFO reports them and CHKV finds the keys of
// a call with them (COMMAND GETKEYS, cluster admission).
type keySpec struct {
	notes string // COMMAND INFO's notes, if any
	flags []string
	// unknown is a spec whose keys no rule finds (SORT's BY, GET and
	// STORE): COMMAND INFO reports begin_search and find_keys of type
	// unknown, and the command's getKeys finds its keys.
	unknown bool
	begin   int // begin_search index: the position where the search starts
	// find_keys: a range (lastKey relative to begin, negative from the
	// end; limit 0), or with keynum the count at begin+keynumIdx and the
	// keys from begin+firstKey. keyStep is common to both.
	keynum    bool
	lastKey   int
	keynumIdx int
	firstKey  int
	keyStep   int
}

// keyRef is a key found by a key spec: its position and spec index.
type keyRef struct{ pos, spec int }

// keys returns the positions of args (the command name included) that
// are keys by spec, or nil when args do not fit the spec.
func (ks keySpec) keys(args [][]byte) []int {
	step := max(ks.keyStep, 1)
	if ks.begin >= len(args) {
		return nil
	}
	var first, last int
	if ks.keynum {
		p := ks.begin + ks.keynumIdx
		if p >= len(args) {
			return nil
		}
		n, ok := parseInt(args[p])
		if !ok || n < 0 || n > int64(len(args)) {
			return nil
		}
		first = ks.begin + ks.firstKey
		last = first + int(n-1)*step
	} else {
		first = ks.begin
		last = ks.begin + ks.lastKey
		if ks.lastKey < 0 {
			last = len(args) + ks.lastKey
		}
	}
	if last >= len(args) {
		return nil
	}
	var out []int
	for i := first; i <= last; i += step {
		out = append(out, i)
	}
	return out
}

// specKeys returns the keys of a call of cmd found by its key specs, in
// spec order; ok is false when a spec does not fit args.
func (cmd *command) specKeys(args [][]byte) (refs []keyRef, ok bool) {
	if cmd.getKeys != nil {
		return cmd.getKeys(args), true
	}
	for i, ks := range cmd.keySpecs {
		pos := ks.keys(args)
		if pos == nil {
			return nil, false
		}
		for _, p := range pos {
			refs = append(refs, keyRef{p, i})
		}
	}
	return refs, true
}

// replyKeySpecs writes cmd.keySpecs as COMMAND INFO's key specs.
func (c *client) replyKeySpecs(cmd *command) {
	c.replySet(len(cmd.keySpecs))
	for _, ks := range cmd.keySpecs {
		if ks.notes != "" {
			c.replyMap(4)
			c.replyBulkString("notes")
			c.replyBulkString(ks.notes)
		} else {
			c.replyMap(3)
		}
		c.replyBulkString("flags")
		c.replySet(len(ks.flags))
		for _, f := range ks.flags {
			c.replyStatus(f)
		}
		c.replyBulkString("begin_search")
		if ks.unknown {
			c.replyUnknownSearch()
			c.replyBulkString("find_keys")
			c.replyUnknownSearch()
			continue
		}
		c.replyMap(2)
		c.replyBulkString("type")
		c.replyBulkString("index")
		c.replyBulkString("spec")
		c.replyMap(1)
		c.replyBulkString("index")
		c.replyInt(int64(ks.begin))
		c.replyBulkString("find_keys")
		c.replyMap(2)
		c.replyBulkString("type")
		if ks.keynum {
			c.replyBulkString("keynum")
			c.replyBulkString("spec")
			c.replyMap(3)
			c.replyBulkString("keynumidx")
			c.replyInt(int64(ks.keynumIdx))
			c.replyBulkString("firstkey")
			c.replyInt(int64(ks.firstKey))
			c.replyBulkString("keystep")
			c.replyInt(int64(max(ks.keyStep, 1)))
			continue
		}
		c.replyBulkString("range")
		c.replyBulkString("spec")
		c.replyMap(3)
		c.replyBulkString("lastkey")
		c.replyInt(int64(ks.lastKey))
		c.replyBulkString("keystep")
		c.replyInt(int64(max(ks.keyStep, 1)))
		c.replyBulkString("limit")
		c.replyInt(0)
	}
}

// callKeys returns the positions of the keys in a call of cmd.
func (cmd *command) callKeys(args [][]byte) []int {
	if len(cmd.subcommands) > 0 && len(args) > 1 {
		// A container's keys are its subcommand's (OBJECT ENCODING key).
		if sub := cmd.subcommand(args[1]); sub != nil {
			return sub.callKeys(args)
		}
	}
	if cmd.keySpecs == nil {
		return cmd.keyPositions(len(args))
	}
	refs, _ := cmd.specKeys(args)
	pos := make([]int, len(refs))
	for i, r := range refs {
		pos[i] = r.pos
	}
	return pos
}

// replyUnknownSearch writes a begin_search or find_keys of type unknown.
func (c *client) replyUnknownSearch() {
	c.replyMap(2)
	c.replyBulkString("type")
	c.replyBulkString("unknown")
	c.replyBulkString("spec")
	c.replyMap(0)
}
