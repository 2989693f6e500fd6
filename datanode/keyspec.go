package datanode

import (
	"sync"

	"github.com/chkv/chkv/common/slot"
	"github.com/chkv/chkv/datanode/ownership"
)

// flagMovableKeys marks a command whose keys its key specs find, not
// first/last/step (COMMAND's "movablekeys").
const flagMovableKeys = flagNoScript << 1

// keySpec is one key spec of COMMAND INFO, for a command whose keys one
// first/last/step range with one set of flags does not describe: keys
// with different flags (SMOVE, SINTERSTORE) or a key count argument
// (SINTERCARD, whose command has flagMovableKeys).
type keySpec struct {
	flags []string
	index int // begin_search index: the first key, or the key count
	// lastKey and keyStep are a range spec's: the last key relative to
	// index (negative: from the end), and the distance between keys.
	lastKey int
	keyStep int
	// keyNum makes it a keynum spec: args[index] counts the keys, which
	// follow it (Redis's keynumidx 0, firstkey 1, keystep 1).
	keyNum bool
}

// keySpecs returns cmd's key specs when it declares them, else nil.
func (cmd *command) keySpecs() []keySpec {
	if cmd.extra == nil {
		return nil
	}
	return cmd.extra.keySpecs
}

// keyRef is one key argument found by a key spec.
type keyRef struct {
	pos   int
	flags []string
}

// keysBySpecs returns the keys of the command line args by specs, as
// Redis's getKeysUsingKeySpecs; ok is false when a key count is malformed
// or runs past the arguments.
func keysBySpecs(specs []keySpec, args [][]byte) (keys []keyRef, ok bool) {
	for _, sp := range specs {
		if sp.index >= len(args) {
			return nil, false
		}
		first, last, step := sp.index, sp.index+sp.lastKey, max(sp.keyStep, 1)
		if sp.keyNum {
			n, isInt := parseInt(args[sp.index])
			if !isInt || n < 1 || n > int64(len(args)-sp.index-1) {
				return nil, false
			}
			first, last, step = sp.index+1, sp.index+int(n), 1
		} else if sp.lastKey < 0 {
			last = len(args) + sp.lastKey
		}
		for i := first; i <= last && i < len(args); i += step {
			keys = append(keys, keyRef{i, sp.flags})
		}
	}
	return keys, len(keys) > 0
}

// replyKeySpecs writes the key specs of COMMAND INFO.
func (c *client) replyKeySpecs(specs []keySpec) {
	c.replyArray(len(specs))
	for _, sp := range specs {
		c.replyArray(6)
		c.replyBulkString("flags")
		c.replyArray(len(sp.flags))
		for _, f := range sp.flags {
			c.replyStatus(f)
		}
		c.replyBulkString("begin_search")
		c.replyArray(4)
		c.replyBulkString("type")
		c.replyBulkString("index")
		c.replyBulkString("spec")
		c.replyArray(2)
		c.replyBulkString("index")
		c.replyInt(int64(sp.index))
		c.replyBulkString("find_keys")
		c.replyArray(4)
		c.replyBulkString("type")
		if sp.keyNum {
			c.replyBulkString("keynum")
			c.replyBulkString("spec")
			c.replyArray(6)
			c.replyBulkString("keynumidx")
			c.replyInt(0)
			c.replyBulkString("firstkey")
			c.replyInt(1)
			c.replyBulkString("keystep")
			c.replyInt(1)
			continue
		}
		c.replyBulkString("range")
		c.replyBulkString("spec")
		c.replyArray(6)
		c.replyBulkString("lastkey")
		c.replyInt(int64(sp.lastKey))
		c.replyBulkString("keystep")
		c.replyInt(int64(max(sp.keyStep, 1)))
		c.replyBulkString("limit")
		c.replyInt(0)
	}
}

// replyKeysBySpecs answers COMMAND GETKEYS (or GETKEYSANDFLAGS, with
// withFlags) for a command with key specs.
func (c *client) replyKeysBySpecs(specs []keySpec, line [][]byte, withFlags bool) {
	keys, ok := keysBySpecs(specs, line)
	if !ok {
		c.replyError("ERR Invalid arguments specified for command")
		return
	}
	c.replyArray(len(keys))
	for _, k := range keys {
		if !withFlags {
			c.replyBulk(line[k.pos])
			continue
		}
		c.replyArray(2)
		c.replyBulk(line[k.pos])
		c.replyArray(len(k.flags))
		for _, f := range k.flags {
			c.replyStatus(f)
		}
	}
}

// admitMovable is admit for a command with flagMovableKeys: its keys are
// found by its key specs; a malformed key count leaves the command to
// reply its own error, locally.
func (s *Server) admitMovable(cmd *command, args [][]byte) (*sync.RWMutex, string) {
	keys, _ := keysBySpecs(cmd.keySpecs(), args)
	sl := -1
	for _, k := range keys {
		ks := slot.Of(args[k.pos])
		if sl >= 0 && ks != sl {
			return nil, ownership.ErrCrossSlot
		}
		sl = ks
	}
	if sl < 0 {
		return nil, ""
	}
	return s.own.Admit(sl)
}
