package datanode

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chkv/chkv/helper/testutil"
)

// psStep is one step of a Pub/Sub script: a command sent on one of the
// script's named connections, which open on first use. An empty cmd only
// collects what was pushed to the connection.
type psStep struct {
	conn string
	cmd  string
	// unordered marks replies Redis lists in hash order (UNSUBSCRIBE of all
	// channels, PUBSUB CHANNELS): they are compared as sorted sets.
	unordered bool
}

// psMarker is the argument of the PING sent after every step: its reply
// ends what the step produced on that connection.
const psMarker = "__step_end__"

// readRawReply reads one RESP2 value and returns its bytes as sent.
func readRawReply(r *bufio.Reader) ([]byte, error) {
	line, err := r.ReadBytes('\n')
	if err != nil {
		return line, err
	}
	if len(line) < 3 {
		return line, fmt.Errorf("malformed reply line %q", line)
	}
	n, _ := strconv.Atoi(string(line[1 : len(line)-2]))
	switch line[0] {
	case '$':
		if n < 0 {
			return line, nil
		}
		body := make([]byte, n+2)
		_, err := io.ReadFull(r, body)
		return append(line, body...), err
	case '*':
		for range max(n, 0) {
			elem, err := readRawReply(r)
			line = append(line, elem...)
			if err != nil {
				return line, err
			}
		}
	}
	return line, nil
}

// stepReplies sends a step's command (if any) and the marker PING on c and
// returns every reply before the marker's, raw; after QUIT it returns what
// came before the connection closed.
func stepReplies(t *testing.T, c *respConn, cmd string) [][]byte {
	t.Helper()
	var wire []byte
	if cmd != "" {
		wire = encodeCommand(splitArgs(t, cmd)...)
	}
	c.writeRaw(append(wire, encodeCommand("PING", psMarker)...))
	marker := fmt.Sprintf("$%d\r\n%s\r\n", len(psMarker), psMarker)
	subscribedMarker := "*2\r\n$4\r\npong\r\n" + marker
	var out [][]byte
	for {
		c.conn.SetReadDeadline(time.Now().Add(10 * time.Second))
		v, err := readRaw3(c.r) // RESP2, or RESP3 after HELLO 3
		if err == io.EOF && len(v) == 0 {
			return append(out, []byte("<closed>"))
		}
		if err != nil {
			t.Fatalf("%s: read: %v", cmd, err)
		}
		if s := string(v); s == marker || s == subscribedMarker {
			return out
		}
		out = append(out, v)
	}
}

// unorderedForm renders replies whose order is Redis's hash order: a
// single array's elements sorted, or several [word name count] replies
// sorted by name, with their counts (which fall by one each) in order.
func unorderedForm(t *testing.T, replies [][]byte) string {
	t.Helper()
	var elems, counts []string
	for _, raw := range replies {
		v, err := readReply(bufio.NewReader(bytes.NewReader(raw)))
		if err != nil {
			t.Fatalf("reply %q: %v", raw, err)
		}
		arr, ok := v.([]any)
		if !ok { // an error, say
			elems = append(elems, formatReply(v))
			continue
		}
		if len(replies) > 1 {
			counts = append(counts, formatReply(arr[len(arr)-1]))
			arr = arr[:len(arr)-1]
			elems = append(elems, formatReply(arr))
			continue
		}
		for _, e := range arr {
			elems = append(elems, formatReply(e))
		}
	}
	slices.Sort(elems)
	return fmt.Sprint(elems, counts)
}

// runPubSubScript runs steps on connections to one server and returns each
// step's replies, rendered for comparison.
func runPubSubScript(t *testing.T, steps []psStep, dialConn func() *respConn) []string {
	t.Helper()
	conns := map[string]*respConn{}
	var got []string
	for _, st := range steps {
		c := conns[st.conn]
		if c == nil {
			c = dialConn()
			conns[st.conn] = c
		}
		replies := stepReplies(t, c, st.cmd)
		if st.unordered {
			got = append(got, unorderedForm(t, replies))
			continue
		}
		got = append(got, strconv.Quote(string(bytes.Join(replies, nil))))
	}
	return got
}

