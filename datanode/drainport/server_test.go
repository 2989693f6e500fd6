package drainport

import (
	"errors"
	"net"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chkv/chkv/helper/testutil"
)

func TestGreetingHelpQuit(t *testing.T) {
	_, addr := startServer(t, testConfig(newFakeDrainer()))
	c := dialGreeted(t, addr)
	c.send("help\n")
	c.expect("commands:")
	for _, cmd := range []string{"  k ", "   ", "  status ", "  help ", "  quit "} {
		if l := c.line(); !strings.HasPrefix(l, cmd) {
			t.Fatalf("help line %q, want prefix %q", l, cmd)
		}
	}
	c.send("\n  \r\nQUIT\r\n")
	c.expect("bye")
	c.expectEOF()

	c = dialGreeted(t, addr)
	c.send("exit\n")
	c.expect("bye")
	c.expectEOF()
}

func TestStatus(t *testing.T) {
	d := newFakeDrainer()
	_, addr := startServer(t, testConfig(d))
	c := dialGreeted(t, addr)
	c.send("status\n")
	c.expect("state: up")

	d.set(func(p *Progress) { p.SlotsMoving, p.KeysMoved, p.BytesMoved = 3, 10, 2048 })
	c.send("status\n")
	c.expect("state: up, migrating: 3 moving, 10 keys, 2.0 kB moved")

	d.set(func(p *Progress) {
		*p = Progress{State: "draining", Draining: true, SlotsTotal: 5461, SlotsLeft: 4227, SlotsMoving: 45, StuckSlots: 2, KeysMoved: 123456, BytesMoved: 12_300_000}
	})
	c.send("status\r\n")
	c.expect("state: draining, 4227/5461 slots left (22.6% moved), 45 moving, 2 stuck, 123456 keys, 12.3 MB moved")
}

func TestUnknownCommandKeepsConnection(t *testing.T) {
	_, addr := startServer(t, testConfig(newFakeDrainer()))
	c := dialGreeted(t, addr)
	c.send("frobnicate now\n")
	c.expect("ERR unknown command 'frobnicate'; type 'help'")
	c.send(strings.Repeat("x", 200) + "\n")
	c.expect("ERR unknown command '" + strings.Repeat("x", 61) + "...'; type 'help'")
	c.send("status\n")
	c.expect("state: up")
}

func TestDrainStreamsUntilDone(t *testing.T) {
	d := newFakeDrainer()
	d.set(func(p *Progress) { p.SlotsTotal, p.SlotsLeft = 4, 4 })
	_, addr := startServer(t, testConfig(d))
	c := dialGreeted(t, addr)
	c.send("k\r\n")
	c.expect("draining: 0/4 slots moved (0.0%), 0 moving, 0 keys, 0 B moved")

	d.set(func(p *Progress) {
		p.SlotsLeft, p.SlotsMoving, p.StuckSlots, p.KeysMoved, p.BytesMoved = 1, 1, 2, 1234, 12_300_000
	})
	want := "draining: 3/4 slots moved (75.0%), 1 moving, 2 stuck, 1234 keys, 12.3 MB moved"
	for l := c.line(); l != want; l = c.line() {
		if !strings.HasPrefix(l, "draining: ") {
			t.Fatalf("got %q while streaming", l)
		}
	}

	d.set(func(p *Progress) {
		p.State, p.SlotsLeft, p.SlotsMoving, p.StuckSlots, p.Done = "drained", 0, 0, 0, true
	})
	c.skipUntil("draining: 4/4 slots moved (100.0%), 0 moving, 1234 keys, 12.3 MB moved")
	c.expect("drained: node dn-1 owns no slots and can be stopped (pid 4242)")
	c.send("status\n")
	c.expect("state: drained, 0/4 slots left, 0 moving, 1234 keys, 12.3 MB moved; can be stopped (pid 4242)")
}

func TestDrainStartError(t *testing.T) {
	d := newFakeDrainer()
	d.startErr = errors.New("standalone node:\nnothing to drain to")
	_, addr := startServer(t, testConfig(d))
	c := dialGreeted(t, addr)
	c.send("k\n")
	c.expect("ERR standalone node: nothing to drain to")
	c.send("status\n")
	c.expect("state: up")
}

