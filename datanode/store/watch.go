package store

import "sync/atomic"

// A Watcher is one client's WATCH: it is registered under each key it
// watches, and any change of one of those keys (a write, a deletion, an
// expiry or eviction, clearing the slot while the key exists) marks it
// dirty, as Redis's touchWatchedKey marks the client CLIENT_DIRTY_CAS.
//
// Registrations live in the store per slot, guarded by the slot's lock, and
// a store-wide count lets every write skip the lookup while nobody watches:
// the cost to ordinary writes is one atomic load.
type Watcher struct {
	dirty atomic.Bool
}

// Dirty reports whether a watched key changed since Reset.
func (w *Watcher) Dirty() bool { return w.dirty.Load() }

// Reset clears the dirty mark, for a watcher whose keys were all
// unwatched.
func (w *Watcher) Reset() { w.dirty.Store(false) }

// Watch registers w under key, which is in this locked slot. A key
// watched twice by the same watcher is registered twice and must be
// unwatched twice; callers keep their keys distinct.
func (sl *Slot) Watch(key []byte, w *Watcher) {
	m := sl.store.watches[sl.id]
	if m == nil {
		m = make(map[string][]*Watcher)
		sl.store.watches[sl.id] = m
	}
	m[string(key)] = append(m[string(key)], w)
	sl.store.watched.Add(1)
}

// Unwatch removes w's registration under key, in this locked slot.
func (sl *Slot) Unwatch(key []byte, w *Watcher) {
	m := sl.store.watches[sl.id]
	ws := m[string(key)]
	for i, x := range ws {
		if x != w {
			continue
		}
		last := len(ws) - 1
		ws[i], ws[last] = ws[last], nil
		if last == 0 {
			delete(m, string(key))
		} else {
			m[string(key)] = ws[:last]
		}
		if len(m) == 0 {
			sl.store.watches[sl.id] = nil
		}
		sl.store.watched.Add(-1)
		return
	}
}

// touchWatchers marks dirty the watchers of key, which just changed.
func (sl *Slot) touchWatchers(key []byte) {
	for _, w := range sl.store.watches[sl.id][string(key)] {
		w.dirty.Store(true)
	}
}

// clearWatched marks dirty the watchers of the slot's keys that exist,
// before the slot is cleared: as Redis's FLUSHALL, a watched key that
// did not exist is not changed by it.
func (sl *Slot) clearWatched() {
	if sl.store.watched.Load() == 0 {
		return
	}
	for key, ws := range sl.store.watches[sl.id] {
		if sl.find(hashKey([]byte(key)), []byte(key)) < 0 {
			continue
		}
		for _, w := range ws {
			w.dirty.Store(true)
		}
	}
}

// FlushLocked is Flush for a caller that holds every slot's lock.
func (s *Store) FlushLocked() {
	for i := range s.slots {
		s.slots[i].Clear()
	}
}

// WatchedKeys returns how many (key, watcher) registrations the store
// holds.
func (s *Store) WatchedKeys() int { return int(s.watched.Load()) }