// diffPubSub runs steps on a DataNode under each I/O model and on a real
// redis-server, and requires byte-identical replies and messages.
func diffPubSub(t *testing.T, steps []psStep) {
	t.Helper()
	diffPubSubProto(t, steps, nil)
}

// diffPubSubProto is diffPubSub with a hook run on every connection before
// the script uses it (HELLO 3, say): prepare is called once per server and
// returns the hook for that server's connections, in the order they open.
func diffPubSubProto(t *testing.T, steps []psStep, prepare func() func(*respConn)) {
	t.Helper()
	if prepare == nil {
		prepare = func() func(*respConn) { return func(*respConn) {} }
	}
	sock := startRedisSocket(t)
	hook := prepare()
	want := runPubSubScript(t, steps, func() *respConn {
		c := dial(t, "unix", sock)
		hook(c)
		return c
	})
	for _, model := range testIOModels() {
		t.Run(model, func(t *testing.T) {
			s := startServer(t, func(cfg *Config) { cfg.IOModel = model })
			hook := prepare()
			got := runPubSubScript(t, steps, func() *respConn {
				c := s.dial(t)
				hook(c)
				return c
			})
			for i, st := range steps {
				if got[i] != want[i] {
					t.Errorf("step %d: %s: %s\n got: %s\nwant: %s", i, st.conn, st.cmd, got[i], want[i])
				}
			}
		})
	}
}

// testIOModels are the I/O models available here.
func testIOModels() []string {
	if epollSupported {
		return []string{IOModelGoroutine, IOModelEpoll}
	}
	return []string{IOModelGoroutine}
}

