package datanode

import (
	"time"

	"github.com/chkv/chkv/datanode/store"
)

// Redis's error replies of the list commands.
const (
	errMustBePositive = "ERR value is out of range, must be positive"
	errIndexRange     = "ERR index out of range"
	errRankZero       = "ERR RANK can't be zero: use 1 to start from the first match, 2 from the second ... or use negative to start from the end of the list"
	errCountNegative  = "ERR COUNT can't be negative"
	errMaxlenNegative = "ERR MAXLEN can't be negative"
	errNumkeys        = "ERR numkeys should be greater than 0"
	errCountPositive  = "ERR count should be greater than 0"
)

// lookupList is lookupTyped for a list command.
func (c *client) lookupList(sl *store.Slot, key []byte, now int64, read bool) (l listValue, expireAt int64, found, wrong bool) {
	v, expireAt, found, wrong := c.lookupTyped(sl, key, now, read, store.TypeList)
	return listValue(v), expireAt, found, wrong
}

// listKey is a list key a write command works on, its slot locked. l is
// nil while the key does not exist.
type listKey struct {
	c        *client
	sl       *store.Slot
	key      []byte
	l        listValue
	expireAt int64
	now      int64
}

// openList looks key up for a write in its locked slot; on false the key
// holds another type and WRONGTYPE was replied.
func (c *client) openList(key []byte, now int64) (*listKey, bool) {
	sl := c.srv.keySlot(key)
	l, expireAt, found, wrong := c.lookupList(sl, key, now, false)
	if wrong {
		return nil, false
	}
	if !found {
		l = nil
	}
	return &listKey{c: c, sl: sl, key: key, l: l, expireAt: expireAt, now: now}, true
}

// reload looks the list up again, after a write to another key of its
// slot may have moved it.
func (k *listKey) reload() {
	v, _, _, found := k.sl.PeekTyped(k.key, k.now)
	if found {
		k.l = v
	} else {
		k.l = nil
	}
}

// push pushes elems at the head (one after another, as LPUSH) or the
// tail, creating the list if needed. On false it has replied an error.
func (k *listKey) push(elems [][]byte, atFront bool) bool {
	if k.l == nil {
		ordered := elems
		if atFront {
			ordered = make([][]byte, len(elems))
			for i, e := range elems {
				ordered[len(elems)-1-i] = e
			}
		}
		k.expireAt = 0
		return k.set(newList(ordered, 0))
	}
	need := pushSize(elems)
	front, back := k.l.spare()
	if (atFront && need <= front) || (!atFront && need <= back) {
		k.modify(func(l listValue) {
			if atFront {
				l.pushFront(elems)
			} else {
				l.pushBack(elems)
			}
		})
		return true
	}
	nl := k.l.grown(need, atFront)
	if atFront {
		nl.pushFront(elems)
	} else {
		nl.pushBack(elems)
	}
	return k.set(nl)
}

// modify runs fn on the list in place.
func (k *listKey) modify(fn func(l listValue)) {
	k.sl.Modify(k.key, k.now, func(v []byte) {
		fn(v)
		k.l = v
	})
}

// set stores l as the key's value, keeping its expiry; on false it has
// replied an error.
func (k *listKey) set(l listValue) bool {
	if err := k.sl.SetTyped(k.key, l, store.TypeList, k.expireAt, k.now); err != nil {
		k.c.replyStoreError(err)
		return false
	}
	k.reload()
	return true
}

// pop removes up to n elements from the head or the tail, calling fn with
// each in the order popped. fn must copy what it keeps.
func (k *listKey) pop(n int, atFront bool, fn func(elem []byte)) {
	k.modify(func(l listValue) {
		if atFront {
			l.popFront(n, fn)
		} else {
			l.popBack(n, fn)
		}
	})
}

// finish deletes the key when its list is empty and rebuilds a list left
// with too many spare bytes.
func (k *listKey) finish() {
	switch {
	case k.l == nil:
	case k.l.len() == 0:
		k.sl.Delete(k.key)
		k.l = nil
	case k.l.sparse():
		// Failing to shrink (a full slot) leaves a valid list.
		if k.sl.SetTyped(k.key, k.l.compacted(), store.TypeList, k.expireAt, k.now) == nil {
			k.reload()
		}
	}
}

// replace stores l, rebuilt by a write in the middle, or deletes the key
// when l is empty; on false it has replied an error.
func (k *listKey) replace(l listValue) bool {
	if l.len() == 0 {
		k.sl.Delete(k.key)
		k.l = nil
		return true
	}
	return k.set(l)
}

// withList locks key's slot and runs fn on the key for a write; on a
// WRONGTYPE it replies and does not call fn.
func (c *client) withList(key []byte, fn func(k *listKey)) {
	sl := c.lockKeySlot(key)
	defer c.unlock(sl)
	if k, ok := c.openList(key, time.Now().UnixMilli()); ok {
		fn(k)
	}
}

// listRead runs fn on list key for a read-only command; a missing key is
// replied with missing without calling fn.
func (c *client) listRead(key []byte, missing func(), fn func(l listValue)) {
	now := time.Now().UnixMilli()
	sl := c.lockKeySlot(key)
	defer c.unlock(sl)
	l, _, found, wrong := c.lookupList(sl, key, now, true)
	switch {
	case wrong:
	case !found:
		missing()
	default:
		fn(l)
	}
}
