package datanode

import (
	"bytes"
)

// SORT and SORT_RO, as Redis 7.0's sort.c: the elements of a list, set or
// sorted set, ordered by their own value or by weights other keys hold
// (BY), optionally replaced by what other keys hold (GET), or stored as a
// list (STORE). See sortrun.go for how a call runs.

// Errors of SORT, as Redis words them.
const (
	errSortScores     = "ERR One or more scores can't be converted into double"
	errSortByCluster  = "ERR BY option of SORT denied in Cluster mode."
	errSortGetCluster = "ERR GET option of SORT denied in Cluster mode."
)

// sortCommands are SORT and SORT_RO.
func sortCommands() []*command {
	const complexity = "O(N+M*log(M)) where N is the number of elements in the list or set to sort, and M the number of returned elements. When the elements are not sorted, complexity is O(N)."
	args := []docArg{
		{name: "key", typ: argKey},
		{name: "pattern", typ: argPattern, token: "BY", optional: true, patternKeys: true, keySpec: 1},
		{name: "offset_count", typ: argBlock, token: "LIMIT", optional: true, args: []docArg{
			{name: "offset", typ: argInteger}, {name: "count", typ: argInteger}}},
		{name: "pattern", typ: argPattern, token: "GET", optional: true, multiple: true, multipleToken: true, patternKeys: true, keySpec: 1},
		{name: "order", typ: argOneOf, optional: true, args: []docArg{
			{name: "asc", typ: argPureToken, token: "ASC"}, {name: "desc", typ: argPureToken, token: "DESC"}}},
		{name: "sorting", typ: argPureToken, token: "ALPHA", optional: true},
	}
	specs := []keySpec{
		{flags: []string{"RO", "access"}, begin: 1},
		{notes: "For the optional BY/GET keyword. It is marked 'unknown' because the key names derive from the content of the key we sort",
			flags: []string{"RO", "access"}, unknown: true},
		{notes: "For the optional STORE keyword. It is marked 'unknown' because the keyword can appear anywhere in the argument array",
			flags: []string{"OW", "update"}, unknown: true},
	}
	extra := func(args []docArg) *docExtra {
		return &docExtra{args: args, categories: []string{"set", "sortedset", "list", "dangerous"}, notCategories: []string{"keyspace"}}
	}
	return []*command{
		{name: "sort", arity: -2, flags: flagWrite | flagDenyOOM | flagMovable, firstKey: 1, lastKey: 1, keyStep: 1,
			run: cmdSort, keySpecs: specs, getKeys: sortKeys, patternKeys: sortPatternKeys,
			doc:   commandDoc{"generic", "Sort the elements in a list, set or sorted set", "1.0.0", complexity, ""},
			extra: extra(append(args[:len(args):len(args)], docArg{name: "destination", typ: argKey, token: "STORE", optional: true, keySpec: 2}))},
		{name: "sort_ro", arity: -2, flags: flagReadOnly | flagMovable, firstKey: 1, lastKey: 1, keyStep: 1,
			run: cmdSortRO, keySpecs: specs[:2], getKeys: sortROKeys, patternKeys: sortPatternKeys,
			doc:   commandDoc{"generic", "Sort the elements in a list, set or sorted set. Read-only variant of SORT.", "7.0.0", complexity, ""},
			extra: extra(args)},
	}
}

// sortKeys finds SORT's keys as Redis's sortGetKeys does: the key sorted
// and the last STORE's destination, skipping the arguments of LIMIT, BY
// and GET.
func sortKeys(args [][]byte) []keyRef {
	refs := []keyRef{{pos: 1, spec: 0}}
	store := 0
	for i := 2; i < len(args); i++ {
		switch {
		case equalFold(args[i], "limit"):
			i += 2
		case equalFold(args[i], "get"), equalFold(args[i], "by"):
			i++
		case equalFold(args[i], "store") && i+1 < len(args):
			store = i + 1
		}
	}
	if store > 0 {
		refs = append(refs, keyRef{pos: store, spec: 2})
	}
	return refs
}

// sortROKeys finds SORT_RO's one key.
func sortROKeys([][]byte) []keyRef { return []keyRef{{pos: 1, spec: 0}} }

