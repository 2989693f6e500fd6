package datanode

// setCommands are the commands of Redis's "set" group.
func setCommands() []*command {
	const scanComplexity = "O(1) for every call. O(N) for a complete iteration, including enough command calls for the cursor to return back to 0. N is the number of elements inside the collection.."
	const interComplexity = "O(N*M) worst case where N is the cardinality of the smallest set and M is the number of sets."
	const unionComplexity = "O(N) where N is the total number of elements in all given sets."
	key := docArg{name: "key", typ: argKey}
	keys := []docArg{{name: "key", typ: argKey, multiple: true}}
	member := docArg{name: "member", typ: argString}
	members := docArg{name: "member", typ: argString, multiple: true}
	storeArgs := []docArg{{name: "destination", typ: argKey}, {name: "key", typ: argKey, keySpec: 1, multiple: true}}
	ro := func(flags ...string) []string { return append([]string{"RO"}, flags...) }
	rw := func(flags ...string) []string { return append([]string{"RW"}, flags...) }
	// storeSpecs are the key specs of the STORE variants: the destination
	// (flagged destFlags), then the source sets.
	storeSpecs := func(destFlags ...string) []keySpec {
		return []keySpec{{flags: destFlags, begin: 1}, {flags: ro("access"), begin: 2, lastKey: -1}}
	}
	const w, wf, r, rf = flagWrite | flagDenyOOM, flagWrite | flagDenyOOM | flagFast, flagReadOnly, flagReadOnly | flagFast
	cmd := func(name string, arity int, flags cmdFlag, run func(*client, [][]byte), keyFlags []string, doc commandDoc, extra *docExtra) *command {
		return &command{name: name, arity: arity, flags: flags, firstKey: 1, lastKey: 1, keyStep: 1, run: run, keyFlags: keyFlags, doc: doc, extra: extra}
	}
	multi := func(c *command, last int, specs ...keySpec) *command {
		c.lastKey, c.keySpecs = last, specs
		return c
	}
	order := []string{"nondeterministic_output_order"}
	random := []string{"nondeterministic_output"}
	return []*command{
		cmd("sadd", -3, wf, cmdSadd, rw("insert"),
			commandDoc{"set", "Add one or more members to a set", "1.0.0", "O(1) for each element added, so O(N) to add N elements when the command is called with multiple arguments.", ""},
			&docExtra{args: []docArg{key, members}, history: [][2]string{{"2.4.0", "Accepts multiple `member` arguments."}}}),
		cmd("srem", -3, flagWrite|flagFast, cmdSrem, rw("delete"),
			commandDoc{"set", "Remove one or more members from a set", "1.0.0", "O(N) where N is the number of members to be removed.", ""},
			&docExtra{args: []docArg{key, members}, history: [][2]string{{"2.4.0", "Accepts multiple `member` arguments."}}}),
		cmd("smembers", 2, r, cmdSmembers, ro("access"),
			commandDoc{"set", "Get all the members in a set", "1.0.0", "O(N) where N is the set cardinality.", ""},
			&docExtra{args: []docArg{key}, tips: order}),
		cmd("sismember", 3, rf, cmdSismember, ro(),
			commandDoc{"set", "Determine if a given value is a member of a set", "1.0.0", "O(1)", ""},
			&docExtra{args: []docArg{key, member}}),
		cmd("smismember", -3, rf, cmdSmismember, ro("access"),
			commandDoc{"set", "Returns the membership associated with the given elements for a set", "6.2.0", "O(N) where N is the number of elements being checked for membership", ""},
			&docExtra{args: []docArg{key, members}}),
		cmd("scard", 2, rf, cmdScard, ro(),
			commandDoc{"set", "Get the number of members in a set", "1.0.0", "O(1)", ""},
			&docExtra{args: []docArg{key}}),
		cmd("spop", -2, flagWrite|flagFast, cmdSpop, rw("access", "delete"),
			commandDoc{"set", "Remove and return one or multiple random members from a set", "1.0.0", "Without the count argument O(1), otherwise O(N) where N is the value of the passed count.", ""},
			&docExtra{args: []docArg{key, {name: "count", typ: argInteger, since: "3.2.0", optional: true}}, tips: random,
				history: [][2]string{{"3.2.0", "Added the `count` argument."}}}),
		cmd("srandmember", -2, r, cmdSrandmember, ro("access"),
			commandDoc{"set", "Get one or multiple random members from a set", "1.0.0", "Without the count argument O(1), otherwise O(N) where N is the absolute value of the passed count.", ""},
			&docExtra{args: []docArg{key, {name: "count", typ: argInteger, since: "2.6.0", optional: true}}, tips: random,
				history: [][2]string{{"2.6.0", "Added the optional `count` argument."}}}),
		multi(cmd("smove", 4, flagWrite|flagFast, cmdSmove, nil,
			commandDoc{"set", "Move a member from one set to another", "1.0.0", "O(1)", ""},
			&docExtra{args: []docArg{{name: "source", typ: argKey}, {name: "destination", typ: argKey, keySpec: 1}, member}}),
			2, keySpec{flags: rw("access", "delete"), begin: 1}, keySpec{flags: rw("insert"), begin: 2}),
		multi(cmd("sinter", -2, r, cmdSinter, ro("access"),
			commandDoc{"set", "Intersect multiple sets", "1.0.0", interComplexity, ""}, &docExtra{args: keys, tips: order}), -1),
		{name: "sintercard", arity: -3, flags: flagReadOnly | flagMovable, run: cmdSintercard,
			doc:      commandDoc{"set", "Intersect multiple sets and return the cardinality of the result", "7.0.0", interComplexity, ""},
			extra:    &docExtra{args: []docArg{{name: "numkeys", typ: argInteger}, keys[0], {name: "limit", typ: argInteger, token: "LIMIT", optional: true}}},
			keySpecs: []keySpec{{flags: ro("access"), begin: 1, keynum: true, firstKey: 1, keyStep: 1}}},
		multi(cmd("sunion", -2, r, cmdSunion, ro("access"),
			commandDoc{"set", "Add multiple sets", "1.0.0", unionComplexity, ""}, &docExtra{args: keys, tips: order}), -1),
		multi(cmd("sdiff", -2, r, cmdSdiff, ro("access"),
			commandDoc{"set", "Subtract multiple sets", "1.0.0", unionComplexity, ""}, &docExtra{args: keys, tips: order}), -1),
		multi(cmd("sinterstore", -3, w, cmdSinterstore, nil,
			commandDoc{"set", "Intersect multiple sets and store the resulting set in a key", "1.0.0", interComplexity, ""},
			&docExtra{args: storeArgs}), -1, storeSpecs(rw("update")...)...),
		multi(cmd("sunionstore", -3, w, cmdSunionstore, nil,
			commandDoc{"set", "Add multiple sets and store the resulting set in a key", "1.0.0", unionComplexity, ""},
			&docExtra{args: storeArgs}), -1, storeSpecs("OW", "update")...),
		multi(cmd("sdiffstore", -3, w, cmdSdiffstore, nil,
			commandDoc{"set", "Subtract multiple sets and store the resulting set in a key", "1.0.0", unionComplexity, ""},
			&docExtra{args: storeArgs}), -1, storeSpecs("OW", "update")...),
		cmd("sscan", -3, r, cmdSscan, ro("access"),
			commandDoc{"set", "Incrementally iterate Set elements", "2.8.0", scanComplexity, ""},
			&docExtra{tips: random, args: []docArg{key, {name: "cursor", typ: argInteger},
				{name: "pattern", typ: argPattern, token: "MATCH", optional: true}, {name: "count", typ: argInteger, token: "COUNT", optional: true}}}),
	}
}
