// Package store is the DataNode's in-memory keyspace of string values.
//
// Keys are partitioned by hash slot: each of the 16384 slots has its own table
// and its own lock, so a slot can be iterated, moved and freed on its own
// (migration works slot by slot), and commands on different slots never
// contend.
//
// Callers lock a slot, call the Slot methods, and unlock it. Byte slices
// returned by a Slot point into the store's memory and are valid only until
// the slot is modified (Set, SetExpire, Delete) or unlocked: copy what must
// outlive that. Reads never invalidate them, even when they drop an expired
// key.
//
// Times are Unix milliseconds supplied by the caller, so tests control the
// clock. An expireAt of 0 means the key does not expire.
//
// # Memory layout
//
// Keys, values and indexes live outside the Go heap, in memory the store maps
// from the OS (alloc.go), so however many keys it holds the garbage collector
// has nothing to scan and its pauses stay short. Each slot has
//
//   - a slab (entry.go): its entries packed back to back, each a flags
//     byte, varint key and value lengths, an expiry only for keys with a TTL,
//     a 4-byte LRU/LFU access word, the key, and the value, or for values
//     over 8 KiB the handle of a block of its own;
//   - an index (index.go): an open-addressing table of 8-byte entries (32-bit
//     hash, slab offset) at most 3/4 full, kept in hash order so Scan can
//     resume from a hash cursor across resizes.
//
// Overwrites of the same size happen in place; others append to the slab and
// leave the old entry as garbage. A full slab moves its live entries to a new
// block sized for them plus an eighth, which grows or compacts it; deletions
// compact it once a quarter is garbage, and an emptied slot frees its blocks
// (or keeps them for its next key if they are tiny). All of that costs time
// proportional to one slot's size, about 1/16384 of the data. UsedBytes
// counts the blocks allocated less the garbage (and tiny kept blocks), so it
// falls as soon as a key is removed.
//
// For 16-byte keys with 32-byte values a key costs about 73 bytes: 55 for the
// entry, 6 of slab slack and 12 of index.
package store
