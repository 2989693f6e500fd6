package datanode

import (
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chkv/chkv/helper/testutil"
)

func TestStringsGetSet(t *testing.T) {
	const syntax = "(error) ERR syntax error"
	const notInt = "(error) ERR value is not an integer or out of range"
	const badExpire = "(error) ERR invalid expire time in 'set' command"
	scriptTest(t, "set", []step{
		{"SET k v", "OK"},
		{"GET k", `"v"`},
		{"GET missing", "(nil)"},
		{"SET k v2 NX", "(nil)"},
		{"GET k", `"v"`},
		{"SET k v2 XX", "OK"},
		{"GET k", `"v2"`},
		{"SET nk v XX", "(nil)"},
		{"EXISTS nk", "(integer) 0"},
		{"SET nk v NX", "OK"},
		{"SET k v3 GET", `"v2"`},
		{"SET newk v GET", "(nil)"},
		{"GET newk", `"v"`},
		{"SET k v4 NX GET", `"v3"`},
		{"GET k", `"v3"`},
		{"SET k v4 XX GET", `"v3"`},
		{"GET k", `"v4"`},
		{"SET gk v XX GET", "(nil)"},
		{"EXISTS gk", "(integer) 0"},
		{"SET gk v NX GET", "(nil)"},
		{"GET gk", `"v"`},
		{"set k v5 nx", "(nil)"},
		{"sEt k v5 xX gEt", `"v4"`},
		{"SET k v NX NX", "(nil)"},
		{"SET k v XX XX GET GET", `"v5"`},
		// option conflicts and unknown options
		{"SET k v NX XX", syntax},
		{"SET k v XX NX", syntax},
		{"SET k v EX 10 PX 100", syntax},
		{"SET k v PX 100 EX 10", syntax},
		{"SET k v EX 10 EXAT 100", syntax},
		{"SET k v PXAT 10 EXAT 100", syntax},
		{"SET k v EX 10 KEEPTTL", syntax},
		{"SET k v KEEPTTL EX 10", syntax},
		{"SET k v KEEPTTL PXAT 10", syntax},
		{"SET k v EX", syntax},
		{"SET k v PX", syntax},
		{"SET k v PERSIST", syntax},
		{"SET k v FOO", syntax},
		{"SET k v EX 10 FOO", syntax},
		{"SET k v NX EX", syntax},
		{"SET k v NXX", syntax},
		// expire values
		{"SET k v EX 0", badExpire},
		{"SET k v EX -1", badExpire},
		{"SET k v PX 0", badExpire},
		{"SET k v EXAT 0", badExpire},
		{"SET k v PXAT -5", badExpire},
		{"SET k v EX abc", notInt},
		{"SET k v EX 1.5", notInt},
		{"SET k v EX 9223372036854775808", notInt},
		{"SET k v EX 9223372036854775807", badExpire},
		{"SET k v EX 9223372036854775", badExpire},
		{"SET k v PX 9223372036854775807", badExpire},
		{"SET k v EX abc NX XX", syntax},
		{"GET k", `"v"`},
		{"SET k v EX 10 EX 100", "OK"},
		{"TTL k", "(integer) 100|99"},
		{"SET k v EXAT 9223372036854775", "OK"},
		{"EXPIRETIME k", "(integer) 9223372036854775"},
		{"SET k v PXAT 9223372036854775807", "OK"},
		{"PEXPIRETIME k", "(integer) 9223372036854775807"},
		{"SET k v EXAT 4000000000", "OK"},
		{"EXPIRETIME k", "(integer) 4000000000"},
		{"SET k v PXAT 4000000000123", "OK"},
		{"PEXPIRETIME k", "(integer) 4000000000123"},
		{"SET k v PX 100000", "OK"},
		{"TTL k", "(integer) 100|99"},
		{"SET k v2 KEEPTTL", "OK"},
		{"TTL k", "(integer) 100|99"},
		{"SET k v3 KEEPTTL GET XX", `"v2"`},
		{"TTL k", "(integer) 100|99"},
		{"SET k v4", "OK"},
		{"TTL k", "(integer) -1"},
		{"SET k v KEEPTTL", "OK"},
		{"TTL k", "(integer) -1"},
		{"SET k v GET EX 200", `"v"`},
		{"TTL k", "(integer) 200|199"},
		{"SET k old", "OK"},
		{"SET k v EXAT 1", "OK"},
		{"GET k", "(nil)"},
		{"EXISTS k", "(integer) 0"},
		{"SET k v", "OK"},
		{"SET k v2 GET PXAT 1", `"v"`},
		{"EXISTS k", "(integer) 0"},
		{"SET k v NX PXAT 1", "OK"},
		{"EXISTS k", "(integer) 0"},
		// arity
		{"SET k", "(error) ERR wrong number of arguments for 'set' command"},
		{"SET", "(error) ERR wrong number of arguments for 'set' command"},
		{"GET", "(error) ERR wrong number of arguments for 'get' command"},
		{"GET a b", "(error) ERR wrong number of arguments for 'get' command"},
		// binary and empty keys and values
		{`SET "bin\x00ary\r\n" "\x00\xff\r\n"`, "OK"},
		{`GET "bin\x00ary\r\n"`, `"\x00\xff\r\n"`},
		{`GET "bin\x00ary"`, "(nil)"},
		{`SET e ""`, "OK"},
		{"GET e", `""`},
		{"EXISTS e", "(integer) 1"},
		{`SET "" empty`, "OK"},
		{`GET ""`, `"empty"`},
	})
}

