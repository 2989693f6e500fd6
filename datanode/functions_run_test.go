package datanode

import (
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chkv/chkv/helper/testutil"
)

// TestFunctionKill stops a runaway function with FUNCTION KILL: meanwhile
// other clients get the BUSY naming FUNCTION KILL, FUNCTION STATS shows
// the function, SCRIPT KILL refuses to kill it, and afterwards the node
// serves again. Replies as redis-server 7.0 gives them.
func TestFunctionKill(t *testing.T) {
	s := startServer(t, func(cfg *Config) { cfg.IOModel = IOModelGoroutine })
	admin := s.dial(t)
	if got := admin.do("CONFIG", "SET", "busy-reply-threshold", "50"); got != "OK" {
		t.Fatal(got)
	}
	if got := admin.do("FUNCTION", "LOAD", "#!lua name=spin\nredis.register_function('spin', function(k, a)\n  local i = 0\n  while true do i = i + 1 end\nend)"); got != `"spin"` {
		t.Fatal(got)
	}
	if got := admin.do("FUNCTION", "KILL"); got != "(error) "+errNotBusy {
		t.Fatalf("FUNCTION KILL idle: %s", got)
	}
	runaway := s.dial(t)
	runaway.send("FCALL", "spin", "0")
	testutil.Eventually(t, 10*time.Second, "BUSY while the function runs", func() bool {
		return admin.do("PING") == "(error) "+errBusyFunction
	})
	stats := admin.do("FUNCTION", "STATS")
	if want := `["running_script" ["name" "spin" "command" ["FCALL" "spin" "0"] "duration_ms" (integer) `; !strings.HasPrefix(stats, want) ||
		!strings.HasSuffix(stats, `] "engines" ["LUA" ["libraries_count" (integer) 1 "functions_count" (integer) 1]]]`) {
		t.Errorf("FUNCTION STATS = %s", stats)
	}
	for _, cmd := range [][]string{{"SCRIPT", "KILL"}, {"EVAL", "return 1", "0"}} {
		if got := admin.do(cmd...); got != "(error) "+errBusyFunction {
			t.Errorf("%v while a function runs = %s", cmd, got)
		}
	}
	if got := admin.do("FUNCTION", "KILL"); got != "OK" {
		t.Fatalf("FUNCTION KILL: %s", got)
	}
	if got, want := runaway.reply(), "(error) ERR Script killed by user with SCRIPT KILL... script: spin, on @user_function:4."; got != want {
		t.Fatalf("killed function's reply: %s, want %s", got, want)
	}
	if got := admin.do("FUNCTION", "STATS"); got != `["running_script" (nil) "engines" ["LUA" ["libraries_count" (integer) 1 "functions_count" (integer) 1]]]` {
		t.Errorf("FUNCTION STATS after the kill = %s", got)
	}

	// A slow EVAL: FUNCTION KILL and FUNCTION STATS refuse.
	runaway.send("EVAL", "while true do end", "0")
	testutil.Eventually(t, 10*time.Second, "BUSY while the script runs", func() bool {
		return admin.do("PING") == "(error) "+errBusyScript
	})
	for _, sub := range []string{"KILL", "STATS"} {
		if got := admin.do("FUNCTION", sub); got != "(error) "+errBusyScript {
			t.Errorf("FUNCTION %s while EVAL runs = %s", sub, got)
		}
	}
	if got := admin.do("SCRIPT", "KILL"); got != "OK" {
		t.Fatalf("SCRIPT KILL: %s", got)
	}
	runaway.reply()
	if got := admin.do("PING"); got != "PONG" {
		t.Fatalf("after the kills: %s", got)
	}
}

// TestFunctionSharedStateConcurrent calls one function from many clients
// with keys of different slots: the library's top-level local is shared
// by every call (one Lua state, as Redis's), and the calls, serialized on
// it, lose no increment. Run with -race.
func TestFunctionSharedStateConcurrent(t *testing.T) {
	s := startServer(t, nil)
	c := s.dial(t)
	if got := c.do("FUNCTION", "LOAD", "#!lua name=cnt\nlocal n = 0\nredis.register_function('bump', function(k, a) n = n + 1 redis.call('incr', k[1]) return n end)"); got != `"cnt"` {
		t.Fatal(got)
	}
	const clients, perClient = 6, 150
	var wg sync.WaitGroup
	for i := range clients {
		cc := s.dial(t)
		key := string(rune('a' + i))
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range perClient {
				cc.send("FCALL", "bump", "1", key)
			}
			for range perClient {
				if got := cc.reply(); strings.HasPrefix(got, "(error)") {
					t.Errorf("FCALL: %s", got)
					return
				}
			}
		}()
	}
	wg.Wait()
	if got, want := c.do("FCALL", "bump", "1", "z"), "(integer) 901"; got != want {
		t.Fatalf("shared counter = %s, want %s", got, want)
	}
	if got := c.do("GET", "c"); got != `"150"` {
		t.Fatalf("GET c = %s", got)
	}
}

// TestFunctionUndeclaredKeyNoDeadlock runs functions that touch an
// undeclared key whose slot other callers hold while they wait for the
// functions' Lua state: the function is refused (it never waits for the
// slot), and nothing deadlocks.
func TestFunctionUndeclaredKeyNoDeadlock(t *testing.T) {
	s := startServer(t, nil)
	c := s.dial(t)
	if got := c.do("FUNCTION", "LOAD", "#!lua name=x\nredis.register_function('cross', function(k, a) redis.call('incr', a[1]) return redis.call('incr', k[1]) end)"); got != `"x"` {
		t.Fatal(got)
	}
	const clients, rounds = 4, 100
	var wg sync.WaitGroup
	for range clients {
		cc := s.dial(t)
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range rounds {
				cc.send("FCALL", "cross", "1", "lo", "hi")
				cc.send("FCALL", "cross", "1", "hi", "lo")
			}
			for range 2 * rounds {
				if got := cc.reply(); strings.HasPrefix(got, "(error)") && !strings.Contains(got, errUndeclaredBusy) {
					t.Errorf("FCALL: %s", got)
				}
			}
		}()
	}
	wg.Wait()
	if lo, hi := c.do("GET", "lo"), c.do("GET", "hi"); lo != hi {
		t.Fatalf("lo = %s, hi = %s: a refused call changed one of them", lo, hi)
	}
}
