package datanode

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// doAny sends a command and returns its decoded reply (see readReply).
func (c *respConn) doAny(args ...string) any {
	c.t.Helper()
	c.send(args...)
	c.conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	v, err := readReply(c.r)
	if err != nil {
		c.t.Fatalf("read reply to %v: %v", args, err)
	}
	return v
}

// pairs turns a flattened RESP2 map into a Go map keyed by its bulk-string
// keys; it fails the test if v is not such an array.
func pairs(t testing.TB, v any) map[string]any {
	t.Helper()
	arr, ok := v.([]any)
	if !ok || len(arr)%2 != 0 {
		t.Fatalf("not a flattened map: %s", formatReply(v))
	}
	m := make(map[string]any, len(arr)/2)
	for i := 0; i < len(arr); i += 2 {
		k, ok := arr[i].([]byte)
		if !ok {
			t.Fatalf("map key %s is not a bulk string", formatReply(arr[i]))
		}
		m[string(k)] = arr[i+1]
	}
	return m
}

// cliHint renders a command's COMMAND DOCS arguments as redis-cli 7 renders
// its hints (cliConcatArguments and cliAddArgument in redis-cli.c), so
// tests see what a redis-cli user sees.
func cliHint(t testing.TB, arguments any) string {
	t.Helper()
	list, _ := arguments.([]any)
	parts := make([]string, len(list))
	for i, a := range list {
		parts[i] = cliArg(t, a)
	}
	return strings.Join(parts, " ")
}

func cliArg(t testing.TB, v any) string {
	t.Helper()
	m := pairs(t, v)
	str := func(k string) string {
		b, _ := m[k].([]byte)
		return string(b)
	}
	var optional, multiple, multipleToken bool
	if flags, ok := m["flags"].([]any); ok {
		for _, f := range flags {
			s, ok := f.(string)
			if !ok {
				t.Fatalf("argument flag %s is not a status reply (redis-cli asserts it is)", formatReply(f))
			}
			optional = optional || s == "optional"
			multiple = multiple || s == "multiple"
			multipleToken = multipleToken || s == "multiple_token"
		}
	}
	typ, token := str("type"), str("token")
	var repeat string
	switch typ {
	case "key", "string", "integer", "double", "pattern", "unix-time", "token":
		repeat = str("name")
	case "oneof", "block":
		sep := "|"
		if typ == "block" {
			sep = " "
		}
		sub, _ := m["arguments"].([]any)
		subs := make([]string, len(sub))
		for i, s := range sub {
			subs[i] = cliArg(t, s)
		}
		repeat = strings.Join(subs, sep)
	case "pure-token":
	default:
		t.Fatalf("unknown argument type %q", typ)
	}
	if token != "" && typ != "pure-token" {
		token += " "
	}
	s := token + repeat
	if multiple {
		s += " ["
		if multipleToken {
			s += token
		}
		s += repeat + " ...]"
	}
	if optional {
		s = "[" + s + "]"
	}
	return s
}

// commandHint fetches COMMAND DOCS name over c and renders its hint.
func commandHint(t testing.TB, c *respConn, name string) string {
	t.Helper()
	v, ok := c.doAny("COMMAND", "DOCS", name).([]any)
	if !ok || len(v) != 2 {
		t.Fatalf("COMMAND DOCS %s = %s", name, formatReply(v))
	}
	return cliHint(t, pairs(t, v[1])["arguments"])
}

// TestCommandDocsHints checks that redis-cli shows the same argument hints
// for CHKV as for Redis. The expected strings for SET were read off a real
// redis-cli 7.0 terminal connected to redis-server 7.0; the others are
// compared with the real Redis's COMMAND DOCS where it is installed.
func TestCommandDocsHints(t *testing.T) {
	s := startServer(t, nil)
	c := s.dial(t)
	if got, want := commandHint(t, c, "set"), "key value [NX|XX] [GET] [EX seconds|PX milliseconds|EXAT unix-time-seconds|PXAT unix-time-milliseconds|KEEPTTL]"; got != want {
		t.Errorf("SET hint\n got: %s\nwant: %s", got, want)
	}
	names := []string{
		"set", "info", "flushall", "flushdb", "client|list", "client|setname", "client|kill",
		"config|get", "config|set", "cluster|keyslot", "cluster|countkeysinslot",
		"cluster|getkeysinslot", "command|list", "command|docs", "command|info",
	}
	t.Run("redis", func(t *testing.T) {
		r := startRedis(t)
		for _, name := range names {
			got, want := commandHint(t, c, name), commandHint(t, r, name)
			if name == "client|kill" {
				want = strings.ReplaceAll(want, "SKIPME yes/no", "SKIPME YES|NO")
			}
			if got != want {
				t.Errorf("%s hint\n got: %s\nwant: %s", name, got, want)
			}
		}
	})
}

