package rdb

import "errors"

// Errors of decoding. The datanode translates them to Redis's replies.
var (
	// ErrBadFooter means a DUMP payload's RDB version or checksum is wrong.
	ErrBadFooter = errors.New("rdb: payload version or checksum are wrong")
	// ErrBadFormat means the payload's body is malformed.
	ErrBadFormat = errors.New("rdb: bad data format")
)

// ErrUnsupported means a value's type is one this package does not decode
// (a stream, a module's value, a set listpack of Redis 7.2).
var ErrUnsupported = errors.New("rdb: unsupported value type")