func TestStringsSetVariants(t *testing.T) {
	const notInt = "(error) ERR value is not an integer or out of range"
	scriptTest(t, "setnx-setex-getset-getdel", []step{
		{"SETNX a 1", "(integer) 1"},
		{"SETNX a 2", "(integer) 0"},
		{"GET a", `"1"`},
		{"SETNX a", "(error) ERR wrong number of arguments for 'setnx' command"},
		{"SETNX a 1 2", "(error) ERR wrong number of arguments for 'setnx' command"},
		{"SETEX a 100 v", "OK"},
		{"TTL a", "(integer) 100|99"},
		{"GET a", `"v"`},
		{"SETEX a 0 v", "(error) ERR invalid expire time in 'setex' command"},
		{"SETEX a -1 v", "(error) ERR invalid expire time in 'setex' command"},
		{"SETEX a 9223372036854775807 v", "(error) ERR invalid expire time in 'setex' command"},
		{"SETEX a x v", notInt},
		{"SETEX a 100", "(error) ERR wrong number of arguments for 'setex' command"},
		{"PSETEX a 100000 w", "OK"},
		{"TTL a", "(integer) 100|99"},
		{"GET a", `"w"`},
		{"PSETEX a 0 v", "(error) ERR invalid expire time in 'psetex' command"},
		{"PSETEX a 9223372036854775807 v", "(error) ERR invalid expire time in 'psetex' command"},
		{"PSETEX a 1.5 v", notInt},
		{"PSETEX a 1 v x", "(error) ERR wrong number of arguments for 'psetex' command"},
		{"GETSET a new", `"w"`},
		{"TTL a", "(integer) -1"},
		{"GETSET nokey v", "(nil)"},
		{"GET nokey", `"v"`},
		{"GETSET a", "(error) ERR wrong number of arguments for 'getset' command"},
		{"GETDEL a", `"new"`},
		{"GETDEL a", "(nil)"},
		{"EXISTS a", "(integer) 0"},
		{"GETDEL", "(error) ERR wrong number of arguments for 'getdel' command"},
		{"GETDEL a b", "(error) ERR wrong number of arguments for 'getdel' command"},
	})
	const syntax = "(error) ERR syntax error"
	const badExpire = "(error) ERR invalid expire time in 'getex' command"
	scriptTest(t, "getex", []step{
		{"SET g v", "OK"},
		{"GETEX g", `"v"`},
		{"TTL g", "(integer) -1"},
		{"GETEX g EX 100", `"v"`},
		{"TTL g", "(integer) 100|99"},
		{"GETEX g", `"v"`},
		{"TTL g", "(integer) 100|99"},
		{"GETEX g PERSIST", `"v"`},
		{"TTL g", "(integer) -1"},
		{"GETEX g PERSIST", `"v"`},
		{"GETEX g px 200000", `"v"`},
		{"TTL g", "(integer) 200|199"},
		{"GETEX g EXAT 4000000000", `"v"`},
		{"EXPIRETIME g", "(integer) 4000000000"},
		{"GETEX g PXAT 4000000000123", `"v"`},
		{"PEXPIRETIME g", "(integer) 4000000000123"},
		{"GETEX g EX 10 EX 300", `"v"`},
		{"TTL g", "(integer) 300|299"},
		{"GETEX missing", "(nil)"},
		{"GETEX missing EX 10", "(nil)"},
		{"GETEX missing EX -1", "(nil)"},
		{"GETEX missing FOO", syntax},
		{"GETEX g EX -1", badExpire},
		{"GETEX g EX 0", badExpire},
		{"GETEX g PXAT 0", badExpire},
		{"GETEX g EX 9223372036854775807", badExpire},
		{"GETEX g EX abc", "(error) ERR value is not an integer or out of range"},
		{"GETEX g EX 10 PX 10", syntax},
		{"GETEX g PERSIST EX 10", syntax},
		{"GETEX g EX 10 PERSIST", syntax},
		{"GETEX g NX", syntax},
		{"GETEX g XX", syntax},
		{"GETEX g GET", syntax},
		{"GETEX g KEEPTTL", syntax},
		{"GETEX g EX", syntax},
		{"TTL g", "(integer) 300|299"},
		{"GETEX g EXAT 1", `"v"`},
		{"GET g", "(nil)"},
		{"SET g v", "OK"},
		{"GETEX g PXAT 1", `"v"`},
		{"EXISTS g", "(integer) 0"},
		{"GETEX", "(error) ERR wrong number of arguments for 'getex' command"},
	})
}

