package snapshot

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"os"

	"github.com/chkv/chkv/datanode/rdb"
	"github.com/chkv/chkv/datanode/store"
)

// Entry is one key read from an RDB file. Its slices may point into the
// file's bytes.
type Entry struct {
	Key      []byte
	Value    rdb.Value
	ExpireAt int64 // Unix ms; 0 means no TTL
}

// LoadStats describe a loaded file.
type LoadStats struct {
	Keys    int64 // keys handed to the caller
	Expired int64 // keys skipped because their TTL had passed
	Version int   // the file's RDB version
}

// LoadFile reads the RDB file at path and calls put for each key that has
// not expired at now (Unix ms), in file order. It returns os.ErrNotExist
// (wrapped) when there is no file. An error from put stops the load and
// is returned.
func LoadFile(path string, now int64, put func(Entry) error) (LoadStats, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return LoadStats{}, err
	}
	return Load(data, now, put)
}

// Load is LoadFile over the bytes of a file. The file's checksum is
// verified before put is first called, so a corrupt file stores nothing,
// unless its checksum is 0 (written with rdbchecksum no).
func Load(data []byte, now int64, put func(Entry) error) (LoadStats, error) {
	var st LoadStats
	if len(data) < 9 || !bytes.Equal(data[:5], []byte("REDIS")) {
		return st, ErrNotRDB
	}
	for _, c := range data[5:9] {
		if c < '0' || c > '9' {
			return st, ErrNotRDB
		}
		st.Version = st.Version*10 + int(c-'0')
	}
	if st.Version < 1 || st.Version > rdb.Version {
		return st, fmt.Errorf("%w %d", ErrVersion, st.Version)
	}
	end, err := scan(data, now, &st, nil)
	if err != nil {
		return st, err
	}
	if st.Version >= 5 {
		if len(data)-end < 8 {
			return st, fmt.Errorf("%w: no checksum after EOF", ErrTruncated)
		}
		want := binary.LittleEndian.Uint64(data[end:])
		if want != 0 && want != rdb.CRC64(0, data[:end]) {
			return st, ErrChecksum
		}
	}
	st.Keys, st.Expired = 0, 0
	_, err = scan(data, now, &st, put)
	return st, err
}

// scan reads the records after the header up to and including EOF and
// returns the offset after EOF. With a nil put it only checks the records.
func scan(data []byte, now int64, st *LoadStats, put func(Entry) error) (int, error) {
	p := 9
	var expireAt int64
	fail := func(err error) (int, error) {
		if err == rdb.ErrUnsupported {
			return 0, fmt.Errorf("%w at byte %d: a value type CHKV does not keep (stream, module)", ErrUnsupported, p)
		}
		if p >= len(data) || err == rdb.ErrBadFormat && truncated(data, p) {
			return 0, fmt.Errorf("%w at byte %d", ErrTruncated, p)
		}
		return 0, fmt.Errorf("%w at byte %d: %w", ErrCorrupt, p, err)
	}
	for {
		if p >= len(data) {
			return fail(ErrTruncated)
		}
		op := data[p]
		p++
		switch op {
		case rdb.OpEOF:
			return p, nil
		case rdb.OpAux:
			for range 2 {
				_, n, err := rdb.ReadString(data[p:])
				if err != nil {
					return fail(err)
				}
				p += n
			}
		case rdb.OpSelectDB:
			db, n, err := rdb.ReadLength(data[p:])
			if err != nil {
				return fail(err)
			}
			if db != 0 {
				return 0, fmt.Errorf("%w at byte %d: keys of database %d (a DataNode has database 0 only)", ErrUnsupported, p, db)
			}
			p += n
		case rdb.OpResizeDB:
			for range 2 {
				_, n, err := rdb.ReadLength(data[p:])
				if err != nil {
					return fail(err)
				}
				p += n
			}
		case rdb.OpExpireMS:
			if len(data)-p < 8 {
				return fail(ErrTruncated)
			}
			expireAt = int64(binary.LittleEndian.Uint64(data[p:]))
			p += 8
		case rdb.OpExpire:
			if len(data)-p < 4 {
				return fail(ErrTruncated)
			}
			expireAt = int64(binary.LittleEndian.Uint32(data[p:])) * 1000
			p += 4
		case rdb.OpIdle:
			_, n, err := rdb.ReadLength(data[p:])
			if err != nil {
				return fail(err)
			}
			p += n
		case rdb.OpFreq:
			if p >= len(data) {
				return fail(ErrTruncated)
			}
			p++
		case rdb.OpModuleAux, rdb.OpFunction2, 0xF6:
			return 0, fmt.Errorf("%w at byte %d: module data or a function library (opcode %#x)", ErrUnsupported, p-1, op)
		default:
			key, n, err := rdb.ReadString(data[p:])
			if err != nil {
				return fail(err)
			}
			p += n
			v, n, err := rdb.ReadValue(op, data[p:])
			if err != nil {
				return fail(err)
			}
			p += n
			exp := expireAt
			expireAt = 0
			if exp != 0 && exp <= now {
				st.Expired++
				continue
			}
			st.Keys++
			if put != nil {
				if err := put(Entry{Key: key, Value: v, ExpireAt: exp}); err != nil {
					return 0, err
				}
			}
		}
	}
}

// truncated reports whether a record that failed to decode at p may just
// be cut short: the file ends within a few bytes of it. It only refines
// the error's wording.
func truncated(data []byte, p int) bool { return len(data)-p < 16 }

// Put stores a loaded key in its slot sl, locking it; a key already there
// is ErrDuplicateKey, as Redis refuses such a file.
func Put(sl *store.Slot, key, value []byte, typ store.Type, expireAt, now int64) error {
	sl.Lock()
	defer sl.Unlock()
	if _, _, ok := sl.Peek(key, now); ok {
		return fmt.Errorf("%w: %q", ErrDuplicateKey, key)
	}
	return sl.SetTyped(key, value, typ, expireAt, now)
}
