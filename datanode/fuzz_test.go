package datanode

import (
	"bufio"
	"bytes"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/chkv/chkv/common/slot"
)

// fuzzServer is one unstarted server per fuzzing process: commands run
// through s.execute on a connection-less client, and the keyspace is
// flushed between inputs.
var fuzzServer = sync.OnceValue(func() *Server {
	cfg := DefaultConfig()
	cfg.Seed = 1
	// The smallest limit keeps SETRANGE/APPEND allocations small.
	cfg.Settings.ProtoMaxBulkLen = 1 << 20
	s, err := New(cfg)
	if err != nil {
		panic(err)
	}
	return s
})

// fuzzCommandNames are the commands FuzzCommands runs: the string, key,
// hash, list, sorted-set, set and bitmap families, LCS, COPY, OBJECT,
// MEMORY, SORT and SORT_RO. Other known commands are skipped; unknown
// ones run (and fail).
var fuzzCommandNames = sync.OnceValue(func() map[string]bool {
	names := map[string]bool{"object": true}
	for _, family := range [][]*command{stringCommands(), keyCommands(), hashCommands(), listCommands(), zsetCommands(), setCommands(),
		bitmapCommands(), {lcsCommand(), copyCommand(), memoryCommand()}, dumpCommands(), sortCommands()} {
		for _, cmd := range family {
			names[cmd.name] = true
		}
	}
	return names
})

// fuzzMaxRandomFields bounds HRANDFIELD's count in FuzzCommands: as in
// Redis, a count of -2^63+1 would have the server build a reply of that
// many fields.
const fuzzMaxRandomFields = 1 << 16

// decodeFuzzScript splits a fuzz input into commands: one per line,
// arguments separated by spaces, an argument starting with '"' being
// Go-unquoted when it can be (so that seeds can hold any bytes).
func decodeFuzzScript(script string) [][][]byte {
	var cmds [][][]byte
	for line := range strings.SplitSeq(script, "\n") {
		var args [][]byte
		for rest := line; rest != ""; {
			if rest[0] == ' ' {
				rest = rest[1:]
				continue
			}
			if q, err := strconv.QuotedPrefix(rest); err == nil && rest[0] == '"' {
				arg, _ := strconv.Unquote(q)
				args = append(args, []byte(arg))
				rest = rest[len(q):]
				continue
			}
			end := strings.IndexByte(rest, ' ')
			if end < 0 {
				end = len(rest)
			}
			args = append(args, []byte(rest[:end]))
			rest = rest[end:]
		}
		if len(args) > 0 {
			cmds = append(cmds, args)
		}
	}
	return cmds
}