func TestStringsMulti(t *testing.T) {
	scriptTest(t, "mget-mset", []step{
		{"MSET a 1 b 2 c 3", "OK"},
		{"MGET a b c nokey", `["1" "2" "3" (nil)]`},
		{"MGET a", `["1"]`},
		{"MGET nokey a nokey", `[(nil) "1" (nil)]`},
		{"MGET a a", `["1" "1"]`},
		{"MSET a", "(error) ERR wrong number of arguments for 'mset' command"},
		{"MSET a 1 b", "(error) ERR wrong number of arguments for 'mset' command"},
		{"MGET", "(error) ERR wrong number of arguments for 'mget' command"},
		{"MSET a 1 a 2", "OK"},
		{"GET a", `"2"`},
		{"SET t v EX 100", "OK"},
		{"MSET t v2 {x}1 a {x}2 b", "OK"},
		{"TTL t", "(integer) -1"},
		{"MGET {x}1 {x}2 t", `["a" "b" "v2"]`},
		{"MSETNX a 1 x 2", "(integer) 0"},
		{"EXISTS x", "(integer) 0"},
		{"MSETNX x 1 y 2", "(integer) 1"},
		{"MGET x y", `["1" "2"]`},
		{"MSETNX z 1 z 2", "(integer) 1"},
		{"GET z", `"2"`},
		{"MSETNX z", "(error) ERR wrong number of arguments for 'msetnx' command"},
		{"MSETNX z 1 w", "(error) ERR wrong number of arguments for 'msetnx' command"},
		{`MSET "" e "\x00" "\xff"`, "OK"},
		{`MGET "" "\x00"`, `["e" "\xff"]`},
	})
}

func TestStringsIncr(t *testing.T) {
	const notInt = "(error) ERR value is not an integer or out of range"
	const overflow = "(error) ERR increment or decrement would overflow"
	scriptTest(t, "incr", []step{
		{"INCR n", "(integer) 1"},
		{"INCR n", "(integer) 2"},
		{"DECR n", "(integer) 1"},
		{"INCRBY n 10", "(integer) 11"},
		{"DECRBY n 5", "(integer) 6"},
		{"INCRBY n -10", "(integer) -4"},
		{"DECRBY n -4", "(integer) 0"},
		{"DECR m", "(integer) -1"},
		{"DECRBY m2 3", "(integer) -3"},
		{"INCRBY m3 -3", "(integer) -3"},
		{"GET n", `"0"`},
		{"SET big 9223372036854775807", "OK"},
		{"INCR big", overflow},
		{"INCRBY big 0", "(integer) 9223372036854775807"},
		{"DECRBY big -1", overflow},
		{"DECR big", "(integer) 9223372036854775806"},
		{"INCRBY big 1", "(integer) 9223372036854775807"},
		{"SET small -9223372036854775808", "OK"},
		{"DECR small", overflow},
		{"INCRBY small -1", overflow},
		{"DECRBY small 9223372036854775807", overflow},
		{"INCRBY small 9223372036854775807", "(integer) -1"},
		{"INCRBY small -9223372036854775807", "(integer) -9223372036854775808"},
		{"DECRBY n -9223372036854775808", "(error) ERR decrement would overflow"},
		{"DECRBY n 9223372036854775807", "(integer) -9223372036854775807"},
		{"INCRBY n 9223372036854775808", notInt},
		{"INCRBY n -9223372036854775809", notInt},
		{"INCRBY n abc", notInt},
		{"INCRBY n 1.5", notInt},
		{`INCRBY n ""`, notInt},
		{`INCRBY n " 1"`, notInt},
		{"INCRBY n +1", notInt},
		{"INCRBY n 01", notInt},
		{"INCRBY n -0", notInt},
		{"SET s abc", "OK"},
		{"INCR s", notInt},
		{`SET s " 1"`, "OK"},
		{"INCR s", notInt},
		{"SET s 1.0", "OK"},
		{"DECR s", notInt},
		{"SET s 007", "OK"},
		{"INCRBY s 1", notInt},
		{"SET s 99999999999999999999", "OK"},
		{"INCR s", notInt},
		{`SET s ""`, "OK"},
		{"INCR s", notInt},
		{"SET t 5 EX 100", "OK"},
		{"INCR t", "(integer) 6"},
		{"TTL t", "(integer) 100|99"},
		{"GET t", `"6"`},
		{"INCR", "(error) ERR wrong number of arguments for 'incr' command"},
		{"DECR a b", "(error) ERR wrong number of arguments for 'decr' command"},
		{"INCRBY a", "(error) ERR wrong number of arguments for 'incrby' command"},
		{"DECRBY a", "(error) ERR wrong number of arguments for 'decrby' command"},
	})
}

