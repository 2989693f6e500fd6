package datanode

import (
	"strconv"
	"sync/atomic"
)

// RESP3 (HELLO 3) adds reply types to RESP2. A client speaks RESP2 until
// HELLO 3 and again after HELLO 2 or RESET; commands reply through the
// helpers below, which write the RESP3 type where Redis 7.0 uses it and, on
// a RESP2 connection, exactly the bytes RESP2 always had:
//
//	RESP3                   RESP2
//	_ null                  $-1 (replyNull), *-1 (replyNullArray)
//	%n map of n pairs       *2n
//	~n set                  *n
//	,d double               bulk string of the same digits
//	>n push                 *n
//	#t / #f boolean         :1 / :0
//	=n txt:... verbatim     bulk string of the text
//
// The protocol is the connection owner's: commands read c.resp3, and the
// code that writes a reply for another client (a served blocking command)
// copies that client's flag to the scratch client it writes with.

// respVersion is a client's protocol, 2 or 3, readable from any goroutine
// (CLIENT LIST); the owner reads its copy c.resp3.
type respVersion struct{ v atomic.Int32 }

func (r *respVersion) load() int64 {
	if v := r.v.Load(); v != 0 {
		return int64(v)
	}
	return 2
}

// setProto switches the client to RESP proto (2 or 3).
func (c *client) setProto(proto int) {
	c.resp3 = proto == 3
	c.respVer.v.Store(int32(proto))
}

// appendHeader appends a RESP aggregate header: kind, n, CRLF.
func appendHeader(b []byte, kind byte, n int) []byte {
	b = append(b, kind)
	b = strconv.AppendInt(b, int64(n), 10)
	return append(b, '\r', '\n')
}

// replyNullArray replies a null array: *-1 in RESP2, _ in RESP3.
func (c *client) replyNullArray() {
	if c.resp3 {
		c.out = append(c.out, "_\r\n"...)
		return
	}
	c.out = append(c.out, "*-1\r\n"...)
}

// nullFor is the null reply resp2 (a RESP2 null: $-1 or *-1) as a client of
// the given protocol receives it.
func nullFor(resp3 bool, resp2 string) string {
	if resp3 {
		return "_\r\n"
	}
	return resp2
}

// replyMap starts a map of n key-value pairs; 2n replies follow.
func (c *client) replyMap(n int) {
	if c.resp3 {
		c.out = appendHeader(c.out, '%', n)
		return
	}
	c.out = appendHeader(c.out, '*', 2*n)
}

// replySet starts a set of n elements.
func (c *client) replySet(n int) {
	if c.resp3 {
		c.out = appendHeader(c.out, '~', n)
		return
	}
	c.out = appendHeader(c.out, '*', n)
}

// replyPush starts an out-of-band push message of n elements.
func (c *client) replyPush(n int) {
	if c.resp3 {
		c.out = appendHeader(c.out, '>', n)
		return
	}
	c.out = appendHeader(c.out, '*', n)
}

// replyDouble replies d as Redis's addReplyDouble: a double in RESP3, a
// bulk string of the same digits (%.17g, inf, -inf) in RESP2.
func (c *client) replyDouble(d float64) {
	if c.resp3 {
		c.out = append(c.out, ',')
		c.out = appendScore(c.out, d)
		c.out = append(c.out, '\r', '\n')
		return
	}
	var buf [32]byte
	c.replyBulk(appendScore(buf[:0], d))
}

// replyBoolean replies b as a RESP3 boolean, or as the integer 1 or 0.
func (c *client) replyBoolean(b bool) {
	switch {
	case !c.resp3:
		c.replyInt(boolInt(b))
	case b:
		c.out = append(c.out, "#t\r\n"...)
	default:
		c.out = append(c.out, "#f\r\n"...)
	}
}

// replyBigNumber replies s, the digits of a big number, as a RESP3 big
// number, or as a bulk string in RESP2.
func (c *client) replyBigNumber(s string) {
	if !c.resp3 {
		c.replyBulkString(s)
		return
	}
	c.out = append(c.out, '(')
	c.out = append(c.out, s...)
	c.out = append(c.out, '\r', '\n')
}

// replyVerbatim replies text as a RESP3 verbatim string of format "txt",
// or as a bulk string in RESP2 (Redis's addReplyVerbatim).
func (c *client) replyVerbatim(text string) {
	if !c.resp3 {
		c.replyBulkString(text)
		return
	}
	c.out = appendHeader(c.out, '=', len(text)+4)
	c.out = append(c.out, "txt:"...)
	c.out = append(c.out, text...)
	c.out = append(c.out, '\r', '\n')
}

// replyPairs starts an array of n pairs (member and score, field and
// value): flat in RESP2 (2n elements), an array of n two-element arrays in
// RESP3, each opened by replyPair, as Redis 7.0 replies WITHSCORES.
func (c *client) replyPairs(n int) {
	if c.resp3 {
		c.replyArray(n)
		return
	}
	c.replyArray(2 * n)
}

// replyPair opens one pair of replyPairs.
func (c *client) replyPair() {
	if c.resp3 {
		c.out = append(c.out, "*2\r\n"...)
	}
}