func TestDrainStoppedByCluster(t *testing.T) {
	d := newFakeDrainer()
	d.set(func(p *Progress) { p.SlotsTotal, p.SlotsLeft = 4, 4 })
	_, addr := startServer(t, testConfig(d))
	c := dialGreeted(t, addr)
	c.send("k\n")
	c.line()
	d.set(func(p *Progress) { p.State, p.Draining = "up", false })
	c.skipUntil("ERR the drain stopped before the node was drained (state up)")
	c.send("status\n")
	c.expect("state: up")
}

func TestToken(t *testing.T) {
	d := newFakeDrainer()
	cfg := testConfig(d)
	cfg.Token = "s3cret"
	_, addr := startServerRemote(t, cfg, remoteAddr)
	c := dialGreeted(t, addr)
	c.send("k\n")
	c.expect("ERR authentication required: k <cluster-token> (k alone only from the node itself)")
	c.send("k s3cre\n")
	c.expect("ERR wrong token")
	c.send("k s3cret extra\n")
	c.expect("ERR usage: k <cluster-token>")
	c.send("status\n")
	c.expect("state: up")
	if n := d.startCount(); n != 0 {
		t.Fatalf("StartDrain called %d times before the right token", n)
	}
	c.send("k s3cret\n")
	c.skipUntil("draining: ")
}

func TestKAloneFromLoopbackWithToken(t *testing.T) {
	d := newFakeDrainer()
	cfg := testConfig(d)
	cfg.Token = "s3cret"
	_, addr := startServer(t, cfg)
	c := dialGreeted(t, addr)
	c.send("k wrong\n")
	c.expect("ERR wrong token") // from loopback too, a token given must be right
	c.send("k\n")
	c.skipUntil("draining: ")
}

func TestKWithAnArgumentNeedsAToken(t *testing.T) {
	d := newFakeDrainer()
	_, addr := startServer(t, testConfig(d)) // no token configured
	c := dialGreeted(t, addr)
	c.send("k anything\n")
	c.expect("ERR this node has no cluster token: type k alone, from the node itself")
	if n := d.startCount(); n != 0 {
		t.Fatalf("k anything called StartDrain %d times", n)
	}
	c.send("k\n")
	c.skipUntil("draining: ")
}

func TestKAloneFromARemotePeerWithoutTokenRefused(t *testing.T) {
	d := newFakeDrainer()
	_, addr := startServerRemote(t, testConfig(d), remoteAddr)
	c := dialGreeted(t, addr)
	c.send("k\n")
	c.expect("ERR authentication required: k <cluster-token> (k alone only from the node itself)")
	if n := d.startCount(); n != 0 {
		t.Fatalf("StartDrain called %d times", n)
	}
}

func TestDrainWaitsForAnActiveNameNode(t *testing.T) {
	d := newFakeDrainer()
	d.noActive = 3
	_, addr := startServer(t, testConfig(d))
	c := dialGreeted(t, addr)
	c.send("k\n")
	c.expect("waiting for an active NameNode")
	c.skipUntil("draining: ")
	if n := d.startCount(); n != 4 {
		t.Fatalf("StartDrain called %d times, want 4 (3 without an active NameNode)", n)
	}
}

func TestDrainGivesUpWaitingAfterStartTimeout(t *testing.T) {
	d := newFakeDrainer()
	d.noActive = 1 << 30
	cfg := testConfig(d)
	cfg.StartTimeout = 300 * time.Millisecond
	_, addr := startServer(t, cfg)
	c := dialGreeted(t, addr)
	c.send("k\n")
	c.expect("waiting for an active NameNode")
	c.expect("ERR no active NameNode within 300ms: drainport: no active namenode: nn-a is standby")
	c.send("status\n")
	c.expect("state: up")
}

