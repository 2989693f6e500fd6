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

// lookupZset is lookupTyped for a sorted set command.
func (c *client) lookupZset(sl *store.Slot, key []byte, now int64, read bool) (z zsetValue, expireAt int64, found, wrong bool) {
	v, expireAt, found, wrong := c.lookupTyped(sl, key, now, read, store.TypeZSet)
	return zsetValue(v), expireAt, found, wrong
}

// zsetRead runs fn on sorted set key for a read-only command; a missing
// key is replied with missing (a RESP reply) without calling fn.
func (c *client) zsetRead(key []byte, missing func(), fn func(z zsetValue)) {
	now := time.Now().UnixMilli()
	sl := c.lockKeySlot(key)
	defer c.unlock(sl)
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
// replies, and returns the new value, built in scratch, and whether it
// changed; zsetWrite then stores it (an empty set deletes the key),
// keeping the key's TTL.
func (c *client) zsetWrite(key []byte, missing func(), fn func(z zsetValue, scratch *[]byte) (zsetValue, bool)) {
	now := time.Now().UnixMilli()
	sl := c.lockKeySlot(key)
	defer c.unlock(sl)
	z, expireAt, found, wrong := c.lookupZset(sl, key, now, false)
	switch {
	case wrong:
	case !found:
		missing()
	default:
		scratch := getZsetBuf()
		defer putZsetBuf(scratch)
		mark := len(c.out)
		if nz, changed := fn(z, scratch); changed {
			if err := storeZsetValue(sl, key, nz, expireAt, now); err != nil {
				c.out = c.out[:mark]
				c.replyStoreError(err)
			}
		}
	}
}

// getZsetBuf returns a buffer from scratchPool for building a value.
func getZsetBuf() *[]byte {
	p, _ := scratchPool.Get().(*[]byte)
	if p == nil {
		p = new([]byte)
	}
	return p
}

// putZsetBuf returns p to scratchPool unless it grew too large to keep.
func putZsetBuf(p *[]byte) {
	if cap(*p) <= hashBufMax {
		*p = (*p)[:0]
		scratchPool.Put(p)
	}
}

// storeZsetValue writes z as key's value, or deletes key when z has no
// elements (or is nil). It fails only when the slot is full.
func storeZsetValue(sl *store.Slot, key []byte, z zsetValue, expireAt, now int64) error {
	if len(z) == 0 || z.len() == 0 {
		sl.Delete(key)
		return nil
	}
	return sl.SetTyped(key, z, store.TypeZSet, expireAt, now)
}

// storeZset writes es (sorted) as key's value with encoding enc, or
// deletes key when es is empty. It fails only when the slot is full.
func (c *client) storeZset(sl *store.Slot, key []byte, es []zsetElem, enc byte, expireAt, now int64) error {
	if len(es) == 0 {
		sl.Delete(key)
		return nil
	}
	p := getZsetBuf()
	defer putZsetBuf(p)
	*p = buildZset(*p, enc, es)
	return storeZsetValue(sl, key, *p, expireAt, now)
}
