package rdb

import "encoding/binary"

// Version is the RDB version Redis 7.0 writes, and the newest one a DUMP
// payload may carry.
const Version = 10

// footerSize is the size of a DUMP payload's footer: the 2-byte RDB
// version and the 8-byte CRC64 of everything before the CRC, both
// little-endian.
const footerSize = 10

// AppendFooter turns the serialized value payload[start:] into a DUMP
// payload by appending its footer.
func AppendFooter(payload []byte, start int) []byte {
	payload = binary.LittleEndian.AppendUint16(payload, Version)
	return binary.LittleEndian.AppendUint64(payload, CRC64(0, payload[start:]))
}

// VerifyDump checks a DUMP payload's footer, as Redis's verifyDumpPayload
// does, and returns the serialized value before it; the error is
// ErrBadFooter.
func VerifyDump(payload []byte) ([]byte, error) {
	if len(payload) < footerSize {
		return nil, ErrBadFooter
	}
	body := len(payload) - 8
	if binary.LittleEndian.Uint16(payload[body-2:]) > Version ||
		binary.LittleEndian.Uint64(payload[body:]) != CRC64(0, payload[:body]) {
		return nil, ErrBadFooter
	}
	return payload[:body-2], nil
}

// DecodeDump verifies a DUMP payload and decodes its value. As Redis's
// RESTORE does, it reads the value from the whole payload: a value whose
// last length runs into the footer reads the footer's bytes.
func DecodeDump(payload []byte) (Value, error) {
	if _, err := VerifyDump(payload); err != nil {
		return Value{}, err
	}
	v, _, err := DecodeValue(payload)
	return v, err
}
