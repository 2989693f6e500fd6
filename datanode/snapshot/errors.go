package snapshot

import "errors"

// Errors of loading. The returned errors wrap them with the offset where
// the problem was found.
var (
	// ErrNotRDB means the file does not start with an RDB header.
	ErrNotRDB = errors.New("snapshot: not an RDB file (wrong signature)")
	// ErrVersion means the file's RDB version is newer than 10.
	ErrVersion = errors.New("snapshot: can't handle RDB format version")
	// ErrChecksum means the file's CRC64 does not match its contents.
	ErrChecksum = errors.New("snapshot: wrong RDB checksum")
	// ErrTruncated means the file ends before its EOF record.
	ErrTruncated = errors.New("snapshot: unexpected end of RDB file")
	// ErrCorrupt means a record cannot be decoded.
	ErrCorrupt = errors.New("snapshot: corrupt RDB file")
	// ErrUnsupported means the file holds something a DataNode does not
	// keep: a stream, a module value, a function library, a database
	// other than 0.
	ErrUnsupported = errors.New("snapshot: unsupported RDB content")
	// ErrDuplicateKey means a key appears twice.
	ErrDuplicateKey = errors.New("snapshot: duplicate key found in RDB file")
	// ErrSaveAborted means a save was cancelled before it finished.
	ErrSaveAborted = errors.New("snapshot: save aborted")
)
