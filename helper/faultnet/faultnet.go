// Package faultnet injects network faults for tests: a Link wraps the
// connections of one path (dialled or accepted) and can be cut, restored or
// slowed down on purpose, as etcd's bridge does, so failure tests are
// deterministic instead of hoping for a fault.
package faultnet

import (
	"context"
	"errors"
	"net"
	"sync"
	"time"
)

// ErrCut is returned by dials and I/O on a cut link.
var ErrCut = errors.New("faultnet: link cut")

// Link is one controllable network path. The zero value is not usable; use
// NewLink.
type Link struct {
	mu    sync.Mutex
	cut   bool
	delay time.Duration
	conns map[*conn]struct{}
}

// NewLink returns a healthy link.
func NewLink() *Link { return &Link{conns: make(map[*conn]struct{})} }

// Cut closes every connection on the link and makes new dials and accepted
// connections fail until Restore.
func (l *Link) Cut() {
	l.mu.Lock()
	l.cut = true
	conns := l.conns
	l.conns = make(map[*conn]struct{})
	l.mu.Unlock()
	for c := range conns {
		c.Conn.Close()
	}
}

// Restore heals a cut link; new connections work again.
func (l *Link) Restore() {
	l.mu.Lock()
	l.cut = false
	l.mu.Unlock()
}

// SetDelay makes every write on the link wait d first (0 removes it).
func (l *Link) SetDelay(d time.Duration) {
	l.mu.Lock()
	l.delay = d
	l.mu.Unlock()
}

// IsCut reports whether the link is cut.
func (l *Link) IsCut() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.cut
}

// Wrap puts c on the link; on a cut link it closes c and returns ErrCut.
func (l *Link) Wrap(c net.Conn) (net.Conn, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.cut {
		c.Close()
		return nil, ErrCut
	}
	fc := &conn{Conn: c, link: l}
	l.conns[fc] = struct{}{}
	return fc, nil
}

// Dialer returns a dial function for grpc.WithContextDialer whose
// connections travel over the link.
func (l *Link) Dialer() func(ctx context.Context, addr string) (net.Conn, error) {
	return func(ctx context.Context, addr string) (net.Conn, error) {
		if l.IsCut() {
			return nil, ErrCut
		}
		var d net.Dialer
		c, err := d.DialContext(ctx, "tcp", addr)
		if err != nil {
			return nil, err
		}
		return l.Wrap(c)
	}
}

// Listener wraps ln so that accepted connections travel over the link;
// connections accepted while it is cut are closed at once.
func (l *Link) Listener(ln net.Listener) net.Listener { return &listener{Listener: ln, link: l} }

type listener struct {
	net.Listener
	link *Link
}

func (ln *listener) Accept() (net.Conn, error) {
	for {
		c, err := ln.Listener.Accept()
		if err != nil {
			return nil, err
		}
		if fc, err := ln.link.Wrap(c); err == nil {
			return fc, nil
		}
	}
}

type conn struct {
	net.Conn
	link *Link
}

func (c *conn) Write(b []byte) (int, error) {
	c.link.mu.Lock()
	cut, delay := c.link.cut, c.link.delay
	c.link.mu.Unlock()
	if cut {
		return 0, ErrCut
	}
	if delay > 0 {
		time.Sleep(delay)
	}
	return c.Conn.Write(b)
}

func (c *conn) Close() error {
	c.link.mu.Lock()
	delete(c.link.conns, c)
	c.link.mu.Unlock()
	return c.Conn.Close()
}
