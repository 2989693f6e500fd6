package datanode

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/chkv/chkv/datanode/rdb"
	"github.com/chkv/chkv/datanode/store"
)

// raw sends a command and returns its decoded reply.
func (c *respConn) raw(args ...string) any {
	c.t.Helper()
	c.send(args...)
	c.conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	v, err := readReply(c.r)
	if err != nil {
		c.t.Fatalf("read reply: %v", err)
	}
	return v
}

// dumpOf DUMPs key on c and fails the test unless a payload comes back.
func dumpOf(t *testing.T, c *respConn, key string) string {
	t.Helper()
	p, ok := c.raw("DUMP", key).([]byte)
	if !ok {
		t.Fatalf("DUMP %s: no payload", key)
	}
	return string(p)
}

// dumpCase makes one value in Redis with setup (on key "k") and names the
// commands that read it back.
type dumpCase struct {
	name  string
	setup [][]string
	reads [][]string // each with "k" as the key; replies of arrays are compared sorted when sorted
	sort  bool
}

// seq returns n arguments made by f.
func seq(n int, f func(i int) string) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = f(i)
	}
	return out
}

// The commands that read back a value of each type on key "k".
var (
	hashReads = [][]string{{"HLEN", "k"}, {"HGETALL", "k"}, {"OBJECT", "ENCODING", "k"}}
	listReads = [][]string{{"LLEN", "k"}, {"LRANGE", "k", "0", "-1"}, {"OBJECT", "ENCODING", "k"}}
	setReads  = [][]string{{"SCARD", "k"}, {"SMEMBERS", "k"}, {"OBJECT", "ENCODING", "k"}}
	zsetReads = [][]string{{"ZCARD", "k"}, {"ZRANGE", "k", "0", "-1", "WITHSCORES"}, {"OBJECT", "ENCODING", "k"}}
)

// dumpCases are values of every type in every encoding Redis 7.0 has.
func dumpCases() []dumpCase {
	str := func(name, v string) dumpCase {
		return dumpCase{name: name, setup: [][]string{{"SET", "k", v}}, reads: [][]string{{"GET", "k"}, {"OBJECT", "ENCODING", "k"}}}
	}
	hash := func(name string, n int, val func(i int) string) dumpCase {
		args := []string{"HSET", "k"}
		for i := range n {
			args = append(args, fmt.Sprintf("field:%d", i), val(i))
		}
		return dumpCase{name: name, setup: [][]string{args}, sort: true, reads: hashReads}
	}
	list := func(name string, elems []string) dumpCase {
		return dumpCase{name: name, setup: [][]string{append([]string{"RPUSH", "k"}, elems...)}, reads: listReads}
	}
	set := func(name string, ms []string) dumpCase {
		return dumpCase{name: name, setup: [][]string{append([]string{"SADD", "k"}, ms...)}, sort: true, reads: setReads}
	}
	zset := func(name string, n int, score func(i int) string) dumpCase {
		args := []string{"ZADD", "k"}
		for i := range n {
			args = append(args, score(i), fmt.Sprintf("member:%d", i))
		}
		return dumpCase{name: name, setup: [][]string{args}, reads: zsetReads}
	}
	rng := rand.New(rand.NewPCG(1, 2))
	random := seq(300, func(int) string { return string(rune('a' + rng.IntN(26))) })
	return []dumpCase{
		str("small string", "hello"),
		str("integer string", "12345"),
		str("big integer string", "-9223372036854775808"),
		str("empty string", ""),
		str("compressible string", strings.Repeat("abcdefgh", 20000)),
		str("incompressible string", strings.Join(random, "")),
		hash("listpack hash", 10, func(i int) string { return strconv.Itoa(i * 1000) }),
		hash("hashtable hash", 1000, func(i int) string { return "value-" + strconv.Itoa(i) }),
		hash("hash with a long value", 3, func(i int) string { return strings.Repeat("v", 100*i) }),
		list("small list", []string{"a", "1", "-7", "100000", "9999999999", strings.Repeat("x", 300)}),
		list("long list", seq(10000, func(i int) string { return "element-" + strconv.Itoa(i) })),
		list("list of big elements", seq(20, func(i int) string { return strings.Repeat(strconv.Itoa(i), 5000) })),
		set("intset", []string{"1", "-5", "70000", "9223372036854775807", "-9223372036854775808"}),
		set("big intset", seq(500, func(i int) string { return strconv.Itoa(i * 3) })),
		set("integers over the intset limit", seq(600, func(i int) string { return strconv.Itoa(i) })),
		set("hashtable set", seq(200, func(i int) string { return "member-" + strconv.Itoa(i) })),
		zset("listpack zset", 20, func(i int) string {
			return []string{"1.5", "-3", "0", "inf", "-inf", "1e300", "0.1", "123456789012"}[i%8]
		}),
		zset("skiplist zset", 1000, func(i int) string { return strconv.FormatFloat(float64(i)/7, 'g', -1, 64) }),
	}
}

