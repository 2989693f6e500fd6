package datanode

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chkv/chkv/helper/testutil"
)

// testIOModelEnv and testEventLoopsEnv name the environment variables
// that, when set, select Config.IOModel and Config.EventLoops for every
// server startServer starts.
const (
	testIOModelEnv    = "CHKV_TEST_IO_MODEL"
	testEventLoopsEnv = "CHKV_TEST_EVENT_LOOPS"
)

// startServer starts a standalone DataNode on a loopback port chosen by the
// kernel, with cfg adjusted by mutate, and stops it when the test ends.
func startServer(t testing.TB, mutate func(*Config)) *Server {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cfg := DefaultConfig()
	cfg.Listener = ln
	cfg.Listen = ln.Addr().String()
	cfg.Seed = 1
	if m := os.Getenv(testIOModelEnv); m != "" {
		cfg.IOModel = m
	}
	if n := os.Getenv(testEventLoopsEnv); n != "" {
		loops, err := strconv.Atoi(n)
		if err != nil {
			t.Fatalf("%s=%q: %v", testEventLoopsEnv, n, err)
		}
		cfg.EventLoops = loops
	}
	if mutate != nil {
		mutate(&cfg)
	}
	s, err := New(cfg)
	if err != nil {
		ln.Close()
		t.Fatal(err)
	}
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Stop)
	return s
}

// respConn is a raw RESP client for tests: it sends commands and decodes
// replies, so tests see exactly what a client library would.
type respConn struct {
	t    testing.TB
	conn net.Conn
	r    *bufio.Reader
}

