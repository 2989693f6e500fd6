package migrate

import "fmt"

// Assembler joins the chunks of a large value. It holds at most one value
// at a time: a record for another key, or one not continuing the value,
// discards the partial value, which the source abandoned (the key changed
// while it was being sent, and will be sent again).
type Assembler struct {
	// MaxValue bounds the values accepted.
	MaxValue int
	key      []byte
	typ      byte
	buf      []byte
}

// Add feeds a record. It returns the complete record when r completes a
// value (r itself when it needs no joining); ok is false while the value is
// incomplete. The returned record's slices are valid until the next Add.
func (a *Assembler) Add(r Record) (whole Record, ok bool, err error) {
	if r.Total > a.MaxValue && !r.Deleted {
		return Record{}, false, fmt.Errorf("migrate: value of %d bytes for key %q is above the %d-byte limit", r.Total, r.Key, a.MaxValue)
	}
	continues := a.buf != nil && string(r.Key) == string(a.key) && !r.Deleted && r.Offset == len(a.buf) && r.Total == cap(a.buf) && r.Type == a.typ
	if !continues {
		a.key, a.buf = nil, nil
		if r.Deleted || (r.Offset == 0 && r.Last()) {
			return r, true, nil
		}
		if r.Offset != 0 {
			return Record{}, false, nil // the tail of an abandoned value
		}
		a.key, a.typ, a.buf = append([]byte(nil), r.Key...), r.Type, make([]byte, 0, r.Total)
	}
	a.buf = append(a.buf, r.Chunk...)
	if len(a.buf) < cap(a.buf) {
		return Record{}, false, nil
	}
	whole = Record{Key: a.key, TTL: r.TTL, Type: a.typ, Total: len(a.buf), Chunk: a.buf}
	a.key, a.buf = nil, nil
	return whole, true, nil
}

// Pending returns the bytes held for an incomplete value.
func (a *Assembler) Pending() int { return cap(a.buf) }
