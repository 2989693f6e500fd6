package drainport

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeDrainer is a Drainer whose progress the test sets.
type fakeDrainer struct {
	mu       sync.Mutex
	p        Progress
	startErr error
	starts   int
	// block makes StartDrain wait for its context; inStart counts callers
	// inside it.
	block   bool
	inStart int
	entered chan struct{} // when non-nil, receives once per StartDrain call
	// noActive is how many more calls answer ErrNoActiveNameNode.
	noActive int
}

func newFakeDrainer() *fakeDrainer {
	return &fakeDrainer{p: Progress{State: "up"}}
}

func (f *fakeDrainer) StartDrain(ctx context.Context) error {
	f.mu.Lock()
	f.starts++
	f.inStart++
	block, entered := f.block, f.entered
	f.mu.Unlock()
	defer func() {
		f.mu.Lock()
		f.inStart--
		f.mu.Unlock()
	}()
	if entered != nil {
		entered <- struct{}{}
	}
	if block {
		<-ctx.Done()
		return ctx.Err()
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.noActive > 0 {
		f.noActive--
		return fmt.Errorf("%w: nn-a is standby", ErrNoActiveNameNode)
	}
	if f.startErr != nil {
		return f.startErr
	}
	f.p.Draining = true
	f.p.State = "draining"
	return nil
}

func (f *fakeDrainer) Progress() Progress {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.p
}

// startCount returns the number of StartDrain calls.
func (f *fakeDrainer) startCount() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.starts
}

// set changes the progress under the lock.
func (f *fakeDrainer) set(change func(p *Progress)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	change(&f.p)
}

// testConfig is a Config with short timings for tests.
func testConfig(d Drainer) Config {
	return Config{
		Drainer:          d,
		NodeID:           "dn-1",
		PID:              4242,
		ProgressInterval: 10 * time.Millisecond,
		IdleTimeout:      time.Minute,
	}
}

// startServer serves cfg on 127.0.0.1:0 until the test ends.
func startServer(t *testing.T, cfg Config) (*Server, string) {
	t.Helper()
	return serve(t, cfg, func(ln net.Listener) net.Listener { return ln })
}

// serve serves cfg on wrap of a listener on 127.0.0.1:0 until the test
// ends, and checks that Serve returns nil after Close.
func serve(t *testing.T, cfg Config, wrap func(net.Listener) net.Listener) (*Server, string) {
	t.Helper()
	s, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	served := make(chan error, 1)
	go func() { served <- s.Serve(wrap(ln)) }()
	t.Cleanup(func() {
		s.Close()
		if err := <-served; err != nil {
			t.Errorf("Serve returned %v after Close, want nil", err)
		}
	})
	return s, ln.Addr().String()
}

// remoteAddr is a peer address that is not loopback.
var remoteAddr = &net.TCPAddr{IP: net.ParseIP("192.0.2.7"), Port: 40000}

// remoteListener accepts connections that report addr as their peer.
type remoteListener struct {
	net.Listener
	addr net.Addr
}

func (l remoteListener) Accept() (net.Conn, error) {
	nc, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return remoteConn{Conn: nc, addr: l.addr}, nil
}

type remoteConn struct {
	net.Conn
	addr net.Addr
}

func (c remoteConn) RemoteAddr() net.Addr { return c.addr }

// startServerRemote is startServer, with every peer seen as coming from
// addr.
func startServerRemote(t *testing.T, cfg Config, addr net.Addr) (*Server, string) {
	t.Helper()
	return serve(t, cfg, func(ln net.Listener) net.Listener { return remoteListener{Listener: ln, addr: addr} })
}

// client is the test's end of a connection.
type client struct {
	t  *testing.T
	nc net.Conn
	br *bufio.Reader
}

func dial(t *testing.T, addr string) *client {
	t.Helper()
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	t.Cleanup(func() { nc.Close() })
	return &client{t: t, nc: nc, br: bufio.NewReader(nc)}
}

// dialGreeted dials and reads the greeting.
func dialGreeted(t *testing.T, addr string) *client {
	t.Helper()
	c := dial(t, addr)
	c.expect("CHKV DataNode dn-1 drain port. Type 'help'.")
	return c
}

func (c *client) send(s string) {
	c.t.Helper()
	c.nc.SetWriteDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.WriteString(c.nc, s); err != nil {
		c.t.Fatalf("send %q: %v", s, err)
	}
}

// line reads one reply line, checking it ends in \r\n.
func (c *client) line() string {
	c.t.Helper()
	c.nc.SetReadDeadline(time.Now().Add(5 * time.Second))
	l, err := c.br.ReadString('\n')
	if err != nil {
		c.t.Fatalf("read line: %v (got %q)", err, l)
	}
	if !strings.HasSuffix(l, "\r\n") {
		c.t.Fatalf("line %q does not end in \\r\\n", l)
	}
	return strings.TrimSuffix(l, "\r\n")
}

func (c *client) expect(want string) {
	c.t.Helper()
	if got := c.line(); got != want {
		c.t.Fatalf("got line %q, want %q", got, want)
	}
}

// skipUntil reads lines until one has the prefix, and returns it.
func (c *client) skipUntil(prefix string) string {
	c.t.Helper()
	for {
		if l := c.line(); strings.HasPrefix(l, prefix) {
			return l
		}
	}
}

// expectEOF checks that the server closed the connection.
func (c *client) expectEOF() {
	c.t.Helper()
	c.nc.SetReadDeadline(time.Now().Add(5 * time.Second))
	l, err := c.br.ReadString('\n')
	if !errors.Is(err, io.EOF) {
		c.t.Fatalf("got %q, %v; want EOF", l, err)
	}
}
