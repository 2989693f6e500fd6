package datanode

import (
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestConfigScripts(t *testing.T) {
	scriptTest(t, "errors", []step{
		{"CONFIG", "(error) ERR wrong number of arguments for 'config' command"},
		{"CONFIG NOSUCH", "(error) ERR unknown subcommand 'NOSUCH'. Try CONFIG HELP."},
		{"CONFIG GET", "(error) ERR wrong number of arguments for 'config|get' command"},
		{"CONFIG SET", "(error) ERR wrong number of arguments for 'config|set' command"},
		{"CONFIG SET maxmemory", "(error) ERR wrong number of arguments for 'config|set' command"},
		{"CONFIG SET maxmemory 1 timeout", "(error) ERR syntax error"},
		{"CONFIG RESETSTAT x", "(error) ERR wrong number of arguments for 'config|resetstat' command"},
		{"CONFIG SET nosuch 1", "(error) ERR Unknown option or number of arguments for CONFIG SET - 'nosuch'"},
		{"CONFIG SET maxmemory 1mb nosuch 1", "(error) ERR Unknown option or number of arguments for CONFIG SET - 'nosuch'"},
		{"CONFIG SET maxclients 0 nosuch 1", "(error) ERR Unknown option or number of arguments for CONFIG SET - 'nosuch'"},
		{"CONFIG SET maxmemory abc", "(error) ERR CONFIG SET failed (possibly related to argument 'maxmemory') - argument must be a memory value"},
		{"CONFIG SET maxmemory -1", "(error) ERR CONFIG SET failed (possibly related to argument 'maxmemory') - argument must be a memory value"},
		{"CONFIG SET maxmemory 1.5mb", "(error) ERR CONFIG SET failed (possibly related to argument 'maxmemory') - argument must be a memory value"},
		{"CONFIG SET maxmemory 0x10", "(error) ERR CONFIG SET failed (possibly related to argument 'maxmemory') - argument must be a memory value"},
		{"CONFIG SET maxmemory 100mb maxmemory 1", "(error) ERR CONFIG SET failed (possibly related to argument 'maxmemory') - duplicate parameter"},
		{"CONFIG SET timeout 1 TIMEOUT 2", "(error) ERR CONFIG SET failed (possibly related to argument 'TIMEOUT') - duplicate parameter"},
		{"CONFIG SET maxmemory-policy foo", "(error) ERR CONFIG SET failed (possibly related to argument 'maxmemory-policy') - argument(s) must be one of the following: volatile-lru, volatile-lfu, volatile-random, volatile-ttl, allkeys-lru, allkeys-lfu, allkeys-random, noeviction"},
		{"CONFIG SET timeout -1", "(error) ERR CONFIG SET failed (possibly related to argument 'timeout') - argument must be between 0 and 2147483647 inclusive"},
		{"CONFIG SET timeout abc", "(error) ERR CONFIG SET failed (possibly related to argument 'timeout') - argument couldn't be parsed into an integer"},
		{"CONFIG SET timeout 010", "(error) ERR CONFIG SET failed (possibly related to argument 'timeout') - argument couldn't be parsed into an integer"},
		{"CONFIG SET timeout +5", "(error) ERR CONFIG SET failed (possibly related to argument 'timeout') - argument couldn't be parsed into an integer"},
		{"CONFIG SET maxclients 0", "(error) ERR CONFIG SET failed (possibly related to argument 'maxclients') - argument must be between 1 and 4294967295 inclusive"},
		{"CONFIG SET maxclients 1.5", "(error) ERR CONFIG SET failed (possibly related to argument 'maxclients') - argument couldn't be parsed into an integer"},
		{"CONFIG SET timeout 1 maxclients 0", "(error) ERR CONFIG SET failed (possibly related to argument 'maxclients') - argument must be between 1 and 4294967295 inclusive"},
		{"CONFIG SET protected-mode maybe", "(error) ERR CONFIG SET failed (possibly related to argument 'protected-mode') - argument must be 'yes' or 'no'"},
		{"CONFIG SET proto-max-bulk-len 10", "(error) ERR CONFIG SET failed (possibly related to argument 'proto-max-bulk-len') - argument must be between 1048576 and 9223372036854775807 inclusive"},
		{"CONFIG SET databases 2", "(error) ERR CONFIG SET failed (possibly related to argument 'databases') - can't set immutable config"},
		{"CONFIG SET databases 1 timeout 1 timeout 2", "(error) ERR CONFIG SET failed (possibly related to argument 'databases') - can't set immutable config"},
		{"CONFIG SET maxmemory 10 maxmemory-policy foo timeout x", "(error) ERR CONFIG SET failed (possibly related to argument 'maxmemory-policy') - argument(s) must be one of the following: volatile-lru, volatile-lfu, volatile-random, volatile-ttl, allkeys-lru, allkeys-lfu, allkeys-random, noeviction"},
		// Nothing of a failed CONFIG SET is applied.
		{"CONFIG GET maxmemory", `["maxmemory" "0"]`},
		{"CONFIG GET timeout", `["timeout" "0"]`},
		{"CONFIG REWRITE", "(error) ERR The server is running without a config file"},
	})
	scriptTest(t, "get-set", []step{
		{"CONFIG GET nosuch", "[]"},
		{"CONFIG GET maxmemory", `["maxmemory" "0"]`},
		{"CONFIG GET MAXMEMORY", `["MAXMEMORY" "0"]`},
		{"CONFIG GET maxmemory maxmemory", `["maxmemory" "0"]`},
		{"CONFIG GET maxclients", `["maxclients" "10000"]`},
		{"CONFIG GET requirepass", `["requirepass" ""]`},
		{"CONFIG GET protected-mode", `["protected-mode" "yes"]`},
		{"CONFIG GET proto-max-bulk-len", `["proto-max-bulk-len" "536870912"]`},
		{"CONFIG GET client-query-buffer-limit", `["client-query-buffer-limit" "1073741824"]`},
		{"CONFIG GET appendonly", `["appendonly" "no"]`},
		{"CONFIG SET maxmemory 1MB", "OK"},
		{"CONFIG GET maxmemory", `["maxmemory" "1048576"]`},
		{"CONFIG SET maxmemory 2k", "OK"},
		{"CONFIG GET maxmemory", `["maxmemory" "2000"]`},
		{"CONFIG SET maxmemory-policy ALLKEYS-LRU", "OK"},
		{"CONFIG GET maxmemory*policy", `["maxmemory-policy" "allkeys-lru"]`},
		{"CONFIG SET maxmemory 0 maxmemory-policy noeviction timeout 7", "OK"},
		{"CONFIG GET timeout", `["timeout" "7"]`},
		{"CONFIG SET protected-mode NO", "OK"},
		{"CONFIG GET protected-mode", `["protected-mode" "no"]`},
		{"CONFIG SET client-query-buffer-limit 1gb proto-max-bulk-len 512mb", "OK"},
		{"CONFIG SET maxmemory-samples 10", "OK"},
		{"CONFIG GET maxmemory-samples", `["maxmemory-samples" "10"]`},
		{"CONFIG SET maxclients 100", "OK"},
		{"CONFIG GET maxclients", `["maxclients" "100"]`},
		{`CONFIG SET save ""`, "OK"},
		{"CONFIG SET appendonly no", "OK"},
		{"CONFIG RESETSTAT", "OK"},
	})
	// CHKV's CONFIG has the same subcommands as Redis's.
	scriptTest(t, "help", []step{{"CONFIG HELP", "[CONFIG <subcommand> [<arg> [value] [opt] ...]. Subcommands are: " +
		"GET <pattern>     Return parameters matching the glob-like <pattern> and their values. " +
		"SET <directive> <value>     Set the configuration <directive> to <value>. " +
		"RESETSTAT     Reset statistics reported by the INFO command. " +
		"REWRITE     Rewrite the configuration file. " +
		"HELP     Prints this help.]"}})
}

func TestConfigGetPatterns(t *testing.T) {
	s := startServer(t, nil)
	c := s.dial(t)
	all := pairsOfStrings(t, c.doAny("CONFIG", "GET", "*"))
	for _, p := range configParams {
		if _, ok := all[p.name]; !ok {
			t.Errorf("CONFIG GET * lacks %s", p.name)
		}
	}
	if len(all) != len(configParams) {
		t.Errorf("CONFIG GET * has %d parameters, want %d", len(all), len(configParams))
	}
	if all["port"] != strconv.Itoa(s.listenPort()) || all["bind"] != "127.0.0.1" || all["databases"] != "1" || all["save"] != "" || all["cluster-enabled"] != "no" {
		t.Errorf("read-only parameters: %v", all)
	}
	if got := c.do("CONFIG", "GET", "timeout", "maxmemory"); got != `["timeout" "0" "maxmemory" "0"]` {
		t.Errorf("CONFIG GET timeout maxmemory = %s", got)
	}
	if got := c.do("CONFIG", "GET", "MAXMEMORY*", "maxmemory"); got != `["maxmemory" "0" "maxmemory-policy" "noeviction" "maxmemory-samples" "5"]` {
		t.Errorf("CONFIG GET MAXMEMORY* maxmemory = %s", got)
	}
	if got := c.do("CONFIG", "SET", "port", "1"); got != "(error) ERR CONFIG SET failed (possibly related to argument 'port') - can't set immutable config" {
		t.Errorf("CONFIG SET port = %s", got)
	}
	if got := c.do("CONFIG", "SET", "appendonly", "yes"); !strings.HasPrefix(got, "(error) ERR CONFIG SET failed (possibly related to argument 'appendonly') - ") {
		t.Errorf("CONFIG SET appendonly yes = %s", got)
	}
	// Settings.Validate's rules apply too, naming the parameter.
	if got := c.do("CONFIG", "SET", "proto-max-bulk-len", "2gb"); got != "(error) ERR CONFIG SET failed (possibly related to argument 'proto-max-bulk-len') - client-query-buffer-limit must not be below proto-max-bulk-len" {
		t.Errorf("CONFIG SET proto-max-bulk-len 2gb = %s", got)
	}
	if got := c.do("CONFIG", "SET", "maxmemory-samples", "65"); !strings.HasPrefix(got, "(error) ERR CONFIG SET failed (possibly related to argument 'maxmemory-samples') - ") {
		t.Errorf("CONFIG SET maxmemory-samples 65 = %s", got)
	}
	if st := s.settings.Load(); st.ProtoMaxBulkLen != DefaultProtoMaxBulkLen || st.MaxMemorySamples != DefaultMaxMemorySamples {
		t.Errorf("failed CONFIG SETs changed settings: %+v", st)
	}
}

func pairsOfStrings(t testing.TB, v any) map[string]string {
	t.Helper()
	out := map[string]string{}
	for k, v := range pairs(t, v) {
		b, ok := v.([]byte)
		if !ok {
			t.Fatalf("value of %s is %s", k, formatReply(v))
		}
		out[k] = string(b)
	}
	return out
}

func TestConfigSetRequirePass(t *testing.T) {
	s := startServer(t, nil)
	admin := s.dial(t)
	if got := admin.do("CONFIG", "SET", "requirepass", "s3cret"); got != "OK" {
		t.Fatalf("CONFIG SET requirepass = %s", got)
	}
	// As in Redis, the connections made without a password stay
	// authenticated; new ones must AUTH.
	if got := admin.do("PING"); got != "PONG" {
		t.Errorf("existing connection after CONFIG SET requirepass: PING = %s", got)
	}
	c := s.dial(t)
	runScriptPlain(t, c, []step{
		{"PING", "(error) NOAUTH Authentication required."},
		{"CONFIG GET requirepass", "(error) NOAUTH Authentication required."},
		{"AUTH wrong", "(error) WRONGPASS invalid username-password pair or user is disabled."},
		{"AUTH s3cret", "OK"},
		{"PING", "PONG"},
		{"CONFIG GET requirepass", `["requirepass" "s3cret"]`},
		{`CONFIG SET requirepass ""`, "OK"},
	})
	if got := s.dial(t).do("PING"); got != "PONG" {
		t.Errorf("after clearing requirepass a new connection gets %s", got)
	}
}

func TestConfigSetMaxClients(t *testing.T) {
	s := startServer(t, nil)
	first := s.dial(t)
	if got := first.do("CONFIG", "SET", "maxclients", "1"); got != "OK" {
		t.Fatalf("CONFIG SET maxclients 1 = %s", got)
	}
	got, _ := s.dial(t).readUntilClosed(5 * time.Second)
	if got != "-ERR max number of clients reached\r\n" {
		t.Fatalf("second client got %q", got)
	}
	_, f := parseInfo(t, first.info("stats", "clients"))
	if f["rejected_connections"] != "1" || f["maxclients"] != "1" {
		t.Errorf("rejected_connections=%s maxclients=%s", f["rejected_connections"], f["maxclients"])
	}
	if got := first.do("CONFIG", "SET", "maxclients", "10"); got != "OK" {
		t.Fatalf("CONFIG SET maxclients 10 = %s", got)
	}
	if got := s.dial(t).do("PING"); got != "PONG" {
		t.Errorf("after raising maxclients: PING = %s", got)
	}
}

// TestConfigSetMaxMemoryEvicts fills the node past a maxmemory set at run
// time: with allkeys-lru keys are evicted and memory stays near the limit;
// with noeviction writes are refused but reads and deletes still work.
func TestConfigSetMaxMemoryEvicts(t *testing.T) {
	s := startServer(t, nil)
	c := s.dial(t)
	_, f := parseInfo(t, c.info("memory"))
	base, _ := strconv.ParseInt(f["used_memory"], 10, 64)
	const value = 8 << 10
	limit := base + 8<<20
	if got := c.do("CONFIG", "SET", "maxmemory", strconv.FormatInt(limit, 10), "maxmemory-policy", "allkeys-lru"); got != "OK" {
		t.Fatalf("CONFIG SET maxmemory = %s", got)
	}
	val := strings.Repeat("v", value)
	const writes = 4000 // 32mb, four times the room
	for i := range writes {
		if got := c.do("SET", fmt.Sprintf("key:%d", i), val); got != "OK" {
			t.Fatalf("SET %d under allkeys-lru = %s", i, got)
		}
	}
	_, f = parseInfo(t, c.info("memory", "stats", "keyspace"))
	evicted, _ := strconv.Atoi(f["evicted_keys"])
	used, _ := strconv.ParseInt(f["used_memory"], 10, 64)
	dbsize, _ := strconv.Atoi(strings.TrimPrefix(c.do("DBSIZE"), "(integer) "))
	t.Logf("limit %d: used_memory %d, %d keys, %d evicted", limit, used, dbsize, evicted)
	if evicted == 0 || dbsize+evicted != writes || dbsize == 0 {
		t.Errorf("evicted_keys=%d dbsize=%d after %d writes", evicted, dbsize, writes)
	}
	if f["maxmemory"] != strconv.FormatInt(limit, 10) || f["maxmemory_policy"] != "allkeys-lru" {
		t.Errorf("INFO maxmemory=%s maxmemory_policy=%s", f["maxmemory"], f["maxmemory_policy"])
	}
	if data := int64(dbsize) * value; data > limit-base+1<<20 {
		t.Errorf("%d bytes of values kept under a limit %d bytes above the baseline", data, limit-base)
	}
	// Eviction runs before each write, so the last write may overshoot by
	// one value; nothing else (the Go heap, garbage) is counted.
	if used > limit+2*value {
		t.Errorf("used_memory %d above maxmemory %d by more than a write", used, limit)
	}

	// noeviction: the same pressure refuses writes.
	if got := c.do("CONFIG", "SET", "maxmemory-policy", "noeviction", "maxmemory", "1"); got != "OK" {
		t.Fatalf("CONFIG SET noeviction = %s", got)
	}
	key := fmt.Sprintf("key:%d", writes-1)
	runScriptPlain(t, c, []step{
		{"SET k v", "(error) OOM command not allowed when used memory > 'maxmemory'."},
		{"GET " + key, fmt.Sprintf("%q", val)},
		{"DEL " + key, "(integer) 1"},
		{"DBSIZE", "(integer) " + strconv.Itoa(dbsize-1)},
		{"CONFIG SET maxmemory 0", "OK"},
		{"SET k v", "OK"},
	})
	_, f = parseInfo(t, c.info("stats"))
	if after, _ := strconv.Atoi(f["evicted_keys"]); after != evicted {
		t.Errorf("noeviction evicted keys: %d -> %d", evicted, after)
	}
}
