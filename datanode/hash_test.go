package datanode

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

// hashDiffScript is run on a DataNode and a real Redis; every reply must
// be the same bytes. It covers each hash command's replies, errors and
// arity, WRONGTYPE both ways, and the key commands on hashes.
var hashDiffScript = []string{
	`HSET h f1 v1 f2 v2`,
	`HSET h f1 x f3 v3`,
	`HGETALL h`,
	`HSET h f1`,
	`HSET h`,
	`HMSET h a 1 b`,
	`HMSET h a 1 b 2`,
	`HSETNX h a 9`,
	`HSETNX h z 9`,
	`HGET h a`,
	`HGET h nosuch`,
	`HGET nokey a`,
	`HMGET h a nosuch z`,
	`HMGET nokey a b`,
	`HLEN h`,
	`HLEN nokey`,
	`HSTRLEN h f3`,
	`HSTRLEN h nosuch`,
	`HEXISTS h a`,
	`HEXISTS h nosuch`,
	`HKEYS h`,
	`HVALS h`,
	`HKEYS nokey`,
	`HDEL h a nosuch b`,
	`HDEL nokey a`,
	`HINCRBY h n 5`,
	`HINCRBY h n -10`,
	`HINCRBY h n abc`,
	`HINCRBY h f1 1`,
	`HINCRBY h big 9223372036854775807`,
	`HINCRBY h big 1`,
	`HINCRBY h n 9223372036854775808`,
	`HINCRBYFLOAT h fl 1.5`,
	`HINCRBYFLOAT h fl 1e3`,
	`HINCRBYFLOAT h fl abc`,
	`HINCRBYFLOAT h fl inf`,
	`HINCRBYFLOAT h f1 1`,
	`HINCRBYFLOAT h n 0.25`,
	`HINCRBYFLOAT hf x 1e308`,
	`HINCRBYFLOAT hf x 1e308`,
	`HGETALL hf`,
	`HINCRBYFLOAT hf x 1e-320`,
	`HINCRBYFLOAT h fl2 -0`,
	`HGETALL h`,
	`SET s str`,
	`HGET s a`,
	`HSET s a b`,
	`HGETALL s`,
	`HLEN s`,
	`HDEL s a`,
	`HINCRBY s a 1`,
	`HINCRBYFLOAT s a 1`,
	`HINCRBY s a x`,
	`HRANDFIELD s`,
	`HRANDFIELD s 2`,
	`HSCAN s 0`,
	`HSCAN s x`,
	`HSTRLEN s a`,
	`HEXISTS s a`,
	`HKEYS s`,
	`HVALS s`,
	`HMGET s a`,
	`HSETNX s a b`,
	`HMSET s a b`,
	`GET h`,
	`APPEND h x`,
	`INCR h`,
	`INCRBYFLOAT h 1`,
	`INCRBYFLOAT h x`,
	`STRLEN h`,
	`GETRANGE h 0 1`,
	`GETRANGE h x 1`,
	`SETRANGE h 0 x`,
	`SETRANGE h 0 ""`,
	`SETRANGE h -1 x`,
	`GETSET h x`,
	`GETDEL h`,
	`GETEX h`,
	`SET h x GET`,
	`INCRBY h 1`,
	`INCRBY h x`,
	`DECR h`,
	`DECRBY h 1`,
	`SUBSTR h 0 1`,
	`GETEX h PERSIST`,
	`GETEX h EX 100`,
	`GETEX h FOO`,
	`MSETNX h x`,
	`SET h x NX GET`,
	`SET h x XX GET`,
	`SETRANGE h 0 ""`,
	`APPEND h ""`,
	`MGET h s nokey`,
	`SETNX h x`,
	`TYPE h`,
	`TYPE s`,
	`TYPE nokey`,
	`HRANDFIELD nokey`,
	`HRANDFIELD nokey 5`,
	`HRANDFIELD nokey -5 WITHVALUES`,
	`HRANDFIELD h 0`,
	`HRANDFIELD h x`,
	`HRANDFIELD h 1 foo`,
	`HRANDFIELD h 1 withvalues foo`,
	`HRANDFIELD h -9223372036854775808`,
	`HRANDFIELD h -9223372036854775807 withvalues`,
	`HRANDFIELD h 4611686018427387904 withvalues`,
	`HRANDFIELD h 100`,
	`HRANDFIELD h 100 WITHVALUES`,
	`HSCAN h 0`,
	`HSCAN h 0 MATCH f*`,
	`HSCAN h 0 COUNT 1`,
	`HSCAN h 0 COUNT 0`,
	`HSCAN h 0 COUNT x`,
	`HSCAN h 0 TYPE string`,
	`HSCAN h 0 MATCH`,
	`HSCAN h abc`,
	`HSCAN nokey 0 COUNT 0`,
	`HSCAN h 0 NOVALUES`,
	`EXPIRE h 100`,
	`TTL h`,
	`HSET h f1 new`,
	`TTL h`,
	`RENAME h h2`,
	`HGETALL h2`,
	`TYPE h2`,
	`TTL h2`,
	`HDEL h2 f1 f2 f3 z n big fl fl2`,
	`EXISTS h2`,
	`HSET e f ""`,
	`HGET e f`,
	`HSTRLEN e f`,
	`DEL e s`,
	`SET h2 x`,
	`HSET h2 a b`,
	`DEL h2`,
	`HSET h2 a b`,
	`SET h2 x`,
	`TYPE h2`,
	`GET h2`,
	`HSET m a 1 b 2 c 3 d 4 e 5 f 6 g 7 h 8 i 9 a 10 j 11`,
	`HGETALL m`,
	`HSET m z 0 a 1 b 2 c 3 d 4 e 5 f 6 g 7 h 8 i 9 k 12 z 13`,
	`HGETALL m`,
	`HDEL m a a b c d e f g h nosuch i`,
	`HGETALL m`,
	`HDEL m j k z z 1 2 3 4 5 6 7`,
	`EXISTS m`,
	`FLUSHALL`,
	`SET s1 x`,
	`HSET h1 a b`,
	`SCAN 0 TYPE hash COUNT 100`,
	`SCAN 0 TYPE string COUNT 100`,
	`SCAN 0 TYPE HaSh COUNT 100`,
	`SCAN 0 TYPE list COUNT 100`,
	`SCAN 0 TYPE nosuchtype COUNT 100`,
	`KEYS h*`,
	`DBSIZE`,
	`EXPIRE h1 100`,
	`PERSIST h1`,
	`TTL h1`,
	`PEXPIREAT h1 1`,
	`EXISTS h1`,
	`HGET h1 a`,
	`HSET h1 a b`,
	`RENAMENX h1 s1`,
	`RENAMENX h1 h9`,
	`TYPE h9`,
	`UNLINK h9`,
	`TOUCH h9`,
	`HGET`,
	`HGETALL`,
	`HINCRBY h a`,
	`HSETNX h a`,
	`HRANDFIELD`,
	`HSCAN h`,
	`HLEN a b`,
}

