package drainport

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/chkv/chkv/common/netaddr"
)

// rejectTimeout bounds the write of "ERR too many connections", done on the
// accept loop.
const rejectTimeout = time.Second

// Server serves the drain port. Its methods are safe for concurrent use.
type Server struct {
	cfg Config
	log *slog.Logger

	// ctx is canceled by Close; it bounds StartDrain and waits in sessions.
	ctx    context.Context
	cancel context.CancelFunc

	mu     sync.Mutex
	closed bool
	lns    map[net.Listener]struct{}
	conns  map[net.Conn]*connState
	seq    uint64         // numbers the sessions, in accept order
	wg     sync.WaitGroup // Serve loops and sessions; no Add once closed
}

// connState is what the server knows of a session, under Server.mu.
type connState struct {
	// idleSince is when the session began waiting for a command; zero
	// while it runs one (k streaming progress, for one).
	idleSince time.Time
	// seq orders sessions idle since the same instant: the older first.
	seq uint64
	// evicted: the session was closed to make room for a new connection.
	// Its own goroutine reads it (atomically) to end with a reason.
	evicted atomic.Bool
}

// New returns a Server for cfg, with cfg's zero fields set to the defaults.
func New(cfg Config) (*Server, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	ctx, cancel := context.WithCancel(context.Background())
	return &Server{
		cfg:    cfg,
		log:    cfg.Logger.With("component", "drainport"),
		ctx:    ctx,
		cancel: cancel,
		lns:    make(map[net.Listener]struct{}),
		conns:  make(map[net.Conn]*connState),
	}, nil
}

// Serve accepts on ln until Close; it owns one goroutine per connection and
// every goroutine stops on Close. It closes ln when it returns, and returns
// nil after Close, ErrClosed if called after Close, ErrTokenRequired if
// Config.Token is empty and ln is not on a loopback address, or the error
// that stopped Accept.
func (s *Server) Serve(ln net.Listener) error {
	if s.cfg.Token == "" && !netaddr.IsLoopback(ln.Addr()) {
		ln.Close()
		return fmt.Errorf("%w (listener on %s)", ErrTokenRequired, ln.Addr())
	}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		ln.Close()
		return ErrClosed
	}
	s.lns[ln] = struct{}{}
	s.wg.Add(1)
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.lns, ln)
		s.mu.Unlock()
		ln.Close()
		s.wg.Done()
	}()

	s.log.Info("drain port listening", "addr", ln.Addr().String())
	var backoff time.Duration
	for {
		nc, err := ln.Accept()
		if err != nil {
			if s.ctx.Err() != nil {
				return nil
			}
			var temp interface{ Temporary() bool }
			if !errors.As(err, &temp) || !temp.Temporary() {
				return fmt.Errorf("drainport: accept: %w", err)
			}
			backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
			s.log.Warn("drain port accept failed; retrying", "err", err, "backoff", backoff)
			select {
			case <-time.After(backoff):
			case <-s.ctx.Done():
				return nil
			}
			continue
		}
		backoff = 0
		s.start(nc)
	}
}

// start runs a session on nc in a new goroutine, or turns nc away. At
// MaxConns it evicts the session that has waited longest for a command, so
// idle connections never lock the operator out; only when every session is
// running a command is nc turned away.
func (s *Server) start(nc net.Conn) {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		nc.Close()
		return
	}
	if s.liveLocked() >= s.cfg.MaxConns {
		victim, vs := s.oldestIdleLocked()
		if vs == nil {
			s.mu.Unlock()
			s.log.Warn("drain port connection refused: too many connections, all running a command", "remote", nc.RemoteAddr().String(), "max", s.cfg.MaxConns)
			nc.SetWriteDeadline(time.Now().Add(rejectTimeout))
			nc.Write([]byte("ERR too many connections\r\n"))
			nc.Close()
			return
		}
		s.log.Info("drain port: closing the longest idle connection to make room", "closed", victim.RemoteAddr().String(),
			"idle", time.Since(vs.idleSince).Round(time.Millisecond), "remote", nc.RemoteAddr().String())
		vs.evicted.Store(true)
		victim.SetReadDeadline(time.Now()) // wakes its read; see session.Read
	}
	s.seq++
	st := &connState{idleSince: time.Now(), seq: s.seq} // waiting for its first command
	s.conns[nc] = st
	s.wg.Add(1)
	s.mu.Unlock()
	go func() {
		defer s.wg.Done()
		newSession(s, nc, st).serve()
		s.mu.Lock()
		delete(s.conns, nc)
		s.mu.Unlock()
		nc.Close()
	}()
}

// liveLocked counts the sessions not evicted. Evicted ones exit at once
// (they do not linger), so at most 2×MaxConns goroutines exist. The caller
// holds mu.
func (s *Server) liveLocked() int {
	n := 0
	for _, st := range s.conns {
		if !st.evicted.Load() {
			n++
		}
	}
	return n
}

// oldestIdleLocked returns the session that has waited longest for a
// command and is not evicted yet, or nil. The caller holds mu.
func (s *Server) oldestIdleLocked() (net.Conn, *connState) {
	var victim net.Conn
	var vs *connState
	for nc, st := range s.conns {
		if st.idleSince.IsZero() || st.evicted.Load() {
			continue
		}
		if vs == nil || st.idleSince.Before(vs.idleSince) || (st.idleSince.Equal(vs.idleSince) && st.seq < vs.seq) {
			victim, vs = nc, st
		}
	}
	return victim, vs
}

// setIdle records that st's session waits for a command (idle) or runs
// one. It reports whether the session was evicted, in which case it must
// end rather than run what it read.
func (s *Server) setIdle(st *connState, idle bool) (evicted bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	st.idleSince = time.Time{}
	if idle {
		st.idleSince = time.Now()
	}
	return st.evicted.Load()
}

// Close stops accepting, closes every connection and waits for their
// goroutines (a session inside Drainer.StartDrain waits for it to return;
// its context is canceled). It is safe to call more than once and always
// returns nil.
func (s *Server) Close() error {
	s.mu.Lock()
	if !s.closed {
		s.closed = true
		s.cancel()
		for ln := range s.lns {
			ln.Close()
		}
		for nc := range s.conns {
			nc.Close()
		}
	}
	s.mu.Unlock()
	s.wg.Wait()
	return nil
}

// numConns returns the number of sessions running.
func (s *Server) numConns() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.conns)
}
