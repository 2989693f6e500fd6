package store

// Tracker records which keys of a slot change while the slot is being
// migrated, so the migration can send their final state: every Set,
// SetExpire, Delete, expiry and eviction of the slot adds the key, and
// clearing the slot (FLUSHALL) sets Reset. Its fields are guarded by the
// slot's lock.
type Tracker struct {
	// Dirty holds the keys changed since it was last taken.
	Dirty map[string]struct{}
	// Reset reports that the slot was cleared: every key sent so far may
	// be gone.
	Reset bool
}

// NewTracker returns an empty tracker.
func NewTracker() *Tracker { return &Tracker{Dirty: make(map[string]struct{})} }

// Track starts recording the slot's changes in t, or stops with nil.
func (sl *Slot) Track(t *Tracker) { sl.tracker = t }

// TakeDirty returns the keys changed since the last call and starts a new
// set. The slot must be tracked.
func (sl *Slot) TakeDirty() map[string]struct{} {
	d := sl.tracker.Dirty
	sl.tracker.Dirty = make(map[string]struct{}, len(d)/2)
	return d
}

// DirtyLen returns how many changed keys await TakeDirty.
func (sl *Slot) DirtyLen() int { return len(sl.tracker.Dirty) }

// touched records a change of key: in the store's change count, for the
// migration tracking the slot, and for the clients watching key (see
// Watcher).
func (sl *Slot) touched(key []byte) {
	sl.store.changes.add(sl.id, 1)
	if sl.tracker != nil {
		sl.tracker.Dirty[string(key)] = struct{}{}
	}
	if sl.store.watched.Load() != 0 {
		sl.touchWatchers(key)
	}
}

// Forget drops key from the changed keys: the caller is about to send its
// current state, so only a change from now on makes it dirty again.
func (sl *Slot) Forget(key []byte) {
	if sl.tracker != nil {
		delete(sl.tracker.Dirty, string(key))
	}
}

// Changed reports whether key changed since it was last taken or
// forgotten. The slot must be tracked.
func (sl *Slot) Changed(key []byte) bool {
	_, ok := sl.tracker.Dirty[string(key)]
	return ok
}

// Changes returns how many changes the store has had since it was made:
// every Set, SetExpire, Modify, Delete, expiry and eviction counts one,
// and clearing a slot counts one per key it held (Redis's dirty counter,
// which the save rules compare against).
func (s *Store) Changes() int64 { return s.changes.load() }
