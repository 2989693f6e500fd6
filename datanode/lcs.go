package datanode

import (
	"time"

	"github.com/chkv/chkv/datanode/store"
)

// lcsCommand is LCS, in Redis's "string" group.
func lcsCommand() *command {
	key := func(name string) docArg { return docArg{name: name, typ: argKey} }
	token := func(name, tok string) docArg {
		return docArg{name: name, typ: argPureToken, token: tok, optional: true}
	}
	return &command{name: "lcs", arity: -3, flags: flagReadOnly, firstKey: 1, lastKey: 2, keyStep: 1, run: cmdLcs,
		doc: commandDoc{"string", "Find longest common substring", "7.0.0", "O(N*M) where N and M are the lengths of s1 and s2, respectively", ""},
		extra: &docExtra{args: []docArg{key("key1"), key("key2"), token("len", "LEN"), token("idx", "IDX"),
			{name: "len", typ: argInteger, token: "MINMATCHLEN", optional: true}, token("withmatchlen", "WITHMATCHLEN")}}}
}

// Error texts of LCS, as Redis words them.
const (
	errLcsType    = "ERR The specified keys must contain string values"
	errLcsLenIdx  = "ERR If you want both the length and indexes, please just use IDX."
	errLcsTooLong = "ERR String too long for LCS"
	errLcsMemory  = "ERR Insufficient memory, transient memory for LCS exceeds proto-max-bulk-len"
)

// lcsOptions are LCS's options.
type lcsOptions struct {
	getLen, getIdx, withMatchLen bool
	minMatchLen                  int64
}

// parseLcsOptions parses args[3:], replying the error on a bad one.
func (c *client) parseLcsOptions(args [][]byte) (o lcsOptions, ok bool) {
	for j := 3; j < len(args); j++ {
		switch opt := args[j]; {
		case equalFold(opt, "idx"):
			o.getIdx = true
		case equalFold(opt, "len"):
			o.getLen = true
		case equalFold(opt, "withmatchlen"):
			o.withMatchLen = true
		case equalFold(opt, "minmatchlen") && j+1 < len(args):
			j++
			if o.minMatchLen, ok = parseInt(args[j]); !ok {
				c.replyError(errNotInteger)
				return o, false
			}
			o.minMatchLen = max(o.minMatchLen, 0)
		default:
			c.replyError(errSyntax)
			return o, false
		}
	}
	return o, true
}

// lcsStrings copies the string values of LCS's two keys, missing keys as
// empty, so that the table is built without holding the slots.
func (c *client) lcsStrings(args [][]byte) (a, b []byte, ok bool) {
	s := c.srv
	now := time.Now().UnixMilli()
	locks := c.lockKeys(args[:3], 1, 1)
	defer locks.release()
	va, _, ta, fa := s.lookupReadTyped(s.keySlot(args[1]), args[1], now)
	vb, _, tb, fb := s.lookupReadTyped(s.keySlot(args[2]), args[2], now)
	if (fa && ta != store.TypeString) || (fb && tb != store.TypeString) {
		c.replyError(errLcsType)
		return nil, nil, false
	}
	return append([]byte(nil), va...), append([]byte(nil), vb...), true
}

func cmdLcs(c *client, args [][]byte) {
	a, b, ok := c.lcsStrings(args)
	if !ok {
		return
	}
	o, ok := c.parseLcsOptions(args)
	if !ok {
		return
	}
	if o.getIdx && o.getLen {
		c.replyError(errLcsLenIdx)
		return
	}
	const maxLen = 1<<32 - 2
	if len(a) >= maxLen || len(b) >= maxLen {
		c.replyError(errLcsTooLong)
		return
	}
	cells := uint64(len(a)+1) * uint64(len(b)+1)
	if cells*4 > uint64(c.srv.settings.Load().ProtoMaxBulkLen) {
		c.replyError(errLcsMemory)
		return
	}
	c.replyLcs(a, b, o, lcsTable(a, b))
}

// lcsTable returns the dynamic-programming table of LCS lengths:
// t[i*(len(b)+1)+j] is the length of the LCS of a[:i] and b[:j].
func lcsTable(a, b []byte) []uint32 {
	w := len(b) + 1
	t := make([]uint32, (len(a)+1)*w)
	for i := 1; i <= len(a); i++ {
		row, prev := t[i*w:(i+1)*w], t[(i-1)*w:i*w]
		for j := 1; j <= len(b); j++ {
			switch {
			case a[i-1] == b[j-1]:
				row[j] = prev[j-1] + 1
			case prev[j] > row[j-1]:
				row[j] = prev[j]
			default:
				row[j] = row[j-1]
			}
		}
	}
	return t
}

// lcsRange is a run of matching bytes found walking the table back:
// a[aStart..aEnd] equals b[bStart..bEnd].
type lcsRange struct{ aStart, aEnd, bStart, bEnd int }

// replyLcs walks the table back from its end as Redis does, collecting the
// common string and the matching ranges, and replies what o asks for.
func (c *client) replyLcs(a, b []byte, o lcsOptions, t []uint32) {
	w := len(b) + 1
	at := func(i, j int) uint32 { return t[i*w+j] }
	total := int(at(len(a), len(b)))
	if o.getLen {
		c.replyInt(int64(total))
		return
	}
	result := make([]byte, total)
	var ranges []lcsRange
	idx := total
	cur, open := lcsRange{}, false
	for i, j := len(a), len(b); i > 0 && j > 0; {
		emit := false
		if a[i-1] == b[j-1] {
			result[idx-1] = a[i-1]
			switch {
			case !open:
				cur, open = lcsRange{i - 1, i - 1, j - 1, j - 1}, true
			case cur.aStart == i && cur.bStart == j:
				cur.aStart--
				cur.bStart--
			default:
				emit = true
			}
			if cur.aStart == 0 || cur.bStart == 0 {
				emit = true
			}
			idx, i, j = idx-1, i-1, j-1
		} else {
			if at(i-1, j) > at(i, j-1) {
				i--
			} else {
				j--
			}
			emit = open
		}
		if emit {
			if o.minMatchLen == 0 || int64(cur.aEnd-cur.aStart+1) >= o.minMatchLen {
				ranges = append(ranges, cur)
			}
			open = false
		}
	}
	if !o.getIdx {
		c.replyBulk(result)
		return
	}
	c.replyMap(2)
	c.replyBulkString("matches")
	c.replyArray(len(ranges))
	for _, r := range ranges {
		c.replyArray(2 + int(boolInt(o.withMatchLen)))
		c.replyArray(2)
		c.replyInt(int64(r.aStart))
		c.replyInt(int64(r.aEnd))
		c.replyArray(2)
		c.replyInt(int64(r.bStart))
		c.replyInt(int64(r.bEnd))
		if o.withMatchLen {
			c.replyInt(int64(r.aEnd - r.aStart + 1))
		}
	}
	c.replyBulkString("len")
	c.replyInt(int64(total))
}