func TestCommandScripts(t *testing.T) {
	scriptTest(t, "errors", []step{
		{"COMMAND FOO", "(error) ERR unknown subcommand 'FOO'. Try COMMAND HELP."},
		{"COMMAND COUNT x", "(error) ERR wrong number of arguments for 'command|count' command"},
		{"COMMAND GETKEYS", "(error) ERR wrong number of arguments for 'command|getkeys' command"},
		{"COMMAND GETKEYS ping", "(error) ERR wrong number of arguments for 'command|getkeys' command"},
		{"COMMAND GETKEYS nosuch x", "(error) ERR Invalid command specified"},
		{"COMMAND GETKEYS ping x", "(error) ERR The command has no key arguments"},
		{"COMMAND GETKEYS client setname x", "(error) ERR The command has no key arguments"},
		{"COMMAND GETKEYS client nosuch x", "(error) ERR Invalid command specified"},
		{"COMMAND GETKEYS set a", "(error) ERR Invalid number of arguments specified for command"},
		{"COMMAND LIST FILTERBY foo x", "(error) ERR syntax error"},
		{"COMMAND LIST FILTERBY pattern", "(error) ERR syntax error"},
		{"COMMAND LIST foo", "(error) ERR syntax error"},
		{"COMMAND LIST FILTERBY module foo", "[]"},
		{"COMMAND LIST FILTERBY aclcat nosuch", "[]"},
	})
	scriptTest(t, "lookups", []step{
		{"COMMAND GETKEYS set a b", `["a"]`},
		{"COMMAND GETKEYS mset a b c d", `["a" "c"]`},
		{"COMMAND GETKEYS del a b c", `["a" "b" "c"]`},
		{"COMMAND GETKEYS get k", `["k"]`},
		{"COMMAND INFO nosuch", "[(nil)]"},
		{"COMMAND INFO client|setname", `[["client|setname" (integer) 3 [noscript loading stale] (integer) 0 (integer) 0 (integer) 0 [@slow @connection] [] [] []]]`},
		{"COMMAND INFO CONFIG|GET nosuch", `[["config|get" (integer) -3 [admin noscript loading stale] (integer) 0 (integer) 0 (integer) 0 [@admin @slow @dangerous] [] [] []] (nil)]`},
		{"COMMAND INFO cluster|keyslot", `[["cluster|keyslot" (integer) 3 [stale] (integer) 0 (integer) 0 (integer) 0 [@slow] [] [] []]]`},
		{"COMMAND DOCS nosuch", "[]"},
		{"COMMAND LIST FILTERBY pattern config|*et", `*`},
		{"COMMAND HELP", "*"},
	})
	// Redis and CHKV list the same COMMAND subcommands, so the help is the
	// same text.
	scriptTest(t, "help", []step{{"COMMAND HELP", strings.Join([]string{
		"[COMMAND <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
		"(no subcommand)", "    Return details about all Redis commands.",
		"COUNT", "    Return the total number of commands in this Redis server.",
		"LIST", "    Return a list of all commands in this Redis server.",
		"INFO [<command-name> ...]", "    Return details about multiple Redis commands.",
		"    If no command names are given, documentation details for all", "    commands are returned.",
		"DOCS [<command-name> ...]", "    Return documentation details about multiple Redis commands.",
		"    If no command names are given, documentation details for all", "    commands are returned.",
		"GETKEYS <full-command>", "    Return the keys from a full Redis command.",
		"GETKEYSANDFLAGS <full-command>", "    Return the keys and the access flags from a full Redis command.",
		"HELP", "    Prints this help.]"}, " ")}})
}

