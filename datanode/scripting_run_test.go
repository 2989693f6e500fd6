package datanode

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// TestScriptAtomicIncrement runs a read-modify-write script from many
// clients at once: without the script's slot held for its whole run the
// GET and SET of different clients would interleave and lose increments.
func TestScriptAtomicIncrement(t *testing.T) {
	s := startServer(t, nil)
	const clients, perClient = 8, 200
	script := `local v = tonumber(redis.call('get', KEYS[1]) or '0'); redis.call('set', KEYS[1], v + 1); return v + 1`
	var wg sync.WaitGroup
	for range clients {
		c := s.dial(t)
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range perClient {
				c.send("EVAL", script, "1", "counter")
			}
			for range perClient {
				if got := c.reply(); strings.HasPrefix(got, "(error)") {
					t.Errorf("EVAL: %s", got)
					return
				}
			}
		}()
	}
	// A keyless script holds every slot: it is atomic too.
	c := s.dial(t)
	for range 50 {
		c.do("EVAL", "local v = tonumber(redis.call('get','counter') or '0'); redis.call('set','counter', v + 1)", "0")
	}
	wg.Wait()
	if got, want := c.do("GET", "counter"), `"1650"`; got != want {
		t.Fatalf("counter = %s, want %s", got, want)
	}
}

// TestScriptUndeclaredKey checks that a standalone script may touch keys
// it did not declare, and stays atomic on them: one script declares "lo"
// (slot 4878) and increments "hi" (slot 16140) too, waiting for it as it
// is above; the other declares "hi" and increments "lo", below, which it
// gets only if free, else it is refused before changing anything. So "lo"
// and "hi" always move together.
func TestScriptUndeclaredKey(t *testing.T) {
	s := startServer(t, nil)
	const clients, rounds = 4, 100
	var wg sync.WaitGroup
	var refused atomic.Int64
	for range clients {
		cc := s.dial(t)
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range rounds {
				cc.send("EVAL", "redis.call('incr','hi'); return redis.call('incr', KEYS[1])", "1", "lo")
				cc.send("EVAL", "redis.call('incr','lo'); return redis.call('incr', KEYS[1])", "1", "hi")
			}
			for range 2 * rounds {
				got := cc.reply()
				if strings.Contains(got, errUndeclaredBusy) {
					refused.Add(1)
				} else if strings.HasPrefix(got, "(error)") {
					t.Errorf("EVAL: %s", got)
				}
			}
		}()
	}
	wg.Wait()
	c := s.dial(t)
	want := 2*clients*rounds - refused.Load()
	if got, w := c.do("MGET", "lo", "hi"), fmt.Sprintf(`["%d" "%d"]`, want, want); got != w {
		t.Fatalf("MGET lo hi = %s, want %s (%d refused)", got, w, refused.Load())
	}
	if got := c.do("EVAL", "return redis.call('get','{a}x')", "1", "a"); got != "(nil)" {
		t.Fatalf("same-slot key: got %s", got)
	}
	if got := c.do("EVAL", "return redis.call('keys','*')", "1", "a"); !strings.Contains(got, errNonLocalKey) {
		t.Fatalf("KEYS from a script with keys: got %s", got)
	}
	if got := c.do("EVAL", "return #redis.call('keys','*')", "0"); got != "(integer) 2" {
		t.Fatalf("KEYS from a keyless script: got %s", got)
	}
}

