package datanode

import (
	"context"
	"errors"
	"math/rand/v2"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/chkv/chkv/common/slot"
	"github.com/chkv/chkv/common/topology"
	"github.com/chkv/chkv/datanode/ownership"
	"github.com/chkv/chkv/helper/testutil"
)

// multiScript is a transaction script over two connections, A and B: each
// line is "A <command>", "B <command>" or "SLEEP <ms>". B changes the keys
// A watches.
var multiScript = []string{
	// Errors outside and inside MULTI.
	"A EXEC", "A DISCARD", "A UNWATCH", "A WATCH", "A EXEC x", "A DISCARD x",
	"A MULTI", "A SET a 1", "A EXEC x", "A EXEC",
	"A WATCH k", "A EXEC x", "B SET k 1", "A MULTI", "A EXEC",
	"A MULTI", "A MULTI", "A WATCH x", "A SET a 1", "A EXEC", "A EXEC",
	"A MULTI", "A EXEC",
	"A MULTI", "A SET k v", "A INCR k", "A GET k", "A EXEC",
	"A MULTI", "A SET k", "A NOSUCH x", "A GET k", "A EXEC", "A EXEC",
	"A MULTI", "A SET k w", "A DISCARD", "A GET k", "A DISCARD",
	"A MULTI", "A GET", "A EXEC",
	"A MULTI", "A UNWATCH", "A PING", "A ECHO hi", "A EXEC",
	// Several slots, and commands on the whole keyspace.
	"A MULTI", "A MSET a 1 b 2 c 3", "A MGET a b c", "A DEL a b", "A RENAME c d", "A EXISTS a b c d", "A EXEC",
	"A MULTI", "A HSET h f v g w", "A HGETALL h", "A HINCRBY h f 1", "A HLEN h", "A EXEC",
	"A MULTI", "A FLUSHALL", "A SET a 1", "A KEYS *", "A DBSIZE", "A RANDOMKEY", "A SCAN 0", "A EXEC",
	// WATCH: a change by another client, even to the same value.
	"A SET k 1", "A WATCH k", "B SET k 1", "A MULTI", "A GET k", "A EXEC", "A GET k",
	// by this client before MULTI
	"A WATCH k", "A INCR k", "A MULTI", "A INCR k", "A EXEC", "A GET k",
	// no change: a failed SET NX, a DEL of a missing key, a read
	"A WATCH k nokey", "B SET k 5 NX", "B DEL nokey", "B GET k", "A MULTI", "A INCR k", "A EXEC",
	// a key of the same slot is not the watched key
	"A WATCH {t}a", "B SET {t}b 1", "A MULTI", "A SET {t}a 1", "A EXEC",
	// UNWATCH, DISCARD and EXEC forget the watches
	"A WATCH k", "A UNWATCH", "B SET k 2", "A MULTI", "A GET k", "A EXEC",
	"A WATCH k", "A MULTI", "A DISCARD", "B SET k 3", "A MULTI", "A GET k", "A EXEC",
	"A WATCH k", "A MULTI", "A EXEC", "B SET k 4", "A MULTI", "A GET k", "A EXEC",
	// UNWATCH queued in the transaction, before and after a change
	"A WATCH k", "A MULTI", "A UNWATCH", "A GET k", "A EXEC", "B SET k 7", "A MULTI", "A GET k", "A EXEC",
	"A WATCH k", "B SET k 8", "A MULTI", "A UNWATCH", "A GET k", "A EXEC",
	// deletion, renaming, expiry set, persist, hash writes
	"A WATCH k", "B DEL k", "A MULTI", "A EXEC",
	"A SET j 1", "A WATCH k", "B RENAME j k", "A MULTI", "A EXEC",
	"A WATCH k", "B EXPIRE k 100", "A MULTI", "A EXEC",
	"A WATCH k", "B PERSIST k", "A MULTI", "A EXEC",
	"A WATCH k", "B PERSIST k", "A MULTI", "A EXEC",
	"A WATCH h", "B HSET h f x", "A MULTI", "A HGET h f", "A EXEC",
	"A WATCH h", "B HDEL h nofield", "A MULTI", "A HGET h f", "A EXEC",
	// FLUSHALL changes the watched keys that exist only
	"A WATCH nokey", "B FLUSHALL", "A MULTI", "A PING", "A EXEC",
	"A SET k 1", "A WATCH k", "B FLUSHDB", "A MULTI", "A PING", "A EXEC",
	// a watched key that expires before EXEC fails it (Redis 7.0)
	"A SET k 1 PX 100", "A WATCH k", "SLEEP 250", "A MULTI", "A PING", "A EXEC",
	// one already expired when watched does not
	"A SET k 1 PX 50", "SLEEP 150", "A WATCH k", "A MULTI", "A PING", "A EXEC",
	// the transaction's replies with a runtime error in the middle
	"A SET s x", "A MULTI", "A INCR s", "A APPEND s y", "A HSET s f v", "A GET s", "A EXEC",
	// out of memory, every queued command is refused; EXEC only if it
	// would run a denyoom command
	"A SET big x", "A CONFIG SET maxmemory 1", "A MULTI", "A GET big", "A DISCARD", "A MULTI", "A EXEC",
	"A MULTI", "A PING", "A EXEC", "A CONFIG SET maxmemory 0",
	"A MULTI", "A SET x 1", "B CONFIG SET maxmemory 1", "A EXEC", "B CONFIG SET maxmemory 0", "A EXEC", "A EXEC",
	// RESET runs at once inside MULTI and discards the transaction and
	// the watches; a subscriber cannot MULTI.
	"A WATCH r", "A MULTI", "A SET r 1", "A RESET", "A EXEC", "B SET r 2", "A MULTI", "A GET r", "A EXEC",
	"A SUBSCRIBE ch", "A MULTI", "A RESET", "A MULTI", "A SUBSCRIBE ch", "A EXEC", "A RESET",
	// command metadata
	"A COMMAND INFO multi exec discard watch unwatch reset",
	"A COMMAND INFO auth hello quit",
	"A COMMAND DOCS multi", "A COMMAND DOCS exec", "A COMMAND DOCS discard", "A COMMAND DOCS watch", "A COMMAND DOCS unwatch",
	"A COMMAND GETKEYSANDFLAGS watch a b",
	"A COMMAND GETKEYS watch a b",
}