func TestStringsIncrByFloat(t *testing.T) {
	const notFloat = "(error) ERR value is not a valid float"
	const nanInf = "(error) ERR increment would produce NaN or Infinity"
	scriptTest(t, "incrbyfloat", []step{
		{"SET f 10.50", "OK"},
		{"INCRBYFLOAT f 0.1", `"10.6"`},
		{"INCRBYFLOAT f -5", `"5.6"`},
		{"SET f 5.0e3", "OK"},
		{"INCRBYFLOAT f 2.0e2", `"5200"`},
		{"INCRBYFLOAT nf 1", `"1"`},
		{"INCRBYFLOAT z 0.1", `"0.1"`},
		{"INCRBYFLOAT z 0.1", `"0.2"`},
		{"INCRBYFLOAT z 0.1", `"0.3"`},
		{"INCRBYFLOAT z -0.3", `"0"`},
		{"INCRBYFLOAT d 1.23456789012345678", `"1.23456789012345678"`},
		{"INCRBYFLOAT d 1e-20", `"1.23456789012345678"`},
		{"INCRBYFLOAT tiny 1e-20", `"0"`},
		{"INCRBYFLOAT tiny 3.3333333333333333333e-5", `"0.00003333333333333"`},
		{"INCRBYFLOAT third 1", `"1"`},
		{"INCRBYFLOAT third -0.6666666666666666666666", `"0.33333333333333333"`},
		{"INCRBYFLOAT h 0x10", `"16"`},
		{"INCRBYFLOAT h 0x1.8", `"17.5"`},
		{"INCRBYFLOAT h 0X1P-2", `"17.75"`},
		{"INCRBYFLOAT h .5", `"18.25"`},
		{"INCRBYFLOAT h 5.", `"23.25"`},
		{"INCRBYFLOAT h +1e+2", `"123.25"`},
		{"INCRBYFLOAT h -1E-2", `"123.24"`},
		{"INCRBYFLOAT h -0", `"123.24"`},
		{"INCRBYFLOAT h 0e99999999", `"123.24"`},
		{"INCRBYFLOAT big 1e20", `"100000000000000000000"`},
		{"INCRBYFLOAT big 0.5", `"100000000000000000000"`}, // 64-bit mantissa
		{"INCRBYFLOAT big 4", `"100000000000000000000"`},
		{"INCRBYFLOAT big 5", `"100000000000000000008"`},
		{"INCRBYFLOAT small 1e-10", `"0.0000000001"`},
		{"INCRBYFLOAT small 1", `"1.0000000001"`},
		{"INCRBYFLOAT huge 1e309", `"999999999999999999986349424581256454766307763249906048699722933664407363742116431635427166600418245409398702382304152749971957328402423172341126484032370375772746974788657214625693651444984012739133113268869496442311034817571120406763557498021655642425941543468850939783228659030453659621446207643423114002432"`},
		{"INCRBYFLOAT huge 1e4932", "*"},
		{"INCRBYFLOAT huge 1e4932", nanInf},
		{"INCRBYFLOAT huge 1e5000", notFloat},
		{"INCRBYFLOAT neg -1e4932", "*"},
		{"INCRBYFLOAT neg -1e4932", nanInf},
		{"INCRBYFLOAT x 1e-5000", notFloat},
		{"INCRBYFLOAT x inf", nanInf},
		{"INCRBYFLOAT x -INF", nanInf},
		{"INCRBYFLOAT x +Infinity", nanInf},
		{"INCRBYFLOAT x infx", notFloat},
		{"INCRBYFLOAT x nan", notFloat},
		{"INCRBYFLOAT x -nan", notFloat},
		{"INCRBYFLOAT x abc", notFloat},
		{`INCRBYFLOAT x ""`, notFloat},
		{`INCRBYFLOAT x " 1"`, notFloat},
		{`INCRBYFLOAT x "1 "`, notFloat},
		{"INCRBYFLOAT x 1e", notFloat},
		{"INCRBYFLOAT x 1e+", notFloat},
		{"INCRBYFLOAT x 0x", notFloat},
		{"INCRBYFLOAT x 0x1p", notFloat},
		{"INCRBYFLOAT x .", notFloat},
		{"INCRBYFLOAT x 1.2.3", notFloat},
		{"INCRBYFLOAT x 1_000", notFloat},
		{"INCRBYFLOAT x 0b101", notFloat},
		{"INCRBYFLOAT x +-1", notFloat},
		{"EXISTS x", "(integer) 0"},
		{"SET s abc", "OK"},
		{"INCRBYFLOAT s 1", notFloat},
		{"SET s inf", "OK"},
		{"INCRBYFLOAT s 1", nanInf},
		{`SET s "1 "`, "OK"},
		{"INCRBYFLOAT s 1", notFloat},
		{"SET s 7", "OK"},
		{"INCRBYFLOAT s 1", `"8"`},
		{"SET mz -0", "OK"},
		{"INCRBYFLOAT mz -0", `"0"`},
		{"SET t 1 EX 100", "OK"},
		{"INCRBYFLOAT t 1.5", `"2.5"`},
		{"TTL t", "(integer) 100|99"},
		{"INCRBYFLOAT t", "(error) ERR wrong number of arguments for 'incrbyfloat' command"},
		{"INCRBYFLOAT long 1." + strings.Repeat("0", 5117), `"1"`}, // 5119 bytes
		{"INCRBYFLOAT long 1." + strings.Repeat("0", 5118), notFloat},
		{"SET long 1." + strings.Repeat("0", 5118), "OK"},
		{"INCRBYFLOAT long 1", notFloat},
	})
}