// diffAgainstRedis runs cmds on a fresh DataNode and a fresh redis-server
// and requires identical replies.
func diffAgainstRedis(t *testing.T, cmds []string, mutate func(*Config), redisArgs ...string) {
	t.Helper()
	s := startServer(t, mutate)
	c := s.dial(t)
	r := startRedis(t, redisArgs...)
	for i, cmd := range cmds {
		args := splitArgs(t, cmd)
		got, want := c.do(args...), r.do(args...)
		if got != want {
			t.Errorf("step %d: %s\n got: %s\nwant: %s", i, cmd, got, want)
		}
	}
}

func TestHashAgainstRedis(t *testing.T) {
	diffAgainstRedis(t, hashDiffScript, nil)
}

// hashCommandNames are the hash commands CHKV serves.
var hashCommandNames = []string{
	"hset", "hsetnx", "hget", "hmget", "hmset", "hgetall", "hdel", "hexists",
	"hlen", "hstrlen", "hkeys", "hvals", "hincrby", "hincrbyfloat", "hrandfield", "hscan",
}

// TestHashCommandInfoAgainstRedis checks that COMMAND INFO and COMMAND
// DOCS describe every hash command exactly as redis-server does, key specs,
// tips, history and deprecation included.
func TestHashCommandInfoAgainstRedis(t *testing.T) {
	var cmds []string
	for _, name := range hashCommandNames {
		cmds = append(cmds, "COMMAND INFO "+name, "COMMAND DOCS "+name, "COMMAND GETKEYSANDFLAGS "+name+" k f v")
	}
	diffAgainstRedis(t, cmds, nil)
}

