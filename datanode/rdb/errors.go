package rdb

import "errors"

// Errors of decoding. The datanode translates them to Redis's replies.
var (
	// ErrBadFooter means a DUMP payload's RDB version or checksum is wrong.
	ErrBadFooter = errors.New("rdb: payload version or checksum are wrong")
	// ErrBadFormat means the payload's body is malformed.
	ErrBadFormat = errors.New("rdb: bad data format")
)
