package datanode

import (
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// bothServers runs fn on a fresh DataNode and, where redis-server is
// installed, on a fresh Redis, and returns what each run returned, so that
// a test compares the two.
func bothServers(t *testing.T, fn func(t *testing.T, dial func() *respConn) string) (node, redis string) {
	t.Helper()
	t.Run("datanode", func(t *testing.T) {
		s := startServer(t, nil)
		node = fn(t, func() *respConn { return s.dial(t) })
	})
	t.Run("redis", func(t *testing.T) {
		sock := startRedisSocket(t)
		redis = fn(t, func() *respConn { return dial(t, "unix", sock) })
	})
	return node, redis
}

func TestSlowlogScripts(t *testing.T) {
	scriptTest(t, "errors", []step{
		{"SLOWLOG", "(error) ERR wrong number of arguments for 'slowlog' command"},
		{"SLOWLOG foo", "(error) ERR unknown subcommand 'foo'. Try SLOWLOG HELP."},
		{"SLOWLOG GET -2", "(error) ERR count should be greater than or equal to -1"},
		{"SLOWLOG GET x", "(error) ERR count should be greater than or equal to -1"},
		{"SLOWLOG get 1 2", "(error) ERR unknown subcommand or wrong number of arguments for 'get'. Try SLOWLOG HELP."},
		{"SLOWLOG LEN x", "(error) ERR wrong number of arguments for 'slowlog|len' command"},
		{"SLOWLOG RESET x", "(error) ERR wrong number of arguments for 'slowlog|reset' command"},
		{"CONFIG GET slowlog-log-slower-than", `["slowlog-log-slower-than" "10000"]`},
		{"CONFIG GET slowlog-max-len", `["slowlog-max-len" "128"]`},
		{"CONFIG SET slowlog-log-slower-than -2", "(error) ERR CONFIG SET failed (possibly related to argument 'slowlog-log-slower-than') - argument must be between -1 and 9223372036854775807 inclusive"},
		{"CONFIG SET slowlog-max-len -1", "(error) ERR CONFIG SET failed (possibly related to argument 'slowlog-max-len') - argument must be between 0 and 9223372036854775807 inclusive"},
		{"SLOWLOG RESET", "OK"},
		{"SLOWLOG LEN", "(integer) 0"},
		{"SLOWLOG GET", "[]"},
	})
	scriptTest(t, "help", []step{
		{"SLOWLOG HELP", "[SLOWLOG <subcommand> [<arg> [value] [opt] ...]. Subcommands are: GET [<count>]     Return top <count> entries from the slowlog (default: 10, -1 mean all).     Entries are made of:     id, timestamp, time in microseconds, arguments array, client IP and port,     client name LEN     Return the length of the slowlog. RESET     Reset the slowlog. HELP     Prints this help.]"},
	})
}

// slowlogMask hides what differs from run to run in a SLOWLOG GET reply:
// timestamps, durations and client addresses.
var slowlogMask = regexp.MustCompile(`\[\(integer\) (\d+) \(integer\) \d+ \(integer\) \d+ (\[[^\]]*\]) "[^"]*"`)

// TestSlowlogEntries compares the entries Redis and the DataNode log:
// ids, arguments (trimmed as Redis trims them, passwords redacted) and
// client names.
func TestSlowlogEntries(t *testing.T) {
	long := strings.Repeat("a", 200)
	var many []string
	for i := range 40 {
		many = append(many, "m"+strings.Repeat("x", i%3))
	}
	node, redis := bothServers(t, func(t *testing.T, dial func() *respConn) string {
		c := dial()
		c.do("CONFIG", "SET", "slowlog-log-slower-than", "0")
		c.do("CLIENT", "SETNAME", "obs")
		c.do("SET", "k", "v")
		c.do("CONFIG", "SET", "slowlog-max-len", "4")
		c.do("SET", "k", long)
		c.do(append([]string{"SADD", "s"}, many...)...)
		c.do("AUTH", "secret")
		got := c.do("SLOWLOG", "GET", "-1")
		c.do("CONFIG", "SET", "slowlog-log-slower-than", "-1")
		got += " " + c.do("SLOWLOG", "LEN") + " " + c.do("SLOWLOG", "GET", "1")
		return slowlogMask.ReplaceAllString(got, "[$1 $2")
	})
	if !strings.Contains(node, `a... (72 more bytes)"`) || !strings.Contains(node, `"... (11 more arguments)"`) || !strings.Contains(node, `"(redacted)"`) {
		t.Errorf("entries not trimmed or redacted: %s", node)
	}
	if redis != "" && node != redis {
		t.Errorf("SLOWLOG differs\nnode:  %s\nredis: %s", node, redis)
	}
}

// infoFields returns the lines of INFO section whose field starts with one
// of prefixes, sorted, with the usec figures of commandstats removed.
func infoFields(c *respConn, section string, prefixes ...string) string {
	raw := c.do("INFO", section)
	var out []string
	usec := regexp.MustCompile(`usec=\d+,usec_per_call=[\d.]+,`)
	for _, l := range strings.Split(strings.Trim(raw, `"`), `\r\n`) {
		for _, p := range prefixes {
			if strings.HasPrefix(l, p) {
				out = append(out, usec.ReplaceAllString(l, ""))
			}
		}
	}
	slices.Sort(out)
	return strings.Join(out, "\n")
}

// TestErrorStats compares INFO errorstats, total_error_replies and the
// rejected_calls and failed_calls of INFO commandstats with Redis's, and
// their reset by CONFIG RESETSTAT.
func TestErrorStats(t *testing.T) {
	node, redis := bothServers(t, func(t *testing.T, dial func() *respConn) string {
		c := dial()
		c.do("SET", "a", "1")
		c.do("CONFIG", "RESETSTAT")
		c.do("SET", "a", "x")
		c.do("INCR", "a")
		c.do("LPUSH", "a", "x")
		c.do("NOSUCH")
		c.do("GET")
		c.do("GET", "a")
		c.do("MULTI")
		c.do("LPUSH", "a", "y")
		c.do("EXEC")
		c.do("CONFIG", "GET")
		c.do("CONFIG", "SET", "maxmemory", "abc")
		c.do("CLIENT", "ID")
		before := infoFields(c, "everything", "errorstat_", "total_error_replies", "cmdstat_set:", "cmdstat_get:", "cmdstat_incr:", "cmdstat_lpush:",
			"cmdstat_config|get:", "cmdstat_config|set:", "cmdstat_client|id:", "cmdstat_client:", "cmdstat_config:")
		c.do("CONFIG", "RESETSTAT")
		after := infoFields(c, "everything", "errorstat_", "total_error_replies", "cmdstat_set:", "cmdstat_get:")
		return before + "\n--\n" + after
	})
	want := "cmdstat_client|id:calls=1,rejected_calls=0,failed_calls=0\n" +
		"cmdstat_config|get:calls=0,rejected_calls=1,failed_calls=0\n" +
		"cmdstat_config|set:calls=1,rejected_calls=0,failed_calls=1\n" +
		"cmdstat_get:calls=1,rejected_calls=1,failed_calls=0\n" +
		"cmdstat_incr:calls=1,rejected_calls=0,failed_calls=1\n" +
		"cmdstat_lpush:calls=2,rejected_calls=0,failed_calls=2\n" +
		"cmdstat_set:calls=1,rejected_calls=0,failed_calls=0\n" +
		"errorstat_ERR:count=5\n" +
		"errorstat_WRONGTYPE:count=2\n" +
		"total_error_replies:7\n--\ntotal_error_replies:0"
	if node != want {
		t.Errorf("datanode:\n%s\nwant:\n%s", node, want)
	}
	if redis != "" && redis != want {
		t.Errorf("redis:\n%s\nwant:\n%s", redis, want)
	}
}

func TestLatencyScripts(t *testing.T) {
	scriptTest(t, "errors", []step{
		{"LATENCY", "(error) ERR wrong number of arguments for 'latency' command"},
		{"LATENCY foo", "(error) ERR unknown subcommand 'foo'. Try LATENCY HELP."},
		{"LATENCY HISTORY", "(error) ERR wrong number of arguments for 'latency|history' command"},
		{"LATENCY LATEST", "[]"},
		{"LATENCY HISTORY command", "[]"},
		{"LATENCY RESET", "(integer) 0"},
		{"LATENCY RESET command foo", "(integer) 0"},
		{"CONFIG GET latency-monitor-threshold", `["latency-monitor-threshold" "0"]`},
		{"CONFIG SET latency-monitor-threshold -1", "(error) ERR CONFIG SET failed (possibly related to argument 'latency-monitor-threshold') - argument must be between 0 and 9223372036854775807 inclusive"},
		{"LATENCY DOCTOR", `"I'm sorry, Dave, I can't do that. Latency monitoring is disabled in this Redis instance. You may use \"CONFIG SET latency-monitor-threshold <milliseconds>.\" in order to enable it. If we weren't in a deep space mission I'd suggest to take a look at https://redis.io/topics/latency-monitor.\n"`},
		{"CONFIG SET latency-monitor-threshold 100", "OK"},
		{"LATENCY DOCTOR", `"Dave, no latency spike was observed during the lifetime of this Redis instance, not in the slightest bit. I honestly think you ought to sit down calmly, take a stress pill, and think things over.\n"`},
	})
}

// TestLatencyRecordsCommands makes a command slower than the threshold (a
// busy script) and finds it in LATENCY LATEST, HISTORY and DOCTOR.
func TestLatencyRecordsCommands(t *testing.T) {
	s := startServer(t, nil)
	c := s.dial(t)
	c.do("CONFIG", "SET", "latency-monitor-threshold", "1")
	start := time.Now()
	c.do("EVAL", "local t = redis.call('TIME') local s = t[1]*1000000+t[2] repeat t = redis.call('TIME') until t[1]*1000000+t[2] - s > 3000 return 1", "0")
	if time.Since(start) < 3*time.Millisecond {
		t.Fatal("the script was not slow")
	}
	latest := c.do("LATENCY", "LATEST")
	if !regexp.MustCompile(`^\[\["command" \(integer\) \d+ \(integer\) ([3-9]|\d\d+) \(integer\) ([3-9]|\d\d+)\]\]$`).MatchString(latest) {
		t.Errorf("LATENCY LATEST = %s", latest)
	}
	if h := c.do("LATENCY", "HISTORY", "command"); !strings.HasPrefix(h, "[[(integer) ") {
		t.Errorf("LATENCY HISTORY command = %s", h)
	}
	doctor := c.do("LATENCY", "DOCTOR")
	for _, want := range []string{
		"Dave, I have observed latency spikes in this Redis instance.",
		`1. command: 1 latency spikes (average `,
		"- Your current Slow Log configuration only logs events that are slower than your configured latency monitor threshold. Please use 'CONFIG SET slowlog-log-slower-than 1000'.",
	} {
		if !strings.Contains(doctor, want) {
			t.Errorf("LATENCY DOCTOR lacks %q:\n%s", want, doctor)
		}
	}
	if got := c.do("LATENCY", "RESET"); got != "(integer) 1" {
		t.Errorf("LATENCY RESET = %s", got)
	}
}

// monitorMask hides the time and the client address of MONITOR lines
// (but not "[0 lua]").
var monitorMask = regexp.MustCompile(`^\d+\.\d{6} \[0 (lua|[^\]]+)\]`)

// readMonitor reads n MONITOR lines from m, masked.
func readMonitor(t *testing.T, m *respConn, n int) []string {
	t.Helper()
	var lines []string
	for range n {
		l := m.reply()
		lines = append(lines, monitorMask.ReplaceAllStringFunc(l, func(s string) string {
			if strings.HasSuffix(s, "[0 lua]") {
				return "[lua]"
			}
			return "[client]"
		}))
	}
	return lines
}

// TestMonitor compares what a monitor sees with Redis: the order of the
// commands of a transaction and of a script, the quoting of arguments,
// the commands not shown (administrative, refused) and redaction.
func TestMonitor(t *testing.T) {
	node, redis := bothServers(t, func(t *testing.T, dial func() *respConn) string {
		m := dial()
		if got := m.do("MONITOR"); got != "OK" {
			t.Fatalf("MONITOR = %s", got)
		}
		c := dial()
		c.do("SET", "k", "a\"b\\c\r\n\t\x01\xff é")
		c.do("CONFIG", "GET", "maxmemory") // admin: not shown
		c.do("GET")                        // refused: not shown
		c.do("MULTI")
		c.do("SET", "a", "1")
		c.do("INCR", "a")
		c.do("EXEC")
		c.do("EVAL", "redis.call('set', KEYS[1], 'x') return redis.call('get', KEYS[1])", "1", "b")
		c.do("AUTH", "secret")
		c.do("LPUSH", "k", "x") // runs, fails: shown
		lines := readMonitor(t, m, 10)
		if got := m.do("GET", "k"); got != "(error) ERR Replica can't interact with the keyspace" {
			t.Errorf("monitor's GET = %s", got)
		}
		return strings.Join(lines, "\n")
	})
	want := strings.Join([]string{
		`[client] "SET" "k" "a\"b\\c\r\n\t\x01\xff \xc3\xa9"`,
		`[client] "MULTI"`,
		`[client] "SET" "a" "1"`,
		`[client] "INCR" "a"`,
		`[client] "EXEC"`,
		`[client] "EVAL" "redis.call('set', KEYS[1], 'x') return redis.call('get', KEYS[1])" "1" "b"`,
		`[lua] "set" "b" "x"`,
		`[lua] "get" "b"`,
		`[client] "AUTH" "(redacted)"`,
		`[client] "LPUSH" "k" "x"`,
	}, "\n")
	if node != want {
		t.Errorf("MONITOR on the DataNode:\n%s\nwant:\n%s", node, want)
	}
	if redis != "" && node != redis {
		t.Errorf("MONITOR differs\nnode:\n%s\nredis:\n%s", node, redis)
	}
}

// TestMonitorSlowIsDisconnected gives a monitor that never reads more
// output than client-output-buffer-limit normal allows: it is
// disconnected, and the server goes on serving the writer.
func TestMonitorSlowIsDisconnected(t *testing.T) {
	for _, model := range []string{IOModelGoroutine, IOModelEpoll} {
		t.Run(model, func(t *testing.T) {
			if model == IOModelEpoll && !epollSupported {
				t.Skip("no epoll")
			}
			s := startServer(t, func(cfg *Config) {
				cfg.IOModel = model
				cfg.Settings.OutputBufferLimits.Normal = outputBufferLimit{Hard: 1 << 20}
			})
			m, c := s.dial(t), s.dial(t)
			if got := m.do("MONITOR"); got != "OK" {
				t.Fatalf("MONITOR = %s", got)
			}
			// m never reads again. Each SET queues ~64 KiB for it; the
			// socket buffers take some megabytes, then its limit is hit.
			value := strings.Repeat("v", 64<<10)
			monitors := func() int { return strings.Count(c.do("CLIENT", "LIST"), " flags=O ") }
			for i := 0; monitors() == 1; i++ {
				if i > 10000 {
					t.Fatal("the monitor was never disconnected")
				}
				if got := c.do("SET", "k", value); got != "OK" {
					t.Fatalf("SET = %s", got)
				}
			}
			if _, err := m.readUntilClosed(10 * time.Second); err != nil {
				t.Errorf("the monitor's connection was not closed: %v", err)
			}
			if got := s.monitors.n.Load(); got != 0 {
				t.Errorf("%d monitors left", got)
			}
		})
	}
}

// TestMonitorConcurrent runs writers while monitors come and go, for the
// race detector, and checks that a monitor sees each writer's commands in
// the order it sent them.
func TestMonitorConcurrent(t *testing.T) {
	s := startServer(t, nil)
	m := s.dial(t)
	m.do("MONITOR")
	const writers, each = 4, 50
	done := make(chan struct{})
	for w := range writers {
		c := s.dial(t)
		go func() {
			defer func() { done <- struct{}{} }()
			for i := range each {
				c.send("SET", "k"+strconv.Itoa(w), strconv.Itoa(i))
				if _, err := readReply(c.r); err != nil {
					return
				}
			}
		}()
	}
	churn := s.dial(t)
	for range 5 {
		churn.do("MONITOR")
		churn.do("RESET")
	}
	for range writers {
		<-done
	}
	next := make([]int, writers)
	re := regexp.MustCompile(`"SET" "k(\d)" "(\d+)"$`)
	for seen := 0; seen < writers*each; {
		l := m.reply()
		if strings.HasSuffix(l, `"RESET"`) {
			continue
		}
		g := re.FindStringSubmatch(l)
		if g == nil {
			t.Fatalf("unexpected monitor line %q", l)
		}
		seen++
		w, _ := strconv.Atoi(g[1])
		i, _ := strconv.Atoi(g[2])
		if i != next[w] {
			t.Fatalf("writer %d: saw value %d, want %d", w, i, next[w])
		}
		next[w]++
	}
}

// clientFields returns the field names of a CLIENT INFO reply and its
// flags.
func clientFields(info string) (names []string, flags string) {
	for _, f := range strings.Fields(strings.Trim(info, `"\n`)) {
		k, v, _ := strings.Cut(f, "=")
		names = append(names, k)
		if k == "flags" {
			flags = v
		}
	}
	return names, flags
}

// TestMonitorClientInfo compares a monitor's CLIENT INFO with Redis's: the
// fields (Redis 7.0's, then the lib-name and lib-ver of 7.2, which CHKV
// adds for CLIENT SETINFO) and the O flag; the command is then shown to
// the monitor itself.
func TestMonitorClientInfo(t *testing.T) {
	node, redis := bothServers(t, func(t *testing.T, dial func() *respConn) string {
		m := dial()
		m.do("MONITOR")
		names, flags := clientFields(m.reply2("CLIENT", "INFO"))
		line := readMonitor(t, m, 1)[0]
		return strings.Join(names, " ") + " | " + strings.TrimSuffix(flags, "U") + " | " + line
	})
	want := "id addr laddr fd name age idle flags db sub psub ssub multi qbuf qbuf-free argv-mem multi-mem rbs rbp obl oll omem tot-mem events cmd user redir resp"
	if node != want+` lib-name lib-ver | O | [client] "CLIENT" "INFO"` {
		t.Errorf("datanode: %s", node)
	}
	if redis != "" && redis != want+` | O | [client] "CLIENT" "INFO"` {
		t.Errorf("redis: %s", redis)
	}
}

// reply2 sends a command and returns its reply's text.
func (c *respConn) reply2(args ...string) string {
	c.t.Helper()
	c.send(args...)
	c.conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	v, err := readReply(c.r)
	if err != nil {
		c.t.Fatalf("read reply: %v", err)
	}
	b, _ := v.([]byte)
	return string(b)
}

// TestErrorStatsScripts: an error reply of redis.call counts once, when
// its command ran, not again as the script's reply; an error the script
// makes itself counts as the script's reply.
func TestErrorStatsScripts(t *testing.T) {
	node, redis := bothServers(t, func(t *testing.T, dial func() *respConn) string {
		c := dial()
		c.do("SET", "a", "x")
		c.do("CONFIG", "RESETSTAT")
		c.do("EVAL", "return redis.call('incr','a')", "0")
		c.do("EVAL", "return redis.pcall('incr','a')", "0")
		c.do("EVAL", "return redis.error_reply('MY err')", "0")
		return infoFields(c, "everything", "errorstat_", "total_error_replies", "cmdstat_eval:", "cmdstat_incr:")
	})
	want := "cmdstat_eval:calls=3,rejected_calls=0,failed_calls=3\n" +
		"cmdstat_incr:calls=2,rejected_calls=0,failed_calls=2\n" +
		"errorstat_ERR:count=2\nerrorstat_MY:count=1\ntotal_error_replies:3"
	if node != want {
		t.Errorf("datanode:\n%s\nwant:\n%s", node, want)
	}
	if redis != "" && redis != want {
		t.Errorf("redis:\n%s\nwant:\n%s", redis, want)
	}
}

func TestMonitorScripts(t *testing.T) {
	scriptTest(t, "refused", []step{
		{"MONITOR x", "(error) ERR wrong number of arguments for 'monitor' command"},
		{"MULTI", "OK"},
		{"MONITOR", "QUEUED"},
		{"EXEC", "[(error) ERR MONITOR isn't allowed for DENY BLOCKING client]"},
		{"EVAL \"return redis.call('monitor')\" 0", "*"},
		{"EVAL \"return redis.pcall('monitor')\" 0", "(error) ERR This Redis command is not allowed from script"},
	})
}
