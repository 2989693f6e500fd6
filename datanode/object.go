package datanode

import (
	"time"

	"github.com/chkv/chkv/datanode/store"
)

// objectCommand is OBJECT, which inspects the value of a key.
func objectCommand() *command {
	sub := func(name, summary, since string, run func(*client, [][]byte)) *command {
		return &command{name: "object|" + name, arity: 3, flags: flagReadOnly, firstKey: 2, lastKey: 2, keyStep: 1, run: run,
			keyFlags: []string{"RO"}, extra: &docExtra{tips: []string{"nondeterministic_output"}},
			doc: commandDoc{"generic", summary, since, "O(1)", "key"}}
	}
	return newContainer("object", -2, 0, commandDoc{"generic", "A container for object introspection commands", "2.2.3", "Depends on subcommand.", ""},
		[]*command{
			sub("encoding", "Inspect the internal encoding of a Redis object", "2.2.3", cmdObjectEncoding),
			sub("idletime", "Get the time since a Redis object was last accessed", "2.2.3", cmdObjectIdletime),
			sub("freq", "Get the logarithmic access frequency counter of a Redis object", "4.0.0", cmdObjectFreq),
			{name: "object|help", arity: 2, flags: flagLoading | flagStale, run: cmdObjectHelp,
				doc: commandDoc{"generic", "Show helpful text about the different subcommands", "6.2.0", "O(1)", ""}},
			sub("refcount", "Get the number of references to the value of the key", "2.2.3", cmdObjectRefcount),
		})
}

// OBJECT's errors, as Redis words them.
const (
	errNoLFU = "ERR An LFU maxmemory policy is not selected, access frequency not tracked. Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust."
	errLFU   = "ERR An LFU maxmemory policy is selected, idle time not tracked. Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust."
)

// sharedIntegers is Redis's OBJ_SHARED_INTEGERS: values 0 to 9999 are
// shared objects, whose reference count is OBJ_SHARED_REFCOUNT.
const (
	sharedIntegers = 10000
	sharedRefcount = 2147483647
)

// objectLookup looks args[2] up for OBJECT without recording an access;
// a missing key is replied with a null.
func (c *client) objectLookup(args [][]byte, fn func(v []byte, typ store.Type)) {
	s, key := c.srv, args[2]
	now := time.Now().UnixMilli()
	sl := c.lockKeySlot(key)
	defer c.unlock(sl)
	v, _, typ, ok := sl.PeekTyped(key, now)
	s.countLookup(ok)
	if !ok {
		c.replyNull()
		return
	}
	fn(v, typ)
}

// stringEncoding is the encoding Redis gives a string value when it is
// set: int for an integer it can hold in a long, embstr up to 44 bytes,
// raw beyond. A string edited in place (store.Slot.MarkRaw) is raw.
func stringEncoding(v []byte) string {
	if len(v) <= 20 {
		if _, ok := parseInt(v); ok {
			return "int"
		}
	}
	if len(v) <= 44 {
		return "embstr"
	}
	return "raw"
}

func cmdObjectEncoding(c *client, args [][]byte) {
	c.objectLookup(args, func(v []byte, typ store.Type) {
		switch {
		case typ == store.TypeHash && hashValue(v).encoding() == hashListpack:
			c.replyBulkString("listpack")
		case typ == store.TypeHash:
			c.replyBulkString("hashtable")
		case typ == store.TypeList:
			c.replyBulkString("quicklist") // Redis 7.0's only list encoding
		case typ == store.TypeZSet:
			c.replyBulkString([...]string{"listpack", "skiplist"}[zsetValue(v).encoding()])
		case typ == store.TypeSet && setValue(v).encoding() == setIntset:
			c.replyBulkString("intset")
		case typ == store.TypeSet:
			c.replyBulkString("hashtable")
		case c.srv.keySlot(args[2]).Raw(args[2], time.Now().UnixMilli()):
			c.replyBulkString("raw")
		default:
			c.replyBulkString(stringEncoding(v))
		}
	})
}

func isLFU(p store.Policy) bool { return p == store.AllKeysLFU || p == store.VolatileLFU }

func cmdObjectIdletime(c *client, args [][]byte) {
	s, key := c.srv, args[2]
	now := time.Now().UnixMilli()
	sl := s.keySlot(key)
	c.lock(sl)
	idle, _, ok := sl.Access(key, now)
	c.unlock(sl)
	s.countLookup(ok)
	switch {
	case !ok:
		c.replyNull()
	case isLFU(s.settings.Load().MaxMemoryPolicy):
		c.replyError(errLFU)
	default:
		c.replyInt(int64(idle))
	}
}

func cmdObjectFreq(c *client, args [][]byte) {
	s, key := c.srv, args[2]
	now := time.Now().UnixMilli()
	sl := s.keySlot(key)
	c.lock(sl)
	_, freq, ok := sl.Access(key, now)
	c.unlock(sl)
	s.countLookup(ok)
	switch {
	case !ok:
		c.replyNull()
	case !isLFU(s.settings.Load().MaxMemoryPolicy):
		c.replyError(errNoLFU)
	default:
		c.replyInt(int64(freq))
	}
}

func cmdObjectRefcount(c *client, args [][]byte) {
	c.objectLookup(args, func(v []byte, typ store.Type) {
		st := c.srv.settings.Load()
		lruOrLFU := st.MaxMemoryPolicy != store.NoEviction && st.MaxMemoryPolicy != store.AllKeysRandom &&
			st.MaxMemoryPolicy != store.VolatileRandom && st.MaxMemoryPolicy != store.VolatileTTL
		if typ == store.TypeString && stringEncoding(v) == "int" && (st.MaxMemory == 0 || !lruOrLFU) &&
			!c.srv.keySlot(args[2]).Raw(args[2], time.Now().UnixMilli()) {
			if n, _ := parseInt(v); n >= 0 && n < sharedIntegers {
				c.replyInt(sharedRefcount)
				return
			}
		}
		c.replyInt(1)
	})
}

func cmdObjectHelp(c *client, _ [][]byte) {
	c.replyHelp("object", []string{
		"ENCODING <key>",
		"    Return the kind of internal representation used in order to store the value",
		"    associated with a <key>.",
		"FREQ <key>",
		"    Return the access frequency index of the <key>. The returned integer is",
		"    proportional to the logarithm of the recent access frequency of the key.",
		"IDLETIME <key>",
		"    Return the idle time of the <key>, that is the approximated number of",
		"    seconds elapsed since the last access to the key.",
		"REFCOUNT <key>",
		"    Return the number of references of the value associated with the specified",
		"    <key>.",
	})
}