// TestHashRandomAgainstRedis runs random hash commands on a few small
// hashes on a DataNode and a real Redis and requires identical replies.
// The hashes stay listpack-encoded, whose order is deterministic.
func TestHashRandomAgainstRedis(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	key := func() string { return fmt.Sprintf("h%d", rng.IntN(3)) }
	field := func() string { return fmt.Sprintf("f%d", rng.IntN(30)) }
	var cmds []string
	for range 3000 {
		var c []string
		switch rng.IntN(10) {
		case 0, 1:
			c = []string{"HSET", key()}
			for range 1 + rng.IntN(20) {
				c = append(c, field(), fmt.Sprint(rng.IntN(1000)))
			}
		case 2:
			c = []string{"HDEL", key()}
			for range 1 + rng.IntN(12) {
				c = append(c, field())
			}
		case 3:
			c = []string{"HGETALL", key()}
		case 4:
			c = []string{"HMGET", key(), field(), field(), field()}
		case 5:
			c = []string{"HINCRBY", key(), field(), fmt.Sprint(rng.IntN(100) - 50)}
		case 6:
			c = []string{"HSETNX", key(), field(), "nx"}
		case 7:
			c = []string{"HRANDFIELD", key(), "40", "WITHVALUES"}
		case 8:
			c = []string{"HSCAN", key(), "0", "MATCH", "f1*"}
		case 9:
			c = []string{"HLEN", key()}
		}
		cmds = append(cmds, strings.Join(c, " "))
	}
	diffAgainstRedis(t, cmds, nil)
}

// TestObjectAgainstRedis checks OBJECT's replies, COMMAND INFO and DOCS,
// and the hash encodings by hash-max-listpack-entries and -value.
// OBJECT IDLETIME of a key just written is under a second, whichever
// second boundary passes in between.
func TestObjectIdletimeAfterWrite(t *testing.T) {
	c := startServer(t, nil).dial(t)
	c.do("SET", "s", "100")
	if got := c.do("OBJECT", "IDLETIME", "s"); got != "(integer) 0" && got != "(integer) 1" {
		t.Fatalf("OBJECT IDLETIME right after SET = %s", got)
	}
}

func TestObjectAgainstRedis(t *testing.T) {
	long := strings.Repeat("x", 65)
	diffAgainstRedis(t, []string{
		// Redis lists subcommands in its command table's hash order, which
		// changes from one process to the next: compare them one by one.
		"COMMAND INFO object|encoding", "COMMAND INFO object|idletime", "COMMAND INFO object|freq",
		"COMMAND INFO object|refcount", "COMMAND INFO object|help",
		"COMMAND DOCS object|encoding", "COMMAND DOCS object|idletime", "COMMAND DOCS object|freq",
		"COMMAND DOCS object|refcount", "COMMAND DOCS object|help", "OBJECT HELP", "OBJECT", "OBJECT foo k",
		"OBJECT ENCODING", "OBJECT ENCODING a b", "OBJECT ENCODING nokey", "OBJECT REFCOUNT nokey",
		"OBJECT FREQ nokey", "OBJECT IDLETIME nokey",
		// OBJECT IDLETIME right after a write is 0 or 1 in both (a second
		// boundary may pass): TestObjectIdletimeAfterWrite checks CHKV's.
		"SET s 100", "OBJECT ENCODING s", "OBJECT REFCOUNT s", "OBJECT FREQ s",
		"SET s 123456", "OBJECT ENCODING s", "OBJECT REFCOUNT s",
		"SET s abc", "OBJECT ENCODING s", "SET s " + long, "OBJECT ENCODING s", "OBJECT REFCOUNT s",
		"HSET h a 1", "OBJECT ENCODING h", "OBJECT REFCOUNT h",
		"HSET h b " + long, "OBJECT ENCODING h", "HDEL h b", "OBJECT ENCODING h",
		"HSET h2 " + long + " 1", "OBJECT ENCODING h2",
		"HINCRBYFLOAT h3 f 1e70", "OBJECT ENCODING h3",
		"CONFIG GET hash-max-listpack-entries", "CONFIG GET hash-max-listpack-value",
		"CONFIG GET hash-max-ziplist-entries", "CONFIG GET hash-max-ziplist-value",
		"CONFIG SET hash-max-listpack-entries 2", "CONFIG SET hash-max-listpack-value 1kb",
		"CONFIG SET hash-max-listpack-entries x", "CONFIG SET hash-max-listpack-entries -1",
		"CONFIG GET hash-max-listpack-entries", "CONFIG GET hash-max-listpack-value",
		"HSET h4 a 1 b 2", "OBJECT ENCODING h4", "HSET h4 c 3", "OBJECT ENCODING h4",
		"HSETNX h5 a 1", "HSETNX h5 b 1", "HSETNX h5 c 1", "OBJECT ENCODING h5",
		"CONFIG SET hash-max-listpack-entries 0", "HSET h6 a 1", "OBJECT ENCODING h6",
		"CONFIG SET maxmemory-policy allkeys-lfu", "OBJECT IDLETIME s",
		"CONFIG SET maxmemory-policy noeviction", "OBJECT FREQ h",
		"CONFIG SET hash-max-ziplist-entries 3", "CONFIG GET hash-max-listpack-entries",
	}, nil)
}

