// Package snapshot writes and loads a DataNode's keyspace as a Redis RDB
// file (version 10, as Redis 7.0 writes it), so redis-check-rdb accepts
// the files it writes, a real redis-server loads them, and a DataNode
// loads the files a real redis-server writes.
//
// Write walks the store slot by slot. Each slot is copied under its lock
// (a memory copy of its entries) and encoded after the lock is released,
// so a snapshot is consistent per slot, not across slots: a write that
// lands after its slot was copied is not in the file, one that lands
// before is. Nothing pauses the whole keyspace, and no process is forked.
//
// SaveFile makes a file appear whole or not at all: it writes a temporary
// file in the same directory, fsyncs it, renames it over the target and
// fsyncs the directory.
//
// Load reads a whole RDB file and hands each key to the caller; a file
// that is truncated, corrupt (its CRC64 is checked before any key is
// stored), of a newer RDB version, or holding a type CHKV does not keep
// (streams, modules, functions) is an error, never a panic: Redis refuses
// to start on such a file, and so does a DataNode.
package snapshot