// TestCommandTable checks COMMAND's replies against the command table.
func TestCommandTable(t *testing.T) {
	s := startServer(t, nil)
	c := s.dial(t)
	all, ok := c.doAny("COMMAND").([]any)
	if !ok {
		t.Fatal("COMMAND did not reply with an array")
	}
	if got := c.do("COMMAND", "COUNT"); got != fmt.Sprintf("(integer) %d", len(all)) || len(all) != len(s.commands) {
		t.Fatalf("COMMAND COUNT = %s; COMMAND has %d entries, the table %d", got, len(all), len(s.commands))
	}
	seen := map[string]bool{}
	for _, e := range all {
		entry, ok := e.([]any)
		if !ok || len(entry) != 10 {
			t.Fatalf("COMMAND entry %s does not have 10 elements", formatReply(e))
		}
		name := string(entry[0].([]byte))
		cmd := s.commands[name]
		if cmd == nil {
			t.Fatalf("COMMAND lists unknown %q", name)
		}
		seen[name] = true
		if entry[1] != int64(cmd.arity) || entry[3] != int64(cmd.firstKey) || entry[4] != int64(cmd.lastKey) || entry[5] != int64(cmd.keyStep) {
			t.Errorf("%s: entry %s disagrees with the table", name, formatReply(entry))
		}
		specs := entry[8].([]any)
		if (cmd.firstKey > 0 || cmd.keySpecs() != nil) != (len(specs) >= 1) {
			t.Errorf("%s: key specs %s for first key %d", name, formatReply(specs), cmd.firstKey)
		}
		if subs := entry[9].([]any); len(subs) != len(cmd.subcommands) {
			t.Errorf("%s: %d subcommands reported, %d registered", name, len(subs), len(cmd.subcommands))
		}
	}
	if len(seen) != len(s.commands) {
		t.Errorf("COMMAND listed %d distinct commands of %d", len(seen), len(s.commands))
	}

	// Key specs follow first/last/step: MSET's is range lastkey -1 step 2.
	if got, want := c.do("COMMAND", "INFO", "mset"), `[["mset" (integer) -3 [write denyoom] (integer) 1 (integer) -1 (integer) 2 [@write @string @slow] [] [["flags" [RW update] "begin_search" ["type" "index" "spec" ["index" (integer) 1]] "find_keys" ["type" "range" "spec" ["lastkey" (integer) -1 "keystep" (integer) 2 "limit" (integer) 0]]]] []]]`; got != want {
		t.Errorf("COMMAND INFO mset\n got: %s\nwant: %s", got, want)
	}
	if got, want := c.do("COMMAND", "GETKEYSANDFLAGS", "set", "k", "v"), `[["k" [RW update]]]`; got != want {
		t.Errorf("COMMAND GETKEYSANDFLAGS = %s, want %s", got, want)
	}

	// COMMAND LIST has every command and subcommand; COMMAND DOCS nests
	// subcommands under their container.
	list, _ := c.doAny("COMMAND", "LIST").([]any)
	names := map[string]bool{}
	for _, n := range list {
		names[string(n.([]byte))] = true
	}
	for _, want := range []string{"command", "command|docs", "client|kill", "config|set", "cluster|slots", "info", "asking"} {
		if !names[want] {
			t.Errorf("COMMAND LIST lacks %q", want)
		}
	}
	if got := c.do("COMMAND", "LIST", "FILTERBY", "PATTERN", "CLUSTER|K*"); got != `["cluster|keyslot"]` {
		t.Errorf("COMMAND LIST FILTERBY PATTERN = %s", got)
	}
	if got := c.do("COMMAND", "LIST", "FILTERBY", "ACLCAT", "admin"); !strings.Contains(got, `"config|set"`) || strings.Contains(got, `"client|setname"`) {
		t.Errorf("COMMAND LIST FILTERBY ACLCAT admin = %s", got)
	}
	docs, _ := c.doAny("COMMAND", "DOCS").([]any)
	if len(docs) != 2*len(s.commands) {
		t.Fatalf("COMMAND DOCS has %d elements, want %d", len(docs), 2*len(s.commands))
	}
	clientDocs := pairs(t, c.doAny("COMMAND", "DOCS", "client").([]any)[1])
	if g := string(clientDocs["group"].([]byte)); g != "connection" {
		t.Errorf("CLIENT group = %q", g)
	}
	subs := pairs(t, clientDocs["subcommands"])
	setname := pairs(t, subs["client|setname"])
	if got := formatReply(setname["arguments"]); got != `[["name" "connection-name" "type" "string"]]` {
		t.Errorf("client|setname arguments = %s", got)
	}
	if got := c.do("COMMAND", "DOCS", "get"); !strings.Contains(got, `"arguments" [["name" "key" "type" "key" "key_spec_index" (integer) 0]]`) {
		t.Errorf("COMMAND DOCS get = %s", got)
	}
}