func TestStringsAppendRange(t *testing.T) {
	const notInt = "(error) ERR value is not an integer or out of range"
	const tooLong = "(error) ERR string exceeds maximum allowed size (proto-max-bulk-len)"
	scriptTest(t, "append-strlen", []step{
		{"APPEND a hello", "(integer) 5"},
		{`APPEND a " world"`, "(integer) 11"},
		{"GET a", `"hello world"`},
		{"STRLEN a", "(integer) 11"},
		{"STRLEN missing", "(integer) 0"},
		{`APPEND e ""`, "(integer) 0"},
		{"EXISTS e", "(integer) 1"},
		{"STRLEN e", "(integer) 0"},
		{`APPEND e "\x00\xff"`, "(integer) 2"},
		{"GET e", `"\x00\xff"`},
		{"SET t v EX 100", "OK"},
		{"APPEND t x", "(integer) 2"},
		{"TTL t", "(integer) 100|99"},
		{"SET n 12", "OK"},
		{"APPEND n 3", "(integer) 3"},
		{"INCR n", "(integer) 124"},
		{"APPEND a", "(error) ERR wrong number of arguments for 'append' command"},
		{"STRLEN", "(error) ERR wrong number of arguments for 'strlen' command"},
	})
	scriptTest(t, "getrange", []step{
		{`SET a "hello world"`, "OK"},
		{"GETRANGE a 0 4", `"hello"`},
		{"GETRANGE a -5 -1", `"world"`},
		{"GETRANGE a 0 -1", `"hello world"`},
		{"GETRANGE a 5 3", `""`},
		{"GETRANGE a -1 -5", `""`},
		{"GETRANGE a 0 100", `"hello world"`},
		{"GETRANGE a 100 200", `""`},
		{"GETRANGE a -100 2", `"hel"`},
		{"GETRANGE a -100 -50", `"h"`},
		{"GETRANGE a 3 -100", `""`},
		{"GETRANGE a 10 10", `"d"`},
		{"GETRANGE a 11 11", `""`},
		{"GETRANGE a -9223372036854775808 9223372036854775807", `"hello world"`},
		{"GETRANGE missing 0 1", `""`},
		{"GETRANGE missing x 1", notInt},
		{"GETRANGE a x 1", notInt},
		{"GETRANGE a 1 1.5", notInt},
		{"GETRANGE a 0 9223372036854775808", notInt},
		{`SET e ""`, "OK"},
		{"GETRANGE e 0 -1", `""`},
		{"GETRANGE e -1 0", `""`},
		{"GETRANGE e 0 0", `""`},
		{"SUBSTR a 0 4", `"hello"`},
		{"SUBSTR a -3 -2", `"rl"`},
		{"GETRANGE a 0", "(error) ERR wrong number of arguments for 'getrange' command"},
		{"SUBSTR a 0", "(error) ERR wrong number of arguments for 'substr' command"},
	})
	scriptTest(t, "setrange", []step{
		{`SET a "hello world"`, "OK"},
		{"SETRANGE a 6 Redis", "(integer) 11"},
		{"GET a", `"hello Redis"`},
		{"SETRANGE a 9 ISH", "(integer) 12"},
		{"GET a", `"hello RedISH"`},
		{"SETRANGE a 0 J", "(integer) 12"},
		{"GET a", `"Jello RedISH"`},
		{"SETRANGE n 5 x", "(integer) 6"},
		{"GET n", `"\x00\x00\x00\x00\x00x"`},
		{`SETRANGE n 0 ""`, "(integer) 6"},
		{`SETRANGE n 100 ""`, "(integer) 6"},
		{`SETRANGE nn 3 ""`, "(integer) 0"},
		{"EXISTS nn", "(integer) 0"},
		{"SETRANGE n 8 y", "(integer) 9"},
		{"GET n", `"\x00\x00\x00\x00\x00x\x00\x00y"`},
		{"SETRANGE a -1 x", "(error) ERR offset is out of range"},
		{`SETRANGE nn -1 ""`, "(error) ERR offset is out of range"},
		{"SETRANGE a abc x", notInt},
		{"SETRANGE a 1.0 x", notInt},
		{"SETRANGE a 536870911 xx", tooLong},
		{"SETRANGE a 536870912 x", tooLong},
		{"SETRANGE nn 536870912 x", tooLong},
		{"SETRANGE a 9223372036854775807 x", tooLong},
		{"SETRANGE a 9223372036854775808 x", notInt},
		{`SETRANGE a 536870912 ""`, "(integer) 12"},
		{"EXISTS nn", "(integer) 0"},
		{"SET t abc EX 100", "OK"},
		{"SETRANGE t 1 X", "(integer) 3"},
		{"GET t", `"aXc"`},
		{"TTL t", "(integer) 100|99"},
		{"SETRANGE a 1", "(error) ERR wrong number of arguments for 'setrange' command"},
	})
}

