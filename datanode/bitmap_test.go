package datanode

import "testing"

// bitmapDiffScript exercises the bitmap commands, LCS and COPY: replies,
// errors, arity, WRONGTYPE and the edges of offsets and ranges.
var bitmapDiffScript = []string{
	// SETBIT and GETBIT
	`SETBIT b 7 1`, `GET b`, `SETBIT b 7 0`, `SETBIT b 7 1`, `SETBIT b 100 1`, `STRLEN b`, `GETBIT b 100`,
	`GETBIT b 101`, `GETBIT b 100000`, `GETBIT nokey 3`, `GETBIT b -1`, `GETBIT b x`,
	`SETBIT b -1 1`, `SETBIT b x 1`, `SETBIT b 1 2`, `SETBIT b 1 -1`, `SETBIT b 1 x`, `SETBIT b 4294967296 1`,
	`SETBIT b 99999999999999 1`, `SETBIT b 9223372036854775807 1`, `SETBIT b 4294967295 x`,
	`SETBIT`, `SETBIT b 1`, `SETBIT b 1 1 1`, `GETBIT b`, `GETBIT b 1 2`,
	`SET s "\xff\xf0\x00"`, `SETBIT s 0 0`, `GET s`, `SETBIT s 23 1`, `GET s`,
	`SET n 12`, `SETBIT n 3 1`, `GET n`,
	`SET e foo`, `EXPIRE e 100000`, `SETBIT e 100 1`, `TTL e`, `SETBIT e 1 1`, `TTL e`,
	`HSET h f v`, `SETBIT h 1 1`, `GETBIT h 1`, `BITCOUNT h`, `BITPOS h 1`, `BITFIELD h GET u8 0`,
	`BITFIELD_RO h GET u8 0`, `BITOP AND d h`, `BITOP AND h b`, `TYPE h`,
	// BITCOUNT
	`SET c foobar`, `BITCOUNT c`, `BITCOUNT c 0 0`, `BITCOUNT c 1 1`, `BITCOUNT c 1 1 BYTE`, `BITCOUNT c 5 30 BIT`,
	`BITCOUNT c -1 -1`, `BITCOUNT c -2 -1 bit`, `BITCOUNT c -1 -2`, `BITCOUNT c 2 1`, `BITCOUNT c -100 100`,
	`BITCOUNT c 0 -100`, `BITCOUNT c 100 200`, `BITCOUNT c 0 47 BIT`, `BITCOUNT c 0 1000 BIT`, `BITCOUNT c 3 3 BIT`,
	`BITCOUNT c 1`, `BITCOUNT c 1 2 3`, `BITCOUNT c 1 2 BITS`, `BITCOUNT c x 1`, `BITCOUNT c 1 x`, `BITCOUNT c 1 2 BIT x`,
	`BITCOUNT nokey`, `BITCOUNT nokey x y`, `BITCOUNT nokey 1`, `BITCOUNT`,
	`SET long "0123456789abcdefghijklmnopqrstuvwxyz0123456789abcdefghijklmnopqrstuvwxyz"`,
	`BITCOUNT long`, `BITCOUNT long 3 60`, `BITCOUNT long 13 500 BIT`, `BITCOUNT long -40 -3 BIT`,
	// BITPOS
	`SET p "\xff\xf0\x00"`, `BITPOS p 0`, `BITPOS p 1`, `BITPOS p 1 2`, `BITPOS p 0 0 0`, `BITPOS p 1 2 -1 BYTE`,
	`BITPOS p 1 7 15 BIT`, `BITPOS p 0 7 15 BIT`, `BITPOS p 0 0 11 BIT`, `BITPOS p 0 3 BIT`, `BITPOS p 1 13 BIT`,
	`BITPOS p 1 -5 BIT`, `BITPOS p 0 100`, `BITPOS p 1 100`, `BITPOS p 0 2 1`, `BITPOS p 2`, `BITPOS p -1`, `BITPOS p x`,
	`BITPOS p 1 x`, `BITPOS p 1 0 x`, `BITPOS p 1 0 1 BITS`, `BITPOS p 1 0 1 BIT x`, `BITPOS nokey 0`, `BITPOS nokey 1`,
	`BITPOS nokey 1 x`, `BITPOS nokey 2`, `BITPOS p`,
	`SET ones "\xff\xff\xff"`, `BITPOS ones 0`, `BITPOS ones 0 0`, `BITPOS ones 0 0 -1`, `BITPOS ones 0 1 BIT`,
	`BITPOS ones 0 1 20 BIT`, `BITPOS ones 1 3 BIT`, `SET zeros "\x00\x00\x00"`, `BITPOS zeros 1`, `BITPOS zeros 0`,
	`BITPOS zeros 1 0 -1`, `BITPOS zeros 0 9 BIT`, `SET empty ""`, `BITPOS empty 0`, `BITPOS empty 1`, `BITCOUNT empty`,
	`SET lz "\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x01"`, `BITPOS lz 1`,
	`BITPOS lz 1 2 -2`, `BITPOS lz 0 8`, `BITPOS lz 1 3 167 BIT`,
	// BITOP
	`SET a1 "\x0f\xf0\xaa"`, `SET a2 "\xff\x0f"`, `BITOP AND r a1 a2`, `GET r`, `BITOP OR r a1 a2`, `GET r`,
	`BITOP XOR r a1 a2 nokey`, `GET r`, `BITOP NOT r a1`, `GET r`, `BITOP not r a1 a2`, `BITOP NAND r a1`,
	`BITOP AND r nokey nokey2`, `EXISTS r`, `SET r x`, `EXPIRE r 1000`, `BITOP OR r a1`, `TTL r`, `GET r`,
	`BITOP AND r a1 nokey`, `GET r`, `BITOP XOR r a1 a1`, `GET r`, `BITOP`, `BITOP AND`, `BITOP AND r`,
	`HSET hr f v`, `BITOP OR hr a1`, `TYPE hr`, `BITOP NOT r nokey`, `EXISTS r`,
	// BITFIELD
	`BITFIELD f SET u8 0 255 GET u8 0 GET i8 0`, `BITFIELD f INCRBY u2 100 1 OVERFLOW SAT INCRBY u2 102 1`,
	`BITFIELD f GET u8 #0 GET u8 #1 SET i5 #3 -7 GET i5 #3 GET u64 0`, `BITFIELD f OVERFLOW FAIL INCRBY u2 102 5 GET u2 102`,
	`BITFIELD f OVERFLOW WRAP INCRBY i8 0 200 INCRBY i8 0 -300 INCRBY u8 8 -1 SET u4 16 100`,
	`BITFIELD f OVERFLOW SAT INCRBY i8 0 200 INCRBY i8 0 -300 INCRBY u8 8 -1 SET u4 16 100 SET i4 16 -100 INCRBY u4 16 -100`,
	`BITFIELD f OVERFLOW FAIL INCRBY i8 0 200 INCRBY i8 0 -300 INCRBY u8 8 -1 SET u4 16 100 SET i4 16 -100 SET i4 16 7`,
	`BITFIELD f SET i64 0 -9223372036854775808 INCRBY i64 0 -1 OVERFLOW SAT INCRBY i64 0 -1 INCRBY i64 0 9223372036854775807`,
	`BITFIELD f OVERFLOW WRAP INCRBY i64 0 9223372036854775807 INCRBY i64 0 9223372036854775807 GET i64 0 GET u63 1`,
	`BITFIELD f OVERFLOW SAT INCRBY u63 0 9223372036854775807 INCRBY i64 0 9223372036854775807 INCRBY i1 0 1`,
	`BITFIELD f GET u64 0`, `BITFIELD f GET i65 0`, `BITFIELD f GET u0 0`, `BITFIELD f GET x8 0`, `BITFIELD f GET u 0`,
	`BITFIELD f GET u8 -1`, `BITFIELD f GET u8 #-1`, `BITFIELD f GET u8 x`, `BITFIELD f SET u8 0 x`, `BITFIELD f SET u8 0`,
	`BITFIELD f OVERFLOW MAYBE GET u8 0`, `BITFIELD f OVERFLOW`, `BITFIELD f FOO`, `BITFIELD f GET u8`, `BITFIELD f`,
	`BITFIELD f GET u8 #2305843009213693952`, `BITFIELD f GET u8 #2305843009213693953`, `BITFIELD f GET i64 #-144115188075855872`,
	`BITFIELD f GET u8 4294967296`, `BITFIELD f SET u8 #536870912 1`, `BITFIELD f GET u8 #536870911`,
	`BITFIELD nokey GET u8 0 GET i16 100`, `EXISTS nokey`, `BITFIELD nk2 OVERFLOW FAIL INCRBY u2 0 9`, `GET nk2`,
	`BITFIELD f GET u8 1000 SET u8 1000 7 GET u8 1000 GET u16 1004`, `STRLEN f`,
	`BITFIELD_RO f GET u8 0 GET i8 #1`, `BITFIELD_RO f GET u8 0 SET u8 0 1`, `BITFIELD_RO f INCRBY u8 0 1`,
	`BITFIELD_RO f OVERFLOW SAT GET u8 0`, `BITFIELD_RO f`, `BITFIELD_RO nokey GET u8 0`, `BITFIELD_RO`, `BITFIELD`,
	`SET e2 x`, `EXPIRE e2 100000`, `BITFIELD e2 SET u8 64 1`, `TTL e2`, `BITFIELD e2 SET u8 0 1`, `TTL e2`, `GET e2`,
	// LCS
	`SET k1 ohmytext`, `SET k2 mynewtext`, `LCS k1 k2`, `LCS k1 k2 LEN`, `LCS k1 k2 IDX`, `LCS k1 k2 IDX MINMATCHLEN 4`,
	`LCS k1 k2 IDX MINMATCHLEN 4 WITHMATCHLEN`, `LCS k1 k2 IDX WITHMATCHLEN`, `LCS k1 k2 LEN IDX`, `LCS k1 k2 IDX LEN`,
	`LCS k1 k2 MINMATCHLEN`, `LCS k1 k2 MINMATCHLEN x`, `LCS k1 k2 MINMATCHLEN -5 IDX`, `LCS k1 k2 FOO`,
	`LCS k1 nokey`, `LCS nokey nokey2 IDX`, `LCS k1 h`, `LCS h k1 FOO`, `LCS k1 k1`, `LCS k1 k1 IDX WITHMATCHLEN`,
	`LCS k1`, `LCS k1 k2 len withmatchlen`, `SET k3 "aaabbbaaa"`, `SET k4 "abababab"`, `LCS k3 k4 IDX WITHMATCHLEN`,
	`LCS k4 k3 IDX`, `LCS k3 k4`, `SET i1 12345`, `SET i2 2345`, `LCS i1 i2`,
	// COPY
	`SET cs hello`, `COPY cs cd`, `GET cd`, `COPY cs cd`, `COPY cs cd REPLACE`, `COPY cs cs`, `COPY nokey cd`,
	`COPY cs cd DB 0`, `COPY cs cd DB 0 REPLACE`, `COPY cs cd DB 1`, `COPY cs cd DB -1`, `COPY cs cd DB x`,
	`COPY cs cd DB 99999999999`, `COPY cs cd DB`, `COPY cs cd FOO`, `COPY cs cs DB 1`, `COPY nokey cd DB 1`, `COPY cs`,
	`EXPIRE cs 100000`, `COPY cs ce`, `TTL ce`, `SET cd x`, `EXPIRE cd 50`, `COPY a1 cd REPLACE`, `TTL cd`, `GET cd`,
	`HSET hs a 1 b 2`, `COPY hs hs2`, `HGETALL hs2`, `TYPE hs2`, `HSET hs2 c 3`, `HLEN hs`, `HLEN hs2`,
	`RPUSH ls a b c`, `COPY ls ls2`, `LRANGE ls2 0 -1`, `TYPE ls2`, `LPUSH ls2 z`, `LLEN ls`,
	`SADD ss 1 2 3`, `COPY ss ss2`, `SMEMBERS ss2`, `TYPE ss2`, `COPY ss hs2 REPLACE`, `TYPE hs2`, `SCARD hs2`,
	`ZADD zs 1 a 2 b`, `COPY zs zs2`, `ZRANGE zs2 0 -1 WITHSCORES`, `TYPE zs2`, `COPY zs ls2`, `COPY zs ls2 replace`,
	`ZSCORE ls2 b`, `OBJECT ENCODING zs2`, `OBJECT ENCODING ss2`,
	// inside a transaction, several slots at once
	`MULTI`, `SETBIT {x}a 1 1`, `BITOP OR {x}b {x}a nokey`, `COPY {x}b {x}c`, `BITFIELD {x}c INCRBY u8 0 1`, `LCS {x}a {x}c`,
	`BITOP XOR r {x}a a1 cs`, `COPY r r2 REPLACE`, `GETBIT r2 1`, `EXEC`,
}