var fuzzSeeds = []string{
	"ZADD z 1 a 2 b\nZADD z INCR inf a\nZRANGE z (1 +inf BYSCORE REV LIMIT 0 5 WITHSCORES\nZRANGEBYLEX z [a (c\nZPOPMIN z 3\nZUNIONSTORE d 2 z z WEIGHTS 2 inf\nZMPOP 1 d MAX COUNT 2\nZSCAN d 0",
	"SET k v\nGET k\nGET missing",
	"SET k v NX\nSET k v XX GET\nSET k v NX GET EX 10\nSET k v KEEPTTL\nSET k v EXAT 1\nGET k",
	"SET k v PX 100000 GET\nSET k v PXAT 9223372036854775807\nSET k v EX 9223372036854775\nSET k v EX -1\nSET k v EX 0 PX 1",
	"SETNX k 1\nSETNX k 2\nSETEX k 100 v\nPSETEX k 1 v\nSETEX k 0 v\nGETSET k w\nGETDEL k\nGETDEL k",
	"SET g v\nGETEX g EX 10\nGETEX g PERSIST\nGETEX g PXAT 1\nGETEX g EX -5\nGETEX missing EX abc\nGETEX g NX",
	"MSET a 1 b 2 {a}c 3\nMGET a b {a}c d\nMSETNX a 1 x 2\nMSETNX x 1 y 2\nMSET a\nMGET a a a",
	"INCR n\nINCRBY n 9223372036854775806\nINCR n\nDECRBY n -9223372036854775808\nDECR m\nINCRBY m -9223372036854775808\nDECR m",
	"SET f 10.50\nINCRBYFLOAT f 0.1\nINCRBYFLOAT f -5\nINCRBYFLOAT f 1e4932\nINCRBYFLOAT f 1e4932\nINCRBYFLOAT f inf\nINCRBYFLOAT f 0x1p-16445\nINCRBYFLOAT g 1e-4950",
	"INCRBYFLOAT x 0x1.fffffffffffffffep16383\nINCRBYFLOAT y -0\nINCRBYFLOAT z .5e-3\nINCRBYFLOAT z nan\nINCRBYFLOAT z 1e",
	"APPEND a hello\nAPPEND a \" world\"\nSTRLEN a\nGETRANGE a 0 -1\nGETRANGE a -9223372036854775808 9223372036854775807\nSUBSTR a 5 3",
	"SETRANGE a 6 Redis\nSETRANGE b 5 x\nSETRANGE b 1048575 x\nSETRANGE b 1048576 x\nSETRANGE a -1 x\nSETRANGE c 3 \"\"",
	"SET \"\\x00\\xff\" \"\\r\\n\"\nGET \"\\x00\\xff\"\nAPPEND \"\" \"\"\nKEYS \"\\x00*\"",
	"MSET a 1 b 2\nDEL a b c a\nUNLINK a\nEXISTS a a b\nTOUCH a b\nDEL",
	"SET k v\nEXPIRE k 100\nTTL k\nPTTL k\nEXPIRETIME k\nPEXPIRETIME k\nPERSIST k\nPERSIST k\nEXPIRE k -1\nTTL k",
	"SET k v\nEXPIRE k 100 NX\nEXPIRE k 200 GT\nEXPIRE k 50 LT XX\nEXPIRE k 10 NX XX\nEXPIRE k 10 GT LT\nEXPIRE k 10 FOO\nEXPIREAT k 9223372036854775807\nPEXPIREAT k 9223372036854775807\nPEXPIRE k -9223372036854775808",
	"SET a 1\nRENAME a b\nRENAME a b\nRENAMENX b b\nRENAME b b\nSET c 2\nRENAMENX b c\nTYPE b\nTYPE a",
	"MSET hello 1 hallo 2 hxllo 3\nKEYS h?llo\nKEYS h[ae]llo\nKEYS h[^e]llo\nKEYS h[a-b]llo\nKEYS *\nKEYS \"[\"\nKEYS \"\\\\\"",
	"MSET a 1 b 2 c 3\nSCAN 0\nSCAN 0 MATCH a* COUNT 1\nSCAN 0 TYPE string\nSCAN 0 COUNT 0\nSCAN abc\nSCAN 18446744073709551615\nSCAN -1 COUNT 9223372036854775807",
	"RANDOMKEY\nSET k v\nRANDOMKEY\nRANDOMKEY x",
	"NOSUCHCOMMAND a b\nget\nSET\nsEt k v ex 1",
	"HSET h a 1 b 2\nHGET h a\nHMGET h a b c\nHGETALL h\nHKEYS h\nHVALS h\nHLEN h\nHSTRLEN h a\nHEXISTS h b\nHDEL h a b c\nEXISTS h",
	"HSET h a 1 a 2 b 3 c 4 d 5 e 6 f 7 g 8 h 9 i 10\nHDEL h a b c d e f g h i j k\nHSET h\nHSET h a\nHMSET h a 1 b\nHSETNX h a 1\nHSETNX h z 1",
	"HINCRBY h n 9223372036854775807\nHINCRBY h n 1\nHINCRBY h n x\nHINCRBYFLOAT h f 1.5\nHINCRBYFLOAT h f inf\nHINCRBYFLOAT h f 1e4932\nHINCRBYFLOAT h f 1e4932\nHSET h s abc\nHINCRBY h s 1\nHINCRBYFLOAT h s 1",
	"HSET h a 1 b 2 c 3\nHRANDFIELD h\nHRANDFIELD h 2\nHRANDFIELD h -5 WITHVALUES\nHRANDFIELD h 0\nHRANDFIELD h 10 withvalues\nHRANDFIELD h 1 x\nHRANDFIELD h -9223372036854775808\nHRANDFIELD missing 3",
	"HSET h a 1 b 2\nHSCAN h 0\nHSCAN h 0 MATCH a* COUNT 1\nHSCAN h 0 COUNT 0\nHSCAN h abc\nHSCAN h 4294967296\nHSCAN h 0 NOVALUES\nHSCAN missing 0",
	"SET s v\nHSET s a b\nHGET s a\nHSET h a b\nGET h\nAPPEND h x\nINCR h\nSETRANGE h 0 x\nGETRANGE h 0 1\nSTRLEN h\nMGET h s\nSET h v\nTYPE h",
	"HSET h a 1\nEXPIRE h 100\nTTL h\nRENAME h g\nTYPE g\nHGETALL g\nSCAN 0 TYPE hash\nSCAN 0 TYPE string\nOBJECT ENCODING g\nOBJECT REFCOUNT g\nOBJECT FREQ g\nOBJECT IDLETIME g\nOBJECT HELP\nOBJECT foo",
	"HSET h \"\\x00\" \"\\xff\" \"\" \"\"\nHGETALL h\nHGET h \"\"\nHDEL h \"\" \"\\x00\"\nEXISTS h",
	"RPUSH l a b c\nLPUSH l x\nLRANGE l 0 -1\nLPOP l 2\nRPOP l 0\nLPOP l -1\nLINDEX l -1\nLSET l 0 zz\nLINSERT l BEFORE zz y\nLREM l 0 y\nLTRIM l 0 0\nLLEN l",
	"RPUSH l a b a\nLPOS l a RANK -1 COUNT 0 MAXLEN 2\nLPOS l a RANK -9223372036854775808\nLMOVE l m LEFT RIGHT\nRPOPLPUSH m l\nLMPOP 2 l m RIGHT COUNT 9223372036854775807\nLMPOP 9223372036854775807 l LEFT\nLRANGE l -9223372036854775808 9223372036854775807",
	"SET s v\nLPUSH s a\nLMOVE l s LEFT LEFT\nRPUSH l a\nEXPIRE l 100\nLMOVE l l LEFT RIGHT\nRENAME l k\nTYPE k\nOBJECT ENCODING k\nSCAN 0 TYPE list",
	"SADD s 1 2 3\nSADD s a\nSMEMBERS s\nSISMEMBER s 1\nSMISMEMBER s 1 x\nSCARD s\nSREM s 1 a\nOBJECT ENCODING s\nSSCAN s 0 MATCH * COUNT 1",
	"SADD a 1 2 x\nSADD b 2 x y\nSINTER a b\nSUNION a b\nSDIFF a b\nSINTERSTORE d a b\nSUNIONSTORE d a b\nSDIFFSTORE d a nokey\nSINTERCARD 2 a b LIMIT 1\nSINTERCARD 0 a\nSINTERCARD 3 a",
	"SETBIT b 7 1\nSETBIT b 8388607 1\nSETBIT b 8388608 1\nGETBIT b 7\nBITCOUNT b 0 -1 BIT\nBITPOS b 0 3\nBITPOS b 1 -1 -9 BIT\nBITOP NOT c b\nBITOP XOR c b c nokey",
	"BITFIELD f OVERFLOW SAT INCRBY i64 0 -1 SET u63 #3 -1 GET i8 #-1\nBITFIELD f SET u8 #1048575 1\nBITFIELD_RO f GET u8 0 SET u8 0 1\nBITFIELD f OVERFLOW FAIL INCRBY u2 0 9",
	"SET a ohmytext\nSET b mynewtext\nLCS a b IDX MINMATCHLEN 2 WITHMATCHLEN\nLCS a b LEN\nCOPY a c\nCOPY a b REPLACE DB 0\nCOPY a b DB 2147483648\nHSET h a 1\nCOPY h a REPLACE\nTYPE a",
	"SADD s a b c\nSPOP s\nSPOP s 2\nSPOP s -1\nSRANDMEMBER s -3\nSRANDMEMBER s 9223372036854775807\nSMOVE s t a\nSMOVE s s b\nSET str v\nSMOVE t str a\nSADD str x",
	"RPUSH l 3 1 b\nMSET w_3 1 w_1 x o_b B\nHSET h_1 f 2\nSORT l\nSORT l ALPHA DESC LIMIT 1 -1\nSORT l BY w_* GET # GET o_* GET h_*->f STORE d\nSORT l BY h_*->f ALPHA\nSORT_RO l BY nosort DESC LIMIT -9223372036854775808 9223372036854775807\nSORT l LIMIT 1\nSORT l STORE\nSORT_RO l STORE d",
	"SADD s 2 1 x\nZADD z 1 b 0 a\nSORT s BY nosort STORE d\nSORT z BY nosort DESC LIMIT 1 1 GET \"#\\x00\" GET \"*\\x00->x\"\nSORT z BY \"w\\x00*\" GET *->\nSET w 0x1p-1074\nSORT w\nMEMORY USAGE s SAMPLES 0\nMEMORY USAGE z samples -1",
	"HSET h a 1\nDUMP h\nDUMP missing\nRESTORE h 0 \"\\x10\\f\\f\\x00\\x00\\x00\\x02\\x00\\x81a\\x02\\x01\\x01\\xff\\n\\x00\\x84\\xa6\\x93\\xe8\\xaa\\x17\\xe4\\xdb\" REPLACE\nRESTORE z 0 \"\\x05\\x01\\x01m\\x00\\x00\\x00\\x00\\x00\\x00\\xf8?\\n\\x00\\x86\\xee\\x8a=\\x9ap\\xe9\\x7f\" ABSTTL IDLETIME 5\nRESTORE z 0 x\nRESTORE y -1 x FREQ 300\nZRANGE z 0 -1 WITHSCORES\nHGETALL h",
}