func TestPubSubAgainstRedis(t *testing.T) {
	diffPubSub(t, []psStep{
		// Replies without subscriptions.
		{conn: "a", cmd: "SUBSCRIBE"},
		{conn: "a", cmd: "UNSUBSCRIBE"},
		{conn: "a", cmd: "PUNSUBSCRIBE"},
		{conn: "a", cmd: "SUNSUBSCRIBE"},
		{conn: "a", cmd: "PUBLISH"},
		{conn: "a", cmd: "PUBLISH c1"},
		{conn: "a", cmd: "SPUBLISH s1"},
		{conn: "a", cmd: "PUBLISH c1 nobody"},
		{conn: "a", cmd: "PING"},
		// Subscribing: counts, duplicates, the three kinds.
		{conn: "a", cmd: "SUBSCRIBE c1 c2 c1"},
		{conn: "a", cmd: "PSUBSCRIBE p* c? p*"},
		{conn: "a", cmd: "SSUBSCRIBE s1 s2"},
		{conn: "a", cmd: "SUBSCRIBE c3"},
		// The subscribed state.
		{conn: "a", cmd: "PING"},
		{conn: "a", cmd: "PING hello"},
		{conn: "a", cmd: "PING a b"},
		{conn: "a", cmd: "GET x"},
		{conn: "a", cmd: "SET x y"},
		{conn: "a", cmd: "CLIENT LIST"},
		{conn: "a", cmd: "CLIENT FOO"},
		{conn: "a", cmd: "CLIENT SETNAME"},
		{conn: "a", cmd: "CLIENT"},
		{conn: "a", cmd: "PUBSUB NUMSUB c1"},
		{conn: "a", cmd: "PUBLISH c1 x"},
		{conn: "a", cmd: "HELLO 2"},
		{conn: "a", cmd: "SELECT 0"},
		{conn: "a", cmd: "NOSUCH"},
		{conn: "a", cmd: "SUBSCRIBE"},
		// Messages of each kind.
		{conn: "b", cmd: "PUBLISH c1 hi"},
		{conn: "a"},
		{conn: "b", cmd: "PUBLISH c9 via-pattern"},
		{conn: "b", cmd: "PUBLISH p via-pattern"},
		{conn: "b", cmd: "PUBLISH zz nobody"},
		{conn: "a"},
		{conn: "b", cmd: "SPUBLISH s1 hey"},
		{conn: "b", cmd: "SPUBLISH c1 not-a-shard-subscriber"},
		{conn: "b", cmd: `PUBLISH c2 "bin\x00ary\r\nmessage"`},
		{conn: "b", cmd: `PUBLISH c2 ""`},
		{conn: "a"},
		// Introspection.
		{conn: "b", cmd: "PUBSUB CHANNELS", unordered: true},
		{conn: "b", cmd: "PUBSUB CHANNELS c[12]", unordered: true},
		{conn: "b", cmd: "PUBSUB CHANNELS nomatch*"},
		{conn: "b", cmd: "PUBSUB NUMSUB c1 c2 c3 s1 nosuch"},
		{conn: "b", cmd: "PUBSUB NUMSUB"},
		{conn: "b", cmd: "PUBSUB NUMPAT"},
		{conn: "b", cmd: "PUBSUB SHARDCHANNELS", unordered: true},
		{conn: "b", cmd: "PUBSUB SHARDCHANNELS s2"},
		{conn: "b", cmd: "PUBSUB SHARDNUMSUB s1 c1"},
		{conn: "b", cmd: "PUBSUB SHARDNUMSUB"},
		{conn: "b", cmd: "PUBSUB CHANNELS a b"},
		{conn: "b", cmd: "PUBSUB SHARDCHANNELS a b"},
		{conn: "b", cmd: "PUBSUB NUMPAT x"},
		{conn: "b", cmd: "PUBSUB FOO"},
		{conn: "b", cmd: "PUBSUB"},
		{conn: "b", cmd: "PUBSUB HELP"},
		{conn: "b", cmd: "PUBSUB HELP x"},
		// A second subscriber and a pattern that matches twice.
		{conn: "c", cmd: "PSUBSCRIBE c1"},
		{conn: "c", cmd: "SUBSCRIBE c1"},
		{conn: "b", cmd: "PUBLISH c1 both"},
		{conn: "a"},
		{conn: "c"},
		{conn: "b", cmd: "PUBSUB NUMSUB c1"},
		{conn: "b", cmd: "PUBSUB NUMPAT"},
		// Unsubscribing: by name, unknown names, all, each kind.
		{conn: "a", cmd: "UNSUBSCRIBE c2 nosuch"},
		{conn: "a", cmd: "PUNSUBSCRIBE"},
		{conn: "a", cmd: "PUNSUBSCRIBE"},
		{conn: "a", cmd: "SUNSUBSCRIBE s2 zz"},
		{conn: "b", cmd: "PUBLISH c2 gone"},
		{conn: "b", cmd: "PUBLISH c1 still"},
		{conn: "a"},
		{conn: "a", cmd: "UNSUBSCRIBE", unordered: true},
		{conn: "a", cmd: "GET x"},
		{conn: "a", cmd: "SUNSUBSCRIBE"},
		{conn: "a", cmd: "GET x"},
		{conn: "a", cmd: "PING"},
		{conn: "b", cmd: "PUBSUB NUMSUB c1 c2 c3"},
		{conn: "b", cmd: "PUBSUB SHARDNUMSUB s1 s2"},
		// Shard subscriptions alone keep the subscribed state.
		{conn: "d", cmd: "SSUBSCRIBE s"},
		{conn: "d", cmd: "SUBSCRIBE a"},
		{conn: "d", cmd: "UNSUBSCRIBE"},
		{conn: "d", cmd: "GET x"},
		{conn: "d", cmd: "SUNSUBSCRIBE"},
		{conn: "d", cmd: "GET x"},
		// RESET leaves the subscribed state without replies.
		{conn: "e", cmd: "SUBSCRIBE x y"},
		{conn: "e", cmd: "PSUBSCRIBE z*"},
		{conn: "e", cmd: "RESET"},
		{conn: "e", cmd: "PING"},
		{conn: "e", cmd: "RESET x"},
		{conn: "b", cmd: "PUBLISH x after-reset"},
		{conn: "b", cmd: "PUBSUB NUMPAT"},
		// An empty channel name, and "*" against it, as stringmatchlen.
		{conn: "f", cmd: `SUBSCRIBE ""`},
		{conn: "f", cmd: "PSUBSCRIBE *"},
		{conn: "b", cmd: `PUBLISH "" empty`},
		{conn: "f"},
		{conn: "b", cmd: `PUBSUB NUMSUB ""`},
		// QUIT in the subscribed state.
		{conn: "f", cmd: "QUIT"},
		{conn: "b", cmd: "PUBSUB NUMPAT"},
	})
}

