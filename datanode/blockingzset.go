package datanode

import "time"

// The blocking sorted set commands: BZPOPMIN, BZPOPMAX and BZMPOP, the forms
// of ZPOPMIN, ZPOPMAX and ZMPOP that wait for an element (see blocking.go).

// blockingZsetCommands are the blocking commands of Redis's "sorted-set"
// group.
func blockingZsetCommands() []*command {
	keysTimeout := []docArg{{name: "key", typ: argKey, multiple: true}, {name: "timeout", typ: argDouble}}
	timeoutHistory := [][2]string{{"6.0.0", "`timeout` is interpreted as a double instead of an integer."}}
	const popComplexity = "O(log(N)) with N being the number of elements in the sorted set."
	pop := func(name, which string, fromMax bool) *command {
		return &command{name: name, arity: -3, flags: flagWrite | flagNoScript | flagBlocking | flagFast,
			firstKey: 1, lastKey: -2, keyStep: 1, run: func(c *client, args [][]byte) { c.blockingZpop(args, fromMax) },
			keyFlags: []string{"RW", "access", "delete"},
			doc: commandDoc{"sorted-set", "Remove and return the member with the " + which + " score from one or more sorted sets, or block until one is available",
				"5.0.0", popComplexity, ""},
			extra: &docExtra{args: keysTimeout, history: timeoutHistory}}
	}
	token := func(name, tok string) docArg { return docArg{name: name, typ: argPureToken, token: tok} }
	return []*command{
		pop("bzpopmin", "lowest", false),
		pop("bzpopmax", "highest", true),
		{name: "bzmpop", arity: -5, flags: flagWrite | flagBlocking | flagMovable, run: cmdBzmpop,
			keySpecs: []keySpec{{flags: []string{"RW", "access", "delete"}, begin: 2, keynum: true, firstKey: 1, keyStep: 1}},
			doc: commandDoc{"sorted-set", "Remove and return members with scores in a sorted set or block until one is available", "7.0.0",
				"O(K) + O(M*log(N)) where K is the number of provided keys, N being the number of elements in the sorted set, and M being the number of elements popped.", ""},
			extra: &docExtra{args: []docArg{{name: "timeout", typ: argDouble}, {name: "numkeys", typ: argInteger}, {name: "key", typ: argKey, multiple: true},
				{name: "where", typ: argOneOf, args: []docArg{token("min", "MIN"), token("max", "MAX")}},
				{name: "count", typ: argInteger, token: "COUNT", optional: true}}}},
	}
}

// blockingZpop serves BZPOPMIN and BZPOPMAX: the reply is the key, the
// member and its score.
func (c *client) blockingZpop(args [][]byte, fromMax bool) {
	timeout, ok := c.parseBlockTimeout(args[len(args)-1])
	if !ok {
		return
	}
	c.blockingCommand(args[1:len(args)-1], timeout, nullArrayReply, nil, func(c *client, key []byte) tryResult {
		r := tryError // zsetWrite replies WRONGTYPE without calling back
		c.zsetWrite(key, func() { r = tryEmpty }, func(z zsetValue, scratch *[]byte) (zsetValue, bool) {
			lo, hi := popSpan(z, 1, fromMax)
			c.replyArray(3)
			c.replyBulk(key)
			c.replyPopped(z, lo, hi, fromMax, false)
			*scratch = z.deleteRange(*scratch, lo, hi)
			r = tryServed
			return *scratch, true
		})
		return r
	})
}

func cmdBzmpop(c *client, args [][]byte) {
	keys, fromMax, count, ok := c.parseZmpop(args, 2)
	if !ok {
		return
	}
	timeout, ok := c.parseBlockTimeout(args[1])
	if !ok {
		return
	}
	c.blockingCommand(keys, timeout, nullArrayReply, nil, func(c *client, key []byte) tryResult {
		sl := c.lockKeySlot(key)
		defer c.unlock(sl)
		return c.zmpopKey(key, fromMax, count, time.Now().UnixMilli())
	})
}