// FuzzCommands runs scripts of string, key, hash, list, set, sorted-set
// and bitmap commands, LCS, COPY, MEMORY and SORT, and requires that none panics and
// that each answers exactly one well-formed RESP2 reply.
func FuzzCommands(f *testing.F) {
	for _, seed := range fuzzSeeds {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, script string) {
		s := fuzzServer()
		for id := range slot.Count { // a cheaper Flush: most slots are empty
			if s.store.Slot(id).Len() != 0 {
				s.store.DropSlot(id)
			}
		}
		c := &client{srv: s}
		for _, args := range decodeFuzzScript(script) {
			if len(args) > 64 {
				args = args[:64]
			}
			name := strings.ToLower(string(args[0]))
			if s.lookup(args[0]) != nil && !fuzzCommandNames()[name] {
				continue
			}
			if (name == "hrandfield" || name == "zrandmember" || name == "srandmember") && len(args) > 2 {
				if n, ok := parseInt(args[2]); ok && (n > fuzzMaxRandomFields || n < -fuzzMaxRandomFields) {
					continue
				}
			}
			c.out = c.out[:0]
			s.execute(c, args)
			r := bufio.NewReader(bytes.NewReader(c.out))
			v, err := readReply(r)
			if err != nil {
				t.Fatalf("%q: malformed reply %q: %v", args, c.out, err)
			}
			if r.Buffered() != 0 {
				t.Fatalf("%q: more than one reply: %q after %s", args, c.out, formatReply(v))
			}
			if e, ok := v.(respError); ok && (len(e) == 0 || strings.ContainsAny(string(e), "\r\n")) {
				t.Fatalf("%q: bad error reply %q", args, e)
			}
		}
	})
}