// TestPubSubConfigAgainstRedis checks client-output-buffer-limit's CONFIG
// syntax, values and errors against redis-server.
func TestPubSubConfigAgainstRedis(t *testing.T) {
	const p = "client-output-buffer-limit"
	diffPubSub(t, []psStep{
		{conn: "a", cmd: "CONFIG GET " + p},
		{conn: "a", cmd: "CONFIG GET client-output-*"},
		{conn: "a", cmd: `CONFIG SET ` + p + ` "pubsub 1mb 512kb 10"`},
		{conn: "a", cmd: "CONFIG GET " + p},
		{conn: "a", cmd: `CONFIG SET ` + p + ` "replica 4 5 6 PUBSUB 1GB 2k 3"`},
		{conn: "a", cmd: "CONFIG GET " + p},
		{conn: "a", cmd: `CONFIG SET ` + p + ` "pubsub 1 2 3 pubsub 4 5 6"`},
		{conn: "a", cmd: "CONFIG GET " + p},
		{conn: "a", cmd: `CONFIG SET ` + p + ` ""`},
		{conn: "a", cmd: `CONFIG SET ` + p + ` "pubsub 1mb 512kb"`},
		{conn: "a", cmd: `CONFIG SET ` + p + ` "pubsub 1 2 3 4"`},
		{conn: "a", cmd: `CONFIG SET ` + p + ` "pubsub  1  2 3"`},
		{conn: "a", cmd: `CONFIG SET ` + p + ` "foo 1 2 3"`},
		{conn: "a", cmd: `CONFIG SET ` + p + ` "master 1 2 3"`},
		{conn: "a", cmd: `CONFIG SET ` + p + ` "pubsub x 2 3"`},
		{conn: "a", cmd: `CONFIG SET ` + p + ` "pubsub 1 2mib 3"`},
		{conn: "a", cmd: `CONFIG SET ` + p + ` "pubsub 1 2 x"`},
		{conn: "a", cmd: `CONFIG SET ` + p + ` "pubsub 1 2 -1"`},
		{conn: "a", cmd: `CONFIG SET ` + p + ` "pubsub -1 2 1"`},
		{conn: "a", cmd: `CONFIG SET ` + p + ` "pubsub 1 2 3.5"`},
		{conn: "a", cmd: `CONFIG SET ` + p + ` "pubsub 1 2 99999999999999999999"`},
		{conn: "a", cmd: `CONFIG SET ` + p + ` "pubsub 1 2 4294967296"`},
		{conn: "a", cmd: "CONFIG GET " + p},
		{conn: "a", cmd: `CONFIG SET ` + p + ` "pubsub 1 2 +7"`},
		{conn: "a", cmd: "CONFIG GET " + p},
		{conn: "a", cmd: `CONFIG SET ` + p + ` "pubsub 99999999999999999999 kb 3"`},
		{conn: "a", cmd: "CONFIG GET " + p},
		{conn: "a", cmd: `CONFIG SET ` + p + ` "pubsub 1b 2KB \t5"`},
		{conn: "a", cmd: "CONFIG GET " + p},
		{conn: "a", cmd: `CONFIG SET ` + p + ` "pubsub 007 2G -0"`},
		{conn: "a", cmd: "CONFIG GET " + p},
		{conn: "a", cmd: `CONFIG SET ` + p + ` "pubsub 1 2 -"`},
		{conn: "a", cmd: `CONFIG SET ` + p + ` "pubsub 1 2 5x"`},
		{conn: "a", cmd: `CONFIG SET ` + p + ` "pubsub +1 2 5"`},
		{conn: "a", cmd: `CONFIG SET ` + p + ` "pubsub 5 6 7 foo 1 2 3"`},
		{conn: "a", cmd: "CONFIG GET " + p},
		{conn: "a", cmd: `CONFIG SET ` + p + ` "pubsub 33554432 8388608 60" timeout 0`},
		{conn: "a", cmd: "CONFIG GET " + p},
	})
}

