package datanode

import (
	"time"

	"github.com/chkv/chkv/datanode/store"
)

// WATCH. Each watched key is registered with the store under its slot
// (store.Watcher), and any change of it marks the client's watcher dirty,
// whoever makes it. EXEC then runs nothing and answers a null array. As in
// Redis 7.0, a watched key that expires between WATCH and EXEC also fails
// EXEC, even if nobody looked at it: WATCH records its expiry time. A key
// already expired when watched is removed first, as a read would, so that
// its removal does not count as a change (Redis keeps a flag instead).

// watchState is what a client watches.
type watchState struct {
	w    store.Watcher
	keys map[string]int64 // watched key → its expiry time when watched, 0 if none
}

func cmdWatch(c *client, args [][]byte) {
	if c.multi != nil {
		c.replyError(errWatchInMulti)
		return
	}
	if c.watching == nil {
		c.watching = &watchState{keys: make(map[string]int64)}
	}
	ws := c.watching
	if ws.w.Dirty() { // no point in watching more: EXEC fails anyway
		c.replyOK()
		return
	}
	now := time.Now().UnixMilli()
	for _, key := range args[1:] {
		if _, dup := ws.keys[string(key)]; dup {
			continue
		}
		sl := c.srv.keySlot(key)
		c.lock(sl)
		_, expireAt, _ := sl.Peek(key, now)
		sl.Watch(key, &ws.w)
		c.unlock(sl)
		ws.keys[string(key)] = expireAt
	}
	c.replyOK()
}

// cmdUnwatch forgets the client's watches. Queued in a transaction, it
// does nothing: EXEC has checked the watches and forgets them after the
// run (Redis forgets them before it), and locking their slots while EXEC
// holds others could deadlock.
func cmdUnwatch(c *client, _ [][]byte) {
	if c.held == nil {
		c.unwatchAll()
	}
	c.replyOK()
}

// unwatchAll forgets every key the client watches, as EXEC, DISCARD,
// UNWATCH and disconnecting do.
func (c *client) unwatchAll() {
	ws := c.watching
	if ws == nil || len(ws.keys) == 0 {
		return
	}
	for key := range ws.keys {
		k := []byte(key)
		sl := c.srv.keySlot(k)
		c.lock(sl)
		sl.Unwatch(k, &ws.w)
		c.unlock(sl)
	}
	clear(ws.keys)
	ws.w.Reset() // no key is registered any more: nothing can mark it
}

// watchFailed reports whether a watched key changed or expired since it was
// watched, which makes EXEC run nothing.
func (c *client) watchFailed() bool {
	ws := c.watching
	if ws == nil || len(ws.keys) == 0 {
		return false
	}
	if ws.w.Dirty() {
		return true
	}
	now := time.Now().UnixMilli()
	for _, expireAt := range ws.keys {
		if expireAt != 0 && expireAt <= now {
			return true
		}
	}
	return false
}
