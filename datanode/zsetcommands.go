package datanode

// zsetCommands are the commands of Redis's "sorted-set" group, with what
// COMMAND INFO and COMMAND DOCS say of them in Redis 7.0 (the blocking
// BZPOPMIN, BZPOPMAX and BZMPOP are not served).
func zsetCommands() []*command {
	const group = "sorted-set"
	const w, wf, r, rf = flagWrite | flagDenyOOM, flagWrite | flagDenyOOM | flagFast, flagReadOnly, flagReadOnly | flagFast
	const byLimit = " If M is constant (e.g. always asking for the first 10 elements with LIMIT), you can consider it O(log(N))."
	const rangeM = "O(log(N)+M) with N being the number of elements in the sorted set and M the number of elements "
	roAccess, rwDelete, rwAccessDelete := []string{"RO", "access"}, []string{"RW", "delete"}, []string{"RW", "access", "delete"}
	key := docArg{name: "key", typ: argKey}
	keys := docArg{name: "key", typ: argKey, multiple: true}
	str := func(name string) docArg { return docArg{name: name, typ: argString} }
	integer := func(name string) docArg { return docArg{name: name, typ: argInteger} }
	double := func(name string) docArg { return docArg{name: name, typ: argDouble} }
	token := func(name, tok string) docArg { return docArg{name: name, typ: argPureToken, token: tok} }
	optToken := func(name, tok, since string) docArg {
		return docArg{name: name, typ: argPureToken, token: tok, optional: true, since: since}
	}
	withScores := optToken("withscores", "WITHSCORES", "")
	limit := func(since string) docArg {
		return docArg{name: "offset_count", typ: argBlock, token: "LIMIT", optional: true, since: since,
			args: []docArg{integer("offset"), integer("count")}}
	}
	weights := docArg{name: "weight", typ: argInteger, token: "WEIGHTS", optional: true, multiple: true}
	aggregate := docArg{name: "aggregate", typ: argOneOf, token: "AGGREGATE", optional: true,
		args: []docArg{token("sum", "SUM"), token("min", "MIN"), token("max", "MAX")}}
	sortBy := func(since string) docArg {
		return docArg{name: "sortby", typ: argOneOf, optional: true, since: since,
			args: []docArg{token("byscore", "BYSCORE"), token("bylex", "BYLEX")}}
	}
	cmd := func(name string, arity int, flags cmdFlag, run func(*client, [][]byte), keyFlags []string, doc commandDoc, extra *docExtra) *command {
		doc.group = group
		return &command{name: name, arity: arity, flags: flags, firstKey: 1, lastKey: 1, keyStep: 1, run: run, keyFlags: keyFlags, doc: doc, extra: extra}
	}
	// multi is a command whose keys follow a numkeys argument, after a
	// destination key when dst.
	multi := func(name string, flags cmdFlag, run func(*client, [][]byte), dst bool, keyFlags []string, doc commandDoc, args ...docArg) *command {
		c := cmd(name, -3, flags|flagMovable, run, nil, doc, &docExtra{})
		c.firstKey, c.lastKey, c.keyStep = 0, 0, 0
		sources := keySpec{flags: keyFlags, begin: 1, keynum: true, firstKey: 1, keyStep: 1}
		ks := keys
		if dst {
			c.arity, c.firstKey, c.lastKey, c.keyStep = -4, 1, 1, 1
			sources.begin, ks.keySpec = 2, 1
			c.keySpecs = []keySpec{{flags: []string{"OW", "update"}, begin: 1, keyStep: 1}}
			c.extra.args = []docArg{{name: "destination", typ: argKey}}
		}
		c.keySpecs = append(c.keySpecs, sources)
		c.extra.args = append(c.extra.args, append([]docArg{integer("numkeys"), ks}, args...)...)
		return c
	}
	rangeDocs := func(lo, hi string, withScoresSince string, history [][2]string, deprecated, replacedBy string) *docExtra {
		args := []docArg{key, double(lo), double(hi)}
		if withScoresSince != "-" {
			args = append(args, optToken("withscores", "WITHSCORES", withScoresSince))
		}
		return &docExtra{args: append(args, limit("")), history: history, deprecatedSince: deprecated, replacedBy: replacedBy}
	}
	lexDocs := func(lo, hi, replacedBy string) *docExtra {
		return &docExtra{args: []docArg{key, str(lo), str(hi), limit("")}, deprecatedSince: "6.2.0", replacedBy: replacedBy}
	}
	remDocs := func(a, b docArg) *docExtra { return &docExtra{args: []docArg{key, a, b}} }
	pop := func(name, which string, run func(*client, [][]byte)) *command {
		return cmd(name, -2, flagWrite|flagFast, run, rwAccessDelete,
			commandDoc{"", "Remove and return members with the " + which + " scores in a sorted set", "5.0.0", "O(log(N)*M) with N being the number of elements in the sorted set, and M being the number of elements popped.", ""},
			&docExtra{args: []docArg{key, {name: "count", typ: argInteger, optional: true}}})
	}
	const unionComplexity = "O(N)+O(M*log(M)) with N being the sum of the sizes of the input sorted sets, and M being the number of elements in the resulting sorted set."
	const interComplexity = "O(N*K)+O(M*log(M)) worst case with N being the smallest input sorted set, K being the number of input sorted sets and M being the number of elements in the resulting sorted set."
	const diffComplexity = "O(L + (N-K)log(N)) worst case where L is the total number of elements in all the sets, N is the size of the first set, and K is the size of the result set."

	zrangestore := cmd("zrangestore", -5, w, cmdZrangestore, nil,
		commandDoc{"", "Store a range of members from sorted set into another key", "6.2.0", rangeM + "stored into the destination key.", ""},
		&docExtra{args: []docArg{{name: "dst", typ: argKey}, {name: "src", typ: argKey, keySpec: 1}, str("min"), str("max"),
			sortBy(""), optToken("rev", "REV", ""), limit("")}})
	zrangestore.lastKey = 2
	zrangestore.keySpecs = []keySpec{{flags: []string{"OW", "update"}, begin: 1, keyStep: 1}, {flags: roAccess, begin: 2, keyStep: 1}}

	return []*command{
		cmd("zadd", -4, wf, cmdZadd, nil,
			commandDoc{"", "Add one or more members to a sorted set, or update its score if it already exists", "1.2.0", "O(log(N)) for each item added, where N is the number of elements in the sorted set.", ""},
			&docExtra{history: [][2]string{{"2.4.0", "Accepts multiple elements."}, {"3.0.2", "Added the `XX`, `NX`, `CH` and `INCR` options."}, {"6.2.0", "Added the `GT` and `LT` options."}},
				args: []docArg{key,
					{name: "condition", typ: argOneOf, optional: true, since: "3.0.2", args: []docArg{token("nx", "NX"), token("xx", "XX")}},
					{name: "comparison", typ: argOneOf, optional: true, since: "6.2.0", args: []docArg{token("gt", "GT"), token("lt", "LT")}},
					optToken("change", "CH", "3.0.2"), optToken("increment", "INCR", "3.0.2"),
					{name: "score_member", typ: argBlock, multiple: true, args: []docArg{double("score"), str("member")}}}}),
		cmd("zincrby", 4, wf, cmdZincrby, []string{"RW", "access", "update"},
			commandDoc{"", "Increment the score of a member in a sorted set", "1.2.0", "O(log(N)) where N is the number of elements in the sorted set.", ""},
			&docExtra{args: []docArg{key, integer("increment"), str("member")}}),
		cmd("zrem", -3, flagWrite|flagFast, cmdZrem, rwDelete,
			commandDoc{"", "Remove one or more members from a sorted set", "1.2.0", "O(M*log(N)) with N being the number of elements in the sorted set and M the number of elements to be removed.", ""},
			&docExtra{args: []docArg{key, {name: "member", typ: argString, multiple: true}}, history: [][2]string{{"2.4.0", "Accepts multiple elements."}}}),
		cmd("zcard", 2, rf, cmdZcard, []string{"RO"},
			commandDoc{"", "Get the number of members in a sorted set", "1.2.0", "O(1)", ""}, &docExtra{args: []docArg{key}}),
		cmd("zscore", 3, rf, cmdZscore, roAccess,
			commandDoc{"", "Get the score associated with the given member in a sorted set", "1.2.0", "O(1)", ""}, &docExtra{args: []docArg{key, str("member")}}),
		cmd("zmscore", -3, rf, cmdZmscore, roAccess,
			commandDoc{"", "Get the score associated with the given members in a sorted set", "6.2.0", "O(N) where N is the number of members being requested.", ""},
			&docExtra{args: []docArg{key, {name: "member", typ: argString, multiple: true}}}),
		cmd("zcount", 4, rf, cmdZcount, roAccess,
			commandDoc{"", "Count the members in a sorted set with scores within the given values", "2.0.0", "O(log(N)) with N being the number of elements in the sorted set.", ""},
			&docExtra{args: []docArg{key, double("min"), double("max")}}),
		cmd("zlexcount", 4, rf, cmdZlexcount, roAccess,
			commandDoc{"", "Count the number of members in a sorted set between a given lexicographical range", "2.8.9", "O(log(N)) with N being the number of elements in the sorted set.", ""},
			&docExtra{args: []docArg{key, str("min"), str("max")}}),
		cmd("zrank", 3, rf, cmdZrank, roAccess,
			commandDoc{"", "Determine the index of a member in a sorted set", "2.0.0", "O(log(N))", ""}, &docExtra{args: []docArg{key, str("member")}}),
		cmd("zrevrank", 3, rf, cmdZrevrank, roAccess,
			commandDoc{"", "Determine the index of a member in a sorted set, with scores ordered from high to low", "2.0.0", "O(log(N))", ""},
			&docExtra{args: []docArg{key, str("member")}}),
		cmd("zrange", -4, r, cmdZrange, roAccess,
			commandDoc{"", "Return a range of members in a sorted set", "1.2.0", rangeM + "returned.", ""},
			&docExtra{history: [][2]string{{"6.2.0", "Added the `REV`, `BYSCORE`, `BYLEX` and `LIMIT` options."}},
				args: []docArg{key, str("start"), str("stop"), sortBy("6.2.0"), optToken("rev", "REV", "6.2.0"), limit("6.2.0"), withScores}}),
		cmd("zrangebyscore", -4, r, cmdZrangebyscore, roAccess,
			commandDoc{"", "Return a range of members in a sorted set, by score", "1.0.5", rangeM + "being returned." + byLimit, ""},
			rangeDocs("min", "max", "2.0.0", [][2]string{{"2.0.0", "Added the `WITHSCORES` modifier."}}, "6.2.0", "`ZRANGE` with the `BYSCORE` argument")),
		cmd("zrevrangebyscore", -4, r, cmdZrevrangebyscore, roAccess,
			commandDoc{"", "Return a range of members in a sorted set, by score, with scores ordered from high to low", "2.2.0", rangeM + "being returned." + byLimit, ""},
			rangeDocs("max", "min", "", [][2]string{{"2.1.6", "`min` and `max` can be exclusive."}}, "6.2.0", "`ZRANGE` with the `REV` and `BYSCORE` arguments")),
		cmd("zrevrange", -4, r, cmdZrevrange, roAccess,
			commandDoc{"", "Return a range of members in a sorted set, by index, with scores ordered from high to low", "1.2.0", rangeM + "returned.", ""},
			&docExtra{args: []docArg{key, integer("start"), integer("stop"), withScores}, deprecatedSince: "6.2.0", replacedBy: "`ZRANGE` with the `REV` argument"}),
		cmd("zrangebylex", -4, r, cmdZrangebylex, roAccess,
			commandDoc{"", "Return a range of members in a sorted set, by lexicographical range", "2.8.9", rangeM + "being returned." + byLimit, ""},
			lexDocs("min", "max", "`ZRANGE` with the `BYLEX` argument")),
		cmd("zrevrangebylex", -4, r, cmdZrevrangebylex, roAccess,
			commandDoc{"", "Return a range of members in a sorted set, by lexicographical range, ordered from higher to lower strings.", "2.8.9", rangeM + "being returned." + byLimit, ""},
			lexDocs("max", "min", "`ZRANGE` with the `REV` and `BYLEX` arguments")),
		zrangestore,
		cmd("zremrangebyrank", 4, flagWrite, cmdZremrangebyrank, rwDelete,
			commandDoc{"", "Remove all members in a sorted set within the given indexes", "2.0.0", rangeM + "removed by the operation.", ""},
			remDocs(integer("start"), integer("stop"))),
		cmd("zremrangebyscore", 4, flagWrite, cmdZremrangebyscore, rwDelete,
			commandDoc{"", "Remove all members in a sorted set within the given scores", "1.2.0", rangeM + "removed by the operation.", ""},
			remDocs(double("min"), double("max"))),
		cmd("zremrangebylex", 4, flagWrite, cmdZremrangebylex, rwDelete,
			commandDoc{"", "Remove all members in a sorted set between the given lexicographical range", "2.8.9", rangeM + "removed by the operation.", ""},
			remDocs(str("min"), str("max"))),
		pop("zpopmin", "lowest", cmdZpopmin),
		pop("zpopmax", "highest", cmdZpopmax),
		cmd("zrandmember", -2, r, cmdZrandmember, roAccess,
			commandDoc{"", "Get one or multiple random elements from a sorted set", "6.2.0", "O(N) where N is the number of elements returned", ""},
			&docExtra{tips: []string{"nondeterministic_output"}, args: []docArg{key,
				{name: "options", typ: argBlock, optional: true, args: []docArg{integer("count"), withScores}}}}),
		cmd("zscan", -3, r, cmdZscan, roAccess,
			commandDoc{"", "Incrementally iterate sorted sets elements and associated scores", "2.8.0", "O(1) for every call. O(N) for a complete iteration, including enough command calls for the cursor to return back to 0. N is the number of elements inside the collection..", ""},
			&docExtra{tips: []string{"nondeterministic_output"}, args: []docArg{key, integer("cursor"),
				{name: "pattern", typ: argPattern, token: "MATCH", optional: true}, {name: "count", typ: argInteger, token: "COUNT", optional: true}}}),
		multi("zunion", r, cmdZunion, false, roAccess,
			commandDoc{"", "Add multiple sorted sets", "6.2.0", unionComplexity, ""}, weights, aggregate, withScores),
		multi("zinter", r, cmdZinter, false, roAccess,
			commandDoc{"", "Intersect multiple sorted sets", "6.2.0", interComplexity, ""}, weights, aggregate, withScores),
		multi("zdiff", r, cmdZdiff, false, roAccess,
			commandDoc{"", "Subtract multiple sorted sets", "6.2.0", diffComplexity, ""}, withScores),
		multi("zunionstore", w, cmdZunionstore, true, roAccess,
			commandDoc{"", "Add multiple sorted sets and store the resulting sorted set in a new key", "2.0.0", "O(N)+O(M log(M)) with N being the sum of the sizes of the input sorted sets, and M being the number of elements in the resulting sorted set.", ""},
			weights, aggregate),
		multi("zinterstore", w, cmdZinterstore, true, roAccess,
			commandDoc{"", "Intersect multiple sorted sets and store the resulting sorted set in a new key", "2.0.0", interComplexity, ""}, weights, aggregate),
		multi("zdiffstore", w, cmdZdiffstore, true, roAccess,
			commandDoc{"", "Subtract multiple sorted sets and store the resulting sorted set in a new key", "6.2.0", diffComplexity, ""}),
		multi("zintercard", r, cmdZintercard, false, roAccess,
			commandDoc{"", "Intersect multiple sorted sets and return the cardinality of the result", "7.0.0", "O(N*K) worst case with N being the smallest input sorted set, K being the number of input sorted sets.", ""},
			docArg{name: "limit", typ: argInteger, token: "LIMIT", optional: true}),
		withArity(multi("zmpop", flagWrite, cmdZmpop, false, rwAccessDelete,
			commandDoc{"", "Remove and return members with scores in a sorted set", "7.0.0", "O(K) + O(M*log(N)) where K is the number of provided keys, N being the number of elements in the sorted set, and M being the number of elements popped.", ""},
			docArg{name: "where", typ: argOneOf, args: []docArg{token("min", "MIN"), token("max", "MAX")}},
			docArg{name: "count", typ: argInteger, token: "COUNT", optional: true}), -4),
	}
}

// withArity sets cmd's arity and returns it.
func withArity(cmd *command, arity int) *command {
	cmd.arity = arity
	return cmd
}
