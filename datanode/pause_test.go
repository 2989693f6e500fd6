package datanode

import (
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chkv/chkv/helper/testutil"
)

func TestClientPauseScripts(t *testing.T) {
	scriptTest(t, "errors", []step{
		{"CLIENT PAUSE", "(error) ERR wrong number of arguments for 'client|pause' command"},
		{"CLIENT PAUSE x", "(error) ERR timeout is not an integer or out of range"},
		{"CLIENT PAUSE -1", "(error) ERR timeout is negative"},
		{"CLIENT PAUSE 10 foo", "(error) ERR CLIENT PAUSE mode must be WRITE or ALL"},
		{"CLIENT pause 10 write x", "(error) ERR unknown subcommand or wrong number of arguments for 'pause'. Try CLIENT HELP."},
		{"CLIENT UNPAUSE x", "(error) ERR wrong number of arguments for 'client|unpause' command"},
		{"CLIENT UNPAUSE", "OK"},
		{"CLIENT NO-EVICT", "(error) ERR wrong number of arguments for 'client|no-evict' command"},
		{"CLIENT NO-EVICT maybe", "(error) ERR syntax error"},
		{"CLIENT NO-EVICT on", "OK"},
		{"CLIENT NO-EVICT OFF", "OK"},
	})
}

// clientFlags returns the flags field of CLIENT INFO.
func clientFlags(c *respConn) string {
	m := regexp.MustCompile(` flags=(\S+) `).FindStringSubmatch(c.do("CLIENT", "INFO"))
	if m == nil {
		return ""
	}
	return m[1]
}

// TestClientNoEvictFlag checks the 'e' flag of CLIENT INFO, on the
// DataNode and on Redis.
func TestClientNoEvictFlag(t *testing.T) {
	node, redis := bothServers(t, func(t *testing.T, dial func() *respConn) string {
		c := dial()
		c.do("CLIENT", "NO-EVICT", "on")
		on := clientFlags(c)
		c.do("CLIENT", "NO-EVICT", "off")
		return on + " " + clientFlags(c)
	})
	if node != "e N" {
		t.Errorf("flags with NO-EVICT on, off: %q", node)
	}
	if redis != "" && redis != "Ue U" {
		t.Errorf("redis: flags with NO-EVICT on, off: %q", redis)
	}
}

// waitPaused waits until CLIENT LIST shows n clients blocked (paused).
func waitPaused(t *testing.T, admin *respConn, n int) {
	t.Helper()
	re := regexp.MustCompile(` flags=[A-Za-z]*b`)
	testutil.Eventually(t, 10*time.Second, "paused clients", func() bool {
		return len(re.FindAllString(admin.do("CLIENT", "LIST"), -1)) == n
	})
}

// TestClientPauseWrite pauses writes: reads, EVAL_RO and MULTI go on,
// writes, EVAL and an EXEC with writes wait, without holding any lock,
// until CLIENT UNPAUSE, even when every client shares one event loop.
func TestClientPauseWrite(t *testing.T) {
	for _, model := range []string{IOModelGoroutine, IOModelEpoll} {
		t.Run(model, func(t *testing.T) {
			if model == IOModelEpoll && !epollSupported {
				t.Skip("no epoll")
			}
			s := startServer(t, func(cfg *Config) { cfg.IOModel = model; cfg.EventLoops = 1 })
			admin, w, e, x, r := s.dial(t), s.dial(t), s.dial(t), s.dial(t), s.dial(t)
			r.do("SET", "k", "old")
			if got := admin.do("CLIENT", "PAUSE", "60000", "WRITE"); got != "OK" {
				t.Fatalf("CLIENT PAUSE = %s", got)
			}
			w.send("SET", "k", "new")
			e.send("EVAL", "return redis.call('incr', 'n')", "0")
			if got := x.do("MULTI"); got != "OK" {
				t.Fatalf("MULTI = %s", got)
			}
			x.send("SET", "k", "tx")
			waitPaused(t, admin, 3)
			for _, st := range []step{
				{"GET k", `"old"`},
				{"EVAL_RO \"return redis.call('get', 'k')\" 0", `"old"`},
				{"PING", "PONG"},
			} {
				if got := r.do(splitArgs(t, st.cmd)...); got != st.want {
					t.Errorf("%s while writes are paused = %s, want %s", st.cmd, got, st.want)
				}
			}
			if got := admin.do("CLIENT", "UNPAUSE"); got != "OK" {
				t.Fatalf("CLIENT UNPAUSE = %s", got)
			}
			if got := w.reply(); got != "OK" {
				t.Errorf("paused SET = %s", got)
			}
			if got := e.reply(); got != "(integer) 1" {
				t.Errorf("paused EVAL = %s", got)
			}
			if got := x.reply(); got != "QUEUED" {
				t.Errorf("paused queued SET = %s", got)
			}
			if got := x.do("EXEC"); got != "[OK]" {
				t.Errorf("EXEC = %s", got)
			}
			if got := r.do("GET", "k"); got != `"tx"` {
				t.Errorf("GET after the pause = %s", got)
			}
		})
	}
}

