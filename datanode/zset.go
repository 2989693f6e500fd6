package datanode

import (
	"time"

	"github.com/chkv/chkv/datanode/store"
)

// zsetLimits returns the current listpack limits of sorted sets.
func (s *Server) zsetLimits() zsetLimits {
	st := s.settings.Load()
	return zsetLimits{entries: st.ZsetMaxListpackEntries, value: st.ZsetMaxListpackValue}
}

// lookupZset looks key up for a sorted set command, with read's
// statistics and access recording when read is set (else as a write
// lookup). A key holding another type gets a WRONGTYPE reply, and wrong
// reports it.
func (c *client) lookupZset(sl *store.Slot, key []byte, now int64, read bool) (z zsetValue, expireAt int64, found, wrong bool) {
	var v []byte
	var typ store.Type
	if read {
		v, expireAt, typ, found = c.srv.lookupReadTyped(sl, key, now)
	} else {
		v, expireAt, typ, found = sl.PeekTyped(key, now)
	}
	if found && typ != store.TypeZSet {
		c.replyError(errWrongType)
		return nil, 0, true, true
	}
	return zsetValue(v), expireAt, found, false
}

// zsetRead runs fn on sorted set key for a read-only command; a missing
// key is replied with missing (a RESP reply) without calling fn.
func (c *client) zsetRead(key []byte, missing func(), fn func(z zsetValue)) {
	now := time.Now().UnixMilli()
	sl := c.srv.keySlot(key)
	sl.Lock()
	defer sl.Unlock()
	z, _, found, wrong := c.lookupZset(sl, key, now, true)
	switch {
	case wrong:
	case !found:
		missing()
	default:
		fn(z)
	}
}

// zsetWrite runs fn on sorted set key, locked, for a command that changes
// it; a missing key is replied with missing without calling fn. fn
// returns the new elements and whether they changed; storeZset then writes
// them, keeping the key's TTL and encoding.
func (c *client) zsetWrite(key []byte, missing func(), fn func(z zsetValue) ([]zsetElem, bool)) {
	now := time.Now().UnixMilli()
	sl := c.srv.keySlot(key)
	sl.Lock()
	defer sl.Unlock()
	z, expireAt, found, wrong := c.lookupZset(sl, key, now, false)
	switch {
	case wrong:
	case !found:
		missing()
	default:
		mark := len(c.out)
		if es, changed := fn(z); changed {
			if err := c.storeZset(sl, key, es, z.encoding(), expireAt, now); err != nil {
				c.out = c.out[:mark]
				c.replyStoreError(err)
			}
		}
	}
}

// storeZset writes es (sorted) as key's value with encoding enc, or
// deletes key when es is empty. It fails only when the slot is full.
func (c *client) storeZset(sl *store.Slot, key []byte, es []zsetElem, enc byte, expireAt, now int64) error {
	if len(es) == 0 {
		sl.Delete(key)
		return nil
	}
	p, _ := scratchPool.Get().(*[]byte)
	if p == nil {
		p = new([]byte)
	}
	z := buildZset(*p, enc, es)
	err := sl.SetTyped(key, z, store.TypeZSet, expireAt, now)
	*p = z[:0]
	if cap(z) <= hashBufMax {
		scratchPool.Put(p)
	}
	return err
}

// without returns es without the elements of ranks [lo, hi).
func without(es []zsetElem, lo, hi int) []zsetElem {
	return append(es[:lo:lo], es[hi:]...)
}