func TestServeRefusesNonLoopbackWithoutToken(t *testing.T) {
	s, err := New(testConfig(newFakeDrainer()))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ln := newFakeListener("192.0.2.1:6666")
	if err := s.Serve(ln); !errors.Is(err, ErrTokenRequired) {
		t.Fatalf("Serve = %v, want ErrTokenRequired", err)
	}
	if !ln.isClosed() {
		t.Fatal("Serve did not close the listener it refused")
	}

	cfg := testConfig(newFakeDrainer())
	cfg.Token = "t"
	s2, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- s2.Serve(newFakeListener("192.0.2.1:6666")) }()
	s2.Close()
	if err := <-served; err != nil && !errors.Is(err, ErrClosed) {
		t.Fatalf("Serve with token = %v, want nil or ErrClosed", err)
	}
}

func TestLineTooLongCloses(t *testing.T) {
	cfg := testConfig(newFakeDrainer())
	cfg.MaxLineBytes = 32
	_, addr := startServer(t, cfg)
	c := dialGreeted(t, addr)
	c.send(strings.Repeat("a", 32) + "\n")
	c.expect("ERR unknown command '" + strings.Repeat("a", 32) + "'; type 'help'")
	c.send(strings.Repeat("b", 100) + "\n")
	c.expect("ERR line too long")
	c.expectEOF()
}

func TestBinaryInputCloses(t *testing.T) {
	_, addr := startServer(t, testConfig(newFakeDrainer()))
	c := dialGreeted(t, addr)
	c.send("\x16\x03\x01\x02\x00\x01") // a TLS ClientHello's start, no newline
	c.expect("ERR binary input")
	c.expectEOF()

	c = dialGreeted(t, addr)
	c.send("stat\x1b[Aus\n")
	c.expect("ERR binary input")
	c.expectEOF()
}

func TestTelnetNegotiationIgnored(t *testing.T) {
	_, addr := startServer(t, testConfig(newFakeDrainer()))
	c := dialGreeted(t, addr)
	// DO ECHO, WILL NAWS, a NAWS subnegotiation, then NOP in mid-word.
	c.send("\xff\xfd\x01\xff\xfb\x1f\xff\xfa\x1f\x00\x50\xff\xff\xff\xf0sta\xff\xf1tus\r\n")
	c.expect("state: up")
	c.send("help\r\x00") // telnet's CR NUL line end
	c.expect("commands:")
}

func TestIdleTimeout(t *testing.T) {
	cfg := testConfig(newFakeDrainer())
	cfg.IdleTimeout = 50 * time.Millisecond
	_, addr := startServer(t, cfg)
	c := dialGreeted(t, addr)
	c.expect("ERR idle for 50ms, closing")
	c.expectEOF()
}

func TestIdleTimeoutSuspendedWhileStreaming(t *testing.T) {
	d := newFakeDrainer()
	cfg := testConfig(d)
	cfg.IdleTimeout = 50 * time.Millisecond
	_, addr := startServer(t, cfg)
	c := dialGreeted(t, addr)
	c.send("k\n")
	start := time.Now()
	for time.Since(start) < 4*cfg.IdleTimeout {
		c.skipUntil("draining: ")
	}
	d.set(func(p *Progress) { p.Done = true })
	c.skipUntil("drained: ")
	c.expect("ERR idle for 50ms, closing") // back in command mode, the timer applies again
}

func TestInputStopsWatching(t *testing.T) {
	d := newFakeDrainer()
	_, addr := startServer(t, testConfig(d))
	c := dialGreeted(t, addr)
	c.send("k\n")
	c.skipUntil("draining: ")
	c.send("status\n")
	c.skipUntil("stopped watching")
	c.expect("state: draining, 0/0 slots left (100.0% moved), 0 moving, 0 keys, 0 B moved")
	c.send("quit\n")
	c.expect("bye")
}

func TestHalfClosedPeerStillGetsStream(t *testing.T) {
	d := newFakeDrainer()
	_, addr := startServer(t, testConfig(d))
	c := dialGreeted(t, addr)
	c.send("k\n")
	c.nc.(*net.TCPConn).CloseWrite() // as nc -N does at the end of its input
	c.skipUntil("draining: ")
	c.skipUntil("draining: ")
	d.set(func(p *Progress) { p.Done = true })
	c.skipUntil("drained: node dn-1")
	c.expectEOF()
}