// sortPatternKeys reports whether a SORT may read keys its BY or GET
// patterns name; it errs on the side of yes.
func sortPatternKeys(args [][]byte) bool {
	for i := 2; i+1 < len(args); i++ {
		if equalFold(args[i], "by") || equalFold(args[i], "get") {
			if p := args[i+1]; cStrchr(p, '*') >= 0 {
				return true
			}
			i++
		}
	}
	return false
}

// sortOpts are a SORT call's options.
type sortOpts struct {
	desc, alpha bool
	start       int64  // LIMIT offset
	count       int64  // LIMIT count; -1 when there is no limit
	store       []byte // STORE destination, nil without
	by          []byte // BY pattern, nil without
	dontsort    bool   // a BY pattern without '*': no sorting
	gets        [][]byte
}

// parseSort parses SORT's options (args[2:]) as Redis does, in order, and
// replies the first error: a syntax error, a LIMIT that is not an integer,
// or, in cluster mode, a BY pattern with '*' or any GET, which Redis
// Cluster 7.0 refuses whatever slot their keys hash to. On false it
// replied.
func (c *client) parseSort(args [][]byte, readonly bool) (o sortOpts, ok bool) {
	o.count = -1
	cluster := c.srv.member != nil
	for j := 2; j < len(args); j++ {
		left := len(args) - j - 1
		switch a := args[j]; {
		case equalFold(a, "asc"):
			o.desc = false
		case equalFold(a, "desc"):
			o.desc = true
		case equalFold(a, "alpha"):
			o.alpha = true
		case equalFold(a, "limit") && left >= 2:
			start, ok1 := parseInt(args[j+1])
			count, ok2 := parseInt(args[j+2])
			if !ok1 || !ok2 {
				c.replyError(errNotInteger)
				return o, false
			}
			o.start, o.count = start, count
			j += 2
		case !readonly && equalFold(a, "store") && left >= 1:
			o.store = args[j+1]
			j++
		case equalFold(a, "by") && left >= 1:
			o.by = args[j+1]
			if cStrchr(o.by, '*') < 0 {
				o.dontsort = true // as in Redis, a later BY does not undo it
			} else if cluster {
				c.replyError(errSortByCluster)
				return o, false
			}
			j++
		case equalFold(a, "get") && left >= 1:
			if cluster {
				c.replyError(errSortGetCluster)
				return o, false
			}
			o.gets = append(o.gets, args[j+1])
			j++
		default:
			c.replyError(errSyntax)
			return o, false
		}
	}
	return o, true
}

// cStrchr is C's strchr on b read as a C string: the index of ch before
// the first NUL byte, or -1.
func cStrchr(b []byte, ch byte) int {
	if i := bytes.IndexByte(b, 0); i >= 0 {
		b = b[:i]
	}
	return bytes.IndexByte(b, ch)
}

// sortPattern is where a BY or GET pattern leads for one element: the key
// it names, and the hash field for a "key->field" pattern.
type sortPattern struct {
	self     bool // the pattern is "#": the element itself
	key      []byte
	field    []byte
	hasField bool
}

// resolveSortPattern substitutes elem for the first '*' of pattern, as
// Redis's lookupKeyByPattern does; ok is false for a pattern without '*',
// which names nothing.
func resolveSortPattern(pattern, elem []byte) (p sortPattern, ok bool) {
	if len(pattern) > 0 && pattern[0] == '#' && (len(pattern) == 1 || pattern[1] == 0) {
		return sortPattern{self: true}, true
	}
	star := cStrchr(pattern, '*')
	if star < 0 {
		return p, false
	}
	end := len(pattern)
	rest := pattern[star+1:]
	if i := bytes.IndexByte(rest, 0); i >= 0 {
		rest = rest[:i]
	}
	if f := bytes.Index(rest, []byte("->")); f >= 0 && f+2 < len(rest) {
		end = star + 1 + f
		p.field, p.hasField = pattern[end+2:], true
	}
	p.key = make([]byte, 0, star+len(elem)+end-star-1)
	p.key = append(append(append(p.key, pattern[:star]...), elem...), pattern[star+1:end]...)
	return p, true
}

func cmdSort(c *client, args [][]byte)   { c.sort(args, false) }
func cmdSortRO(c *client, args [][]byte) { c.sort(args, true) }
