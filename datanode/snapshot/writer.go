package snapshot

import (
	"bufio"
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"strconv"
	"time"

	"github.com/chkv/chkv/common/slot"
	"github.com/chkv/chkv/datanode/rdb"
	"github.com/chkv/chkv/datanode/store"
)

// header is the start of an RDB file of version 10.
const header = "REDIS0010"

// bufferSize is the write buffer in front of the file.
const bufferSize = 1 << 20

// Encoder appends a stored value of type typ in Redis's serialization, its
// RDB type byte first (as the datanode's DUMP does). It must not keep
// value.
type Encoder func(dst []byte, typ store.Type, value []byte) []byte

// Options say what Write writes.
type Options struct {
	// Store is the keyspace; every slot of it is written.
	Store *store.Store
	// Encode serializes values.
	Encode Encoder
	// RedisVersion is the redis-ver auxiliary field.
	RedisVersion string
	// UsedMem is the used-mem auxiliary field, in bytes.
	UsedMem int64
	// Now is the time of the snapshot: ctime, and keys expired at Now are
	// left out. Zero means time.Now().
	Now time.Time
	// AfterSlot, when set, is called after each slot is copied and before
	// it is encoded (tests use it to write meanwhile).
	AfterSlot func(slot int)
	// Progress, when set, is called after each slot is written with the
	// number of keys written so far.
	Progress func(keys int64)
}

// Stats describe a written snapshot.
type Stats struct {
	Keys    int64 // keys written
	Expires int64 // of which with a TTL
	Bytes   int64 // file size
}

// Write writes the store as an RDB file to w. It stops with ErrSaveAborted
// when ctx is cancelled between two slots.
func Write(ctx context.Context, w io.Writer, o Options) (Stats, error) {
	now := o.Now
	if now.IsZero() {
		now = time.Now()
	}
	sw := &snapWriter{w: bufio.NewWriterSize(w, bufferSize), enc: o.Encode}
	out := append([]byte(nil), header...)
	out = appendAux(out, "redis-ver", o.RedisVersion)
	out = appendAux(out, "redis-bits", "64")
	out = appendAux(out, "ctime", strconv.FormatInt(now.Unix(), 10))
	out = appendAux(out, "used-mem", strconv.FormatInt(o.UsedMem, 10))
	out = appendAux(out, "aof-base", "0")
	// The counts are hints to size tables; keys written meanwhile change
	// them, as Redis's are hints too.
	out = rdb.AppendLength(append(out, rdb.OpSelectDB), 0)
	out = rdb.AppendLength(append(out, rdb.OpResizeDB), uint64(o.Store.Len()))
	out = rdb.AppendLength(out, uint64(o.Store.VolatileLen()))
	if err := sw.write(out); err != nil {
		return sw.st, err
	}
	nowMS := now.UnixMilli()
	for i := range slot.Count {
		if err := ctx.Err(); err != nil {
			return sw.st, fmt.Errorf("%w: %w", ErrSaveAborted, err)
		}
		sl := o.Store.Slot(i)
		sl.Lock()
		sw.raw = copySlot(sw.raw[:0], sl, nowMS)
		sl.Unlock()
		if o.AfterSlot != nil {
			o.AfterSlot(i)
		}
		if err := sw.encodeSlot(); err != nil {
			return sw.st, err
		}
		if o.Progress != nil {
			o.Progress(sw.st.Keys)
		}
	}
	tail := sw.out[:0]
	tail = append(tail, rdb.OpEOF)
	sw.crc = rdb.CRC64(sw.crc, tail)
	tail = binary.LittleEndian.AppendUint64(tail, sw.crc)
	if _, err := sw.w.Write(tail); err != nil {
		return sw.st, err
	}
	sw.st.Bytes += int64(len(tail))
	return sw.st, sw.w.Flush()
}

// snapWriter holds Write's buffers and running state.
type snapWriter struct {
	w   *bufio.Writer
	enc Encoder
	crc uint64
	st  Stats
	raw []byte // the current slot's entries, as copySlot packs them
	out []byte // their RDB records
	val []byte // one encoded value
}

// write writes b and adds it to the checksum.
func (sw *snapWriter) write(b []byte) error {
	sw.crc = rdb.CRC64(sw.crc, b)
	sw.st.Bytes += int64(len(b))
	_, err := sw.w.Write(b)
	return err
}

// copySlot appends the slot's live entries to dst, each as its type byte,
// its expiry (8 bytes), and its key and value each with a uvarint length.
// The caller holds the slot's lock.
func copySlot(dst []byte, sl *store.Slot, now int64) []byte {
	var cursor uint32
	for {
		next, done := sl.ScanTyped(cursor, 1<<30, now, func(key, value []byte, typ store.Type, expireAt int64) {
			dst = append(dst, byte(typ))
			dst = binary.LittleEndian.AppendUint64(dst, uint64(expireAt))
			dst = binary.AppendUvarint(dst, uint64(len(key)))
			dst = append(dst, key...)
			dst = binary.AppendUvarint(dst, uint64(len(value)))
			dst = append(dst, value...)
		})
		if done {
			return dst
		}
		cursor = next
	}
}

// encodeSlot writes the records of the entries in sw.raw.
func (sw *snapWriter) encodeSlot() error {
	out, b := sw.out[:0], sw.raw
	for len(b) > 0 {
		typ := store.Type(b[0])
		exp := int64(binary.LittleEndian.Uint64(b[1:]))
		b = b[9:]
		klen, n := binary.Uvarint(b)
		key := b[n : n+int(klen)]
		b = b[n+int(klen):]
		vlen, n := binary.Uvarint(b)
		value := b[n : n+int(vlen)]
		b = b[n+int(vlen):]
		if exp != 0 {
			out = binary.LittleEndian.AppendUint64(append(out, rdb.OpExpireMS), uint64(exp))
			sw.st.Expires++
		}
		sw.val = sw.enc(sw.val[:0], typ, value)
		out = append(out, sw.val[0])
		out = rdb.AppendRawString(out, key)
		out = append(out, sw.val[1:]...)
		sw.st.Keys++
		if len(out) >= bufferSize {
			if err := sw.write(out); err != nil {
				return err
			}
			out = out[:0]
		}
	}
	sw.out = out
	return sw.write(out)
}

// appendAux appends an auxiliary field.
func appendAux(dst []byte, name, value string) []byte {
	dst = rdb.AppendRawString(append(dst, rdb.OpAux), []byte(name))
	return rdb.AppendRawString(dst, []byte(value))
}