// sortedReply is the formatted reply of args with its array elements
// (pairs, with pairs) sorted, for replies whose order Redis leaves open.
func sortedReply(t *testing.T, c *respConn, pairs bool, args ...string) string {
	t.Helper()
	arr, ok := c.doAny(args...).([]any)
	if !ok {
		t.Fatalf("%v: not an array", args)
	}
	var items []string
	step := 1
	if pairs {
		step = 2
	}
	for i := 0; i+step <= len(arr); i += step {
		items = append(items, formatReply(arr[i:i+step]))
	}
	slices.Sort(items)
	return strings.Join(items, " ")
}

// scanHash runs a whole HSCAN of key and returns how often each field
// was returned, with its last value; between is called after each call.
func scanHash(t *testing.T, c *respConn, key string, count int, between func()) map[string][]string {
	t.Helper()
	seen := map[string][]string{}
	cursor := "0"
	for calls := 0; ; calls++ {
		if calls > 100000 {
			t.Fatal("HSCAN does not end")
		}
		reply, ok := c.doAny("HSCAN", key, cursor, "COUNT", fmt.Sprint(count)).([]any)
		if !ok || len(reply) != 2 {
			t.Fatalf("HSCAN reply %s", formatReply(reply))
		}
		cursor = string(reply[0].([]byte))
		kv := reply[1].([]any)
		for i := 0; i+1 < len(kv); i += 2 {
			f := string(kv[i].([]byte))
			seen[f] = append(seen[f], string(kv[i+1].([]byte)))
		}
		if between != nil {
			between()
		}
		if cursor == "0" {
			return seen
		}
	}
}