// TestStringsMaxBulkLen checks the proto-max-bulk-len limit of APPEND and
// SETRANGE on a node configured with the smallest allowed limit.
func TestStringsMaxBulkLen(t *testing.T) {
	s := startServer(t, func(cfg *Config) { cfg.Settings.ProtoMaxBulkLen = 1 << 20 })
	c := s.dial(t)
	const tooLong = "(error) ERR string exceeds maximum allowed size (proto-max-bulk-len)"
	runScript(t, c, []step{
		{"SETRANGE k 1048575 x", "(integer) 1048576"},
		{"SETRANGE k 1048576 x", tooLong},
		{"SETRANGE k 1048575 xy", tooLong},
		{"APPEND k y", tooLong},
		{`APPEND k ""`, "(integer) 1048576"},
		{"STRLEN k", "(integer) 1048576"},
		{"SETRANGE k2 1048575 xy", tooLong},
		{"EXISTS k2", "(integer) 0"},
	})
}

// TestStringsTTLTiming checks PTTL against the requested time, which the
// scripts cannot compare exactly.
func TestStringsTTLTiming(t *testing.T) {
	s := startServer(t, nil)
	c := s.dial(t)
	c.do("SET", "k", "v", "PX", "100000")
	pttl := replyInt(t, c.do("PTTL", "k"))
	if pttl > 100000 || pttl < 90000 {
		t.Fatalf("PTTL after SET PX 100000 = %d", pttl)
	}
	c.do("PSETEX", "k", "5000", "v")
	if pttl := replyInt(t, c.do("PTTL", "k")); pttl > 5000 || pttl < 4000 {
		t.Fatalf("PTTL after PSETEX 5000 = %d", pttl)
	}
	c.do("GETEX", "k", "PX", "7000")
	if pttl := replyInt(t, c.do("PTTL", "k")); pttl > 7000 || pttl < 6000 {
		t.Fatalf("PTTL after GETEX PX 7000 = %d", pttl)
	}
	now := time.Now().UnixMilli()
	c.do("PEXPIRE", "k", "9000")
	at := replyInt(t, c.do("PEXPIRETIME", "k"))
	if at < now+9000 || at > time.Now().UnixMilli()+9000 {
		t.Fatalf("PEXPIRETIME after PEXPIRE 9000 = %d, now %d", at, now)
	}
}

