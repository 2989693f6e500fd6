package rdb

import (
	"hash/crc64"
	"math/bits"
)

// jonesPoly is the Jones polynomial Redis's crc64.c uses, in normal form.
const jonesPoly = 0xad93d23594c935a9

// jonesTable is the reflected lookup table of jonesPoly, as hash/crc64
// expects it.
var jonesTable = crc64.MakeTable(bits.Reverse64(jonesPoly))

// CRC64 extends crc, Redis's crc64 of the bytes before p, with p. Redis's
// crc64 is reflected with no initial or final inversion, unlike
// hash/crc64, whose inversions are undone here.
func CRC64(crc uint64, p []byte) uint64 {
	return ^crc64.Update(^crc, jonesTable, p)
}
