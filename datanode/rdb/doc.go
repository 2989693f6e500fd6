// Package rdb reads and writes values in Redis's serialization format, as
// Redis 7.0 writes them in DUMP payloads and RDB files (RDB version 10):
// lengths, strings (raw, integer-encoded and LZF-compressed), listpacks,
// intsets, ziplists and the object encodings of strings, lists, sets,
// sorted sets and hashes, and the DUMP footer (RDB version and CRC64).
//
// Decoding never trusts a length: every count and size is checked against
// the bytes that remain before anything is allocated for it, so a corrupt
// or hostile payload yields ErrBadFormat, never a panic or an allocation
// out of proportion to the payload.
package rdb