// replyInt extracts n from a formatted "(integer) n" reply.
func replyInt(t testing.TB, reply string) int64 {
	t.Helper()
	n, err := strconv.ParseInt(strings.TrimPrefix(reply, "(integer) "), 10, 64)
	if err != nil {
		t.Fatalf("not an integer reply: %s", reply)
	}
	return n
}

// TestExpiry checks lazy expiry (a read finds the key gone) and active
// expiry (the cron removes keys nobody reads).
func TestExpiry(t *testing.T) {
	s := startServer(t, nil)
	c := s.dial(t)
	runScript(t, c, []step{
		{"SET lazy v PX 50", "OK"},
		{"GET lazy", `"v"`},
	})
	time.Sleep(60 * time.Millisecond)
	runScript(t, c, []step{
		{"GET lazy", "(nil)"},
		{"TTL lazy", "(integer) -2"},
	})
	for i := range 100 {
		c.send("SET", "active:"+strconv.Itoa(i), "v", "PX", "50")
	}
	c.send("SET", "keep", "v")
	for range 101 {
		if got := c.reply(); got != "OK" {
			t.Fatalf("SET: %s", got)
		}
	}
	if n := s.store.Len(); n < 101 {
		t.Fatalf("store holds %d keys after the SETs, want at least 101", n)
	}
	testutil.Eventually(t, 5*time.Second, "active expiry of 100 keys", func() bool { return s.store.Len() == 1 })
	runScript(t, c, []step{{"GET keep", `"v"`}})
}

// TestKeyspaceStats checks that reads count keyspace hits and misses as
// Redis's lookupKeyRead does, and that writes do not; the counts are
// Redis's own where redis-server is installed.
func TestKeyspaceStats(t *testing.T) {
	cmds := [][]string{
		{"SET", "k", "v"}, // write: not counted
		{"GET", "k"},      // hit
		{"GET", "nokey"},  // miss
		{"MGET", "k", "nokey", "k"},
		{"EXISTS", "k", "nokey"},
		{"STRLEN", "k"},
		{"TTL", "nokey"},
		{"TYPE", "k"},
		{"INCR", "n"},    // write: not counted
		{"DEL", "nokey"}, // write: not counted
		{"SET", "k", "v", "GET"},
		{"GETRANGE", "nokey", "0", "1"},
		{"EXPIRE", "nokey", "10"},
		{"SCAN", "0", "MATCH", "k*", "TYPE", "hash"}, // looks k up for its type
		{"SCAN", "0", "MATCH", "k*"},
	}
	const wantHits, wantMisses = 8, 5
	t.Run("datanode", func(t *testing.T) {
		s := startServer(t, nil)
		c := s.dial(t)
		for _, cmd := range cmds {
			c.do(cmd...)
		}
		hits, misses := s.stats.keyspaceHits.Load(), s.stats.keyspaceMisses.Load()
		if hits != wantHits || misses != wantMisses {
			t.Fatalf("keyspace hits/misses = %d/%d, want %d/%d", hits, misses, wantHits, wantMisses)
		}
	})
	t.Run("redis", func(t *testing.T) {
		c := startRedis(t)
		for _, cmd := range cmds {
			c.do(cmd...)
		}
		info := c.do("INFO", "stats")
		for _, want := range []string{
			"keyspace_hits:" + strconv.Itoa(wantHits) + `\r\n`,
			"keyspace_misses:" + strconv.Itoa(wantMisses) + `\r\n`,
		} {
			if !strings.Contains(info, want) {
				t.Errorf("redis INFO stats lacks %s", want)
			}
		}
	})
}

// newIdleServer returns a server that is not started: tests drive its
// handlers directly through s.execute with a connection-less client.
func newIdleServer(t testing.TB) *Server {
	t.Helper()
	cfg := DefaultConfig()
	cfg.Seed = 1
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Stop)
	return s
}

func toArgs(args ...string) [][]byte {
	out := make([][]byte, len(args))
	for i, a := range args {
		out[i] = []byte(a)
	}
	return out
}

