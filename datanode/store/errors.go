package store

import "errors"

// ErrSlotFull is returned by writes that would take one hash slot past the
// largest slab its index can address (2 GiB of keys and inline values).
// Nothing is changed when it is returned.
var ErrSlotFull = errors.New("store: hash slot is full")
