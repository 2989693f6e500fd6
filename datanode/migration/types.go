package migration

import (
	"fmt"

	"github.com/chkv/chkv/datanode/migrate"
	"github.com/chkv/chkv/datanode/store"
)

// What migration needs to move values of every type: the source records a
// value's store.Type in its records, the target checks the bytes of a
// non-string value before storing them with their type. Values travel as
// the bytes the store holds (a hash as its packed fields, see hashenc.go),
// large ones in chunks like large strings. Config.ValidValue checks a
// received non-string value.

// typedRecord is the record of key's whole value of type typ, expiring at
// expireAt (0: never).
func typedRecord(key, value []byte, typ store.Type, expireAt, now int64) migrate.Record {
	r := migrate.Record{Key: key, Type: byte(typ), Total: len(value), Chunk: value}
	if expireAt != 0 {
		r.TTL = max(expireAt-now, 1)
	}
	return r
}

// restoreRecord stores a whole received value in sl, which holds its key's
// lock; valid checks a value that is not a string.
func restoreRecord(sl *store.Slot, r migrate.Record, expireAt, now int64, valid func(store.Type, []byte) bool) error {
	typ := store.Type(r.Type)
	if typ != store.TypeString && (valid == nil || !valid(typ, r.Chunk)) {
		return fmt.Errorf("%w: key %q: malformed value of type %d", migrate.ErrCorrupt, r.Key, r.Type)
	}
	return sl.SetTyped(r.Key, r.Chunk, typ, expireAt, now)
}
