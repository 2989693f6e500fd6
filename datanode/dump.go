package datanode

import (
	"bytes"
	"errors"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/chkv/chkv/datanode/rdb"
	"github.com/chkv/chkv/datanode/store"
)

// DUMP and RESTORE move a value in Redis's own serialization format (see
// package rdb), so a value dumped by Redis 7.0 restores into CHKV and one
// dumped by CHKV restores into Redis. DUMP writes each CHKV encoding as
// the Redis encoding OBJECT ENCODING names; RESTORE picks the CHKV
// encoding by the rules the type's commands use, as Redis does on load.

// RESTORE's error replies.
const (
	errBusyKey     = "BUSYKEY Target key name already exists."
	errBadDump     = "ERR DUMP payload version or checksum are wrong"
	errBadFormat   = "ERR Bad data format"
	errRestoreTTL  = "ERR Invalid TTL value, must be >= 0"
	errRestoreIdle = "ERR Invalid IDLETIME value, must be >= 0"
	errRestoreFreq = "ERR Invalid FREQ value, must be >= 0 and <= 255"
)

// restoreArgsBase is where RESTORE's options start, after key, ttl and
// payload.
const restoreArgsBase = 4

// dumpCommands are DUMP and RESTORE.
func dumpCommands() []*command {
	key := docArg{name: "key", typ: argKey}
	return []*command{
		{name: "dump", arity: 2, flags: flagReadOnly, firstKey: 1, lastKey: 1, keyStep: 1, run: cmdDump,
			doc:   commandDoc{"generic", "Return a serialized version of the value stored at the specified key.", "2.6.0", "O(1) to access the key and additional O(N*M) to serialize it, where N is the number of Redis objects composing the value and M their average size. For small string values the time complexity is thus O(1)+O(1*M) where M is small, so simply O(1).", ""},
			extra: &docExtra{args: []docArg{key}, tips: []string{"nondeterministic_output"}}},
		{name: "restore", arity: -4, flags: flagWrite | flagDenyOOM, firstKey: 1, lastKey: 1, keyStep: 1, run: cmdRestore,
			keyFlags: []string{"OW", "update"},
			doc:      commandDoc{"generic", "Create a key using the provided serialized value, previously obtained using DUMP.", "2.6.0", "O(1) to create the new key and additional O(N*M) to reconstruct the serialized value, where N is the number of Redis objects composing the value and M their average size. For small string values the time complexity is thus O(1)+O(1*M) where M is small, so simply O(1). However for sorted set values the complexity is O(N*M*log(N)) because inserting values into sorted sets is O(log(N)).", ""},
			extra: &docExtra{args: []docArg{key, {name: "ttl", typ: argInteger}, {name: "serialized-value", typ: argString},
				{name: "replace", typ: argPureToken, token: "REPLACE", since: "3.0.0", optional: true},
				{name: "absttl", typ: argPureToken, token: "ABSTTL", since: "5.0.0", optional: true},
				{name: "seconds", typ: argInteger, token: "IDLETIME", since: "5.0.0", optional: true},
				{name: "frequency", typ: argInteger, token: "FREQ", since: "5.0.0", optional: true}},
				categories: []string{"dangerous"},
				history:    [][2]string{{"3.0.0", "Added the `REPLACE` modifier."}, {"5.0.0", "Added the `ABSTTL` modifier."}, {"5.0.0", "Added the `IDLETIME` and `FREQ` options."}}}},
	}
}

// cmdDump is DUMP key: the value serialized as Redis serializes it, with
// the DUMP footer; nil for a missing key. The value is encoded while its
// slot is locked, as it points into the store.
func cmdDump(c *client, args [][]byte) {
	s, key := c.srv, args[1]
	sl := s.keySlot(key)
	c.lock(sl)
	v, _, typ, found := s.lookupReadTyped(sl, key, time.Now().UnixMilli())
	var payload []byte
	if found {
		payload = rdb.AppendFooter(appendRDBValue(nil, typ, v), 0)
	}
	c.unlock(sl)
	if !found {
		c.replyNull()
		return
	}
	c.replyBulk(payload)
}

