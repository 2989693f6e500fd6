package datanode

import "testing"

// TestObjectEncodingRaw checks that the commands Redis 7.0 makes a string
// raw with (APPEND and SETRANGE to an existing key, SETBIT, BITFIELD with
// a write, BITOP's destination) make CHKV report raw too, that COPY,
// RENAME and EXPIRE keep it, and that a new SET forgets it.
func TestObjectEncodingRaw(t *testing.T) {
	scriptTest(t, "raw", []step{
		{"SET s hello", "OK"}, {"APPEND s x", "(integer) 6"}, {"OBJECT ENCODING s", `"raw"`},
		{"SET n 12", "OK"}, {"SETRANGE n 0 1", "(integer) 2"}, {"OBJECT ENCODING n", `"raw"`}, {"OBJECT REFCOUNT n", "(integer) 1"},
		{"INCR n", "(integer) 13"}, {"OBJECT ENCODING n", `"int"`},
		{"SET b x", "OK"}, {"SETBIT b 1 1", "(integer) 1"}, {"OBJECT ENCODING b", `"raw"`},
		{"SET b2 x", "OK"}, {"SETBIT b2 100 1", "(integer) 0"}, {"OBJECT ENCODING b2", `"raw"`},
		{"SET g 1", "OK"}, {"BITFIELD g SET u8 0 1", "[(integer) 49]"}, {"OBJECT ENCODING g", `"raw"`},
		{"SET j 5", "OK"}, {"BITFIELD j OVERFLOW FAIL INCRBY u2 0 100", "[(nil)]"}, {"OBJECT ENCODING j", `"raw"`},
		{"SET r 5", "OK"}, {"BITFIELD r GET u8 0", "[(integer) 53]"}, {"BITFIELD_RO r GET u8 0", "[(integer) 53]"}, {"OBJECT ENCODING r", `"int"`},
		{"SETRANGE r 0 \"\"", "(integer) 1"}, {"OBJECT ENCODING r", `"int"`},
		{"APPEND r \"\"", "(integer) 1"}, {"OBJECT ENCODING r", `"raw"`},
		{"SET k1 12", "OK"}, {"BITOP AND d k1 k1", "(integer) 2"}, {"OBJECT ENCODING d", `"raw"`},
		{"SETBIT nb 1 1", "(integer) 0"}, {"OBJECT ENCODING nb", `"raw"`},
		{"SETRANGE nr 1 a", "(integer) 2"}, {"OBJECT ENCODING nr", `"raw"`},
		{"APPEND na 123", "(integer) 3"}, {"OBJECT ENCODING na", `"int"`},
		{"APPEND na 4", "(integer) 4"}, {"OBJECT ENCODING na", `"raw"`},
		{"COPY na c", "(integer) 1"}, {"OBJECT ENCODING c", `"raw"`},
		{"RENAME c c2", "OK"}, {"OBJECT ENCODING c2", `"raw"`},
		{"EXPIRE c2 100", "(integer) 1"}, {"OBJECT ENCODING c2", `"raw"`},
		{"PERSIST c2", "(integer) 1"}, {"OBJECT ENCODING c2", `"raw"`},
		{"SET c2 1234", "OK"}, {"OBJECT ENCODING c2", `"int"`},
		{"INCRBYFLOAT f 1.5", `"1.5"`}, {"OBJECT ENCODING f", `"embstr"`},
	})
}
