package datanode

// listCommands are the commands of Redis's "list" group, the blocking
// ones (BLPOP, BRPOP, BLMOVE, BRPOPLPUSH, BLMPOP) aside.
func listCommands() []*command {
	const pushComplexity = "O(1) for each element added, so O(N) to add N elements when the command is called with multiple arguments."
	keyOnly := []docArg{{name: "key", typ: argKey}}
	keyElements := []docArg{{name: "key", typ: argKey}, {name: "element", typ: argString, multiple: true}}
	keyCount := []docArg{{name: "key", typ: argKey}, {name: "count", typ: argInteger, optional: true, since: "6.2.0"}}
	keyStartStop := []docArg{{name: "key", typ: argKey}, {name: "start", typ: argInteger}, {name: "stop", typ: argInteger}}
	leftRight := func(name string) docArg {
		return docArg{name: name, typ: argOneOf, args: []docArg{
			{name: "left", typ: argPureToken, token: "LEFT"}, {name: "right", typ: argPureToken, token: "RIGHT"}}}
	}
	srcDst := []docArg{{name: "source", typ: argKey}, {name: "destination", typ: argKey, keySpec: 1}}
	moveSpecs := []keySpec{{flags: []string{"RW", "access", "delete"}, begin: 1}, {flags: []string{"RW", "insert"}, begin: 2}}
	rw := func(flags ...string) []string { return append([]string{"RW"}, flags...) }
	ro := func(flags ...string) []string { return append([]string{"RO"}, flags...) }
	const w, wf, r, rf = flagWrite | flagDenyOOM, flagWrite | flagDenyOOM | flagFast, flagReadOnly, flagReadOnly | flagFast
	cmd := func(name string, arity int, flags cmdFlag, run func(*client, [][]byte), keyFlags []string, doc commandDoc, extra *docExtra) *command {
		return &command{name: name, arity: arity, flags: flags, firstKey: 1, lastKey: 1, keyStep: 1, run: run, keyFlags: keyFlags, doc: doc, extra: extra}
	}
	pushHistory := func(version string) [][2]string {
		return [][2]string{{version, "Accepts multiple `element` arguments."}}
	}
	countHistory := [][2]string{{"6.2.0", "Added the `count` argument."}}
	lmove := cmd("lmove", 5, w, cmdLmove, nil,
		commandDoc{"list", "Pop an element from a list, push it to another list and return it", "6.2.0", "O(1)", ""},
		&docExtra{args: append(srcDst[:2:2], leftRight("wherefrom"), leftRight("whereto"))})
	lmove.lastKey, lmove.keySpecs = 2, moveSpecs
	rpoplpush := cmd("rpoplpush", 3, w, cmdRpoplpush, nil,
		commandDoc{"list", "Remove the last element in a list, prepend it to another list and return it", "1.2.0", "O(1)", ""},
		&docExtra{args: srcDst, deprecatedSince: "6.2.0", replacedBy: "`LMOVE` with the `RIGHT` and `LEFT` arguments"})
	rpoplpush.lastKey, rpoplpush.keySpecs = 2, moveSpecs
	lmpop := &command{name: "lmpop", arity: -4, flags: flagWrite | flagMovable, run: cmdLmpop,
		keySpecs: []keySpec{{flags: []string{"RW", "access", "delete"}, begin: 1, keynum: true, firstKey: 1, keyStep: 1}},
		doc:      commandDoc{"list", "Pop elements from a list", "7.0.0", "O(N+M) where N is the number of provided keys and M is the number of elements returned.", ""},
		extra: &docExtra{args: []docArg{{name: "numkeys", typ: argInteger}, {name: "key", typ: argKey, multiple: true},
			leftRight("where"), {name: "count", typ: argInteger, token: "COUNT", optional: true}}}}
	return []*command{
		cmd("lpush", -3, wf, cmdLpush, rw("insert"),
			commandDoc{"list", "Prepend one or multiple elements to a list", "1.0.0", pushComplexity, ""},
			&docExtra{args: keyElements, history: pushHistory("2.4.0")}),
		cmd("rpush", -3, wf, cmdRpush, rw("insert"),
			commandDoc{"list", "Append one or multiple elements to a list", "1.0.0", pushComplexity, ""},
			&docExtra{args: keyElements, history: pushHistory("2.4.0")}),
		cmd("lpushx", -3, wf, cmdLpushx, rw("insert"),
			commandDoc{"list", "Prepend an element to a list, only if the list exists", "2.2.0", pushComplexity, ""},
			&docExtra{args: keyElements, history: pushHistory("4.0.0")}),
		cmd("rpushx", -3, wf, cmdRpushx, rw("insert"),
			commandDoc{"list", "Append an element to a list, only if the list exists", "2.2.0", pushComplexity, ""},
			&docExtra{args: keyElements, history: pushHistory("4.0.0")}),
		cmd("lpop", -2, flagWrite|flagFast, cmdLpop, rw("access", "delete"),
			commandDoc{"list", "Remove and get the first elements in a list", "1.0.0", "O(N) where N is the number of elements returned", ""},
			&docExtra{args: keyCount, history: countHistory}),
		cmd("rpop", -2, flagWrite|flagFast, cmdRpop, rw("access", "delete"),
			commandDoc{"list", "Remove and get the last elements in a list", "1.0.0", "O(N) where N is the number of elements returned", ""},
			&docExtra{args: keyCount, history: countHistory}),
		cmd("llen", 2, rf, cmdLlen, ro(),
			commandDoc{"list", "Get the length of a list", "1.0.0", "O(1)", ""}, &docExtra{args: keyOnly}),
		cmd("lrange", 4, r, cmdLrange, ro("access"),
			commandDoc{"list", "Get a range of elements from a list", "1.0.0", "O(S+N) where S is the distance of start offset from HEAD for small lists, from nearest end (HEAD or TAIL) for large lists; and N is the number of elements in the specified range.", ""},
			&docExtra{args: keyStartStop}),
		cmd("lindex", 3, r, cmdLindex, ro("access"),
			commandDoc{"list", "Get an element from a list by its index", "1.0.0", "O(N) where N is the number of elements to traverse to get to the element at index. This makes asking for the first or the last element of the list O(1).", ""},
			&docExtra{args: []docArg{{name: "key", typ: argKey}, {name: "index", typ: argInteger}}}),
		cmd("lset", 4, w, cmdLset, rw("update"),
			commandDoc{"list", "Set the value of an element in a list by its index", "1.0.0", "O(N) where N is the length of the list. Setting either the first or the last element of the list is O(1).", ""},
			&docExtra{args: []docArg{{name: "key", typ: argKey}, {name: "index", typ: argInteger}, {name: "element", typ: argString}}}),
		cmd("linsert", 5, w, cmdLinsert, rw("insert"),
			commandDoc{"list", "Insert an element before or after another element in a list", "2.2.0", "O(N) where N is the number of elements to traverse before seeing the value pivot. This means that inserting somewhere on the left end on the list (head) can be considered O(1) and inserting somewhere on the right end (tail) is O(N).", ""},
			&docExtra{args: []docArg{{name: "key", typ: argKey},
				{name: "where", typ: argOneOf, args: []docArg{{name: "before", typ: argPureToken, token: "BEFORE"}, {name: "after", typ: argPureToken, token: "AFTER"}}},
				{name: "pivot", typ: argString}, {name: "element", typ: argString}}}),
		cmd("lrem", 4, flagWrite, cmdLrem, rw("delete"),
			commandDoc{"list", "Remove elements from a list", "1.0.0", "O(N+M) where N is the length of the list and M is the number of elements removed.", ""},
			&docExtra{args: []docArg{{name: "key", typ: argKey}, {name: "count", typ: argInteger}, {name: "element", typ: argString}}}),
		cmd("ltrim", 4, flagWrite, cmdLtrim, rw("delete"),
			commandDoc{"list", "Trim a list to the specified range", "1.0.0", "O(N) where N is the number of elements to be removed by the operation.", ""},
			&docExtra{args: keyStartStop}),
		cmd("lpos", -3, r, cmdLpos, ro("access"),
			commandDoc{"list", "Return the index of matching elements on a list", "6.0.6", "O(N) where N is the number of elements in the list, for the average case. When searching for elements near the head or the tail of the list, or when the MAXLEN option is provided, the command may run in constant time.", ""},
			&docExtra{args: []docArg{{name: "key", typ: argKey}, {name: "element", typ: argString},
				{name: "rank", typ: argInteger, token: "RANK", optional: true},
				{name: "num-matches", typ: argInteger, token: "COUNT", optional: true},
				{name: "len", typ: argInteger, token: "MAXLEN", optional: true}}}),
		lmove, rpoplpush, lmpop,
	}
}