// TestPubSubCommandInfoAgainstRedis checks COMMAND INFO and COMMAND DOCS of
// the Pub/Sub commands and RESET against redis-server.
func TestPubSubCommandInfoAgainstRedis(t *testing.T) {
	var cmds []string
	for _, name := range []string{
		"subscribe", "psubscribe", "ssubscribe", "unsubscribe", "punsubscribe", "sunsubscribe",
		"publish", "spublish", "reset", "pubsub|channels", "pubsub|numsub", "pubsub|numpat",
		"pubsub|shardchannels", "pubsub|shardnumsub", "pubsub|help",
	} {
		cmds = append(cmds, "COMMAND INFO "+name, "COMMAND DOCS "+name)
	}
	cmds = append(cmds, "COMMAND GETKEYS spublish ch msg", "COMMAND GETKEYSANDFLAGS ssubscribe a b",
		"COMMAND GETKEYS publish ch msg", "COMMAND GETKEYS sunsubscribe")
	diffAgainstRedis(t, cmds, nil)
}

// TestPubSubClientList checks CLIENT LIST's flags and subscription counts
// and the pubsub client type, against redis-server's (which listens on a
// unix socket, hence its extra U flag).
func TestPubSubClientList(t *testing.T) {
	fields := func(line string, names ...string) string {
		var out []string
		for _, f := range strings.Fields(line) {
			k, v, _ := strings.Cut(f, "=")
			if slices.Contains(names, k) {
				if k == "flags" {
					v = strings.ReplaceAll(v, "U", "")
					if v == "" {
						v = "N"
					}
				}
				out = append(out, k+"="+v)
			}
		}
		return strings.Join(out, " ")
	}
	run := func(t *testing.T, dialConn func() *respConn) []string {
		sub, admin := dialConn(), dialConn()
		var got []string
		stepReplies(t, sub, "SUBSCRIBE a b")
		stepReplies(t, sub, "PSUBSCRIBE p*")
		stepReplies(t, sub, "SSUBSCRIBE s")
		for _, cmd := range []string{"CLIENT LIST TYPE pubsub", "CLIENT LIST TYPE normal"} {
			v := admin.doAny(splitArgs(t, cmd)...)
			got = append(got, fields(string(v.([]byte)), "flags", "sub", "psub", "ssub", "cmd"))
		}
		got = append(got, admin.do("CLIENT", "KILL", "TYPE", "pubsub"))
		got = append(got, admin.do("PUBSUB", "NUMPAT"))
		return got
	}
	sock := startRedisSocket(t)
	want := run(t, func() *respConn { return dial(t, "unix", sock) })
	s := startServer(t, nil)
	got := run(t, func() *respConn { return s.dial(t) })
	if !slices.Equal(got, want) {
		t.Errorf("got  %q\nwant %q", got, want)
	}
	testutil.Eventually(t, 10*time.Second, "the killed subscriber's subscriptions to go", func() bool {
		return s.pubsub.numNames(kindChannel)+s.pubsub.numNames(kindPattern)+s.pubsub.numNames(kindShard) == 0
	})
}

