package datanode

import (
	"strconv"
	"strings"
	"testing"
	"time"
)

// blockScript is a script of several connections (A to D) for a blocking
// command test. "X cmd" runs cmd on X and records the reply; "X> cmd"
// only sends it; "X<" reads and records X's next reply; "BLOCKED n" waits,
// on a control connection, until INFO reports n blocked clients, so that a
// push is sent only once the blocking command waits; "CLOSE X" closes X;
// "X UNBLOCK Y args" runs CLIENT UNBLOCK on X with Y's ID and args.
type blockScript []string

// runBlockScript runs script on connections from dialer and returns the
// recorded replies, one a line with its command.
func runBlockScript(t *testing.T, dialer func() *respConn, script blockScript) []string {
	t.Helper()
	conns := map[string]*respConn{}
	ids := map[string]string{}
	conn := func(name string) *respConn {
		if conns[name] == nil {
			conns[name] = dialer()
			ids[name] = strings.TrimPrefix(conns[name].do("CLIENT", "ID"), "(integer) ")
		}
		return conns[name]
	}
	ctl := dialer()
	var out []string
	for _, line := range script {
		who, cmd, _ := strings.Cut(line, " ")
		switch {
		case who == "BLOCKED":
			waitBlocked(t, ctl, cmd)
		case who == "CLOSE":
			conns[cmd].conn.Close()
			delete(conns, cmd)
		case strings.HasPrefix(cmd, "UNBLOCK "):
			target, rest, _ := strings.Cut(strings.TrimPrefix(cmd, "UNBLOCK "), " ")
			args := append([]string{"CLIENT", "UNBLOCK", ids[target]}, splitArgs(t, rest)...)
			out = append(out, line+" -> "+conn(who).do(args...))
		case strings.HasSuffix(who, ">"):
			conn(strings.TrimSuffix(who, ">")).send(splitArgs(t, cmd)...)
		case strings.HasSuffix(who, "<"):
			out = append(out, line+" -> "+conn(strings.TrimSuffix(who, "<")).reply())
		default:
			out = append(out, line+" -> "+conn(who).do(splitArgs(t, cmd)...))
		}
	}
	return out
}

