package datanode

import (
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestAdminScripts(t *testing.T) {
	scriptTest(t, "keyspace", []step{
		{"DBSIZE", "(integer) 0"},
		{"DBSIZE x", "(error) ERR wrong number of arguments for 'dbsize' command"},
		{"SET a 1", "OK"},
		{"SET b 2", "OK"},
		{"DBSIZE", "(integer) 2"},
		{"FLUSHDB foo", "(error) ERR syntax error"},
		{"FLUSHDB async sync", "(error) ERR syntax error"},
		{"DBSIZE", "(integer) 2"},
		{"FLUSHDB ASYNC", "OK"},
		{"DBSIZE", "(integer) 0"},
		{"SET a 1", "OK"},
		{"FLUSHALL sync async", "(error) ERR syntax error"},
		{"FLUSHALL SYNC", "OK"},
		{"GET a", "(nil)"},
		{"FLUSHALL", "OK"},
		{"FLUSHDB", "OK"},
		{"TIME x", "(error) ERR wrong number of arguments for 'time' command"},
		{"LASTSAVE x", "(error) ERR wrong number of arguments for 'lastsave' command"},
		{"INFO nosuchsection", `""`},
		{"INFO nosuch other", `""`},
	})
	scriptTest(t, "info-sections", []step{
		{"INFO cluster", `"# Cluster\r\ncluster_enabled:0\r\n"`},
		{"INFO KEYSPACE Cluster", `"# Cluster\r\ncluster_enabled:0\r\n\r\n# Keyspace\r\n"`},
		{"INFO modules", `"# Modules\r\n"`},
	})
}

func TestTime(t *testing.T) {
	s := startServer(t, nil)
	c := s.dial(t)
	before := time.Now()
	v, ok := c.doAny("TIME").([]any)
	after := time.Now()
	if !ok || len(v) != 2 {
		t.Fatalf("TIME = %s", formatReply(v))
	}
	sec, err1 := strconv.ParseInt(string(v[0].([]byte)), 10, 64)
	usec, err2 := strconv.ParseInt(string(v[1].([]byte)), 10, 64)
	if err1 != nil || err2 != nil || usec < 0 || usec > 999999 {
		t.Fatalf("TIME = %s", formatReply(v))
	}
	got := time.Unix(sec, usec*1000)
	if got.Before(before.Truncate(time.Microsecond)) || got.After(after) {
		t.Errorf("TIME = %v, outside [%v, %v]", got, before, after)
	}
	if got, want := c.do("LASTSAVE"), "(integer) "+strconv.FormatInt(s.started.Unix(), 10); got != want {
		t.Errorf("LASTSAVE = %s, want %s", got, want)
	}
}

// parseInfo splits INFO text into its sections' fields, checking Redis's
// layout: "# Title" headings, "field:value" lines, CRLF line ends and one
// blank line between sections.
func parseInfo(t testing.TB, text string) (titles []string, fields map[string]string) {
	t.Helper()
	fields = map[string]string{}
	if text == "" {
		return nil, fields
	}
	if !strings.HasSuffix(text, "\r\n") || strings.HasSuffix(text, "\r\n\r\n") {
		t.Fatalf("INFO text does not end in exactly one CRLF: %q", text[max(len(text)-40, 0):])
	}
	for i, sec := range strings.Split(strings.TrimSuffix(text, "\r\n"), "\r\n\r\n") {
		lines := strings.Split(sec, "\r\n")
		if !strings.HasPrefix(lines[0], "# ") {
			t.Fatalf("section %d starts with %q", i, lines[0])
		}
		titles = append(titles, lines[0][2:])
		for _, l := range lines[1:] {
			k, v, ok := strings.Cut(l, ":")
			if !ok || k == "" || strings.ContainsAny(l, "\r\n") {
				t.Fatalf("bad INFO line %q in %s", l, lines[0])
			}
			if _, dup := fields[k]; dup {
				t.Fatalf("INFO field %q repeated", k)
			}
			fields[k] = v
		}
	}
	return titles, fields
}

func (c *respConn) info(sections ...string) string {
	c.t.Helper()
	v, ok := c.doAny(append([]string{"INFO"}, sections...)...).([]byte)
	if !ok {
		c.t.Fatalf("INFO %v did not reply with a bulk string", sections)
	}
	return string(v)
}

func TestInfo(t *testing.T) {
	s := startServer(t, nil)
	c := s.dial(t)
	titles, f := parseInfo(t, c.info())
	if got, want := strings.Join(titles, ","), "Server,Clients,Memory,Persistence,Stats,Replication,CPU,Modules,Errorstats,Cluster,Keyspace"; got != want {
		t.Errorf("INFO sections = %s, want %s", got, want)
	}
	if all, _ := parseInfo(t, c.info("all")); strings.Join(all, ",") != "Server,Clients,Memory,Persistence,Stats,Replication,CPU,Modules,Commandstats,Errorstats,Latencystats,Cluster,Keyspace" {
		t.Errorf("INFO all sections = %v", all)
	}
	if ev, _ := parseInfo(t, c.info("everything")); len(ev) != len(infoSections) {
		t.Errorf("INFO everything sections = %v", ev)
	}
	if d, _ := parseInfo(t, c.info("default")); strings.Join(d, ",") != strings.Join(titles, ",") {
		t.Errorf("INFO default sections = %v", d)
	}
	if two, _ := parseInfo(t, c.info("stats", "SERVER", "server")); strings.Join(two, ",") != "Server,Stats" {
		t.Errorf("INFO stats SERVER server sections = %v", two)
	}

	want := map[string]string{
		"redis_version":        redisVersion,
		"redis_mode":           "standalone",
		"arch_bits":            strconv.Itoa(strconv.IntSize),
		"process_id":           strconv.Itoa(os.Getpid()),
		"tcp_port":             strconv.Itoa(s.listenPort()),
		"chkv_node_id":         s.ID(),
		"connected_clients":    "1",
		"maxclients":           "10000",
		"maxmemory":            "0",
		"maxmemory_human":      "0B",
		"maxmemory_policy":     "noeviction",
		"role":                 "master",
		"cluster_enabled":      "0",
		"loading":              "0",
		"rejected_connections": "0",
	}
	for k, v := range want {
		if f[k] != v {
			t.Errorf("INFO %s = %q, want %q", k, f[k], v)
		}
	}
	numeric := regexp.MustCompile(`^-?\d+$`)
	for _, k := range []string{"uptime_in_seconds", "uptime_in_days", "used_memory", "used_memory_rss", "used_memory_peak",
		"total_connections_received", "total_commands_processed", "instantaneous_ops_per_sec", "expired_keys",
		"evicted_keys", "keyspace_hits", "keyspace_misses", "total_net_input_bytes", "total_net_output_bytes"} {
		if !numeric.MatchString(f[k]) {
			t.Errorf("INFO %s = %q, want an integer", k, f[k])
		}
	}
	if !regexp.MustCompile(`^\d+(\.\d\d)?[BKMGTP]$`).MatchString(f["used_memory_human"]) {
		t.Errorf("used_memory_human = %q", f["used_memory_human"])
	}
	if !regexp.MustCompile(`^\d+\.\d{6}$`).MatchString(f["used_cpu_user"]) {
		t.Errorf("used_cpu_user = %q", f["used_cpu_user"])
	}
	if !regexp.MustCompile(`^[0-9a-f]{40}$`).MatchString(f["run_id"]) {
		t.Errorf("run_id = %q", f["run_id"])
	}
	if _, ok := f["db0"]; ok {
		t.Errorf("empty keyspace reported as db0:%s", f["db0"])
	}

	// Counters move, and the keyspace line appears once there are keys.
	before, _ := strconv.Atoi(f["total_commands_processed"])
	c.do("SET", "a", "1")
	c.do("SET", "b", "2", "EX", "100")
	c.do("SET", "c", "3", "PX", "100000")
	_, f = parseInfo(t, c.info())
	if after, _ := strconv.Atoi(f["total_commands_processed"]); after < before+4 {
		t.Errorf("total_commands_processed went from %d to %d over 4 commands", before, after)
	}
	if got := f["db0"]; got != "keys=3,expires=2,avg_ttl=0" {
		t.Errorf("db0 = %q", got)
	}
	if got := c.info("keyspace"); got != "# Keyspace\r\ndb0:keys=3,expires=2,avg_ttl=0\r\n" {
		t.Errorf("INFO keyspace = %q", got)
	}
	s.dial(t).do("PING")
	_, f = parseInfo(t, c.info("clients", "stats"))
	if f["connected_clients"] != "2" {
		t.Errorf("connected_clients = %s with 2 connections", f["connected_clients"])
	}
	if n, _ := strconv.Atoi(f["total_connections_received"]); n < 2 {
		t.Errorf("total_connections_received = %d", n)
	}

	// CONFIG RESETSTAT zeroes the counters.
	if got := c.do("CONFIG", "RESETSTAT"); got != "OK" {
		t.Fatalf("CONFIG RESETSTAT = %s", got)
	}
	_, f = parseInfo(t, c.info("stats"))
	for _, k := range []string{"total_connections_received", "expired_keys", "evicted_keys", "keyspace_hits", "keyspace_misses"} {
		if f[k] != "0" {
			t.Errorf("after CONFIG RESETSTAT %s = %s", k, f[k])
		}
	}
	if n, _ := strconv.Atoi(f["total_commands_processed"]); n > 2 {
		t.Errorf("after CONFIG RESETSTAT total_commands_processed = %d", n)
	}
}

func TestInfoClusterMode(t *testing.T) {
	s := startClusterNode(t, startFakeNameNode(t), "dn-info")
	_, f := parseInfo(t, s.dial(t).info("cluster", "server"))
	if f["cluster_enabled"] != "1" || f["redis_mode"] != "cluster" {
		t.Errorf("with NameNodes: cluster_enabled=%s redis_mode=%s", f["cluster_enabled"], f["redis_mode"])
	}
}

func TestBytesToHuman(t *testing.T) {
	for n, want := range map[int64]string{
		0: "0B", 1023: "1023B", 1024: "1.00K", 990640: "967.42K", 6885376: "6.57M",
		25276514304: "23.54G", 1 << 40: "1.00T", 1 << 50: "1.00P", 1 << 60: "1024.00P",
	} {
		if got := bytesToHuman(n); got != want {
			t.Errorf("bytesToHuman(%d) = %q, want %q", n, got, want)
		}
	}
}