// TestPubSubRandomAgainstRedis runs a seeded random Pub/Sub script on four
// connections, on a DataNode and on redis-server, and requires the same
// bytes. Patterns are chosen so that no channel matches two of them: Redis
// sends a client's pmessages of several matching patterns in hash order.
func TestPubSubRandomAgainstRedis(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 11))
	conns := []string{"a", "b", "c", "d"}
	channels := []string{"c0", "c1", "c2", "c3", "x"}
	patterns := []string{"c[01]", "c[23]", "y*", "?"}
	pick := func(from []string) []string {
		var out []string
		for range 1 + rng.IntN(3) {
			out = append(out, from[rng.IntN(len(from))])
		}
		return out
	}
	var steps []psStep
	for range 400 {
		conn := conns[rng.IntN(len(conns))]
		switch rng.IntN(12) {
		case 0, 1:
			steps = append(steps, psStep{conn: conn, cmd: "SUBSCRIBE " + strings.Join(pick(channels), " ")})
		case 2:
			steps = append(steps, psStep{conn: conn, cmd: "PSUBSCRIBE " + strings.Join(pick(patterns), " ")})
		case 3:
			steps = append(steps, psStep{conn: conn, cmd: "SSUBSCRIBE " + strings.Join(pick(channels), " ")})
		case 4:
			steps = append(steps, psStep{conn: conn, cmd: "UNSUBSCRIBE " + strings.Join(pick(channels), " ")})
		case 5:
			steps = append(steps, psStep{conn: conn, cmd: "PUNSUBSCRIBE " + strings.Join(pick(patterns), " ")})
		case 6:
			cmd := []string{"UNSUBSCRIBE", "PUNSUBSCRIBE", "SUNSUBSCRIBE"}[rng.IntN(3)]
			// All channels in hash order; patterns in subscription order.
			steps = append(steps, psStep{conn: conn, cmd: cmd, unordered: cmd != "PUNSUBSCRIBE"})
		case 7, 8, 9:
			cmd := "PUBLISH "
			if rng.IntN(3) == 0 {
				cmd = "SPUBLISH "
			}
			steps = append(steps, psStep{conn: conn, cmd: cmd + channels[rng.IntN(len(channels))] + fmt.Sprint(" m", len(steps))})
		case 10:
			steps = append(steps, psStep{conn: conn, cmd: "PUBSUB NUMSUB " + strings.Join(channels, " ")},
				psStep{conn: conn, cmd: "PUBSUB SHARDNUMSUB " + strings.Join(channels, " ")},
				psStep{conn: conn, cmd: "PUBSUB NUMPAT"})
		case 11:
			steps = append(steps, psStep{conn: conn, cmd: "PUBSUB CHANNELS", unordered: true},
				psStep{conn: conn, cmd: "PING"})
		}
	}
	diffPubSub(t, steps)
}

// TestPubSubExemptFromIdleTimeout checks that, as in Redis, the idle
// timeout closes an idle normal client but not a subscriber. The cron runs
// with a time ahead of the clock instead of the test waiting.
func TestPubSubExemptFromIdleTimeout(t *testing.T) {
	for _, model := range testIOModels() {
		t.Run(model, func(t *testing.T) {
			s := startServer(t, func(cfg *Config) {
				cfg.IOModel = model
				cfg.Settings.Timeout = 1
			})
			sub, idle := s.dial(t), s.dial(t)
			sub.do("SUBSCRIBE", "ch")
			idle.do("PING")
			s.cronOnce(time.Now().Add(5 * time.Second))
			if _, err := idle.readUntilClosed(10 * time.Second); err != nil {
				t.Fatalf("idle client not closed: %v", err)
			}
			if got := s.dial(t).do("PUBLISH", "ch", "still here"); got != "(integer) 1" {
				t.Fatalf("PUBLISH = %s", got)
			}
			if got := sub.reply(); got != `["message" "ch" "still here"]` {
				t.Fatalf("subscriber got %s", got)
			}
		})
	}
}