// TestHashTableAgainstRedis compares a hash past hash-max-listpack-entries
// with Redis's: the same fields and values, in an order Redis leaves open.
func TestHashTableAgainstRedis(t *testing.T) {
	s := startServer(t, nil)
	c := s.dial(t)
	r := startRedis(t)
	const n = 2000
	for _, conn := range []*respConn{c, r} {
		args := []string{"HSET", "big"}
		for i := range n {
			args = append(args, fmt.Sprintf("f%d", i), fmt.Sprintf("v%d", i*i))
		}
		conn.do(args...)
		conn.do("HDEL", "big", "f7", "f8", "f1999")
		conn.do("HINCRBY", "big", "f10", "5")
	}
	for _, cmd := range [][]string{{"HLEN", "big"}, {"HGET", "big", "f10"}, {"HMGET", "big", "f1", "f7", "f1998"},
		{"OBJECT", "ENCODING", "big"}, {"HSTRLEN", "big", "f1500"}, {"HEXISTS", "big", "f8"}, {"TYPE", "big"}} {
		if got, want := c.do(cmd...), r.do(cmd...); got != want {
			t.Errorf("%v: got %s, want %s", cmd, got, want)
		}
	}
	for _, cmd := range []struct {
		pairs bool
		args  []string
	}{
		{true, []string{"HGETALL", "big"}}, {false, []string{"HKEYS", "big"}}, {false, []string{"HVALS", "big"}},
		{true, []string{"HRANDFIELD", "big", "5000", "WITHVALUES"}},
	} {
		if got, want := sortedReply(t, c, cmd.pairs, cmd.args...), sortedReply(t, r, cmd.pairs, cmd.args...); got != want {
			t.Errorf("%v differs from Redis's (sorted)", cmd.args)
		}
	}
	// A whole HSCAN returns every field once, with its value.
	seen := scanHash(t, c, "big", 10, nil)
	if len(seen) != n-3 {
		t.Fatalf("HSCAN returned %d fields, want %d", len(seen), n-3)
	}
	for f, vs := range seen {
		if want := c.do("HGET", "big", f); len(vs) != 1 || formatReply([]byte(vs[0])) != want {
			t.Fatalf("HSCAN returned %s as %q, HGET says %s", f, vs, want)
		}
	}
	// MATCH filters fields: f10 to f19.
	matched := 0
	cursor := "0"
	for {
		r := c.doAny("HSCAN", "big", cursor, "MATCH", "f1?", "COUNT", "100").([]any)
		cursor = string(r[0].([]byte))
		matched += len(r[1].([]any)) / 2
		if cursor == "0" {
			break
		}
	}
	if matched != 10 {
		t.Fatalf("HSCAN MATCH f1? returned %d fields", matched)
	}
}

// TestHscanGuarantee checks SCAN's guarantee on a hash-table-encoded hash
// changing during the scan: a field present throughout is returned.
func TestHscanGuarantee(t *testing.T) {
	s := startServer(t, nil)
	c := s.dial(t)
	args := []string{"HSET", "h"}
	for i := range 3000 {
		args = append(args, fmt.Sprintf("stay%d", i), "v")
	}
	c.do(args...)
	i := 0
	seen := scanHash(t, c, "h", 20, func() {
		// Add and remove other fields, which grows and shrinks the hash.
		c.do("HSET", "h", fmt.Sprintf("new%d", i), "v", fmt.Sprintf("new%d", i+1), "v")
		c.do("HDEL", "h", fmt.Sprintf("new%d", i-10))
		i += 2
	})
	for j := range 3000 {
		if _, ok := seen[fmt.Sprintf("stay%d", j)]; !ok {
			t.Fatalf("HSCAN missed stay%d", j)
		}
	}
}

// TestHrandfieldCounts checks HRANDFIELD's counts on a hash of every
// encoding: distinct fields for a positive count, repeats allowed for a
// negative one, values matching fields.
func TestHrandfieldCounts(t *testing.T) {
	s := startServer(t, nil)
	c := s.dial(t)
	for _, n := range []int{5, 1000} {
		key := fmt.Sprintf("h%d", n)
		args := []string{"HSET", key}
		for i := range n {
			args = append(args, fmt.Sprintf("f%d", i), fmt.Sprintf("v%d", i))
		}
		c.do(args...)
		for _, count := range []int{1, 3, n - 1, n, n + 5, -1, -3, -2 * n} {
			for _, wv := range []bool{false, true} {
				cmd := []string{"HRANDFIELD", key, fmt.Sprint(count)}
				if wv {
					cmd = append(cmd, "WITHVALUES")
				}
				arr := c.doAny(cmd...).([]any)
				per := 1
				if wv {
					per = 2
				}
				want := min(count, n)
				if count < 0 {
					want = -count
				}
				if len(arr) != want*per {
					t.Fatalf("%v: %d elements, want %d", cmd, len(arr), want*per)
				}
				distinct := map[string]bool{}
				for i := 0; i < len(arr); i += per {
					f := string(arr[i].([]byte))
					distinct[f] = true
					if wv && "v"+f[1:] != string(arr[i+1].([]byte)) {
						t.Fatalf("%v: field %s with value %s", cmd, f, arr[i+1])
					}
				}
				if count > 0 && len(distinct) != want {
					t.Fatalf("%v: %d distinct fields of %d", cmd, len(distinct), want)
				}
			}
		}
		if f := c.do("HRANDFIELD", key); !strings.HasPrefix(f, `"f`) {
			t.Fatalf("HRANDFIELD %s = %s", key, f)
		}
	}
}