// runTwoConnScript runs a multiScript on connections a and b, returning
// the replies, with the command, one a line.
func runTwoConnScript(t *testing.T, a, b *respConn, script []string) []string {
	t.Helper()
	var out []string
	for _, line := range script {
		who, cmd, _ := strings.Cut(line, " ")
		switch who {
		case "SLEEP":
			ms, _ := strconv.Atoi(cmd)
			time.Sleep(time.Duration(ms) * time.Millisecond)
			continue
		case "A":
			out = append(out, line+" -> "+a.do(splitArgs(t, cmd)...))
		case "B":
			out = append(out, line+" -> "+b.do(splitArgs(t, cmd)...))
		default:
			t.Fatalf("bad script line %q", line)
		}
	}
	return out
}

// TestMultiAgainstRedis runs multiScript on a DataNode and on a real Redis
// and requires identical replies.
func TestMultiAgainstRedis(t *testing.T) {
	s := startServer(t, nil)
	got := runTwoConnScript(t, s.dial(t), s.dial(t), multiScript)
	sock := startRedisSocket(t)
	want := runTwoConnScript(t, dial(t, "unix", sock), dial(t, "unix", sock), multiScript)
	for i := range got {
		if got[i] != want[i] {
			t.Errorf("step %d\n got: %s\nwant: %s", i, got[i], want[i])
		}
	}
}

// TestMultiWatchFreedOnDisconnect checks that a client's watches go when it
// does: the store counts no watched key once the connection closed.
func TestMultiWatchFreedOnDisconnect(t *testing.T) {
	for _, model := range []string{IOModelGoroutine, IOModelEpoll} {
		t.Run(model, func(t *testing.T) {
			s := startServer(t, func(c *Config) { c.IOModel = model })
			c := s.dial(t)
			if got := c.do("WATCH", "a", "b", "a"); got != "OK" {
				t.Fatalf("WATCH = %s", got)
			}
			if got := c.do("SET", "a", "1"); got != "OK" {
				t.Fatalf("SET = %s", got)
			}
			c.conn.Close()
			deadline := time.Now().Add(5 * time.Second)
			for s.store.WatchedKeys() != 0 {
				if time.Now().After(deadline) {
					t.Fatalf("%d keys still watched after the client left", s.store.WatchedKeys())
				}
				time.Sleep(5 * time.Millisecond)
			}
		})
	}
}