// TestHotPathAllocs checks that GET and friends do not allocate and that SET
// allocates nothing beyond what the store itself needs to keep the value.
func TestHotPathAllocs(t *testing.T) {
	s := newIdleServer(t)
	c := &client{srv: s, out: make([]byte, 0, 1<<16)}
	allocs := func(args ...string) float64 {
		argv := toArgs(args...)
		return testing.AllocsPerRun(200, func() {
			c.out = c.out[:0]
			s.execute(c, argv)
		})
	}
	s.execute(c, toArgs("SET", "k", "value"))
	s.execute(c, toArgs("SET", "{k}2", "value", "EX", "1000"))
	for _, cmd := range [][]string{
		{"GET", "k"},
		{"GET", "missing"},
		{"MGET", "k", "{k}2", "missing{k}"},
		{"EXISTS", "k"},
		{"STRLEN", "k"},
		{"TTL", "{k}2"},
		{"GETRANGE", "k", "1", "3"},
		{"TYPE", "k"},
		{"DEL", "missing"},
	} {
		if n := allocs(cmd...); n != 0 {
			t.Errorf("%q allocates %v times per call, want 0", cmd, n)
		}
	}
	key, value := []byte("k"), []byte("value")
	storeSet := testing.AllocsPerRun(200, func() {
		sl := s.keySlot(key)
		sl.Lock()
		sl.Set(key, value, 0, 1)
		sl.Unlock()
	})
	for _, cmd := range [][]string{
		{"SET", "k", "value"},
		{"SET", "k", "value", "EX", "100"},
		{"SET", "k", "value", "KEEPTTL", "XX"},
		{"INCR", "counter"},
		{"APPEND", "k", ""},
	} {
		if n := allocs(cmd...); n > storeSet {
			t.Errorf("%q allocates %v times per call, the store's Set alone %v", cmd, n, storeSet)
		}
	}
}

// BenchmarkHandlers measures GET and SET handlers without the network.
func BenchmarkHandlers(b *testing.B) {
	s := newIdleServer(b)
	c := &client{srv: s, out: make([]byte, 0, 1<<16)}
	s.execute(c, toArgs("SET", "key", "value"))
	for _, cmd := range [][]string{{"GET", "key"}, {"SET", "key", "value"}, {"MGET", "key", "key2"}} {
		argv := toArgs(cmd...)
		b.Run(cmd[0], func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				c.out = c.out[:0]
				s.execute(c, argv)
			}
		})
	}
}

// BenchmarkPipelinedGetSet measures GET and SET through a real TCP
// connection, 100 commands per round trip.
func BenchmarkPipelinedGetSet(b *testing.B) {
	s := startServer(b, nil)
	c := s.dial(b)
	const depth = 100
	for _, name := range []string{"GET", "SET"} {
		var batch []byte
		for i := range depth {
			key := "key:" + strconv.Itoa(i)
			if name == "GET" {
				batch = append(batch, encodeCommand("GET", key)...)
			} else {
				batch = append(batch, encodeCommand("SET", key, "0123456789")...)
			}
		}
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(batch)))
			for b.Loop() {
				c.writeRaw(batch)
				for range depth {
					if _, err := readReply(c.r); err != nil {
						b.Fatal(err)
					}
				}
			}
			b.ReportMetric(float64(b.N*depth)/b.Elapsed().Seconds(), "ops/s")
		})
	}
}

// TestIncrByFloatRandomAgainstRedis compares INCRBYFLOAT with Redis's on
// random increments: long-double rounding and "%.17Lf" formatting must
// agree to the last digit.
func TestIncrByFloatRandomAgainstRedis(t *testing.T) {
	r, ok := tryStartRedis(t)
	if !ok {
		t.Skip("redis-server not installed")
	}
	s := startServer(t, nil)
	c := s.dial(t)
	rng := rand.New(rand.NewPCG(3, 4))
	randomFloat := func() string {
		var b strings.Builder
		if rng.IntN(3) == 0 {
			b.WriteByte('-')
		}
		if rng.IntN(8) == 0 {
			fmt.Fprintf(&b, "0x%x.%xp%d", rng.Uint64()>>rng.IntN(64), rng.Uint32(), rng.IntN(200)-100)
			return b.String()
		}
		digits := 1 + rng.IntN(25)
		for i := range digits {
			b.WriteByte(byte('0' + rng.IntN(10)))
			if i == rng.IntN(digits) {
				b.WriteByte('.')
			}
		}
		if rng.IntN(2) == 0 {
			fmt.Fprintf(&b, "e%d", rng.IntN(80)-40)
		}
		return b.String()
	}
	const n = 3000
	cmds := make([][]string, n)
	for i := range cmds {
		key := "f" + strconv.Itoa(rng.IntN(20))
		if rng.IntN(10) == 0 {
			cmds[i] = []string{"SET", key, randomFloat()}
		} else {
			cmds[i] = []string{"INCRBYFLOAT", key, randomFloat()}
		}
	}
	for _, cmd := range cmds {
		c.send(cmd...)
		r.send(cmd...)
	}
	for _, cmd := range cmds {
		got, want := c.reply(), r.reply()
		if got != want {
			t.Errorf("%q:\n got: %s\nwant: %s", cmd, got, want)
		}
	}
}