// TestClientPauseTimeout pauses every command for a while: a PING waits
// until the pause's timeout, and CLIENT UNPAUSE from another client waits
// too, as in Redis 7.0.
func TestClientPauseTimeout(t *testing.T) {
	s := startServer(t, nil)
	admin, c := s.dial(t), s.dial(t)
	const pause = 300 * time.Millisecond
	start := time.Now()
	if got := admin.do("CLIENT", "PAUSE", "300", "ALL"); got != "OK" {
		t.Fatalf("CLIENT PAUSE = %s", got)
	}
	if got := c.do("PING"); got != "PONG" {
		t.Errorf("PING = %s", got)
	}
	if d := time.Since(start); d < pause {
		t.Errorf("PING answered after %v, before the pause of %v ended", d, pause)
	}
	// A new pause, ended by its timer though CLIENT UNPAUSE is sent: the
	// UNPAUSE itself waits.
	start = time.Now()
	admin.do("CLIENT", "PAUSE", "300")
	if got := c.do("CLIENT", "UNPAUSE"); got != "OK" {
		t.Errorf("CLIENT UNPAUSE = %s", got)
	}
	if d := time.Since(start); d < pause {
		t.Errorf("CLIENT UNPAUSE answered after %v, during an ALL pause of %v", d, pause)
	}
}

// TestClientPauseDisconnect closes a paused client: the pause forgets it.
func TestClientPauseDisconnect(t *testing.T) {
	s := startServer(t, nil)
	admin, c := s.dial(t), s.dial(t)
	admin.do("CLIENT", "PAUSE", "60000", "WRITE")
	c.send("SET", "k", "v")
	waitPaused(t, admin, 1)
	c.conn.Close()
	testutil.Eventually(t, 10*time.Second, "the paused client to go", func() bool {
		s.pause.mu.Lock()
		defer s.pause.mu.Unlock()
		return len(s.pause.waiting) == 0
	})
	admin.do("CLIENT", "UNPAUSE")
	if got := admin.do("EXISTS", "k"); got != "(integer) 0" {
		t.Errorf("EXISTS k = %s: the closed client's SET ran", got)
	}
	if !strings.Contains(admin.do("CLIENT", "INFO"), "flags=N ") {
		t.Errorf("admin flags: %s", admin.do("CLIENT", "INFO"))
	}
}

// TestClientPauseHTTPClient pauses a write of the HTTP API, whose client
// has no connection: its request waits until CLIENT UNPAUSE.
func TestClientPauseHTTPClient(t *testing.T) {
	s := startServer(t, nil)
	admin := s.dial(t)
	admin.do("CLIENT", "PAUSE", "60000", "WRITE")
	reply := make(chan string, 1)
	go func() { reply <- string(kvBackend{s}.Do([]byte("SET"), []byte("k"), []byte("v"))) }()
	if got := string(kvBackend{s}.Do([]byte("GET"), []byte("k"))); got != "$-1\r\n" {
		t.Errorf("GET during the pause = %q", got)
	}
	select {
	case got := <-reply:
		t.Fatalf("SET answered %q during the pause", got)
	default:
	}
	admin.do("CLIENT", "UNPAUSE")
	select {
	case got := <-reply:
		if got != "+OK\r\n" {
			t.Errorf("SET after the pause = %q", got)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the paused SET never ran")
	}
}
