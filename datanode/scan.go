package datanode

import (
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/tidwall/redcon"

	"github.com/chkv/chkv/common/slot"
	"github.com/chkv/chkv/datanode/store"
)

// A SCAN cursor is slot<<32 | hash: the scan continues in that slot with
// the keys whose scan hash is at least hash, then with the following slots.
// Slots are visited in ascending order and each slot's keys in hash order,
// so every key present during the whole scan is returned at least once,
// whatever is added or removed meanwhile. Cursor 0 (slot 0, hash 0) starts
// a scan and is returned when it is complete.
const scanHashBits = 32

// defaultScanCount is SCAN's COUNT when none is given, as in Redis.
const defaultScanCount = 10

func cmdScan(c *client, args [][]byte) {
	cursor, ok := parseScanCursor(args[1])
	if !ok {
		c.replyError(errInvalidCursor)
		return
	}
	opts, ok := c.parseScanOptions(args[2:], true)
	if !ok {
		return
	}
	count, pattern, usePattern, typeName := opts.count, opts.pattern, opts.usePattern, opts.typeName
	// An unknown type name matches no key, as in Redis 7.0.
	wantType, typeKnown := store.ParseType(strings.ToLower(string(typeName)))

	s := c.srv
	now := time.Now().UnixMilli()
	start, n := len(c.out), 0
	var scanned int64
	emit := func(key, _ []byte, typ store.Type, _ int64) {
		scanned++
		if usePattern && !stringMatch(pattern, key) {
			return
		}
		if typeName != nil {
			s.countLookup(true) // Redis looks the key up to learn its type
		}
		if typeName == nil || (typeKnown && typ == wantType) {
			c.replyBulk(key)
			n++
		}
	}
	next := uint64(0)
	hash := uint32(cursor)
	for id := cursor >> scanHashBits; id < slot.Count; id, hash = id+1, 0 {
		sl := s.store.Slot(int(id))
		if sl.Len() == 0 {
			continue
		}
		c.lock(sl)
		h, done := sl.ScanTyped(hash, int(min(count-scanned, 1<<31)), now, emit)
		c.unlock(sl)
		if !done {
			next = id<<scanHashBits | uint64(h)
			break
		}
		if scanned >= count {
			if id+1 < slot.Count {
				next = (id + 1) << scanHashBits
			}
			break
		}
	}
	var hdr [64]byte
	h := redcon.AppendArray(hdr[:0], 2)
	var digits [20]byte
	h = redcon.AppendBulk(h, strconv.AppendUint(digits[:0], next, 10))
	h = redcon.AppendArray(h, n)
	c.out = slices.Insert(c.out, start, h...)
}

// parseScanCursor parses a SCAN cursor as Redis does with strtoul: an
// optional sign (a negative cursor wraps around), decimal digits, no leading
// space; the empty string is cursor 0.
func parseScanCursor(b []byte) (uint64, bool) {
	if len(b) == 0 {
		return 0, true
	}
	neg := false
	if b[0] == '+' || b[0] == '-' {
		neg = b[0] == '-'
		b = b[1:]
		if len(b) == 0 {
			return 0, false
		}
	}
	var v uint64
	for _, ch := range b {
		if ch < '0' || ch > '9' {
			return 0, false
		}
		d := uint64(ch - '0')
		if v > (1<<64-1-d)/10 {
			return 0, false // ERANGE
		}
		v = v*10 + d
	}
	if neg {
		v = -v
	}
	return v, true
}

// scanOptions are the options of the SCAN family.
type scanOptions struct {
	count      int64
	pattern    []byte
	usePattern bool   // a MATCH pattern other than "*"
	typeName   []byte // SCAN's TYPE; nil when not given
}

// parseScanOptions parses COUNT and MATCH, and with withType SCAN's TYPE,
// answering c with Redis's error and reporting false when they are
// malformed.
func (c *client) parseScanOptions(args [][]byte, withType bool) (scanOptions, bool) {
	o := scanOptions{count: defaultScanCount}
	for i := 0; i < len(args); i += 2 {
		more := len(args) - i
		switch {
		case equalFold(args[i], "count") && more >= 2:
			n, ok := parseInt(args[i+1])
			if !ok {
				c.replyError(errNotInteger)
				return o, false
			}
			if n < 1 {
				c.replyError(errSyntax)
				return o, false
			}
			o.count = n
		case equalFold(args[i], "match") && more >= 2:
			o.pattern = args[i+1]
			o.usePattern = !(len(o.pattern) == 1 && o.pattern[0] == '*')
		case withType && equalFold(args[i], "type") && more >= 2:
			o.typeName = args[i+1]
		default:
			c.replyError(errSyntax)
			return o, false
		}
	}
	return o, true
}
