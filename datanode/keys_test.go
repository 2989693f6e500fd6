package datanode

import (
	"fmt"
	"math/rand/v2"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestKeysDelExists(t *testing.T) {
	scriptTest(t, "del-exists-touch", []step{
		{"MSET a 1 b 2 c 3 {t}1 x {t}2 y", "OK"},
		{"EXISTS a", "(integer) 1"},
		{"EXISTS a a b nokey", "(integer) 3"},
		{"EXISTS nokey", "(integer) 0"},
		{"TOUCH a b nokey a", "(integer) 3"},
		{"TOUCH nokey", "(integer) 0"},
		{"DEL a a nokey", "(integer) 1"},
		{"DEL a", "(integer) 0"},
		{"EXISTS a", "(integer) 0"},
		{"DEL b c {t}1", "(integer) 3"},
		{"UNLINK {t}2 {t}2 nokey", "(integer) 1"},
		{"UNLINK {t}2", "(integer) 0"},
		{"SET e v PXAT 1", "OK"},
		{"DEL e", "(integer) 0"},
		{`SET "" v`, "OK"},
		{`EXISTS ""`, "(integer) 1"},
		{`DEL ""`, "(integer) 1"},
		{"DEL", "(error) ERR wrong number of arguments for 'del' command"},
		{"UNLINK", "(error) ERR wrong number of arguments for 'unlink' command"},
		{"EXISTS", "(error) ERR wrong number of arguments for 'exists' command"},
		{"TOUCH", "(error) ERR wrong number of arguments for 'touch' command"},
	})
}

func TestKeysExpire(t *testing.T) {
	const notInt = "(error) ERR value is not an integer or out of range"
	scriptTest(t, "expire", []step{
		{"SET k v", "OK"},
		{"TTL k", "(integer) -1"},
		{"PTTL k", "(integer) -1"},
		{"EXPIRETIME k", "(integer) -1"},
		{"PEXPIRETIME k", "(integer) -1"},
		{"TTL nokey", "(integer) -2"},
		{"PTTL nokey", "(integer) -2"},
		{"EXPIRETIME nokey", "(integer) -2"},
		{"PEXPIRETIME nokey", "(integer) -2"},
		{"EXPIRE k 100", "(integer) 1"},
		{"TTL k", "(integer) 100|99"},
		{"EXPIRE nokey 100", "(integer) 0"},
		{"EXPIRE nokey -1", "(integer) 0"},
		{"PEXPIRE k 200000", "(integer) 1"},
		{"TTL k", "(integer) 200|199"},
		{"EXPIREAT k 4000000000", "(integer) 1"},
		{"EXPIRETIME k", "(integer) 4000000000"},
		{"PEXPIRETIME k", "(integer) 4000000000000"},
		{"PEXPIREAT k 4000000000123", "(integer) 1"},
		{"PEXPIRETIME k", "(integer) 4000000000123"},
		{"EXPIRETIME k", "(integer) 4000000000"},
		{"PEXPIREAT k 4000000000500", "(integer) 1"},
		{"EXPIRETIME k", "(integer) 4000000001"},
		{"PERSIST k", "(integer) 1"},
		{"PERSIST k", "(integer) 0"},
		{"PERSIST nokey", "(integer) 0"},
		{"TTL k", "(integer) -1"},
		// times already past delete the key
		{"EXPIRE k -1", "(integer) 1"},
		{"EXISTS k", "(integer) 0"},
		{"SET k v", "OK"},
		{"EXPIRE k 0", "(integer) 1"},
		{"EXISTS k", "(integer) 0"},
		{"SET k v", "OK"},
		{"PEXPIRE k -100", "(integer) 1"},
		{"EXISTS k", "(integer) 0"},
		{"SET k v", "OK"},
		{"EXPIREAT k 1", "(integer) 1"},
		{"EXISTS k", "(integer) 0"},
		{"SET k v", "OK"},
		{"PEXPIREAT k -9223372036854775808", "(integer) 1"},
		{"EXISTS k", "(integer) 0"},
		{"SET k v", "OK"},
		{"PEXPIRE k -9223372036854775808", "(integer) 1"},
		{"EXISTS k", "(integer) 0"},
		// overflow
		{"SET k v", "OK"},
		{"EXPIRE k 9223372036854775807", "(error) ERR invalid expire time in 'expire' command"},
		{"EXPIRE k 9223372036854775", "(error) ERR invalid expire time in 'expire' command"},
		{"EXPIRE k -9223372036854776", "(error) ERR invalid expire time in 'expire' command"},
		{"PEXPIRE k 9223372036854775807", "(error) ERR invalid expire time in 'pexpire' command"},
		{"EXPIREAT k 9223372036854776", "(error) ERR invalid expire time in 'expireat' command"},
		{"EXPIREAT k -9223372036854776", "(error) ERR invalid expire time in 'expireat' command"},
		{"EXPIRE nokey 9223372036854775807", "(error) ERR invalid expire time in 'expire' command"},
		{"EXPIREAT k 9223372036854775", "(integer) 1"},
		{"EXPIRETIME k", "(integer) 9223372036854775"},
		{"PEXPIREAT k 9223372036854775807", "(integer) 1"},
		{"PEXPIRETIME k", "(integer) 9223372036854775807"},
		{"EXPIRE k abc", notInt},
		{"EXPIRE k 1.5", notInt},
		{"EXPIRE k 9223372036854775808", notInt},
		{`EXPIRE k ""`, notInt},
		{"EXPIRE k", "(error) ERR wrong number of arguments for 'expire' command"},
		{"PEXPIREAT k", "(error) ERR wrong number of arguments for 'pexpireat' command"},
		{"TTL", "(error) ERR wrong number of arguments for 'ttl' command"},
		{"PTTL a b", "(error) ERR wrong number of arguments for 'pttl' command"},
		{"EXPIRETIME", "(error) ERR wrong number of arguments for 'expiretime' command"},
		{"PEXPIRETIME a b", "(error) ERR wrong number of arguments for 'pexpiretime' command"},
		{"PERSIST", "(error) ERR wrong number of arguments for 'persist' command"},
	})
	scriptTest(t, "expire-options", []step{
		{"SET k v", "OK"},
		{"EXPIRE k 100 XX", "(integer) 0"},
		{"EXPIRE k 100 GT", "(integer) 0"},
		{"TTL k", "(integer) -1"},
		{"EXPIRE k 100 NX", "(integer) 1"},
		{"EXPIRE k 200 NX", "(integer) 0"},
		{"TTL k", "(integer) 100|99"},
		{"EXPIRE k 200 XX", "(integer) 1"},
		{"EXPIRE k 100 GT", "(integer) 0"},
		{"EXPIRE k 199 GT", "(integer) 0"},
		{"EXPIRE k 300 GT", "(integer) 1"},
		{"EXPIRE k 400 LT", "(integer) 0"},
		{"EXPIRE k 50 LT", "(integer) 1"},
		{"TTL k", "(integer) 50|49"},
		{"EXPIRE k 60 xx gt", "(integer) 1"},
		{"EXPIRE k 40 XX LT", "(integer) 1"},
		{"EXPIRE k 40 XX LT xx", "(integer) 0"},
		{"TTL k", "(integer) 40|39"},
		{"PERSIST k", "(integer) 1"},
		{"EXPIRE k 50 GT", "(integer) 0"},
		{"TTL k", "(integer) -1"},
		{"EXPIRE k 50 LT", "(integer) 1"},
		{"TTL k", "(integer) 50|49"},
		{"PERSIST k", "(integer) 1"},
		{"EXPIRE k -1 LT", "(integer) 1"},
		{"EXISTS k", "(integer) 0"},
		{"SET k v EX 100", "OK"},
		{"EXPIRE k -1 GT", "(integer) 0"},
		{"EXPIRE k -1 NX", "(integer) 0"},
		{"EXPIRE k -1 XX", "(integer) 1"},
		{"EXISTS k", "(integer) 0"},
		{"SET k v", "OK"},
		{"PEXPIRE k 100000 nx", "(integer) 1"},
		{"PEXPIREAT k 4000000000000 GT", "(integer) 1"},
		{"EXPIREAT k 3000000000 GT", "(integer) 0"},
		{"EXPIREAT k 3000000000 LT", "(integer) 1"},
		{"EXPIRETIME k", "(integer) 3000000000"},
		{"EXPIRE nokey 10 NX", "(integer) 0"},
		{"EXPIRE k 10 NX XX", "(error) ERR NX and XX, GT or LT options at the same time are not compatible"},
		{"EXPIRE k 10 NX GT", "(error) ERR NX and XX, GT or LT options at the same time are not compatible"},
		{"EXPIRE k 10 LT NX", "(error) ERR NX and XX, GT or LT options at the same time are not compatible"},
		{"EXPIRE k 10 GT LT", "(error) ERR GT and LT options at the same time are not compatible"},
		{"EXPIRE k 10 NX GT LT", "(error) ERR NX and XX, GT or LT options at the same time are not compatible"},
		{"EXPIRE k 10 FOO", "(error) ERR Unsupported option FOO"},
		{"EXPIRE k 10 NX foo", "(error) ERR Unsupported option foo"},
		{"EXPIRE k abc FOO", "(error) ERR Unsupported option FOO"},
		{"EXPIRE k abc NX XX", "(error) ERR NX and XX, GT or LT options at the same time are not compatible"},
		{"EXPIRE k abc NX", notInt},
		{"EXPIRE k 9223372036854775807 NX", "(error) ERR invalid expire time in 'expire' command"},
		{"EXPIRETIME k", "(integer) 3000000000"},
	})
}

func TestKeysTypeRename(t *testing.T) {
	scriptTest(t, "type-rename", []step{
		{"SET k v", "OK"},
		{"TYPE k", "string"},
		{"TYPE nokey", "none"},
		{"TYPE", "(error) ERR wrong number of arguments for 'type' command"},
		{"SET a 1 EX 100", "OK"},
		{"RENAME a b", "OK"},
		{"GET b", `"1"`},
		{"TTL b", "(integer) 100|99"},
		{"EXISTS a", "(integer) 0"},
		{"RENAME nokey x", "(error) ERR no such key"},
		{"RENAME nokey nokey", "(error) ERR no such key"},
		{"RENAME b b", "OK"},
		{"GET b", `"1"`},
		{"RENAMENX b b", "(integer) 0"},
		{"RENAMENX b c", "(integer) 1"},
		{"SET d 2", "OK"},
		{"RENAMENX c d", "(integer) 0"},
		{"GET d", `"2"`},
		{"RENAME c d", "OK"},
		{"GET d", `"1"`},
		{"TTL d", "(integer) 100|99"},
		{"EXISTS c", "(integer) 0"},
		{"RENAMENX nokey x", "(error) ERR no such key"},
		{"SET e v", "OK"},
		{"RENAME d e", "OK"},
		{"TTL e", "(integer) 100|99"},
		{"SET p v", "OK"},
		{"RENAME p e", "OK"},
		{"TTL e", "(integer) -1"},
		{"SET {s}1 x", "OK"},
		{"RENAME {s}1 {s}2", "OK"},
		{"GET {s}2", `"x"`},
		{"RENAMENX {s}2 {s}3", "(integer) 1"},
		{"MGET {s}1 {s}2 {s}3", `[(nil) (nil) "x"]`},
		{`RENAME {s}3 ""`, "OK"},
		{`GET ""`, `"x"`},
		{"SET gone v PXAT 1", "OK"},
		{"RENAME gone x", "(error) ERR no such key"},
		{"RENAME a", "(error) ERR wrong number of arguments for 'rename' command"},
		{"RENAMENX a b c", "(error) ERR wrong number of arguments for 'renamenx' command"},
	})
}

func TestKeysKeysScanRandom(t *testing.T) {
	scriptTest(t, "keys-scan-randomkey", []step{
		{"RANDOMKEY", "(nil)"},
		{"KEYS *", "[]"},
		{"SCAN 0", `["0" []]`},
		{"SET hello v", "OK"},
		{"RANDOMKEY", `"hello"`},
		{"KEYS *", `["hello"]`},
		{"KEYS h?llo", `["hello"]`},
		{"KEYS h*", `["hello"]`},
		{"KEYS h[ae]llo", `["hello"]`},
		{"KEYS h[^e]llo", "[]"},
		{"KEYS h[a-f]llo", `["hello"]`},
		{"KEYS H*", "[]"},
		{`KEYS h\ello`, `["hello"]`},
		{`KEYS h\*`, "[]"},
		{"SCAN 0", `["0" ["hello"]]`},
		{"SCAN 0 MATCH h*", `["0" ["hello"]]`},
		{"SCAN 0 MATCH x*", `["0" []]`},
		{"SCAN 0 match * count 1000 type string", `["0" ["hello"]]`},
		{"SCAN 0 TYPE STRING", `["0" ["hello"]]`},
		{"SCAN 0 TYPE hash", `["0" []]`},
		{"SCAN 0 TYPE nosuchtype", `["0" []]`},
		{"SCAN 0 COUNT 1 COUNT 5", `["0" ["hello"]]`},
		{`SCAN ""`, `["0" ["hello"]]`},
		{"SCAN +0", `["0" ["hello"]]`},
		{"SCAN -0", `["0" ["hello"]]`},
		{"SCAN 0 COUNT 0", "(error) ERR syntax error"},
		{"SCAN 0 COUNT -1", "(error) ERR syntax error"},
		{"SCAN 0 COUNT abc", "(error) ERR value is not an integer or out of range"},
		{"SCAN 0 COUNT", "(error) ERR syntax error"},
		{"SCAN 0 MATCH", "(error) ERR syntax error"},
		{"SCAN 0 TYPE", "(error) ERR syntax error"},
		{"SCAN 0 FOO bar", "(error) ERR syntax error"},
		{"SCAN abc", "(error) ERR invalid cursor"},
		{`SCAN " 1"`, "(error) ERR invalid cursor"},
		{`SCAN "1 "`, "(error) ERR invalid cursor"},
		{"SCAN +", "(error) ERR invalid cursor"},
		{"SCAN 1.5", "(error) ERR invalid cursor"},
		{"SCAN 18446744073709551616", "(error) ERR invalid cursor"},
		{"SCAN abc COUNT 0", "(error) ERR invalid cursor"},
		{"SCAN", "(error) ERR wrong number of arguments for 'scan' command"},
		{"KEYS", "(error) ERR wrong number of arguments for 'keys' command"},
		{"KEYS a b", "(error) ERR wrong number of arguments for 'keys' command"},
		{"RANDOMKEY x", "(error) ERR wrong number of arguments for 'randomkey' command"},
		{"SET gone v PXAT 1", "OK"},
		{"KEYS g*", "[]"},
		{`SET "" v`, "OK"},
		{`KEYS ""`, `[""]`},
		{"KEYS **", `["hello"]`},
		{"KEYS ?*", `["hello"]`},
		{"DEL hello", "(integer) 1"},
		{"KEYS *", `[""]`},
		{"SCAN 0 MATCH **", `["0" []]`},
		{"SCAN 0 MATCH *", `["0" [""]]`},
		{"RANDOMKEY", `""`},
	})
}

// crossCheck runs setup and then each query on a fresh DataNode and, where
// installed, on a real Redis, and requires the same replies from both with
// arrays compared as sets (KEYS order is unspecified).
func crossCheck(t *testing.T, setup [][]string, queries [][]string) {
	t.Helper()
	run := func(c *respConn) []string {
		for _, cmd := range setup {
			c.send(cmd...)
		}
		for range setup {
			c.reply()
		}
		for _, q := range queries {
			c.send(q...)
		}
		out := make([]string, len(queries))
		for i := range queries {
			out[i] = sortedArray(c.reply())
		}
		return out
	}
	s := startServer(t, nil)
	got := run(s.dial(t))
	r, ok := tryStartRedis(t)
	if !ok {
		t.Skip("redis-server not installed: replies not cross-checked")
	}
	want := run(r)
	for i := range queries {
		if got[i] != want[i] {
			t.Errorf("%q\n got: %s\nwant: %s", queries[i], got[i], want[i])
		}
	}
}

// tryStartRedis is startRedis for tests that do more than compare with
// Redis: it reports false where redis-server is not installed.
func tryStartRedis(t *testing.T) (*respConn, bool) {
	t.Helper()
	if _, err := exec.LookPath("redis-server"); err != nil {
		return nil, false
	}
	return startRedis(t), true
}

// replyStrings reads an array reply of bulk strings.
func replyStrings(t testing.TB, c *respConn) []string {
	t.Helper()
	c.conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	v, err := readReply(c.r)
	if err != nil {
		t.Fatal(err)
	}
	arr, ok := v.([]any)
	if !ok {
		t.Fatalf("not an array: %s", formatReply(v))
	}
	out := make([]string, len(arr))
	for i, e := range arr {
		b, ok := e.([]byte)
		if !ok {
			t.Fatalf("array element %s is not a bulk string", formatReply(e))
		}
		out[i] = string(b)
	}
	return out
}

// sortedArray sorts the elements of a formatted flat array reply of bulk
// strings, or of the key array of a formatted SCAN reply; other replies are
// returned unchanged.
func sortedArray(reply string) string {
	if q, err := strconv.QuotedPrefix(strings.TrimPrefix(reply, "[")); err == nil && strings.HasPrefix(reply, "[") &&
		strings.HasPrefix(reply[1+len(q):], " [") && strings.HasSuffix(reply, "]]") {
		return "[" + q + " " + sortedArray(reply[1+len(q)+1:len(reply)-1]) + "]"
	}
	if !strings.HasPrefix(reply, "[") || strings.Contains(reply[1:], "[") && !strings.HasPrefix(reply, `["`) {
		return reply
	}
	inner := strings.TrimSuffix(strings.TrimPrefix(reply, "["), "]")
	var elems []string
	for rest := inner; rest != ""; rest = strings.TrimPrefix(rest, " ") {
		q, err := strconv.QuotedPrefix(rest)
		if err != nil {
			return reply
		}
		elems = append(elems, q)
		rest = rest[len(q):]
	}
	slices.Sort(elems)
	return "[" + strings.Join(elems, " ") + "]"
}

func TestKeysPatternsAgainstRedis(t *testing.T) {
	keys := []string{"hello", "hallo", "hxllo", "hllo", "heeeello", "h", "", "a*b", "a?b", "a[b", "a]b",
		`a\b`, "-", "^", "]", "[", "\x00", "\xff", "\x80x", "ab", "aab", "abb", "ba", "aaa", "a-b", "\\"}
	setup := [][]string{}
	for _, k := range keys {
		setup = append(setup, []string{"SET", k, "v"})
	}
	patterns := []string{"*", "**", "h?llo", "h*llo", "h[ae]llo", "h[^e]llo", "h[a-b]llo", "h[b-a]llo",
		"?", "??", "*?", "?*", "a*", "*b", "a*b", "a\\*b", "a\\?b", "a[[]b", "a[]]b", "a\\[b", "a[\\]]b",
		"a[\\\\]b", "a\\\\b", "[", "[^", "[]", "[^]", "a[b", "a[", "a[bc", "[a-]", "[-a]", "[\\-]", "[a-\\]",
		"\\", "a\\", "*\\", "[\x00]", "[\x7f-\x81]", "[\x81-\x7f]x", "[\x00-\xff]", "[^\x00-\x7f]*", "a[^",
		"*a*a*b", "*[", "a**b", "***", "\\*", "[*]", "[?]", "[a-c-e]", "[z-a]*", "[!a]*", "a[-]b", "[]-]"}
	var queries [][]string
	for _, p := range patterns {
		queries = append(queries, []string{"KEYS", p}, []string{"SCAN", "0", "MATCH", p, "COUNT", "1000"})
	}
	crossCheck(t, setup, queries)
}

func TestStringMatchTable(t *testing.T) {
	for _, tc := range []struct {
		pattern, str string
		want         bool
	}{
		{"", "", true},
		{"*", "", false}, // the empty string matches only the empty pattern
		{"*", "a", true},
		{"**", "abc", true},
		{"a*", "a", true},
		{"a*", "abc", true},
		{"*c", "abc", true},
		{"*c", "abd", false},
		{"a*c", "ac", true},
		{"a*c", "abbc", true},
		{"a*c*", "abcd", true},
		{"?", "", false},
		{"?", "a", true},
		{"?", "ab", false},
		{"a?c", "abc", true},
		{"[abc]", "b", true},
		{"[abc]", "d", false},
		{"[^abc]", "d", true},
		{"[^abc]", "a", false},
		{"[a-c]", "b", true},
		{"[c-a]", "b", true}, // reversed ranges are swapped
		{"[a-c]", "d", false},
		{"[\\]]", "]", true},
		{"[\\-]", "-", true},
		{"[\\-]", "\\", false},
		{"[a-]", "]", true}, // "a-]" is the range a..] and the class is unterminated
		{"[a-]", "-", false},
		{"[]", "a", false},
		{"[", "a", false},
		{"[^", "a", true},
		{"[abc", "b", true}, // unterminated: ends with the pattern
		{"[abc", "bd", false},
		{"a[", "a", false},
		{"\\*", "*", true},
		{"\\*", "a", false},
		{"\\", "\\", true},
		{"a\\", "a\\", true},
		{"\\a", "a", true},
		{"[*]", "*", true},
		{"[*]", "a", false},
		{"[\x00-\xff]", "a", false}, // signed chars: the range is \xff..\x00
		{"[\x00-\xff]", "\xff", true},
		{"[\x00-\xff]", "\x00", true},
		{"[\x81-\x7f]", "a", true}, // -127..127
		{"[\x81-\x7f]", "\x80", false},
		{"h*llo", "heeeello", true},
		{"*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*b", strings.Repeat("a", 60), false},
		{strings.Repeat("*a", 999) + "*", strings.Repeat("a", 999), true},
		{strings.Repeat("*a", 1001) + "*", strings.Repeat("a", 1001), false}, // nesting limit
	} {
		if got := stringMatch([]byte(tc.pattern), []byte(tc.str)); got != tc.want {
			t.Errorf("stringMatch(%q, %q) = %v, want %v", tc.pattern, tc.str, got, tc.want)
		}
	}
}

// TestStringMatchRandomAgainstRedis compares stringMatch with Redis's
// KEYS on random patterns and keys over an alphabet rich in special
// characters.
func TestStringMatchRandomAgainstRedis(t *testing.T) {
	r, ok := tryStartRedis(t)
	if !ok {
		t.Skip("redis-server not installed")
	}
	rng := rand.New(rand.NewPCG(1, 2))
	const alphabet = "ab*?[]^-\\\xff"
	random := func(n int) string {
		b := make([]byte, rng.IntN(n+1))
		for i := range b {
			b[i] = alphabet[rng.IntN(len(alphabet))]
		}
		return string(b)
	}
	var keys []string
	for range 200 {
		keys = append(keys, random(6))
	}
	slices.Sort(keys)
	keys = slices.Compact(keys)
	for _, k := range keys {
		r.send("SET", k, "v")
	}
	for range keys {
		r.reply()
	}
	var patterns []string
	for range 1000 {
		if p := random(7); p != "*" {
			patterns = append(patterns, p)
		}
	}
	for _, p := range patterns {
		r.send("KEYS", p)
	}
	for _, p := range patterns {
		want := replyStrings(t, r)
		slices.Sort(want)
		var got []string
		for _, k := range keys {
			if stringMatch([]byte(p), []byte(k)) {
				got = append(got, k)
			}
		}
		if !slices.Equal(got, want) && !(len(got) == 0 && len(want) == 0) {
			t.Errorf("pattern %q:\n got: %q\nwant: %q", p, got, want)
		}
	}
}

// TestScanFullIteration checks that a SCAN with a small COUNT returns every
// key exactly once on a static dataset, that MATCH filters, and that the
// cursor ends at 0.
func TestScanFullIteration(t *testing.T) {
	s := startServer(t, nil)
	c := s.dial(t)
	const n = 3000
	for i := range n {
		c.send("SET", "key:"+strconv.Itoa(i), "v")
	}
	for range n {
		c.reply()
	}
	for _, count := range []string{"1", "7", "100", "100000"} {
		seen := scanAll(t, c, "COUNT", count)
		if len(seen) != n {
			t.Fatalf("COUNT %s: scan returned %d distinct keys, want %d", count, len(seen), n)
		}
		for k, times := range seen {
			if times != 1 {
				t.Fatalf("COUNT %s: key %s returned %d times on a static dataset", count, k, times)
			}
		}
	}
	if seen := scanAll(t, c, "MATCH", "key:1?", "COUNT", "50"); len(seen) != 10 {
		t.Fatalf("MATCH key:1? returned %d keys, want 10", len(seen))
	}
	if seen := scanAll(t, c, "TYPE", "list"); len(seen) != 0 {
		t.Fatalf("TYPE list returned %d keys, want 0", len(seen))
	}
	// a cursor past the last slot ends the scan
	if got := c.do("SCAN", strconv.FormatUint(1<<62, 10)); got != `["0" []]` {
		t.Fatalf("SCAN with a cursor past the keyspace = %s", got)
	}
}

// scanAll runs a SCAN iteration to its end and counts how often each key
// was returned.
func scanAll(t testing.TB, c *respConn, opts ...string) map[string]int {
	t.Helper()
	seen := make(map[string]int)
	cursor := "0"
	for calls := 0; ; calls++ {
		if calls > 1e6 {
			t.Fatal("SCAN does not terminate")
		}
		c.send(append([]string{"SCAN", cursor}, opts...)...)
		c.conn.SetReadDeadline(time.Now().Add(10 * time.Second))
		v, err := readReply(c.r)
		if err != nil {
			t.Fatal(err)
		}
		arr, ok := v.([]any)
		if !ok || len(arr) != 2 {
			t.Fatalf("SCAN reply %s", formatReply(v))
		}
		cursor = string(arr[0].([]byte))
		for _, k := range arr[1].([]any) {
			seen[string(k.([]byte))]++
		}
		if cursor == "0" {
			return seen
		}
	}
}

// TestScanGuarantee checks SCAN's guarantee under concurrent writes: every
// key present for the whole iteration is returned, while other clients
// insert and delete other keys.
func TestScanGuarantee(t *testing.T) {
	s := startServer(t, nil)
	c := s.dial(t)
	const n = 5000
	for i := range n {
		c.send("SET", "orig:"+strconv.Itoa(i), "v")
	}
	for range n {
		c.reply()
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for w := range 2 {
		wc := s.dial(t)
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(w), 7))
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				// batches of writes, so that slots grow and shrink under the
				// scanner
				for j := range 50 {
					k := fmt.Sprintf("churn:%d:%d", w, rng.IntN(20000))
					if (i+j)%3 == 0 {
						wc.send("DEL", k)
					} else {
						wc.send("SET", k, "x")
					}
				}
				for range 50 {
					wc.reply()
				}
			}
		}()
	}
	seen := scanAll(t, c, "COUNT", "3")
	close(stop)
	wg.Wait()
	for i := range n {
		if seen["orig:"+strconv.Itoa(i)] == 0 {
			t.Fatalf("SCAN missed orig:%d, present for the whole scan", i)
		}
	}
}
