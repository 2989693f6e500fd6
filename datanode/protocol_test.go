package datanode

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

// protocolCase is raw bytes a client sends and what the server answers
// before it closes the connection ("" for a close without a reply).
type protocolCase struct {
	name     string
	send     string
	want     string
	password string // run with requirepass set, unauthenticated
}

var protocolCases = []protocolCase{
	{name: "multibulk count over INT_MAX", send: "*3000000000\r\n", want: "-ERR Protocol error: invalid multibulk length\r\n"},
	{name: "multibulk count not a number", send: "*20x\r\n", want: "-ERR Protocol error: invalid multibulk length\r\n"},
	{name: "bulk length over proto-max-bulk-len", send: "*1\r\n$1000000000\r\n", want: "-ERR Protocol error: invalid bulk length\r\n"},
	{name: "negative bulk length", send: "*1\r\n$-10\r\n", want: "-ERR Protocol error: invalid bulk length\r\n"},
	{name: "bulk header expected", send: "*1\r\nfoo\r\n", want: "-ERR Protocol error: expected '$', got 'f'\r\n"},
	{name: "unbalanced quotes inline", send: "set \"\"\"test-key\"\"\" test-value\r\n", want: "-ERR Protocol error: unbalanced quotes in request\r\n"},
	{name: "unauthenticated multibulk length", send: "*11\r\n", want: "-ERR Protocol error: unauthenticated multibulk length\r\n", password: "pw"},
	{name: "unauthenticated bulk length", send: "*1\r\n$16385\r\n", want: "-ERR Protocol error: unauthenticated bulk length\r\n", password: "pw"},
	{name: "too big inline request", send: strings.Repeat("a", 70000), want: "-ERR Protocol error: too big inline request\r\n"},
	{name: "too big mbulk count string", send: "*" + strings.Repeat("1", 70000), want: "-ERR Protocol error: too big mbulk count string\r\n"},
	{name: "too big bulk count string", send: "*1\r\n$" + strings.Repeat("1", 70000), want: "-ERR Protocol error: too big bulk count string\r\n"},
}

// TestProtocolErrors sends malformed requests over TCP: each gets Redis's
// error text and a closed connection, from the DataNode and from Redis.
func TestProtocolErrors(t *testing.T) {
	for _, tc := range protocolCases {
		t.Run(tc.name, func(t *testing.T) {
			t.Run("datanode", func(t *testing.T) {
				s := startServer(t, func(c *Config) { c.Settings.RequirePass = tc.password })
				checkProtocolCase(t, s.dial(t), tc)
			})
			t.Run("redis", func(t *testing.T) {
				var extra []string
				if tc.password != "" {
					extra = []string{"--requirepass", tc.password}
				}
				checkProtocolCase(t, startRedis(t, extra...), tc)
			})
		})
	}
}

func checkProtocolCase(t *testing.T, c *respConn, tc protocolCase) {
	t.Helper()
	c.writeRaw([]byte(tc.send))
	got, err := c.readUntilClosed(10 * time.Second)
	if err != nil {
		t.Fatalf("connection not closed: read %q, %v", got, err)
	}
	if got != tc.want {
		t.Fatalf("got %q, want %q", got, tc.want)
	}
}

// TestHugeDeclaredSizesDoNotAllocate declares a 2-billion-argument command
// and a 500 MB bulk, then sends only a little: the server must stay
// responsive and hold memory proportional to what arrived, not to what was
// declared.
func TestHugeDeclaredSizesDoNotAllocate(t *testing.T) {
	s := startServer(t, nil)
	a := s.dial(t)
	a.writeRaw([]byte("*2000000000\r\n$3\r\nabc\r\n"))
	b := s.dial(t)
	b.writeRaw([]byte("*2\r\n$4\r\nECHO\r\n$500000000\r\nxyz"))
	// Both are waiting for more data; others are served meanwhile.
	if got := s.dial(t).do("PING"); got != "PONG" {
		t.Fatalf("PING = %s", got)
	}
	var qbuf int64
	s.forEachClient(func(c *client) { qbuf += c.qbuf.Load() })
	if qbuf > 1<<20 {
		t.Fatalf("pending query buffers hold %d bytes for a few bytes of input", qbuf)
	}
}

// TestQueryBufferLimitClosesConnection feeds one endless command: the
// connection is closed once its pending bytes pass client-query-buffer-limit.
func TestQueryBufferLimitClosesConnection(t *testing.T) {
	s := startServer(t, func(c *Config) {
		c.Settings.ProtoMaxBulkLen = 1 << 20
		c.Settings.ClientQueryBufferLimit = 2 << 20
	})
	c := s.dial(t)
	c.writeRaw([]byte("*100000\r\n"))
	arg := []byte("$1000\r\n" + strings.Repeat("x", 1000) + "\r\n")
	chunk := bytes.Repeat(arg, 64)
	for sent := 0; sent < 4<<20; sent += len(chunk) {
		c.conn.SetWriteDeadline(time.Now().Add(10 * time.Second))
		if _, err := c.conn.Write(chunk); err != nil {
			break // the server closed the connection: what we want
		}
	}
	got, err := c.readUntilClosed(10 * time.Second)
	if err != nil && !isConnReset(err) {
		t.Fatalf("connection still open after 4 MB of one command: %v", err)
	}
	if got != "" {
		t.Fatalf("got %q, want a close without reply (as Redis)", got)
	}
	if got := s.dial(t).do("PING"); got != "PONG" {
		t.Fatalf("server not serving after closing the client: %s", got)
	}
}

func isConnReset(err error) bool {
	return err != nil && strings.Contains(err.Error(), "connection reset")
}

// TestPipelineAndInline checks pipelined, inline and split commands.
func TestPipelineAndInline(t *testing.T) {
	s := startServer(t, nil)
	c := s.dial(t)
	c.writeRaw([]byte("PING\r\necho \"a b\"\r\n*2\r\n$4\r\nECHO\r\n$2\r\nhi\r\n\r\n\n*0\r\nping x\n"))
	for _, want := range []string{"PONG", `"a b"`, `"hi"`, `"x"`} {
		if got := c.reply(); got != want {
			t.Fatalf("got %s, want %s", got, want)
		}
	}
	// One command delivered a byte at a time.
	for _, b := range encodeCommand("ECHO", "slow") {
		c.writeRaw([]byte{b})
	}
	if got := c.reply(); got != `"slow"` {
		t.Fatalf("byte-at-a-time ECHO = %s", got)
	}
}
