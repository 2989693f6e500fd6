package datanode

import (
	"slices"

	"github.com/chkv/chkv/common/slot"
	"github.com/chkv/chkv/datanode/store"
)

// EXEC's atomicity. Commands lock the slots of their keys for as long as
// they look at or change them; EXEC locks, in ascending order as every
// multi-slot locker does, the slots of all its queued commands' keys (every
// slot if one of them works on the whole keyspace, as KEYS or FLUSHALL do)
// and holds them while the commands run, so no other client's command on
// those keys interleaves. The commands lock through c.lock, c.unlock and
// c.lockKeys, which skip the slots the client's running EXEC holds: a
// slot lock is not re-entrant, and the commands run on EXEC's goroutine.
// Outside EXEC, c.held is nil and the helpers are a nil check away from
// the slot's own Lock and Unlock.

// heldSlots are the slots a running EXEC holds locked.
type heldSlots struct {
	all bool  // every slot
	ids []int // otherwise these, ascending
}

// has reports whether sl is held. It is kept out of line: lock and unlock
// call it only inside EXEC or a script.
//
//go:noinline
func (h *heldSlots) has(sl *store.Slot) bool {
	if h.all {
		return true
	}
	_, ok := slices.BinarySearch(h.ids, sl.ID())
	return ok
}

// lock locks sl unless the client's running EXEC holds it; outside EXEC
// it costs a nil check more than the slot's Lock.
func (c *client) lock(sl *store.Slot) {
	if c.held != nil && c.held.has(sl) {
		return
	}
	sl.Lock()
}

// lockKeySlot locks, as lock does, the slot of key and returns it; the
// caller unlocks it with c.unlock.
func (c *client) lockKeySlot(key []byte) *store.Slot {
	sl := c.srv.keySlot(key)
	c.lock(sl)
	return sl
}

// unlock undoes lock.
func (c *client) unlock(sl *store.Slot) {
	if c.held != nil && c.held.has(sl) {
		return
	}
	sl.Unlock()
}

// lockKeys is Server.lockKeys for a command of c: inside EXEC, the slots of
// the command's keys are held already and nothing is locked.
func (c *client) lockKeys(args [][]byte, first, step int) keyLocks {
	if c.held != nil {
		return keyLocks{}
	}
	return c.srv.lockKeys(args, first, step)
}

// wholeKeyspace reports whether cmd works on slots rather than on key
// arguments: on every slot (KEYS, SCAN, RANDOMKEY, DBSIZE, FLUSHALL,
// FLUSHDB), or, for CLUSTER GETKEYSINSLOT, on one named by number, or
// on keys found by key specs (scripts may touch any). EXEC
// holds every slot for a transaction with such a command.
func (cmd *command) wholeKeyspace() bool {
	return cmd.firstKey == 0 && (cmd.flags&(flagWrite|flagReadOnly) != 0 || cmd.keySpecs != nil || cmd.name == "cluster")
}

// holdSlots locks the slots the transaction's commands touch, in ascending
// order, and records them in c.held until releaseSlots.
func (c *client) holdSlots(m *multiState) {
	h := &c.heldBuf
	h.all, h.ids = false, h.ids[:0]
	for _, q := range m.cmds {
		if q.cmd.wholeKeyspace() || q.cmd.patternKeys != nil && q.cmd.patternKeys(q.args) {
			h.all = true
			break
		}
		h.ids = q.cmd.appendKeySlots(h.ids, q.args)
	}
	c.lockHeld(h)
}

// lockHeld locks the slots h names, in ascending order, and records them
// in c.held until releaseSlots; h.ids need not be sorted.
func (c *client) lockHeld(h *heldSlots) {
	st := c.srv.store
	if h.all {
		for id := range slot.Count {
			st.Slot(id).Lock()
		}
	} else {
		slices.Sort(h.ids)
		h.ids = slices.Compact(h.ids)
		for _, id := range h.ids {
			st.Slot(id).Lock()
		}
	}
	c.held = h
}

// releaseSlots unlocks what holdSlots locked.
func (c *client) releaseSlots() {
	h, st := c.held, c.srv.store
	c.held = nil
	if h.all {
		for id := range slot.Count {
			st.Slot(id).Unlock()
		}
		return
	}
	for _, id := range h.ids {
		st.Slot(id).Unlock()
	}
}

// appendKeySlots appends the slots of cmd's keys in args to ids.
func (cmd *command) appendKeySlots(ids []int, args [][]byte) []int {
	if cmd.getKeys != nil {
		for _, r := range cmd.getKeys(args) {
			ids = append(ids, slot.Of(args[r.pos]))
		}
		return ids
	}
	if cmd.firstKey <= 0 || len(args) <= cmd.firstKey {
		return ids
	}
	last := cmd.lastKey
	if last < 0 {
		last += len(args)
	}
	last = min(last, len(args)-1)
	for i := cmd.firstKey; i <= last; i += max(cmd.keyStep, 1) {
		ids = append(ids, slot.Of(args[i]))
	}
	return ids
}

// randomKey is the store's RandomKey for a command of c.
func (c *client) randomKey(now int64) ([]byte, bool) {
	if c.held != nil && c.held.all {
		return c.srv.store.RandomKeyLocked(now)
	}
	return c.srv.store.RandomKey(now)
}

// flushAll empties the store for a command of c.
func (c *client) flushAll() {
	if c.held != nil && c.held.all {
		c.srv.store.FlushLocked()
		return
	}
	c.srv.store.Flush()
}