// TestMultiNoLostUpdate runs concurrent optimistic increments (WATCH, GET,
// MULTI, SET, EXEC, retried on a null reply) and checks that the counter
// equals the number of EXECs that succeeded; meanwhile other clients
// increment two keys of different slots in transactions while a reader
// requires MGET to see them equal, which holds only if EXEC is atomic.
func TestMultiNoLostUpdate(t *testing.T) {
	for _, model := range []string{IOModelGoroutine, IOModelEpoll} {
		t.Run(model, func(t *testing.T) {
			s := startServer(t, func(c *Config) { c.IOModel = model })
			const workers, rounds = 6, 60
			var committed, aborted atomic.Int64
			var wg sync.WaitGroup
			for range workers {
				c := s.dial(t)
				wg.Add(1)
				go func() {
					defer wg.Done()
					for range rounds {
						for {
							c.send("WATCH", "counter")
							c.send("GET", "counter")
							c.send("MULTI")
							if got := c.reply(); got != "OK" {
								t.Errorf("WATCH = %s", got)
								return
							}
							v, _ := strconv.Atoi(strings.Trim(c.reply(), `"`))
							c.reply() // OK
							c.send("SET", "counter", strconv.Itoa(v+1))
							c.send("EXEC")
							c.reply() // QUEUED
							got := c.reply()
							if got == `["OK"]` || got == "[OK]" {
								committed.Add(1)
								break
							}
							if got != "(nil array)" {
								t.Errorf("EXEC = %s", got)
								return
							}
							aborted.Add(1)
						}
					}
				}()
			}
			// Atomicity across slots, without WATCH.
			stop := make(chan struct{})
			for range 2 {
				c := s.dial(t)
				wg.Add(1)
				go func() {
					defer wg.Done()
					for range rounds * 2 {
						c.send("MULTI")
						c.send("INCR", "x")
						c.send("INCR", "y")
						c.send("EXEC")
						for range 3 {
							c.reply()
						}
						if got := c.reply(); !strings.HasPrefix(got, "[(integer)") {
							t.Errorf("EXEC = %s", got)
							return
						}
					}
				}()
			}
			reader := s.dial(t)
			readerDone := make(chan struct{})
			go func() {
				defer close(readerDone)
				for {
					select {
					case <-stop:
						return
					default:
					}
					got := reader.do("MGET", "x", "y")
					parts := strings.Split(strings.Trim(got, "[]"), " ")
					if len(parts) != 2 || parts[0] != parts[1] {
						t.Errorf("MGET x y = %s: a transaction was seen half done", got)
						return
					}
				}
			}()
			wg.Wait()
			close(stop)
			<-readerDone
			c := s.dial(t)
			if got, want := c.do("GET", "counter"), strconv.Quote(strconv.Itoa(int(committed.Load()))); got != want {
				t.Fatalf("counter = %s after %d committed EXECs (%d aborted)", got, committed.Load(), aborted.Load())
			}
			if committed.Load() != workers*rounds {
				t.Fatalf("%d committed, want %d", committed.Load(), workers*rounds)
			}
			t.Logf("%d committed, %d retried after a conflict", committed.Load(), aborted.Load())
		})
	}
}

