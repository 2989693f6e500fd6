package datanode

// The blocking list commands: BLPOP, BRPOP, BLMOVE, BRPOPLPUSH and BLMPOP,
// the forms of LPOP, RPOP, LMOVE, RPOPLPUSH and LMPOP that wait for an
// element (see blocking.go).

// blockingListCommands are the blocking commands of Redis's "list" group.
func blockingListCommands() []*command {
	const flags = flagWrite | flagNoScript | flagBlocking
	keysTimeout := []docArg{{name: "key", typ: argKey, multiple: true}, {name: "timeout", typ: argDouble}}
	timeoutHistory := [][2]string{{"6.0.0", "`timeout` is interpreted as a double instead of an integer."}}
	leftRight := func(name string) docArg {
		return docArg{name: name, typ: argOneOf, args: []docArg{
			{name: "left", typ: argPureToken, token: "LEFT"}, {name: "right", typ: argPureToken, token: "RIGHT"}}}
	}
	srcDst := []docArg{{name: "source", typ: argKey}, {name: "destination", typ: argKey, keySpec: 1}}
	moveSpecs := []keySpec{{flags: []string{"RW", "access", "delete"}, begin: 1}, {flags: []string{"RW", "insert"}, begin: 2}}
	const moveSummary = "Pop an element from a list, push it to another list and return it; or block until one is available"
	return []*command{
		{name: "blpop", arity: -3, flags: flags, firstKey: 1, lastKey: -2, keyStep: 1, run: cmdBlpop,
			keyFlags: []string{"RW", "access", "delete"},
			doc:      commandDoc{"list", "Remove and get the first element in a list, or block until one is available", "2.0.0", "O(N) where N is the number of provided keys.", ""},
			extra:    &docExtra{args: keysTimeout, history: timeoutHistory}},
		{name: "brpop", arity: -3, flags: flags, firstKey: 1, lastKey: -2, keyStep: 1, run: cmdBrpop,
			keyFlags: []string{"RW", "access", "delete"},
			doc:      commandDoc{"list", "Remove and get the last element in a list, or block until one is available", "2.0.0", "O(N) where N is the number of provided keys.", ""},
			extra:    &docExtra{args: keysTimeout, history: timeoutHistory}},
		{name: "blmove", arity: 6, flags: flags | flagDenyOOM, firstKey: 1, lastKey: 2, keyStep: 1, run: cmdBlmove,
			keySpecs: moveSpecs,
			doc:      commandDoc{"list", moveSummary, "6.2.0", "O(1)", ""},
			extra:    &docExtra{args: append(srcDst[:2:2], leftRight("wherefrom"), leftRight("whereto"), docArg{name: "timeout", typ: argDouble})}},
		{name: "brpoplpush", arity: 4, flags: flags | flagDenyOOM, firstKey: 1, lastKey: 2, keyStep: 1, run: cmdBrpoplpush,
			keySpecs: moveSpecs,
			doc:      commandDoc{"list", moveSummary, "2.2.0", "O(1)", ""},
			extra: &docExtra{args: append(srcDst[:2:2], docArg{name: "timeout", typ: argDouble}), history: timeoutHistory,
				deprecatedSince: "6.2.0", replacedBy: "`BLMOVE` with the `RIGHT` and `LEFT` arguments"}},
		{name: "blmpop", arity: -5, flags: flagWrite | flagBlocking | flagMovable, run: cmdBlmpop,
			keySpecs: []keySpec{{flags: []string{"RW", "access", "delete"}, begin: 2, keynum: true, firstKey: 1, keyStep: 1}},
			doc:      commandDoc{"list", "Pop elements from a list, or block until one is available", "7.0.0", "O(N+M) where N is the number of provided keys and M is the number of elements returned.", ""},
			extra: &docExtra{args: []docArg{{name: "timeout", typ: argDouble}, {name: "numkeys", typ: argInteger}, {name: "key", typ: argKey, multiple: true},
				leftRight("where"), {name: "count", typ: argInteger, token: "COUNT", optional: true}}}},
	}
}

func cmdBlpop(c *client, args [][]byte) { c.blockingPop(args, true) }
func cmdBrpop(c *client, args [][]byte) { c.blockingPop(args, false) }

// blockingPop serves BLPOP and BRPOP: the reply is the key and the element.
func (c *client) blockingPop(args [][]byte, atFront bool) {
	timeout, ok := c.parseBlockTimeout(args[len(args)-1])
	if !ok {
		return
	}
	c.blockingCommand(args[1:len(args)-1], timeout, nullArrayReply, nil, func(c *client, key []byte) tryResult {
		return c.tryList(key, func(k *listKey) {
			c.replyArray(2)
			c.replyBulk(key)
			k.pop(1, atFront, c.replyBulk)
			k.finish()
		})
	})
}

// tryList runs pop on key's list, its slot locked, if it is a non-empty
// list, and says what happened.
func (c *client) tryList(key []byte, pop func(k *listKey)) tryResult {
	r := tryError // withList replies WRONGTYPE without calling back
	c.withList(key, func(k *listKey) {
		if k.l == nil {
			r = tryEmpty
			return
		}
		pop(k)
		r = tryServed
	})
	return r
}

func cmdBlmove(c *client, args [][]byte) {
	from, ok := c.parseWhere(args[3])
	if !ok {
		return
	}
	to, ok := c.parseWhere(args[4])
	if !ok {
		return
	}
	c.blockingMove(args[1], args[2], from, to, args[5])
}

func cmdBrpoplpush(c *client, args [][]byte) { c.blockingMove(args[1], args[2], false, true, args[3]) }

// blockingMove serves BLMOVE and BRPOPLPUSH: LMOVE once src has an element.
func (c *client) blockingMove(src, dst []byte, from, to bool, timeoutArg []byte) {
	timeout, ok := c.parseBlockTimeout(timeoutArg)
	if !ok {
		return
	}
	c.blockingCommand([][]byte{src}, timeout, "$-1\r\n", dst, func(c *client, key []byte) tryResult {
		mark := len(c.out)
		r := c.lmove(key, dst, from, to)
		if r == tryEmpty {
			c.out = c.out[:mark] // the null LMOVE replied
		}
		return r
	})
}

func cmdBlmpop(c *client, args [][]byte) {
	keys, atFront, count, ok := c.parseMpop(args, 2)
	if !ok {
		return
	}
	timeout, ok := c.parseBlockTimeout(args[1])
	if !ok {
		return
	}
	c.blockingCommand(keys, timeout, nullArrayReply, nil, func(c *client, key []byte) tryResult {
		return c.tryList(key, func(k *listKey) { k.mpop(atFront, count) })
	})
}