func TestPeerCloseStopsStream(t *testing.T) {
	d := newFakeDrainer()
	s, addr := startServer(t, testConfig(d))
	c := dialGreeted(t, addr)
	c.send("k\n")
	c.skipUntil("draining: ")
	c.nc.Close()
	testutil.Eventually(t, 5*time.Second, "the session to end", func() bool { return s.numConns() == 0 })
}

func TestMaxConnsEvictsTheLongestIdle(t *testing.T) {
	cfg := testConfig(newFakeDrainer())
	cfg.MaxConns = 2
	s, addr := startServer(t, cfg)
	c1 := dialGreeted(t, addr)
	c2 := dialGreeted(t, addr)
	c3 := dialGreeted(t, addr) // c1 waited longest: it goes
	c1.expect("ERR closing: 2 connections are open and this one has waited longest for a command")
	c1.expectEOF()
	testutil.Eventually(t, 5*time.Second, "the evicted session to end", func() bool { return s.numConns() == 2 })
	for _, c := range []*client{c2, c3} {
		c.send("status\n")
		c.expect("state: up")
	}
}

func TestMaxConnsKeepsSessionsRunningACommand(t *testing.T) {
	d := newFakeDrainer()
	cfg := testConfig(d)
	cfg.MaxConns = 2
	s, addr := startServer(t, cfg)
	c1 := dialGreeted(t, addr)
	c1.send("k\n") // streams progress: running a command
	c1.skipUntil("draining: ")
	c2 := dialGreeted(t, addr)
	c3 := dialGreeted(t, addr) // c2 is the only idle one
	c2.expect("ERR closing: 2 connections are open and this one has waited longest for a command")
	c2.expectEOF()
	c1.skipUntil("draining: ")
	c3.send("k\n")
	c3.skipUntil("draining: ")
	testutil.Eventually(t, 5*time.Second, "c2's session to end", func() bool { return s.numConns() == 2 })
	// Both sessions run a command: nobody to evict.
	c4 := dial(t, addr)
	c4.expect("ERR too many connections")
	c4.expectEOF()
	c1.skipUntil("draining: ")
	c3.skipUntil("draining: ")
}

func TestManyIdleConnectionsNeverLockTheOperatorOut(t *testing.T) {
	d := newFakeDrainer()
	cfg := testConfig(d)
	cfg.MaxConns = 4
	_, addr := startServer(t, cfg)
	for range 3 * cfg.MaxConns {
		dialGreeted(t, addr) // idle sockets, as a port scanner or a forgotten telnet leaves
	}
	op := dialGreeted(t, addr)
	op.send("k\n")
	op.skipUntil("draining: ")
}

func TestFirstCommandTimeout(t *testing.T) {
	cfg := testConfig(newFakeDrainer())
	cfg.FirstCommandTimeout = 50 * time.Millisecond
	_, addr := startServer(t, cfg)
	c := dialGreeted(t, addr)
	c.expect("ERR no command within 50ms, closing")
	c.expectEOF()
}

func TestIdleTimeoutAfterTheFirstCommand(t *testing.T) {
	cfg := testConfig(newFakeDrainer())
	cfg.FirstCommandTimeout = 2 * time.Second // room for a slow test machine
	cfg.IdleTimeout = 3 * time.Second
	_, addr := startServer(t, cfg)
	c := dialGreeted(t, addr)
	c.send("status\n")
	c.expect("state: up")
	start := time.Now()
	c.nc.SetReadDeadline(time.Now().Add(10 * time.Second))
	if l, err := c.br.ReadString('\n'); err != nil || l != "ERR idle for 3s, closing\r\n" {
		t.Fatalf("got %q, %v", l, err)
	}
	if waited := time.Since(start); waited < 2500*time.Millisecond {
		t.Fatalf("closed after %v, before the idle timeout of a session that typed a command", waited)
	}
}