// TestGoRedisTransactions uses go-redis's TxPipelined and Watch, as
// applications do.
func TestGoRedisTransactions(t *testing.T) {
	s := startServer(t, nil)
	ctx := context.Background()
	rdb := redis.NewClient(&redis.Options{Addr: s.Addr().String(), MaxRetries: -1, PoolSize: 8})
	t.Cleanup(func() { rdb.Close() })

	var incr *redis.IntCmd
	cmds, err := rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.Set(ctx, "a", "1", 0)
		incr = p.Incr(ctx, "a")
		p.HSet(ctx, "h", "f", "v")
		return nil
	})
	if err != nil || len(cmds) != 3 || incr.Val() != 2 {
		t.Fatalf("TxPipelined = %v, %v; INCR = %d", cmds, err, incr.Val())
	}
	// A runtime error is the command's, and the others still ran.
	_, err = rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.HSet(ctx, "a", "f", "v")
		p.Set(ctx, "b", "2", 0)
		return nil
	})
	if err == nil || !strings.HasPrefix(err.Error(), "WRONGTYPE") {
		t.Fatalf("TxPipelined with a wrong type: %v", err)
	}
	if v, _ := rdb.Get(ctx, "b").Result(); v != "2" {
		t.Fatalf("b = %q after the transaction", v)
	}

	// Optimistic increments through Watch, retried on TxFailedErr.
	const workers, rounds = 4, 25
	var wg sync.WaitGroup
	var conflicts atomic.Int64
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range rounds {
				for {
					err := rdb.Watch(ctx, func(tx *redis.Tx) error {
						n, err := tx.Get(ctx, "counter").Int()
						if err != nil && !errors.Is(err, redis.Nil) {
							return err
						}
						_, err = tx.TxPipelined(ctx, func(p redis.Pipeliner) error {
							p.Set(ctx, "counter", n+1, 0)
							return nil
						})
						return err
					}, "counter")
					if err == nil {
						break
					}
					if !errors.Is(err, redis.TxFailedErr) {
						t.Errorf("Watch: %v", err)
						return
					}
					conflicts.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	if n, err := rdb.Get(ctx, "counter").Int(); err != nil || n != workers*rounds {
		t.Fatalf("counter = %d (%v), want %d", n, err, workers*rounds)
	}
	t.Logf("%d conflicts retried", conflicts.Load())
}

// TestMultiClientList checks CLIENT LIST's view of a client in MULTI: the
// x flag and the number of queued commands, as Redis shows them.
func TestMultiClientList(t *testing.T) {
	s := startServer(t, nil)
	a, b := s.dial(t), s.dial(t)
	id := strings.TrimPrefix(a.do("CLIENT", "ID"), "(integer) ")
	a.do("MULTI")
	a.do("SET", "k", "v")
	a.do("GET", "k")
	got := b.do("CLIENT", "LIST", "ID", id)
	if !strings.Contains(got, " flags=x ") || !strings.Contains(got, " multi=2 ") {
		t.Fatalf("CLIENT LIST in MULTI = %s", got)
	}
	a.do("EXEC")
	got = b.do("CLIENT", "LIST", "ID", id)
	if !strings.Contains(got, " flags=N ") || !strings.Contains(got, " multi=-1 ") {
		t.Fatalf("CLIENT LIST after EXEC = %s", got)
	}
}

// clusterMultiScript is a transaction script on a node that owns every
// slot, checked against a single-node Redis Cluster: a command whose own
// keys span slots is refused when queued (and EXEC aborts), while commands
// of different slots are queued and EXEC answers CROSSSLOT, discarding the
// transaction.
var clusterMultiScript = []string{
	"MULTI", "SET a 1", "SET b 2", "EXEC", "EXEC",
	"MULTI", "SET a 1", "MSET a 1 b 2", "GET a", "EXEC",
	"MULTI", "SET {a}x 1", "GET a", "INCR {a}y", "EXEC",
	"MULTI", "PING", "EXEC",
	"MULTI", "SET b 1", "CLUSTER GETKEYSINSLOT 3300 10", "CLUSTER COUNTKEYSINSLOT 3300", "DBSIZE", "EXEC",
	"WATCH a b", "MULTI", "GET a", "EXEC",
}

func TestMultiClusterAgainstRedis(t *testing.T) {
	nn := startFakeNameNode(t)
	s := startClusterNode(t, nn, "dn-a")
	c := ownEverySlot(t, nn, s)
	r := startRedisCluster(t)
	for i, cmd := range clusterMultiScript {
		args := splitArgs(t, cmd)
		if got, want := c.do(args...), r.do(args...); got != want {
			t.Errorf("step %d: %s\n got: %s\nwant: %s", i, cmd, got, want)
		}
	}
}

// TestMultiClusterRedirects checks a transaction on a node that owns part
// of the slots: a foreign key is answered MOVED when queued, and a
// transaction whose slot moved away after queueing is answered MOVED whole
// at EXEC, having run nothing.
func TestMultiClusterRedirects(t *testing.T) {
	nn := startFakeNameNode(t)
	self := topology.Node{ID: "dn-a", State: topology.Up}
	other := topology.Node{ID: "dn-b", RESPAddr: "127.0.0.1:7777", State: topology.Up}
	s := startClusterNode(t, nn, "dn-a")
	c := s.dial(t)
	mine, theirs := keyInSlotRange(0, 8000), keyInSlotRange(8000, slot.Count)
	self.RESPAddr = s.Addr().String()
	nn.set(func(f *fakeNameNode) { f.top = splitTopology(1, self, other, 8000) })
	testutil.Eventually(t, 5*time.Second, "topology", func() bool { return s.own.View().Top.Version == 1 })

	moved := func(key string) string {
		return "(error) MOVED " + strconv.Itoa(slot.OfString(key)) + " 127.0.0.1:7777"
	}
	runScript(t, c, []step{
		{"MULTI", "OK"},
		{"SET " + mine + " 1", "QUEUED"},
		{"GET " + theirs, moved(theirs)},
		{"EXEC", "(error) EXECABORT Transaction discarded because of previous errors."},
		{"GET " + mine, "(nil)"},
		{"MULTI", "OK"},
		{"SET " + mine + " 1", "QUEUED"},
		{"INCR " + mine, "QUEUED"},
		{"EXEC", "[OK (integer) 2]"},
		{"MULTI", "OK"},
		{"SET " + mine + " 5", "QUEUED"},
	})
	nn.set(func(f *fakeNameNode) { f.top = splitTopology(2, self, other, 0) })
	testutil.Eventually(t, 5*time.Second, "version 2", func() bool { return s.own.View().Top.Version == 2 })
	runScript(t, c, []step{
		{"EXEC", moved(mine)},
		{"EXEC", "(error) ERR EXEC without MULTI"},
	})
}

// TestMultiRandomAgainstRedis runs a seeded random mix of transactions,
// watches and plain writes from two connections on a DataNode and on a
// real Redis and requires identical replies.
func TestMultiRandomAgainstRedis(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 11))
	keys := []string{"a", "b", "{a}c", "n"}
	key := func() string { return keys[rng.IntN(len(keys))] }
	write := func() string {
		switch rng.IntN(7) {
		case 0:
			return "SET " + key() + " " + strconv.Itoa(rng.IntN(5))
		case 1:
			return "INCR " + key()
		case 2:
			return "DEL " + key() + " " + key()
		case 3:
			return "HSET " + key() + " f v"
		case 4:
			return "MSET " + key() + " 1 " + key() + " 2"
		case 5:
			return "SET " + key() + " 1 NX"
		default:
			return "EXPIRE " + key() + " 100"
		}
	}
	command := func() string {
		switch rng.IntN(20) {
		case 0:
			return "SET " + key() // wrong arity: EXEC aborts
		case 1:
			return "UNWATCH"
		case 2, 3, 4:
			return "GET " + key()
		}
		return write()
	}
	var script []string
	for range 200 {
		if rng.IntN(2) == 0 {
			script = append(script, "A WATCH "+key()+" "+key())
		}
		for range rng.IntN(2) {
			script = append(script, "B "+write())
		}
		if rng.IntN(10) == 0 {
			script = append(script, "A "+[]string{"EXEC", "DISCARD", "UNWATCH"}[rng.IntN(3)])
		}
		script = append(script, "A MULTI")
		for range rng.IntN(5) {
			script = append(script, "A "+command())
			if rng.IntN(6) == 0 {
				script = append(script, "B "+write())
			}
		}
		if rng.IntN(8) == 0 {
			script = append(script, "A DISCARD")
		} else {
			script = append(script, "A EXEC")
		}
	}
	s := startServer(t, nil)
	got := runTwoConnScript(t, s.dial(t), s.dial(t), script)
	sock := startRedisSocket(t)
	want := runTwoConnScript(t, dial(t, "unix", sock), dial(t, "unix", sock), script)
	outcomes := map[string]int{}
	for i := range got {
		if got[i] != want[i] {
			t.Fatalf("step %d\n got: %s\nwant: %s", i, got[i], want[i])
		}
		if _, reply, ok := strings.Cut(got[i], "EXEC -> "); ok {
			outcomes[strings.SplitN(reply, " ", 2)[0]]++
		}
	}
	t.Logf("EXEC replies by first word: %v", outcomes)
}

