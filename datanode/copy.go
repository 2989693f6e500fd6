package datanode

import (
	"math"
	"time"
)

// copyCommand is COPY, in Redis's "generic" group. Every value is one store
// value with its type, so a copy of any type is a copy of its bytes.
func copyCommand() *command {
	return &command{name: "copy", arity: -3, flags: flagWrite | flagDenyOOM, firstKey: 1, lastKey: 2, keyStep: 1, run: cmdCopy,
		doc: commandDoc{"generic", "Copy a key", "6.2.0", "O(N) worst case for collections, where N is the number of nested items. O(1) for string values.", ""},
		extra: &docExtra{args: []docArg{{name: "source", typ: argKey}, {name: "destination", typ: argKey, keySpec: 1},
			{name: "destination-db", typ: argInteger, token: "DB", optional: true},
			{name: "replace", typ: argPureToken, token: "REPLACE", optional: true}}},
		keySpecs: []keySpec{{flags: []string{"RO", "access"}, begin: 1}, {flags: []string{"OW", "update"}, begin: 2}}}
}

// Error texts of COPY: Redis's shared.sameobjecterr, and
// getIntFromObjectOrReply's for a number beyond an int.
const (
	errSameObject = "ERR source and destination objects are the same"
	errIntRange   = "ERR value is out of range, value must between -2147483648 and 2147483647"
)

// parseCopyOptions parses COPY's REPLACE and DB options; CHKV has database
// 0 only, so any other is out of range, as on a server with one database.
func (c *client) parseCopyOptions(args [][]byte) (replace, ok bool) {
	for j := 3; j < len(args); j++ {
		switch {
		case equalFold(args[j], "replace"):
			replace = true
		case equalFold(args[j], "db") && j+1 < len(args):
			j++
			db, good := parseInt(args[j])
			if !good {
				c.replyError(errNotInteger)
				return false, false
			}
			if db < math.MinInt32 || db > math.MaxInt32 {
				c.replyError(errIntRange)
				return false, false
			}
			if db != 0 {
				c.replyError(errDBIndex)
				return false, false
			}
		default:
			c.replyError(errSyntax)
			return false, false
		}
	}
	return replace, true
}

func cmdCopy(c *client, args [][]byte) {
	replace, ok := c.parseCopyOptions(args)
	if !ok {
		return
	}
	s, src, dst := c.srv, args[1], args[2]
	if string(src) == string(dst) {
		c.replyError(errSameObject)
		return
	}
	now := time.Now().UnixMilli()
	locks := c.lockKeys(args[:3], 1, 1)
	defer locks.release()
	v, expireAt, typ, found := s.lookupReadTyped(s.keySlot(src), src, now)
	if !found {
		c.replyInt(0)
		return
	}
	dsl := s.keySlot(dst)
	if _, _, exists := dsl.Peek(dst, now); exists && !replace {
		c.replyInt(0)
		return
	}
	raw := s.keySlot(src).Raw(src, now)
	if err := dsl.SetTyped(dst, v, typ, expireAt, now); err != nil {
		c.replyStoreError(err)
		return
	}
	if raw {
		dsl.MarkRaw(dst, now) // Redis's copy of a raw string is raw
	}
	c.replyInt(1)
}