// waitBlocked polls INFO clients on ctl until blocked_clients is n.
func waitBlocked(t *testing.T, ctl *respConn, n string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		info := ctl.do("INFO", "clients")
		if strings.Contains(info, "blocked_clients:"+n+`\r\n`) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("blocked_clients never reached %s: %s", n, info)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// compareBlockScript runs script on a DataNode of each I/O model and on a
// real Redis, and requires the same replies.
func compareBlockScript(t *testing.T, script blockScript) {
	t.Helper()
	sock := startRedisSocket(t)
	want := runBlockScript(t, func() *respConn { return dial(t, "unix", sock) }, script)
	for _, model := range ioModels {
		t.Run(model, func(t *testing.T) {
			s := startServerModel(t, model, nil, nil)
			got := runBlockScript(t, func() *respConn { return s.dial(t) }, script)
			for i := range want {
				if got[i] != want[i] {
					t.Errorf("step %d\n got: %s\nwant: %s", i, got[i], want[i])
				}
			}
		})
	}
}

func TestBlockingListErrors(t *testing.T) {
	compareBlockScript(t, blockScript{
		"A BLPOP k abc", "A BLPOP k -1", "A BLPOP k nan", "A BLPOP k 1e400", "A BLPOP k inf", "A BLPOP k 1e16",
		"A BLPOP k \" 1\"", "A BRPOP k -0.5", "A BLPOP k", "A BRPOP k",
		"A BLMOVE a b up left 0", "A BLMOVE a b left up 0", "A BLMOVE a b left left x", "A BLMOVE a b left left -1",
		"A BRPOPLPUSH a b x", "A BRPOPLPUSH a b -2", "A BRPOPLPUSH a b",
		"A BLMPOP x 0 k left", "A BLMPOP 0 0 k left", "A BLMPOP x 1 k left", "A BLMPOP -1 1 k left",
		"A BLMPOP 0 1 k up", "A BLMPOP 0 2 k left", "A BLMPOP 0 1 k left count 0", "A BLMPOP 0 1 k left count 1 x",
		"A BLMPOP 0 1 k",
		"A SET s x", "A BLPOP s 0", "A RPUSH l a b c d e", "A BLPOP s l 0", "A BLPOP l s 0", "A BRPOP nosuch l 0",
		"A BLMOVE s l left left 0", "A BLMOVE l s left left 0", "A LRANGE l 0 -1", "A BRPOPLPUSH l l 0",
		"A BLMPOP 0 2 nosuch l right count 5", "A BLMPOP 0 2 s l left",
		"A COMMAND INFO blpop brpop blmove brpoplpush blmpop",
		"A COMMAND DOCS blpop", "A COMMAND DOCS brpop", "A COMMAND DOCS blmove", "A COMMAND DOCS brpoplpush", "A COMMAND DOCS blmpop",
		"A COMMAND GETKEYS blmpop 0 2 a b left", "A COMMAND GETKEYS blpop a b 0", "A COMMAND GETKEYS blmove a b left left 0",
	})
}

func TestBlockingListWake(t *testing.T) {
	compareBlockScript(t, blockScript{
		// A push wakes the blocked client, which takes the element before
		// the pusher's next command.
		"A> BLPOP k1 k2 0", "BLOCKED 1", "B RPUSH k2 x y", "B LRANGE k2 0 -1", "A<", "BLOCKED 0",
		"A> BRPOP k 0", "BLOCKED 1", "B LPUSH k a b c", "A<", "B LRANGE k 0 -1", "B DEL k",
		// Pipelined commands of a blocked client wait for it.
		"A> BLPOP k 0", "A> PING", "BLOCKED 1", "B RPUSH k v", "A<", "A<",
		// FIFO fairness among three clients.
		"A> BLPOP f 0", "BLOCKED 1", "B> BLPOP f 0", "BLOCKED 2", "C> BLPOP f 0", "BLOCKED 3",
		"D RPUSH f 1", "A<", "D RPUSH f 2 3", "B<", "C<", "BLOCKED 0",
		// A transaction wakes after it completes: its pop inside goes first.
		"A> BLPOP t 0", "BLOCKED 1", "B MULTI", "B RPUSH t 1 2", "B LPOP t", "B EXEC", "A<",
		"A> BLPOP t2 0", "BLOCKED 1", "B MULTI", "B RPUSH t2 1", "B LPOP t2", "B EXEC", "B RPUSH t2 z", "A<",
		// BLMOVE and BRPOPLPUSH, and the chain to a client blocked on the destination.
		"A> BLMOVE src dst left right 0", "BLOCKED 1", "B> BLPOP dst 0", "BLOCKED 2", "C RPUSH src e1", "A<", "B<",
		"C LRANGE dst 0 -1", "C LRANGE src 0 -1",
		"A> BRPOPLPUSH src dst 0", "BLOCKED 1", "C RPUSH src e2 e3", "A<", "C LRANGE dst 0 -1", "C LRANGE src 0 -1",
		// BLMPOP.
		"A> BLMPOP 0 2 m1 m2 right count 2", "BLOCKED 1", "B RPUSH m2 a b c", "A<", "B LRANGE m2 0 -1",
		// RENAME onto the key, LMOVE, LINSERT are pushes too; SET is not.
		"A> BLPOP r 0", "BLOCKED 1", "B SET r str", "B DEL r", "B RPUSH other o1", "B RENAME other r", "A<",
		"A> BLPOP r 0", "BLOCKED 1", "B RPUSH q q1", "B LMOVE q r left left", "A<",
		// Timeouts.
		"A BLPOP nosuch 0.05", "A BRPOP nosuch 0.01", "A BLMOVE nosuch d left left 0.01", "A BLMPOP 0.01 1 nosuch left",
		"A BRPOPLPUSH nosuch d 0.01",
		// Inside MULTI the blocking forms reply at once.
		"A MULTI", "A BLPOP e 0", "A BLMOVE e d left left 0", "A BLMPOP 0 1 e left", "A RPUSH e 1", "A BRPOP e 0", "A EXEC",
		// A client that left while blocked takes nothing.
		"A> BLPOP gone 0", "BLOCKED 1", "CLOSE A", "BLOCKED 0", "B RPUSH gone g", "B LRANGE gone 0 -1",
		"B INFO keyspace",
	})
}

// TestBlockingClientList checks CLIENT LIST's flags and cmd of a blocked
// client and INFO's count.
func TestBlockingClientList(t *testing.T) {
	for _, model := range ioModels {
		t.Run(model, func(t *testing.T) {
			s := startServerModel(t, model, nil, nil)
			a, b := s.dial(t), s.dial(t)
			a.send("BRPOP", "k", "0")
			waitBlocked(t, b, "1")
			list := b.do("CLIENT", "LIST")
			if !strings.Contains(list, "flags=b ") || !strings.Contains(list, "cmd=brpop ") {
				t.Errorf("CLIENT LIST = %s", list)
			}
			c := s.dial(t)
			c.send("BLPOP", "k", "100")
			waitBlocked(t, b, "2")
			if info := b.do("INFO", "clients"); !strings.Contains(info, `clients_in_timeout_table:1\r\n`) {
				t.Errorf("INFO clients = %s", info)
			}
			b.do("RPUSH", "k", "v", "w")
			if got := c.reply(); got != `["k" "v"]` {
				t.Errorf("BLPOP = %s", got)
			}
			if got := a.reply(); got != `["k" "w"]` {
				t.Errorf("BRPOP = %s", got)
			}
			if got := a.do("PING"); got != "PONG" {
				t.Errorf("PING after = %s", got)
			}
		})
	}
}

// TestBlockingTimeoutNoLeak blocks many clients with short timeouts and
// checks they are all answered and the registry is empty afterwards.
func TestBlockingTimeoutNoLeak(t *testing.T) {
	for _, model := range ioModels {
		t.Run(model, func(t *testing.T) {
			s := startServerModel(t, model, nil, nil)
			var conns []*respConn
			for i := range 20 {
				c := s.dial(t)
				c.send("BLPOP", "k"+strconv.Itoa(i%3), "0.1")
				conns = append(conns, c)
			}
			for _, c := range conns {
				if got := c.reply(); got != "(nil)" && got != "[]" && got != "(nil array)" {
					t.Logf("reply %q", got)
				}
			}
			s.blocking.mu.Lock()
			n := len(s.blocking.waiters)
			s.blocking.mu.Unlock()
			if n != 0 || s.blocking.blocked.Load() != 0 || s.blocking.active.Load() != 0 {
				t.Errorf("after timeouts: %d keys waited on, %d blocked, %d active", n, s.blocking.blocked.Load(), s.blocking.active.Load())
			}
		})
	}
}

func TestBlockingZset(t *testing.T) {
	compareBlockScript(t, blockScript{
		"A BZPOPMIN z abc", "A BZPOPMAX z -1", "A BZPOPMIN z", "A BZMPOP x 1 z min", "A BZMPOP 0 0 z min",
		"A BZMPOP 0 1 z up", "A BZMPOP 0 2 z min", "A BZMPOP 0 1 z min count 0", "A BZMPOP 0 1 z min count 1 x", "A BZMPOP -1 1 z min",
		"A SET s x", "A BZPOPMIN s 0", "A ZADD z 1 a 2 b 3 c", "A BZPOPMIN s z 0", "A BZPOPMAX z s 0", "A BZMPOP 0 2 s z min",
		"A BZMPOP 0 2 nosuch z max count 5", "A EXISTS z",
		"A> BZPOPMIN z1 z2 0", "BLOCKED 1", "B ZADD z2 5 m 4 n", "A<", "B ZRANGE z2 0 -1 WITHSCORES",
		"A> BZPOPMAX z 0", "BLOCKED 1", "B> BZMPOP 0 1 z min count 10", "BLOCKED 2", "C ZADD z 1 x 2 y 3 w", "A<", "B<",
		"A> BZMPOP 0 2 q1 q2 max", "BLOCKED 1", "B ZADD q1 1.5 one", "A<",
		"A BZPOPMIN nosuch 0.01", "A BZPOPMAX nosuch 0.01", "A BZMPOP 0.01 1 nosuch min",
		"A MULTI", "A BZPOPMIN e 0", "A BZMPOP 0 1 e max", "A ZADD e 1 a", "A BZPOPMAX e 0", "A EXEC",
		"A COMMAND INFO bzpopmin bzpopmax bzmpop",
		"A COMMAND DOCS bzpopmin", "A COMMAND DOCS bzpopmax", "A COMMAND DOCS bzmpop",
	})
}

func TestBlockingClientUnblock(t *testing.T) {
	compareBlockScript(t, blockScript{
		"A PING", "B CLIENT UNBLOCK x", "B CLIENT UNBLOCK 1 foo", "B CLIENT UNBLOCK 1 2 3", "B CLIENT UNBLOCK 99999",
		"B UNBLOCK A", "B UNBLOCK A error",
		"A> BLPOP k 0", "BLOCKED 1", "B UNBLOCK A", "A<", "BLOCKED 0",
		"A> BRPOPLPUSH k d 0", "BLOCKED 1", "B UNBLOCK A TIMEOUT", "A<",
		"A> BZPOPMIN z 0", "BLOCKED 1", "B UNBLOCK A ERROR", "A<", "B UNBLOCK A ERROR",
		"A> BLMPOP 0 1 k left", "A> PING", "BLOCKED 1", "B UNBLOCK A error", "A<", "A<", "B RPUSH k v", "B LLEN k",
		"B COMMAND INFO client|unblock", "B COMMAND DOCS client|unblock",
	})
}

// TestBlockingMoveWrongTypeDestination checks that a client blocked in
// BLMOVE or BRPOPLPUSH whose destination is not a list gets WRONGTYPE when
// the source gets an element, which stays in the source and goes to the
// next client blocked on it, as in Redis.
func TestBlockingMoveWrongTypeDestination(t *testing.T) {
	compareBlockScript(t, blockScript{
		"B SET d str",
		"A> BLMOVE src d left right 0", "BLOCKED 1", "B RPUSH src a b", "A<", "BLOCKED 0", "B LRANGE src 0 -1",
		"B DEL src",
		"A> BRPOPLPUSH src d 0", "BLOCKED 1", "C> BLPOP src 0", "BLOCKED 2", "B RPUSH src x", "A<", "C<", "BLOCKED 0",
		"B EXISTS src", "B GET d",
		"A> BLMOVE src d2 right left 0", "BLOCKED 1", "B HSET d2 f v", "B LPUSH src y", "A<", "B LRANGE src 0 -1",
		"A PING",
	})
}