// TestMultiExecWaitsForCutover checks that a transaction never straddles a
// slot's cutover: EXEC admits the slot once, so while a handoff holds the
// slot's gate EXEC waits, and once the slot is handed off EXEC is answered
// with the handoff's redirection whole, having run nothing. And a running
// EXEC holds the gate shared, so the handoff waits for it.
func TestMultiExecWaitsForCutover(t *testing.T) {
	nn := startFakeNameNode(t)
	s := startClusterNode(t, nn, "dn-a")
	c := ownEverySlot(t, nn, s)
	id := slot.OfString("k")
	runScript(t, c, []step{
		{"MULTI", "OK"}, {"SET k 1", "QUEUED"}, {"INCR k", "QUEUED"},
	})
	s.own.Lock(id) // the cutover starts
	c.send("EXEC")
	time.Sleep(50 * time.Millisecond)
	const moved = "MOVED 12539 127.0.0.1:7777"
	s.own.SetOut(id, &ownership.HandedOut{Reply: moved})
	s.own.Unlock(id)
	if got := c.reply(); got != "(error) "+moved {
		t.Fatalf("EXEC across a cutover = %s", got)
	}
	s.own.Lock(id)
	s.own.SetOut(id, nil)
	s.own.Unlock(id)
	if got := c.do("GET", "k"); got != "(nil)" {
		t.Fatalf("GET k = %s: part of the transaction ran", got)
	}

	// A long EXEC holds the gate and the slot: the cutover, which takes
	// both, sees the transaction whole.
	c.do("MULTI")
	const n = 20000
	for range n {
		c.send("INCR", "k")
	}
	for range n {
		c.reply()
	}
	c.send("EXEC")
	testutil.Eventually(t, 5*time.Second, "EXEC to start", func() bool {
		return s.store.Slot(id).Len() == 1
	})
	s.own.Lock(id)
	v, _, _ := func() ([]byte, int64, bool) {
		sl := s.store.Slot(id)
		sl.Lock()
		defer sl.Unlock()
		v, e, ok := sl.Get([]byte("k"), time.Now().UnixMilli())
		return append([]byte(nil), v...), e, ok
	}()
	s.own.Unlock(id)
	if string(v) != strconv.Itoa(n) {
		t.Fatalf("the cutover saw k = %s, in the middle of a transaction of %d INCRs", v, n)
	}
	if got := c.reply(); !strings.HasPrefix(got, "[(integer) 1 (integer) 2 ") {
		t.Fatalf("EXEC = %.80s...", got)
	}
}

// TestMultiQueuedArgumentsSurvive checks that queued arguments stay intact
// while the transaction's buffers grow and across recycled transactions:
// every key gets its own value, in a large transaction, then in small ones.
func TestMultiQueuedArgumentsSurvive(t *testing.T) {
	s := startServer(t, nil)
	c := s.dial(t)
	for _, n := range []int{3000, 3, 5} {
		c.send("MULTI")
		for i := range n {
			c.send("SET", "k"+strconv.Itoa(i), strings.Repeat(strconv.Itoa(i%10), 100)+strconv.Itoa(n))
		}
		c.send("EXEC")
		for range n + 1 {
			c.reply()
		}
		if got := c.reply(); !strings.HasPrefix(got, "[OK OK") && !(n == 1 && got == "[OK]") {
			t.Fatalf("EXEC of %d SETs = %.60s", n, got)
		}
		for i := range n {
			want := strconv.Quote(strings.Repeat(strconv.Itoa(i%10), 100) + strconv.Itoa(n))
			if got := c.do("GET", "k"+strconv.Itoa(i)); got != want {
				t.Fatalf("transaction of %d: GET k%d = %.40s..., want %.40s...", n, i, got, want)
			}
		}
	}
}