func TestCloseStopsEverything(t *testing.T) {
	before := runtime.NumGoroutine()
	d := newFakeDrainer()
	s, err := New(testConfig(d))
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- s.Serve(ln) }()
	addr := ln.Addr().String()

	streaming := dialGreeted(t, addr)
	streaming.send("k\n")
	streaming.skipUntil("draining: ")
	idle := dialGreeted(t, addr)
	d.mu.Lock()
	d.block, d.entered = true, make(chan struct{}, 1)
	d.mu.Unlock()
	starting := dialGreeted(t, addr)
	starting.send("k\n")
	<-d.entered // a session is inside StartDrain, which waits for its context

	if err := s.Close(); err != nil {
		t.Fatalf("Close = %v", err)
	}
	if err := <-served; err != nil {
		t.Fatalf("Serve = %v after Close, want nil", err)
	}
	d.mu.Lock()
	inStart := d.inStart
	d.mu.Unlock()
	if inStart != 0 {
		t.Fatalf("Close returned with %d sessions inside StartDrain", inStart)
	}
	if n := s.numConns(); n != 0 {
		t.Fatalf("Close returned with %d sessions", n)
	}
	for _, c := range []*client{streaming, idle, starting} {
		c.nc.SetReadDeadline(time.Now().Add(5 * time.Second))
		buf := make([]byte, 4096)
		for {
			if _, err := c.nc.Read(buf); err != nil {
				break // EOF or reset: closed either way
			}
		}
	}
	testutil.Eventually(t, 5*time.Second, "goroutines to exit", func() bool { return runtime.NumGoroutine() <= before })

	if err := s.Close(); err != nil {
		t.Fatalf("second Close = %v", err)
	}
	if err := s.Serve(newFakeListener("127.0.0.1:1")); !errors.Is(err, ErrClosed) {
		t.Fatalf("Serve after Close = %v, want ErrClosed", err)
	}
}

func TestNewValidates(t *testing.T) {
	d := newFakeDrainer()
	for name, cfg := range map[string]Config{
		"no drainer":     {},
		"token space":    {Drainer: d, Token: "a b"},
		"token too long": {Drainer: d, Token: strings.Repeat("t", 40), MaxLineBytes: 32},
		"negative conns": {Drainer: d, MaxConns: -1},
		"negative idle":  {Drainer: d, IdleTimeout: -time.Second},
		"huge lines":     {Drainer: d, MaxLineBytes: 1 << 20},
	} {
		if _, err := New(cfg); !errors.Is(err, ErrInvalidConfig) {
			t.Errorf("%s: New = %v, want ErrInvalidConfig", name, err)
		}
	}
	s, err := New(Config{Drainer: d})
	if err != nil {
		t.Fatal(err)
	}
	if s.cfg.MaxLineBytes != DefaultMaxLineBytes || s.cfg.MaxConns != DefaultMaxConns || s.cfg.IdleTimeout != DefaultIdleTimeout {
		t.Fatalf("defaults not applied: %+v", s.cfg)
	}
}

// fakeListener is a listener with a chosen address that accepts nothing.
type fakeListener struct {
	addr   net.Addr
	once   sync.Once
	closed chan struct{}
}

func newFakeListener(addr string) *fakeListener {
	a, err := net.ResolveTCPAddr("tcp", addr)
	if err != nil {
		panic(err)
	}
	return &fakeListener{addr: a, closed: make(chan struct{})}
}

func (l *fakeListener) Accept() (net.Conn, error) {
	<-l.closed
	return nil, net.ErrClosed
}

func (l *fakeListener) Close() error {
	l.once.Do(func() { close(l.closed) })
	return nil
}

func (l *fakeListener) Addr() net.Addr { return l.addr }

func (l *fakeListener) isClosed() bool {
	select {
	case <-l.closed:
		return true
	default:
		return false
	}
}

func TestWriteTimeoutFreesSession(t *testing.T) {
	cfg := testConfig(newFakeDrainer())
	cfg.WriteTimeout = 20 * time.Millisecond
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	srv, peer := net.Pipe() // writes block until the peer reads, which it never does
	defer peer.Close()
	done := make(chan struct{})
	go func() {
		newSession(s, srv, &connState{}).serve()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("session still blocked writing to a peer that does not read")
	}
}