// TestScriptKill stops a runaway script with SCRIPT KILL once it is past
// busy-reply-threshold; meanwhile other clients get BUSY, and afterwards
// the node serves them again. A script that wrote cannot be killed.
func TestScriptKill(t *testing.T) {
	// Under IOModelEpoll the clients of the script's event loop wait for
	// it: goroutines make the test independent of the clients' loops.
	s := startServer(t, func(cfg *Config) { cfg.IOModel = IOModelGoroutine })
	admin := s.dial(t)
	if got := admin.do("CONFIG", "SET", "busy-reply-threshold", "50"); got != "OK" {
		t.Fatal(got)
	}
	if got := admin.do("SCRIPT", "KILL"); got != "(error) "+errNotBusy {
		t.Fatalf("SCRIPT KILL idle: %s", got)
	}
	runaway := s.dial(t)
	runaway.send("EVAL", "local i = 0\nwhile true do i = i + 1 end", "0")
	deadline := time.Now().Add(10 * time.Second)
	for {
		got := admin.do("PING")
		if got == "(error) "+errBusyScript {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no BUSY while the script runs: %s", got)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if got := admin.do("SCRIPT", "KILL"); got != "OK" {
		t.Fatalf("SCRIPT KILL: %s", got)
	}
	if got := runaway.reply(); !strings.HasPrefix(got, "(error) ERR Script killed by user with SCRIPT KILL... script: ") || !strings.HasSuffix(got, ", on @user_script:2.") {
		t.Fatalf("killed script's reply: %s", got)
	}
	if got := admin.do("SET", "k", "v"); got != "OK" {
		t.Fatalf("after kill: %s", got)
	}

	runaway.send("EVAL", "redis.call('set','w','1') while true do end", "0")
	for {
		got := admin.do("SCRIPT", "KILL")
		if got == "(error) "+errUnkillable {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("SCRIPT KILL of a writing script: %s", got)
		}
		time.Sleep(10 * time.Millisecond)
	}
	// Stop it the hard way for the test's cleanup: cancel its context.
	for _, r := range s.scriptRuns.slow(nil, 0) {
		r.killed.Store(true)
		r.cancel()
	}
	runaway.reply()
}

// TestScriptGoRedis uses go-redis's Eval, EvalSha, ScriptLoad and Script
// helpers (EVALSHA falling back to EVAL on NOSCRIPT).
func TestScriptGoRedis(t *testing.T) {
	s := startServer(t, nil)
	rdb := redis.NewClient(&redis.Options{Addr: s.Addr().String(), MaxRetries: -1})
	defer rdb.Close()
	ctx := context.Background()
	v, err := rdb.Eval(ctx, "return redis.call('incrby', KEYS[1], ARGV[1])", []string{"n"}, 5).Int64()
	if err != nil || v != 5 {
		t.Fatalf("Eval: %v %v", v, err)
	}
	sha, err := rdb.ScriptLoad(ctx, "return {KEYS[1], ARGV[1]}").Result()
	if err != nil {
		t.Fatal(err)
	}
	res, err := rdb.EvalSha(ctx, sha, []string{"k"}, "a").StringSlice()
	if err != nil || len(res) != 2 || res[0] != "k" || res[1] != "a" {
		t.Fatalf("EvalSha: %v %v", res, err)
	}
	if err := rdb.ScriptFlush(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	if _, err := rdb.EvalSha(ctx, sha, []string{"k"}, "a").Result(); err == nil || !strings.HasPrefix(err.Error(), "NOSCRIPT") {
		t.Fatalf("EvalSha after flush: %v", err)
	}
	script := redis.NewScript("return redis.call('get', KEYS[1])")
	if got, err := script.Run(ctx, rdb, []string{"n"}).Text(); err != nil || got != "5" {
		t.Fatalf("Script.Run: %q %v", got, err)
	}
}

// TestScriptRedisPyLock acquires and releases redis-py's Lock, whose
// release and extend are EVALSHA scripts, when python3 with redis-py is
// installed.
func TestScriptRedisPyLock(t *testing.T) {
	const python = "/usr/bin/python3"
	if _, err := os.Stat(python); err != nil {
		t.Skip("no python3")
	}
	if err := exec.Command(python, "-c", "import redis").Run(); err != nil {
		t.Skip("no redis-py")
	}
	s := startServer(t, nil)
	prog := `
import sys, redis
host, port = sys.argv[1].rsplit(':', 1)
r = redis.Redis(host=host, port=int(port))
l = r.lock('x', timeout=10)
assert l.acquire(blocking=False)
assert not r.lock('x').acquire(blocking=False)
assert l.extend(5)
l.release()
assert r.get('x') is None
assert r.lock('x').acquire(blocking=False)
print('ok')
`
	out, err := exec.Command(python, "-c", prog, s.Addr().String()).CombinedOutput()
	if err != nil || strings.TrimSpace(string(out)) != "ok" {
		t.Fatalf("redis-py lock: %v\n%s", err, out)
	}
}