func TestBitmapAgainstRedis(t *testing.T) {
	diffAgainstRedis(t, bitmapDiffScript, nil, "--databases", "1")
}

// bitmapCommandNames are the bitmap commands, LCS and COPY.
var bitmapCommandNames = []string{
	"setbit", "getbit", "bitcount", "bitpos", "bitop", "bitfield", "bitfield_ro", "lcs", "copy",
}

// TestBitmapCommandInfoAgainstRedis checks that COMMAND INFO, COMMAND DOCS
// and COMMAND GETKEYS describe the bitmap commands, LCS and COPY exactly
// as redis-server does.
func TestBitmapCommandInfoAgainstRedis(t *testing.T) {
	var cmds []string
	for _, name := range bitmapCommandNames {
		cmds = append(cmds, "COMMAND INFO "+name, "COMMAND DOCS "+name, "COMMAND GETKEYSANDFLAGS "+name+" k f v",
			"COMMAND GETKEYS "+name+" a b c d")
	}
	cmds = append(cmds, "COMMAND GETKEYSANDFLAGS bitop and d a b c", "COMMAND GETKEYSANDFLAGS copy a b REPLACE",
		"COMMAND GETKEYSANDFLAGS copy a b DB 0", "COMMAND GETKEYSANDFLAGS lcs a b IDX",
		"COMMAND GETKEYSANDFLAGS bitfield k GET u8 0 OVERFLOW SAT", "COMMAND GETKEYSANDFLAGS bitfield k GET u8 0 SET u8 0 1",
		"COMMAND GETKEYSANDFLAGS bitfield k GET u8", "COMMAND GETKEYSANDFLAGS bitfield k")
	diffAgainstRedis(t, cmds, nil)
}
