package datanode

import (
	"strconv"
	"strings"
	"testing"
)

func TestMemoryUsageScript(t *testing.T) {
	scriptTest(t, "errors", []step{
		{"MEMORY USAGE", "(error) ERR wrong number of arguments for 'memory|usage' command"},
		{"MEMORY USAGE nokey", "(nil)"},
		{"MEMORY USAGE nokey SAMPLES 5", "(nil)"},
		{"SET k v", "OK"},
		{"MEMORY USAGE k samples", "(error) ERR syntax error"},
		{"MEMORY USAGE k samples x", "(error) ERR value is not an integer or out of range"},
		{"MEMORY USAGE k samples -1", "(error) ERR syntax error"},
		{"MEMORY USAGE k foo", "(error) ERR syntax error"},
		{"MEMORY USAGE k SAMPLES 5 samples 0", "*"},
		{"MEMORY foo", "(error) ERR unknown subcommand 'foo'. Try MEMORY HELP."},
		{"COMMAND GETKEYS memory usage k", `["k"]`},
		{"COMMAND DOCS memory|usage", "*"},
	})
}

// TestMemoryUsageTypes checks that MEMORY USAGE gives every type a figure
// covering at least its key and payload, growing with the value.
func TestMemoryUsageTypes(t *testing.T) {
	s := startServer(t, nil)
	c := s.dial(t)
	usage := func(key string) int {
		t.Helper()
		got := c.do("MEMORY", "USAGE", key, "SAMPLES", "0")
		n, err := strconv.Atoi(strings.TrimPrefix(got, "(integer) "))
		if err != nil {
			t.Fatalf("MEMORY USAGE %s = %s", key, got)
		}
		return n
	}
	big := strings.Repeat("x", 100_000)
	c.do("SET", "str", "value")
	c.do("SET", "bigstr", big)
	c.do("HSET", "hash", "field", "value")
	c.do("RPUSH", "list", "a", "b")
	c.do("SADD", "set", "1", "2")
	c.do("SADD", "tset", "a", "b")
	c.do("ZADD", "zset", "1", "a")
	for _, key := range []string{"str", "hash", "list", "set", "tset", "zset"} {
		if n := usage(key); n < len(key)+2 || n > 1024 {
			t.Errorf("MEMORY USAGE %s = %d, not a small value's figure", key, n)
		}
	}
	if n := usage("bigstr"); n < len(big) || n > 2*len(big) {
		t.Errorf("MEMORY USAGE bigstr = %d for a %d-byte value", n, len(big))
	}
	small := usage("hash")
	for i := range 1000 {
		c.do("HSET", "hash", "field"+strconv.Itoa(i), "value")
	}
	if n := usage("hash"); n < small+1000*10 {
		t.Errorf("MEMORY USAGE of a 1001-field hash = %d, of one field %d", n, small)
	}
	if got := c.do("MEMORY", "HELP"); !strings.Contains(got, "USAGE <key> [SAMPLES <count>]") {
		t.Errorf("MEMORY HELP = %s", got)
	}
}