// canonical formats a reply, sorting an array's elements (pairs of them,
// for an even-length HGETALL reply, stay together) if sorted.
func canonical(v any, sorted bool, pairs bool) string {
	arr, ok := v.([]any)
	if !sorted || !ok {
		return formatReply(v)
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

// compareValue checks that key holds the same value on c as key "k" on r.
func compareValue(t *testing.T, dc dumpCase, c *respConn, key string, r *respConn) {
	t.Helper()
	for _, read := range dc.reads {
		args := slices.Clone(read)
		for i, a := range args {
			if a == "k" {
				args[i] = key
			}
		}
		pairs := read[0] == "HGETALL"
		got, want := canonical(c.raw(args...), dc.sort, pairs), canonical(r.raw(read...), dc.sort, pairs)
		if got != want {
			t.Errorf("%s: %v\n got: %.300s\nwant: %.300s", dc.name, read, got, want)
		}
	}
}

// TestDumpRestoreWithRedis moves a value of every type and encoding from
// a real Redis to a DataNode and back: DUMP in Redis, RESTORE in CHKV,
// compare; DUMP in CHKV, RESTORE in Redis, compare.
func TestDumpRestoreWithRedis(t *testing.T) {
	roundTripWithRedis(t, dumpCases())
}

// TestDumpRestoreRandomWithRedis is TestDumpRestoreWithRedis for seeded
// random values of sizes around the encodings' limits.
func TestDumpRestoreRandomWithRedis(t *testing.T) {
	roundTripWithRedis(t, randomDumpCases())
}

// randomDumpCases are 40 seeded random hashes, lists, sets and sorted
// sets of up to 300 elements, some integers, some longer than the
// listpack limits.
func randomDumpCases() []dumpCase {
	rng := rand.New(rand.NewPCG(11, 12))
	elem := func() string {
		if rng.IntN(3) == 0 {
			return strconv.FormatInt(rng.Int64()>>rng.IntN(64), 10)
		}
		return strings.Repeat(string(rune('a'+rng.IntN(26))), rng.IntN(80))
	}
	var cases []dumpCase
	for i := range 40 {
		n := 1 + rng.IntN(300)
		var setup []string
		c := dumpCase{name: fmt.Sprintf("random %d", i)}
		switch i % 4 {
		case 0:
			setup, c.reads, c.sort = []string{"HSET", "k"}, hashReads, true
			for j := range n {
				setup = append(setup, fmt.Sprintf("f%d", j), elem())
			}
		case 1:
			setup, c.reads = append([]string{"RPUSH", "k"}, seq(n, func(int) string { return elem() })...), listReads
		case 2:
			setup, c.reads, c.sort = append([]string{"SADD", "k"}, seq(n, func(int) string { return elem() })...), setReads, true
		case 3:
			setup, c.reads = []string{"ZADD", "k"}, zsetReads
			for j := range n {
				setup = append(setup, strconv.FormatFloat(rng.NormFloat64()*1000, 'g', -1, 64), elem()+strconv.Itoa(j))
			}
		}
		c.setup = [][]string{setup}
		cases = append(cases, c)
	}
	return cases
}

// roundTripWithRedis makes each case's value in Redis, restores Redis's
// DUMP of it in CHKV and CHKV's DUMP of that back in Redis, comparing the
// value on each side with the original.
func roundTripWithRedis(t *testing.T, cases []dumpCase) {
	s := startServer(t, nil)
	c := s.dial(t)
	r := startRedis(t)
	for _, dc := range cases {
		r.raw("DEL", "k", "back")
		for _, cmd := range dc.setup {
			if v, bad := r.raw(cmd...).(respError); bad {
				t.Fatalf("%s: setup: %s", dc.name, v)
			}
		}
		payload := dumpOf(t, r, "k")
		if dc.name == "compressible string" && payload[1] != 0xc3 {
			t.Fatalf("Redis did not compress the string: LZF is not exercised")
		}
		if got := c.do("RESTORE", "k", "0", payload, "REPLACE"); got != "OK" {
			t.Fatalf("%s: RESTORE in CHKV: %s", dc.name, got)
		}
		compareValue(t, dc, c, "k", r)
		if got := r.do("RESTORE", "back", "0", dumpOf(t, c, "k")); got != "OK" {
			t.Fatalf("%s: RESTORE in Redis: %s", dc.name, got)
		}
		compareValue(t, dc, r, "back", r)
	}
}

// TestRestoreTTLWithRedis restores a value with its absolute expiry and
// with a relative TTL, and an already expired one, on both servers.
func TestRestoreTTLWithRedis(t *testing.T) {
	s := startServer(t, nil)
	c := s.dial(t)
	r := startRedis(t)
	r.do("SET", "k", "v")
	at := time.Now().Add(time.Hour).UnixMilli()
	r.do("PEXPIREAT", "k", strconv.FormatInt(at, 10))
	payload := dumpOf(t, r, "k")
	for _, srv := range []*respConn{c, r} {
		if got := srv.do("RESTORE", "abs", strconv.FormatInt(at, 10), payload, "ABSTTL"); got != "OK" {
			t.Fatalf("RESTORE ABSTTL: %s", got)
		}
		if got := srv.do("PEXPIRETIME", "abs"); got != "(integer) "+strconv.FormatInt(at, 10) {
			t.Fatalf("PEXPIRETIME = %s, want %d", got, at)
		}
		if got := srv.do("RESTORE", "rel", "100000", payload); got != "OK" {
			t.Fatalf("RESTORE with TTL: %s", got)
		}
		if got := srv.do("TTL", "rel"); got != "(integer) 100" && got != "(integer) 99" {
			t.Fatalf("TTL = %s", got)
		}
		if got := srv.do("RESTORE", "gone", "1", payload, "ABSTTL"); got != "OK" {
			t.Fatalf("RESTORE expired: %s", got)
		}
		if got := srv.do("EXISTS", "gone"); got != "(integer) 0" {
			t.Fatalf("expired key restored: %s", got)
		}
		if got := srv.do("RESTORE", "abs", "1", payload, "ABSTTL", "REPLACE"); got != "OK" {
			t.Fatalf("RESTORE expired REPLACE: %s", got)
		}
		if got := srv.do("EXISTS", "abs"); got != "(integer) 0" {
			t.Fatalf("RESTORE of an expired value with REPLACE kept the old key: %s", got)
		}
	}
}

// quoted formats a payload as a script argument.
func quoted(p []byte) string { return strconv.Quote(string(p)) }

// TestRestoreErrorsAgainstRedis compares RESTORE's and DUMP's replies to
// bad arguments and bad payloads with Redis's.
func TestRestoreErrorsAgainstRedis(t *testing.T) {
	good := quoted(rdb.AppendFooter(rdb.AppendString(nil, []byte("value")), 0))
	flipped := []byte(rdb.AppendFooter(rdb.AppendString(nil, []byte("value")), 0))
	flipped[2] ^= 1
	newer := rdb.AppendFooter(rdb.AppendString(nil, []byte("value")), 0)
	newer[len(newer)-10] = rdb.Version + 1
	body := func(b ...byte) string { return quoted(rdb.AppendFooter(b, 0)) }
	cmds := []string{
		"DUMP missing", "SET k v", "RESTORE k 0 " + good, "RESTORE k 0 " + good + " REPLACE", "GET k",
		"RESTORE n -1 " + good, "RESTORE n abc " + good, "RESTORE n 0 x", "RESTORE n 0 " + quoted(flipped),
		"RESTORE n 0 " + quoted(newer), "RESTORE n 0 " + good + " BOGUS", "RESTORE n 0 " + good + " IDLETIME",
		"RESTORE n 0 " + good + " IDLETIME -1", "RESTORE n 0 " + good + " IDLETIME x", "RESTORE n 0 " + good + " FREQ 256",
		"RESTORE n 0 " + good + " FREQ -1", "RESTORE n 0 " + good + " FREQ 5 IDLETIME 5", "RESTORE n 0 " + good + " IDLETIME 5 FREQ 5",
		"RESTORE n 0 " + good + " FREQ 5", "RESTORE n2 0 " + good + " IDLETIME 100 REPLACE ABSTTL", "GET n2", "OBJECT IDLETIME n2",
		"RESTORE n3 0 " + good + " IDLETIME 99999999999", "OBJECT IDLETIME n3", "RESTORE n4 0 " + good + " FREQ 7", "OBJECT IDLETIME n4",
		"RESTORE k -1 " + good, "RESTORE k 0 x", "RESTORE k 0 " + good + " REPLACE REPLACE",
		// good footers around bad bodies
		"RESTORE b 0 " + body(99), "RESTORE b 0 " + body(rdb.TypeString, 5, 'a'), "GET b", "DEL b",
		"RESTORE b 0 " + body(rdb.TypeString, 0x7f, 0xff), "RESTORE b 0 " + body(),
		"RESTORE b 0 " + body(rdb.TypeSet, 0x81, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff),
		"RESTORE b 0 " + body(rdb.TypeSet, 2, 1, 'a', 1, 'a'), "RESTORE b 0 " + body(rdb.TypeSet, 0),
		"RESTORE b 0 " + body(rdb.TypeListQuicklist2, 0), "RESTORE b 0 " + body(rdb.TypeHash, 0),
		"RESTORE b 0 " + body(rdb.TypeString, 0xc3, 2, 0x80, 0x10, 0, 0, 0, 0, 'a'),
		"RESTORE b 0 " + body(rdb.TypeListQuicklist2, 1, 3, 1, 'a'), "RESTORE b 0 " + body(rdb.TypeSetIntset, 8, 2, 0, 0, 0, 2, 0, 0, 0),
		"RESTORE b 0 " + body(rdb.TypeZSet2, 1, 1, 'a', 0, 0, 0, 0, 0, 0, 0xf8, 0x7f),
		"EXISTS b", "RESTORE k", "DUMP",
	}
	diffAgainstRedis(t, cmds, nil)
	lfu := []string{"RESTORE f 0 " + good + " FREQ 200", "OBJECT FREQ f", "RESTORE g 0 " + good + " IDLETIME 1000", "OBJECT FREQ g"}
	diffAgainstRedis(t, lfu, func(cfg *Config) { cfg.Settings.MaxMemoryPolicy = store.AllKeysLFU }, "--maxmemory-policy", "allkeys-lfu")
}

// TestRestoreRepeatedFields checks that a hash payload naming a field
// twice is refused. Redis 7.0 without sanitize-dump-payload loads a small
// one as a corrupt listpack; CHKV cannot hold repeated fields.
func TestRestoreRepeatedFields(t *testing.T) {
	c := startServer(t, nil).dial(t)
	for _, b := range [][]byte{
		{rdb.TypeHash, 2, 1, 'a', 1, 'b', 1, 'a', 1, 'c'},
		rdb.AppendHash(nil, [][]byte{[]byte("a"), []byte("b"), []byte("a"), []byte("c")}, true),
		rdb.AppendZSet(nil, [][]byte{[]byte("a"), []byte("a")}, []float64{1, 2}, true),
	} {
		if got := c.do("RESTORE", "h", "0", string(rdb.AppendFooter(b, 0))); got != "(error) "+errBadFormat {
			t.Fatalf("%q: %s", b, got)
		}
	}
}

// TestRestoreCorruptPayloads flips and truncates real payloads of every
// kind: each must be refused with Redis's checksum error, the key left
// absent, and the server unharmed.
func TestRestoreCorruptPayloads(t *testing.T) {
	s := startServer(t, nil)
	c := s.dial(t)
	r := startRedis(t)
	rng := rand.New(rand.NewPCG(3, 4))
	for _, dc := range dumpCases() {
		r.raw("DEL", "k")
		for _, cmd := range dc.setup {
			r.raw(cmd...)
		}
		p := []byte(dumpOf(t, r, "k"))
		for range 20 {
			q := slices.Clone(p)
			q[rng.IntN(len(q))] ^= byte(1 + rng.IntN(255))
			if got := c.do("RESTORE", "x", "0", string(q), "REPLACE"); got != "(error) "+errBadDump {
				t.Fatalf("%s: flipped byte: %s", dc.name, got)
			}
			if got := c.do("RESTORE", "x", "0", string(p[:rng.IntN(len(p))]), "REPLACE"); got != "(error) "+errBadDump {
				t.Fatalf("%s: truncated: %s", dc.name, got)
			}
			// A good footer on a damaged body: never a panic, either
			// error or a value.
			body := slices.Clone(p[:len(p)-10])
			body[rng.IntN(len(body))] ^= byte(1 + rng.IntN(255))
			got := c.do("RESTORE", "x", "0", string(rdb.AppendFooter(body, 0)), "REPLACE")
			if got != "OK" && got != "(error) "+errBadFormat {
				t.Fatalf("%s: damaged body: %s", dc.name, got)
			}
		}
	}
	if got := c.do("PING"); got != "PONG" {
		t.Fatalf("PING = %s", got)
	}
}

// TestDumpCommandInfoAgainstRedis checks COMMAND INFO and DOCS of DUMP and
// RESTORE against Redis's.
func TestDumpCommandInfoAgainstRedis(t *testing.T) {
	var cmds []string
	for _, name := range []string{"dump", "restore"} {
		cmds = append(cmds, "COMMAND INFO "+name, "COMMAND DOCS "+name, "COMMAND GETKEYSANDFLAGS "+name+" k 0 v")
	}
	diffAgainstRedis(t, cmds, nil)
}

// TestGoRedisDumpRestore drives DUMP and RESTORE through go-redis.
func TestGoRedisDumpRestore(t *testing.T) {
	s := startServer(t, nil)
	ctx := context.Background()
	cl := redis.NewClient(&redis.Options{Addr: s.Addr().String(), MaxRetries: -1})
	t.Cleanup(func() { cl.Close() })
	if err := cl.HSet(ctx, "h", "a", "1", "b", "2").Err(); err != nil {
		t.Fatal(err)
	}
	payload, err := cl.Dump(ctx, "h").Result()
	if err != nil {
		t.Fatal(err)
	}
	if err := cl.Restore(ctx, "h2", time.Minute, payload).Err(); err != nil {
		t.Fatal(err)
	}
	if got := cl.HGetAll(ctx, "h2").Val(); len(got) != 2 || got["a"] != "1" || got["b"] != "2" {
		t.Fatalf("HGETALL = %v", got)
	}
	if ttl := cl.TTL(ctx, "h2").Val(); ttl <= 0 || ttl > time.Minute {
		t.Fatalf("TTL = %v", ttl)
	}
	if err := cl.Restore(ctx, "h2", 0, payload).Err(); err == nil || err.Error() != errBusyKey {
		t.Fatalf("RESTORE over a key: %v", err)
	}
	if err := cl.RestoreReplace(ctx, "h2", 0, payload).Err(); err != nil {
		t.Fatal(err)
	}
	if _, err := cl.Dump(ctx, "missing").Result(); err != redis.Nil {
		t.Fatalf("DUMP missing: %v", err)
	}
}

// TestDumpBytesMatchRedis checks that DUMP writes the very bytes Redis
// writes (LZF compression, listpack and quicklist node layout included)
// for every value whose Redis encoding has a defined order: a hash
// table's order is Redis's dict order, which CHKV does not reproduce.
func TestDumpBytesMatchRedis(t *testing.T) {
	c := startServer(t, nil).dial(t)
	r := startRedis(t)
	for _, dc := range append(dumpCases(), randomDumpCases()...) {
		r.raw("DEL", "k")
		c.raw("DEL", "k")
		for _, cmd := range dc.setup {
			r.raw(cmd...)
			c.raw(cmd...)
		}
		if r.do("OBJECT", "ENCODING", "k") == `"hashtable"` {
			continue
		}
		if got, want := dumpOf(t, c, "k"), dumpOf(t, r, "k"); got != want {
			t.Errorf("%s: DUMP differs from Redis's\n got: %.200q\nwant: %.200q", dc.name, got, want)
		}
	}
}
