package datanode

import (
	"strconv"
	"testing"
	"time"

	"github.com/chkv/chkv/datanode/rdb"
)

// TestFunctionDumpRestoreWithRedis restores a FUNCTION DUMP of a real
// Redis into a DataNode and the DataNode's into Redis: the libraries,
// one long enough to be LZF-compressed, are listed and called alike.
func TestFunctionDumpRestoreWithRedis(t *testing.T) {
	r := startRedis(t)
	s := startServer(t, nil)
	c := s.dial(t)
	long := lib("big", `redis.register_function('big', function() return 'a long enough body to be compressed by lzf, with repeats repeats repeats' end)`)
	small := lib("small", `redis.register_function{function_name='small', callback=function(k, a) return #k end, flags={'no-writes'}}`)
	for name, code := range map[string]string{"big": long, "small": small} {
		if got := r.do(splitArgs(t, "FUNCTION LOAD "+code)...); got != strconv.Quote(name) {
			t.Fatalf("redis FUNCTION LOAD = %s", got)
		}
	}
	check := func(conn *respConn, who string) {
		t.Helper()
		for _, step := range []step{
			{"FCALL big 0", `"a long enough body to be compressed by lzf, with repeats repeats repeats"`},
			{"FCALL_RO small 2 a b", "(integer) 2"},
			{"FUNCTION LIST LIBRARYNAME small", `[["library_name" "small" "engine" "LUA" "functions" [["name" "small" "description" (nil) "flags" [no-writes]]]]]`},
		} {
			if got := conn.do(splitArgs(t, step.cmd)...); got != step.want {
				t.Errorf("%s: %s = %s, want %s", who, step.cmd, got, step.want)
			}
		}
	}
	payload := dumpPayload(t, r)
	if got := c.do("FUNCTION", "RESTORE", payload); got != "OK" {
		t.Fatalf("datanode FUNCTION RESTORE of Redis's dump = %s", got)
	}
	check(c, "datanode")
	if got := c.do("FUNCTION", "RESTORE", payload); got != "(error) ERR Library big already exists" {
		t.Errorf("second RESTORE = %s", got)
	}
	ours := dumpPayload(t, c)
	if got := r.do("FUNCTION", "RESTORE", ours, "FLUSH"); got != "OK" {
		t.Fatalf("redis FUNCTION RESTORE of the datanode's dump = %s", got)
	}
	check(r, "redis")
	if len(ours) != len(payload) {
		t.Errorf("dump sizes differ: datanode %d bytes, redis %d", len(ours), len(payload))
	}
}

// dumpPayload returns conn's FUNCTION DUMP.
func dumpPayload(t *testing.T, conn *respConn) string {
	t.Helper()
	conn.send("FUNCTION", "DUMP")
	conn.conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	v, err := readReply(conn.r)
	b, ok := v.([]byte)
	if err != nil || !ok {
		t.Fatalf("FUNCTION DUMP = %v, %v", v, err)
	}
	return string(b)
}

// TestFunctionRestoreAgainstRedis restores crafted payloads on a
// DataNode and a real Redis: policies, collisions, and malformed ones.
func TestFunctionRestoreAgainstRedis(t *testing.T) {
	code := func(name, fn string) []byte {
		return []byte("#!lua name=" + name + "\nredis.register_function('" + fn + "', function() return '" + name + "' end)")
	}
	dump := func(codes ...[]byte) string { return strconv.Quote(string(rdb.AppendFunctionsDump(nil, codes))) }
	withFooter := func(body string) string { return strconv.Quote(string(rdb.AppendFooter([]byte(body), 0))) }
	diffAgainstRedis(t, []string{
		`FUNCTION RESTORE ` + dump(code("a", "fa")),
		`FCALL fa 0`,
		`FUNCTION RESTORE ` + dump(code("a", "fa")),
		`FUNCTION RESTORE ` + dump(code("a", "fa")) + ` APPEND`,
		`FUNCTION RESTORE ` + dump(code("a", "fa2")) + ` REPLACE`,
		`FCALL fa 0`,
		`FCALL fa2 0`,
		`FUNCTION RESTORE ` + dump(code("b", "fa2")),
		`FUNCTION RESTORE ` + dump(code("b", "fa2")) + ` REPLACE`,
		`FUNCTION RESTORE ` + dump(code("b", "fb")) + ` FLUSH`,
		`FCALL fa2 0`,
		`FCALL fb 0`,
		`FUNCTION RESTORE ` + dump(code("c", "fc"), code("c", "fc2")),
		`FUNCTION RESTORE ` + dump(code("c", "fc"), code("d", "fc")),
		`FUNCTION RESTORE ` + dump([]byte("return 1")),
		`FUNCTION RESTORE ` + dump(code("e", "fe"), []byte("#!lua name=f\n")),
		`FCALL fe 0`,
		`FUNCTION RESTORE ` + dump() + ` FLUSH`,
		`FCALL fb 0`,
		`FUNCTION RESTORE ` + withFooter("\x00\x01a"),
		`FUNCTION RESTORE ` + withFooter("\xf6"),
		`FUNCTION RESTORE ` + withFooter("\xf6\x01a"),
		`FUNCTION RESTORE ` + withFooter("\xf6\x01a\x03LUA"),
		`FUNCTION RESTORE ` + withFooter("\xf6\x01a\x03LUA\x01"),
		`FUNCTION RESTORE ` + withFooter("\xf6\x01a\x03LUA\x00\x0creturn 'old'"),
		`FUNCTION RESTORE ` + withFooter("\xf6\x02pg\x03lua\x01\x01d\x3bredis.register_function('pg', function() return 'old' end)"),
		`FCALL pg 0`,
		`FUNCTION LIST LIBRARYNAME pg WITHCODE`,
		`FUNCTION RESTORE ` + withFooter("\xf5\x3fabc"),
		`FUNCTION RESTORE ` + withFooter("\xf5\x0b"),
		`FUNCTION RESTORE ` + withFooter("\xf5\xc0\x05"),
		`FUNCTION LIST`,
	}, nil)
}