// appendRDBValue appends the stored value v of type typ in Redis's
// serialization format, in the Redis encoding matching its CHKV one.
func appendRDBValue(dst []byte, typ store.Type, v []byte) []byte {
	switch typ {
	case store.TypeHash:
		h := hashValue(v)
		pairs := make([][]byte, 0, 2*h.len())
		h.each(func(f hashField) bool {
			pairs = append(pairs, f.field, f.value)
			return true
		})
		return rdb.AppendHash(dst, pairs, h.encoding() == hashListpack)
	case store.TypeList:
		l := listValue(v)
		elems := make([][]byte, 0, l.len())
		l.each(func(_ int, e []byte, _, _ int) bool {
			elems = append(elems, e)
			return true
		})
		return rdb.AppendList(dst, elems)
	case store.TypeSet:
		set := setValue(v)
		if set.encoding() == setIntset {
			vals := make([]int64, set.len())
			for i := range vals {
				vals[i] = set.intAt(i)
			}
			return rdb.AppendIntset(dst, vals)
		}
		return rdb.AppendSet(dst, set.members())
	case store.TypeZSet:
		z := zsetValue(v)
		members, scores := make([][]byte, z.len()), make([]float64, z.len())
		for i := range members {
			members[i], scores[i] = z.member(i), z.score(i)
		}
		return rdb.AppendZSet(dst, members, scores, z.encoding() == zsetListpack)
	}
	return rdb.AppendString(dst, v)
}

// restoreOptions are RESTORE's options.
type restoreOptions struct {
	replace, absTTL bool
	idle, freq      int64 // -1 when not given
}

// parseRestoreOptions parses the options after the payload as Redis does,
// replying with the error and returning false on a bad one.
func (c *client) parseRestoreOptions(args [][]byte) (restoreOptions, bool) {
	o, ok := restoreOptions{idle: -1, freq: -1}, true
	for j := restoreArgsBase; j < len(args); j++ {
		more := j+1 < len(args)
		switch opt := strings.ToLower(string(args[j])); {
		case opt == "replace":
			o.replace = true
		case opt == "absttl":
			o.absTTL = true
		case opt == "idletime" && more && o.freq == -1:
			j++
			if o.idle, ok = c.restoreIntOption(args[j], math.MaxInt64, errRestoreIdle); !ok {
				return o, false
			}
		case opt == "freq" && more && o.idle == -1:
			j++
			if o.freq, ok = c.restoreIntOption(args[j], 255, errRestoreFreq); !ok {
				return o, false
			}
		default:
			c.replyError(errSyntax)
			return o, false
		}
	}
	return o, true
}

// restoreIntOption parses the value of IDLETIME or FREQ, which must be in
// [0, max], replying with the error (msg when out of range) and returning
// false on a bad one.
func (c *client) restoreIntOption(arg []byte, max int64, msg string) (int64, bool) {
	n, ok := parseInt(arg)
	switch {
	case !ok:
		c.replyError(errNotInteger)
	case n < 0 || n > max:
		c.replyError(msg)
	default:
		return n, true
	}
	return 0, false
}

