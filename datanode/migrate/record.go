// Package migrate is the wire encoding of the records a DataNode sends to
// another when it moves a slot: keys with their values and remaining TTLs,
// deletions, and values too large for one message split into chunks.
//
// A record is, in order: a flags byte, the key length and key, the TTL in
// milliseconds (when FlagTTL is set), the value's type byte (when FlagType
// is set), and unless FlagDeleted is set the value's total length, the
// chunk's offset in the value, the chunk length and the chunk. Integers are
// unsigned varints. Records are concatenated.
//
// A string value (type 0) is sent without FlagType, so its records are
// those of DataNodes that predate types. A value of another type is sent
// as the bytes the store holds for it (for a hash, its packed fields),
// chunked as a large string is.
package migrate

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// ErrCorrupt is returned for bytes that are not a record.
var ErrCorrupt = errors.New("migrate: corrupt record")

// Record flags.
const (
	FlagDeleted = 1 << iota // the key does not exist (any more)
	FlagTTL                 // the key expires after TTL milliseconds
	FlagType                // a type byte follows: the value is not a string
)

// Record is one key's state, or one chunk of its value.
type Record struct {
	Key     []byte
	Deleted bool
	// Type is the value's type, as store.Type numbers them; 0 is a string.
	Type byte
	// TTL is the remaining time to live in milliseconds; 0 means none.
	TTL int64
	// Total is the length of the whole value; Chunk holds its bytes from
	// Offset on. A value sent in one record has Offset 0 and
	// len(Chunk) == Total.
	Total, Offset int
	Chunk         []byte
}

// Last reports whether the record completes its value (or is a deletion).
func (r *Record) Last() bool { return r.Deleted || r.Offset+len(r.Chunk) == r.Total }

// Append appends the encoding of r to b.
func Append(b []byte, r *Record) []byte {
	var flags byte
	if r.Deleted {
		flags |= FlagDeleted
	}
	if r.TTL > 0 {
		flags |= FlagTTL
	}
	typed := r.Type != 0 && !r.Deleted
	if typed {
		flags |= FlagType
	}
	b = append(b, flags)
	b = binary.AppendUvarint(b, uint64(len(r.Key)))
	b = append(b, r.Key...)
	if r.TTL > 0 {
		b = binary.AppendUvarint(b, uint64(r.TTL))
	}
	if typed {
		b = append(b, r.Type)
	}
	if r.Deleted {
		return b
	}
	b = binary.AppendUvarint(b, uint64(r.Total))
	b = binary.AppendUvarint(b, uint64(r.Offset))
	b = binary.AppendUvarint(b, uint64(len(r.Chunk)))
	return append(b, r.Chunk...)
}

// Size returns the length of r's encoding, at most.
func Size(r *Record) int { return 2 + 4*binary.MaxVarintLen64 + len(r.Key) + len(r.Chunk) }

// Next decodes the first record of b and returns the rest of b. The
// record's slices point into b.
func Next(b []byte) (r Record, rest []byte, err error) {
	if len(b) == 0 {
		return r, nil, fmt.Errorf("%w: empty", ErrCorrupt)
	}
	flags := b[0]
	if flags&^(FlagDeleted|FlagTTL|FlagType) != 0 || flags&(FlagDeleted|FlagType) == FlagDeleted|FlagType {
		return r, nil, fmt.Errorf("%w: flags %#x", ErrCorrupt, flags)
	}
	b = b[1:]
	if r.Key, b, err = bytesField(b); err != nil {
		return r, nil, err
	}
	if flags&FlagTTL != 0 {
		var ttl uint64
		if ttl, b, err = uvarint(b); err != nil {
			return r, nil, err
		}
		if ttl == 0 || ttl > 1<<62 {
			return r, nil, fmt.Errorf("%w: TTL %d", ErrCorrupt, ttl)
		}
		r.TTL = int64(ttl)
	}
	if flags&FlagType != 0 {
		if len(b) == 0 || b[0] == 0 {
			return r, nil, fmt.Errorf("%w: bad type", ErrCorrupt)
		}
		r.Type, b = b[0], b[1:]
	}
	if flags&FlagDeleted != 0 {
		r.Deleted = true
		return r, b, nil
	}
	var total, off uint64
	if total, b, err = uvarint(b); err != nil {
		return r, nil, err
	}
	if off, b, err = uvarint(b); err != nil {
		return r, nil, err
	}
	if r.Chunk, b, err = bytesField(b); err != nil {
		return r, nil, err
	}
	if total > 1<<40 || off > total || uint64(len(r.Chunk)) > total-off {
		return r, nil, fmt.Errorf("%w: chunk of %d bytes at %d of %d", ErrCorrupt, len(r.Chunk), off, total)
	}
	r.Total, r.Offset = int(total), int(off)
	return r, b, nil
}

func uvarint(b []byte) (uint64, []byte, error) {
	v, n := binary.Uvarint(b)
	if n <= 0 {
		return 0, nil, fmt.Errorf("%w: bad varint", ErrCorrupt)
	}
	return v, b[n:], nil
}

func bytesField(b []byte) ([]byte, []byte, error) {
	n, b, err := uvarint(b)
	if err != nil {
		return nil, nil, err
	}
	if n > uint64(len(b)) {
		return nil, nil, fmt.Errorf("%w: %d bytes announced, %d left", ErrCorrupt, n, len(b))
	}
	return b[:n:n], b[n:], nil
}