func dial(t testing.TB, network, addr string) *respConn {
	t.Helper()
	conn, err := net.DialTimeout(network, addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return &respConn{t: t, conn: conn, r: bufio.NewReader(conn)}
}

func (s *Server) dial(t testing.TB) *respConn { return dial(t, "tcp", s.Addr().String()) }

// send writes args as one RESP multibulk command without reading a reply.
func (c *respConn) send(args ...string) {
	c.t.Helper()
	c.writeRaw(encodeCommand(args...))
}

func (c *respConn) writeRaw(b []byte) {
	c.t.Helper()
	c.conn.SetWriteDeadline(time.Now().Add(10 * time.Second))
	if _, err := c.conn.Write(b); err != nil {
		c.t.Fatalf("write: %v", err)
	}
}

// do sends a command and returns its reply formatted as redis-cli prints it.
func (c *respConn) do(args ...string) string {
	c.t.Helper()
	c.send(args...)
	return c.reply()
}

// reply reads one reply and formats it as redis-cli prints it.
func (c *respConn) reply() string {
	c.t.Helper()
	c.conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	v, err := readReply(c.r)
	if err != nil {
		c.t.Fatalf("read reply: %v", err)
	}
	return formatReply(v)
}

// readRaw reads until the server closes the connection or timeout passes.
func (c *respConn) readUntilClosed(timeout time.Duration) (string, error) {
	c.conn.SetReadDeadline(time.Now().Add(timeout))
	b, err := io.ReadAll(c.r)
	return string(b), err
}

func encodeCommand(args ...string) []byte {
	b := []byte("*" + strconv.Itoa(len(args)) + "\r\n")
	for _, a := range args {
		b = append(b, "$"+strconv.Itoa(len(a))+"\r\n"+a+"\r\n"...)
	}
	return b
}

// respError is an error reply.
type respError string

// readReply decodes one RESP2 value: string (status), respError, int64,
// []byte or nil (bulk), []any or nil-array.
func readReply(r *bufio.Reader) (any, error) {
	line, err := r.ReadString('\n')
	if err != nil {
		return nil, err
	}
	if len(line) < 3 || !strings.HasSuffix(line, "\r\n") {
		return nil, fmt.Errorf("malformed reply line %q", line)
	}
	body := line[1 : len(line)-2]
	switch line[0] {
	case '+':
		return body, nil
	case '-':
		return respError(body), nil
	case ':':
		return strconv.ParseInt(body, 10, 64)
	case '$':
		n, err := strconv.Atoi(body)
		if err != nil || n < -1 {
			return nil, fmt.Errorf("bad bulk length %q", body)
		}
		if n == -1 {
			return nil, nil
		}
		buf := make([]byte, n+2)
		if _, err := io.ReadFull(r, buf); err != nil {
			return nil, err
		}
		return buf[:n], nil
	case '*':
		n, err := strconv.Atoi(body)
		if err != nil || n < -1 {
			return nil, fmt.Errorf("bad array length %q", body)
		}
		if n == -1 {
			return nilArray{}, nil
		}
		out := make([]any, n)
		for i := range out {
			if out[i], err = readReply(r); err != nil {
				return nil, err
			}
		}
		return out, nil
	}
	return nil, fmt.Errorf("unknown reply type %q", line)
}

type nilArray struct{}

// formatReply renders a reply the way redis-cli does, flattened to one line:
// OK, (error) ERR ..., (integer) 1, "bulk", (nil), [a b] for arrays.
func formatReply(v any) string {
	switch v := v.(type) {
	case string:
		return v
	case respError:
		return "(error) " + string(v)
	case int64:
		return "(integer) " + strconv.FormatInt(v, 10)
	case []byte:
		return strconv.Quote(string(v))
	case nil:
		return "(nil)"
	case nilArray:
		return "(nil array)"
	case []any:
		parts := make([]string, len(v))
		for i, e := range v {
			parts[i] = formatReply(e)
		}
		return "[" + strings.Join(parts, " ") + "]"
	}
	return fmt.Sprintf("unexpected %T", v)
}

// step is one command of a script and the reply Redis gives to it.
type step struct {
	cmd string // arguments separated by spaces; Go-quoted ("a b") for spaces
	// want is formatReply of the expected reply. "*" accepts any reply, and
	// "a|b" accepts either of two integer replies (for TTLs that may tick
	// down by one while a slow test runs).
	want string
}

// matches reports whether got is an acceptable reply for st.
func (st step) matches(got string) bool {
	if st.want == "*" || got == st.want {
		return true
	}
	if head, alt, ok := strings.Cut(st.want, "|"); ok && strings.HasPrefix(head, "(integer) ") {
		return got == head || got == "(integer) "+alt
	}
	return false
}

// splitArgs splits a step's command at spaces, honouring Go-quoted args.
func splitArgs(t testing.TB, cmd string) []string {
	t.Helper()
	var args []string
	for rest := strings.TrimSpace(cmd); rest != ""; rest = strings.TrimSpace(rest) {
		if rest[0] == '"' {
			q, err := strconv.QuotedPrefix(rest)
			if err != nil {
				t.Fatalf("bad quoting in %q: %v", cmd, err)
			}
			arg, _ := strconv.Unquote(q)
			args = append(args, arg)
			rest = rest[len(q):]
			continue
		}
		end := strings.IndexByte(rest, ' ')
		if end < 0 {
			end = len(rest)
		}
		args = append(args, rest[:end])
		rest = rest[end:]
	}
	return args
}

// runScript runs steps in order on one connection and checks each reply.
func runScript(t *testing.T, c *respConn, steps []step) {
	t.Helper()
	for i, st := range steps {
		got := c.do(splitArgs(t, st.cmd)...)
		if !st.matches(got) {
			t.Errorf("step %d: %s\n got: %s\nwant: %s", i, st.cmd, got, st.want)
		}
	}
}

// scriptTest runs a named script against a fresh DataNode and, where
// redis-server is installed, against a fresh real Redis too, so that every
// expected reply is shown to be Redis's own.
func scriptTest(t *testing.T, name string, steps []step) {
	t.Run(name, func(t *testing.T) {
		t.Run("datanode", func(t *testing.T) {
			s := startServer(t, nil)
			runScript(t, s.dial(t), steps)
		})
		t.Run("redis", func(t *testing.T) {
			runScript(t, startRedis(t), steps)
		})
	})
}

// startRedis starts a throwaway redis-server on a unix socket (no
// persistence) and returns a connection to it; it skips the test where
// redis-server is not installed. extraArgs are more redis-server options.
func startRedis(t *testing.T, extraArgs ...string) *respConn {
	t.Helper()
	return dial(t, "unix", startRedisSocket(t, extraArgs...))
}

// startRedisSocket is startRedis for tests that open several connections:
// it returns the server's unix socket path.
func startRedisSocket(t testing.TB, extraArgs ...string) string {
	t.Helper()
	path, err := exec.LookPath("redis-server")
	if err != nil {
		t.Skip("redis-server not installed: expected replies not cross-checked against Redis")
	}
	dir := t.TempDir()
	sock := filepath.Join(dir, "redis.sock")
	args := append([]string{"--port", "0", "--unixsocket", sock, "--save", "", "--appendonly", "no", "--dir", dir}, extraArgs...)
	cmd := exec.Command(path, args...)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	testutil.Eventually(t, 10*time.Second, "redis-server to accept connections", func() bool {
		conn, err := net.Dial("unix", sock)
		if err != nil {
			return false
		}
		conn.Close()
		return true
	})
	return sock
}