// cmdRestore is RESTORE key ttl serialized-value [REPLACE] [ABSTTL]
// [IDLETIME seconds] [FREQ frequency], checking in Redis's order: options,
// existing key, TTL, payload footer, payload body. As in Redis, FREQ sets
// the key's LFU counter under an LFU maxmemory-policy, and IDLETIME its
// last access time under any other.
func cmdRestore(c *client, args [][]byte) {
	s, key := c.srv, args[1]
	opts, ok := c.parseRestoreOptions(args)
	if !ok {
		return
	}
	now := time.Now().UnixMilli()
	sl := c.lockKeySlot(key)
	defer c.unlock(sl)
	if _, _, exists := sl.Peek(key, now); exists && !opts.replace {
		c.replyError(errBusyKey)
		return
	}
	ttl, ok := parseInt(args[2])
	if !ok {
		c.replyError(errNotInteger)
		return
	}
	if ttl < 0 {
		c.replyError(errRestoreTTL)
		return
	}
	val, err := rdb.DecodeDump(args[3])
	if errors.Is(err, rdb.ErrBadFooter) {
		c.replyError(errBadDump)
		return
	}
	var typ store.Type
	var packed []byte
	if err == nil {
		typ, packed, err = s.packRestored(val)
	}
	if err != nil {
		c.replyError(errBadFormat)
		return
	}
	if ttl != 0 && !opts.absTTL {
		ttl = addSaturating(ttl, now)
	}
	if ttl != 0 && ttl <= now { // already expired: nothing is created
		if opts.replace {
			sl.Delete(key)
		}
		c.replyOK()
		return
	}
	if err := sl.SetTyped(key, packed, typ, ttl, now); err != nil {
		c.replyStoreError(err)
		return
	}
	switch lfu := isLFU(s.settings.Load().MaxMemoryPolicy); {
	case lfu && opts.freq >= 0:
		sl.SetFreq(key, uint8(opts.freq), now)
	case !lfu && opts.idle >= 0:
		sl.SetIdle(key, opts.idle, now)
	}
	c.replyOK()
}

// addSaturating returns a+b for non-negative a and b, capped at
// math.MaxInt64.
func addSaturating(a, b int64) int64 {
	if a > math.MaxInt64-b {
		return math.MaxInt64
	}
	return a + b
}

// errRestoreValue means a decoded value is not a valid value of its type:
// repeated members or fields, or too large for CHKV's encoding.
var errRestoreValue = errors.New("datanode: restored value is malformed")

// packRestored packs a decoded value in CHKV's encoding of its type, the
// encoding chosen by the limits the type's commands use.
func (s *Server) packRestored(v rdb.Value) (store.Type, []byte, error) {
	switch v.Kind {
	case rdb.KindString:
		return store.TypeString, v.Elems[0], nil
	case rdb.KindList:
		return store.TypeList, newList(v.Elems, 0), nil
	case rdb.KindHash:
		h, added := emptyHash().setMany(nil, v.Elems, s.hashLimits())
		if added != len(v.Elems)/2 {
			return 0, nil, errRestoreValue
		}
		if h.encoding() == hashListpackFull {
			var ok bool
			if h, ok = h.rebuildTable(nil, 0, 0); !ok {
				return 0, nil, errRestoreValue
			}
		}
		return store.TypeHash, h, nil
	case rdb.KindSet:
		set, ok := buildSet(nil, v.Elems, s.setLimits())
		if !ok || set.len() != len(v.Elems) {
			return 0, nil, errRestoreValue
		}
		return store.TypeSet, set, nil
	case rdb.KindZSet:
		z, ok := packZset(v.Elems, v.Scores, s.zsetLimits())
		if !ok {
			return 0, nil, errRestoreValue
		}
		return store.TypeZSet, z, nil
	}
	return 0, nil, errRestoreValue
}

// packZset packs members with their scores as a sorted set, encoded as
// Redis encodes a loaded one; ok is false for a repeated member.
func packZset(members [][]byte, scores []float64, lim zsetLimits) (zsetValue, bool) {
	if len(members) > zsetMaxLen {
		return nil, false
	}
	es := make([]zsetElem, len(members))
	for i, m := range members {
		es[i] = zsetElem{scores[i], m}
	}
	byMember := slices.Clone(es)
	slices.SortFunc(byMember, func(a, b zsetElem) int { return bytes.Compare(a.member, b.member) })
	for i := 1; i < len(byMember); i++ {
		if bytes.Equal(byMember[i-1].member, byMember[i].member) {
			return nil, false
		}
	}
	slices.SortFunc(es, zsetCompare)
	enc := byte(zsetSkiplist)
	if lim.fits(len(es), maxMemberLen(es)) {
		enc = zsetListpack
	}
	return buildZset(nil, enc, es), true
}
