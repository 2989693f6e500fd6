//go:build linux

package datanode

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"

	"github.com/chkv/chkv/datanode/resp"
)

// epollSupported reports whether IOModelEpoll is available.
const epollSupported = true

// defaultIOModel is DefaultIOModel on Linux: event loops.
const defaultIOModel = IOModelEpoll

const (
	// loopWaitMillis bounds one epoll_wait, so that a loop notices Stop and
	// checks stalled writers even when no socket is active.
	loopWaitMillis = 100
	// loopMaxEvents is the most events one epoll_wait returns.
	loopMaxEvents = 256
	// stallCheckInterval is how often a loop looks for clients that have
	// not accepted reply bytes for writeTimeout.
	stallCheckInterval = 100 * time.Millisecond
)

// An eventLoop serves its share of the clients from one goroutine locked to
// one OS thread, as a Redis I/O thread does: epoll_wait, then for each ready
// socket one non-blocking read, every complete command executed, and the
// replies written directly. A reply the socket cannot take yet is kept, the
// socket is watched for EPOLLOUT instead of EPOLLIN, and the client's
// remaining commands wait until the reply is drained; so a client's memory
// is bounded as under IOModelGoroutine (the read buffer, plus the replies of
// at most flushThreshold bytes of commands and one more reply), and a client
// that does not read is closed after writeTimeout without progress.
//
// Sockets are raw non-blocking file descriptors that Go's network poller
// does not watch. Only the loop goroutine reads, writes or closes them;
// other goroutines hand connections in (add) and ask for closes
// (loopConn.Close) through the loop's queue and wake it through a pipe.
type eventLoop struct {
	srv   *Server
	epfd  int
	wakeR int // read end of the wake pipe, in the epoll set
	wakeW int

	stopping atomic.Bool
	// wakePending is set while a byte written to the wake pipe has not been
	// drained, so that a burst of wake-ups (a PUBLISH to many subscribers)
	// costs one write.
	wakePending atomic.Bool

	mu     sync.Mutex
	closed bool        // the loop has exited; add closes what it is given
	adds   []*loopConn // connections to start serving
	kills  []*loopConn // connections to close
	pushes []*loopConn // connections with messages in their outbox

	// Loop-goroutine owned.
	conns     map[int32]*loopConn
	writers   int // conns waiting for EPOLLOUT
	lastStall time.Time
}

// loopConn is a client connection served by an event loop. It implements
// net.Conn so that the rest of the server (CLIENT LIST and KILL, the cron's
// idle timeout, Stop) handles it like any other: Close may be called from
// any goroutine and only asks the loop to close the socket. Read and Write
// are the loop's non-blocking system calls.
type loopConn struct {
	fd           int
	laddr, raddr net.Addr
	loop         *eventLoop
	c            *client
	closing      atomic.Bool // Close was called

	// Loop-goroutine owned.
	closed       bool
	added        bool
	writing      bool // watching EPOLLOUT; reading paused
	sent         int  // bytes of c.out already written
	lastProgress time.Time
}

// startLoops creates Config.EventLoops event loops (GOMAXPROCS if 0) and
// starts them under the server's group. The caller holds s.mu.
func (s *Server) startLoops() error {
	n := s.cfg.EventLoops
	if n == 0 {
		n = runtime.GOMAXPROCS(0)
	}
	loops := make([]*eventLoop, 0, n)
	for range n {
		l, err := newEventLoop(s)
		if err != nil {
			for _, l := range loops {
				l.closeFDs()
			}
			return err
		}
		loops = append(loops, l)
	}
	for _, l := range loops {
		if !s.group.Go(l.run) {
			l.closeFDs() // unreachable: the group is new
		}
	}
	s.loops = loops
	return nil
}

func newEventLoop(s *Server) (*eventLoop, error) {
	epfd, err := syscall.EpollCreate1(syscall.EPOLL_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("datanode: epoll_create1: %w", err)
	}
	var p [2]int
	if err := syscall.Pipe2(p[:], syscall.O_NONBLOCK|syscall.O_CLOEXEC); err != nil {
		syscall.Close(epfd)
		return nil, fmt.Errorf("datanode: pipe2: %w", err)
	}
	l := &eventLoop{srv: s, epfd: epfd, wakeR: p[0], wakeW: p[1], conns: make(map[int32]*loopConn)}
	ev := syscall.EpollEvent{Events: syscall.EPOLLIN, Fd: int32(l.wakeR)}
	if err := syscall.EpollCtl(epfd, syscall.EPOLL_CTL_ADD, l.wakeR, &ev); err != nil {
		l.closeFDs()
		return nil, fmt.Errorf("datanode: epoll_ctl: %w", err)
	}
	return l, nil
}

func (l *eventLoop) closeFDs() {
	syscall.Close(l.epfd)
	syscall.Close(l.wakeR)
	syscall.Close(l.wakeW)
}

// wake interrupts the loop's epoll_wait. Any goroutine may call it, after
// queueing what the loop is to do.
func (l *eventLoop) wake() {
	if l.wakePending.Swap(true) {
		return // the loop has yet to drain its queues
	}
	var b = [1]byte{1}
	syscall.Write(l.wakeW, b[:]) // EAGAIN: the pipe already holds a wake-up
}

// notifyPush is the outbox wake of a client served by the loop: the loop
// writes what was pushed to it. Any goroutine may call it.
func (l *eventLoop) notifyPush(lc *loopConn) {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return
	}
	l.pushes = append(l.pushes, lc)
	l.mu.Unlock()
	l.wake()
}

// stop asks the loop to exit, closing its clients.
func (l *eventLoop) stop() {
	l.stopping.Store(true)
	l.wake()
}

// handOff takes over an accepted connection for an event loop, as
// serveClient's goroutine would. It reports false once the server is
// stopping, like register.
//
// The loop uses a duplicate of the socket's descriptor, and the original
// net.Conn is closed: closing it removes the descriptor from Go's poller
// (which would otherwise also be woken for every event), while the socket
// stays open through the duplicate, which shares its non-blocking and
// TCP_NODELAY settings. (*TCPConn).File is not used because os.NewFile would
// register the non-blocking duplicate with Go's poller again.
func (s *Server) handOff(nc net.Conn) bool {
	lc, err := newLoopConn(nc)
	nc.Close()
	if err != nil {
		s.log.Warn("cannot serve connection from an event loop", "err", err)
		return true
	}
	lc.loop = s.loops[s.nextLoop%len(s.loops)]
	s.nextLoop++
	c := s.register(lc)
	if c == nil {
		syscall.Close(lc.fd)
		return false
	}
	lc.c = c
	c.outbox.wake = func() { lc.loop.notifyPush(lc) }
	lc.loop.add(lc)
	return true
}

// loopable reports whether an event loop can serve nc: it must expose its
// file descriptor. Other connections (wrappers a test's listener returns)
// get a goroutine, as under IOModelGoroutine.
func loopable(nc net.Conn) bool {
	_, ok := nc.(syscall.Conn)
	return ok
}

func newLoopConn(nc net.Conn) (*loopConn, error) {
	sc, ok := nc.(syscall.Conn)
	if !ok {
		return nil, fmt.Errorf("datanode: %T has no file descriptor", nc)
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return nil, err
	}
	fd := -1
	var dupErr error
	if err := rc.Control(func(f uintptr) {
		syscall.ForkLock.RLock()
		fd, dupErr = syscall.Dup(int(f))
		if dupErr == nil {
			syscall.CloseOnExec(fd)
		}
		syscall.ForkLock.RUnlock()
	}); err != nil {
		return nil, err
	}
	if dupErr != nil {
		return nil, fmt.Errorf("datanode: dup: %w", dupErr)
	}
	if err := syscall.SetNonblock(fd, true); err != nil {
		syscall.Close(fd)
		return nil, fmt.Errorf("datanode: set non-blocking: %w", err)
	}
	return &loopConn{fd: fd, laddr: nc.LocalAddr(), raddr: nc.RemoteAddr()}, nil
}

// add hands lc to the loop. If the loop has exited, lc is closed instead.
func (l *eventLoop) add(lc *loopConn) {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		lc.closed = true // never seen by the loop: this goroutine owns it
		syscall.Close(lc.fd)
		l.srv.unregister(lc.c)
		return
	}
	l.adds = append(l.adds, lc)
	l.mu.Unlock()
	l.wake()
}

// run is the loop goroutine.
func (l *eventLoop) run(ctx context.Context) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	defer l.shutdown()
	events := make([]syscall.EpollEvent, loopMaxEvents)
	l.lastStall = time.Now()
	for !l.stopping.Load() && ctx.Err() == nil {
		// Poll without blocking first: under load events are usually
		// ready, and a call that cannot block need not tell the scheduler.
		n, err := epollWaitNow(l.epfd, events)
		if n == 0 && err == nil {
			n, err = syscall.EpollWait(l.epfd, events, loopWaitMillis)
		}
		if err != nil {
			if err == syscall.EINTR {
				continue
			}
			l.srv.log.Error("epoll_wait failed; closing the loop's clients", "err", err)
			return
		}
		woken := false
		for i := range n {
			ev := &events[i]
			if ev.Fd == int32(l.wakeR) {
				woken = true
				continue
			}
			// A socket closed earlier in this batch is no longer in
			// conns, and a new one with its number is added only after it.
			if lc := l.conns[ev.Fd]; lc != nil {
				l.ready(lc, ev.Events)
			}
		}
		if woken {
			l.drainQueues()
		}
		if l.writers > 0 {
			if now := time.Now(); now.Sub(l.lastStall) >= stallCheckInterval {
				l.lastStall = now
				l.closeStalled(now)
			}
		}
	}
}

// drainQueues starts serving added connections, closes killed ones and
// writes the messages pushed to others.
func (l *eventLoop) drainQueues() {
	var buf [64]byte
	for {
		if n, _ := syscall.Read(l.wakeR, buf[:]); n < len(buf) {
			break
		}
	}
	// Cleared after the pipe is drained, so that a wake that finds it set
	// has its byte still to come or its work already queued, and before the
	// queues are read, so that this drain sees that work.
	l.wakePending.Store(false)
	l.mu.Lock()
	adds, kills, pushes := l.adds, l.kills, l.pushes
	l.adds, l.kills, l.pushes = nil, nil, nil
	l.mu.Unlock()
	for _, lc := range adds {
		if lc.closing.Load() {
			l.closeConn(lc)
			continue
		}
		ev := syscall.EpollEvent{Events: syscall.EPOLLIN, Fd: int32(lc.fd)}
		if err := syscall.EpollCtl(l.epfd, syscall.EPOLL_CTL_ADD, lc.fd, &ev); err != nil {
			l.srv.log.Warn("epoll_ctl add failed", "client", lc.c.id, "err", err)
			l.closeConn(lc)
			continue
		}
		lc.added = true
		l.conns[int32(lc.fd)] = lc
	}
	for _, lc := range kills {
		if lc.added { // otherwise its add, still queued, sees closing
			l.closeConn(lc)
		}
	}
	for _, lc := range pushes {
		// A connection waiting for EPOLLOUT takes its outbox when the
		// socket drains.
		if lc.added && !lc.closed && !lc.closing.Load() && !lc.writing {
			if lc.c.waiter.Load() != nil {
				l.serve(lc) // a blocked client was answered: run what it sent since
			} else {
				l.flush(lc)
			}
		}
	}
}

// shutdown closes every connection of the loop and the loop's descriptors.
func (l *eventLoop) shutdown() {
	l.mu.Lock()
	l.closed = true
	adds := l.adds
	l.adds, l.kills, l.pushes = nil, nil, nil
	l.mu.Unlock()
	for _, lc := range adds {
		l.closeConn(lc)
	}
	for _, lc := range l.conns {
		l.closeConn(lc)
	}
	l.closeFDs()
}

// closeConn closes lc's socket and unregisters its client.
func (l *eventLoop) closeConn(lc *loopConn) {
	if lc.closed {
		return
	}
	lc.closed = true
	lc.closing.Store(true)
	if lc.added {
		syscall.EpollCtl(l.epfd, syscall.EPOLL_CTL_DEL, lc.fd, nil)
		delete(l.conns, int32(lc.fd))
		if lc.writing {
			l.writers--
		}
	}
	l.srv.unregister(lc.c) // first, as Redis drops subscriptions before closing
	syscall.Close(lc.fd)
	lc.c.unwatchAll()
	lc.c.releaseBuffers()
}

// closeStalled closes the clients whose replies have made no progress for
// the server's writeTimeout, as a write deadline does for IOModelGoroutine.
func (l *eventLoop) closeStalled(now time.Time) {
	for _, lc := range l.conns {
		if lc.writing && now.Sub(lc.lastProgress) > l.srv.writeTimeout {
			l.srv.log.Debug("closing client that does not read its replies", "client", lc.c.id)
			l.closeConn(lc)
		}
	}
}

// ready handles the events reported for lc.
func (l *eventLoop) ready(lc *loopConn, events uint32) {
	if lc.closing.Load() {
		l.closeConn(lc)
		return
	}
	if lc.writing {
		if !l.flush(lc) || lc.writing {
			return
		}
		// Drained: run the commands that waited for it.
	}
	l.serve(lc)
}

// serve executes the commands buffered for lc, reading once when they run
// out, exactly as serveClient does, and sends the replies.
func (l *eventLoop) serve(lc *loopConn) {
	s, c := l.srv, lc.c
	read := false
	for {
		st := s.settings.Load()
		limits := resp.Limits{
			MaxBulkLen:      st.ProtoMaxBulkLen,
			MaxQueryBuffer:  int(st.ClientQueryBufferLimit),
			Unauthenticated: st.RequirePass != "" && !c.authenticated,
		}
		args, err := c.parse(&limits)
		if err == resp.ErrIncomplete {
			c.setQueryBuffer(int64(c.rd.Buffered()))
			if read {
				break // level-triggered: epoll reports what is left
			}
			read = true
			n := c.rd.Buffered()
			err := c.rd.Fill(&limits)
			if err == resp.ErrWouldBlock {
				break
			}
			if err != nil {
				var perr *resp.ProtocolError
				switch {
				case errors.As(err, &perr):
					c.replyError("ERR " + perr.Error())
					c.closeAfter = true
				case errors.Is(err, resp.ErrQueryBufferLimit):
					s.log.Warn("closing client that reached max query buffer length", "client", c.id, "addr", lc.raddr.String())
					l.closeConn(lc)
					return
				default: // EOF or a socket error
					l.closeConn(lc)
					return
				}
				break
			}
			s.stats.netInputBytes.Add(int64(c.rd.Buffered() - n))
			c.setQueryBuffer(int64(c.rd.Buffered()))
			continue
		}
		if err != nil {
			var perr *resp.ProtocolError
			if !errors.As(err, &perr) {
				l.closeConn(lc)
				return
			}
			c.replyError("ERR " + perr.Error())
			c.closeAfter = true
			break
		}
		if len(args) == 0 {
			continue
		}
		s.execute(c, args)
		if c.closeAfter || lc.closing.Load() {
			break
		}
		if len(c.out) >= flushThreshold && (!l.flush(lc) || lc.writing) {
			return
		}
	}
	if lc.closing.Load() { // CLIENT KILL of itself or by a client of this loop
		if !c.closeAfter {
			l.closeConn(lc)
			return
		}
	}
	l.flush(lc)
}

// flush writes c.out from lc.sent on, after the messages pushed to the
// client. It reports false if it closed the connection. If the socket
// cannot take everything it watches EPOLLOUT instead of EPOLLIN until the
// rest is written.
func (l *eventLoop) flush(lc *loopConn) bool {
	c := lc.c
	c.takeOutbox()
	for lc.sent < len(c.out) {
		n, err := lc.Write(c.out[lc.sent:])
		if n > 0 {
			lc.sent += n
			if lc.writing {
				lc.lastProgress = time.Now()
			}
			l.srv.stats.netOutputBytes.Add(int64(n))
		}
		if err == resp.ErrWouldBlock {
			c.setOutputBuffer(int64(len(c.out) - lc.sent))
			if !lc.writing {
				if !l.watch(lc, syscall.EPOLLOUT) {
					return false
				}
				lc.writing = true
				lc.lastProgress = time.Now()
				l.writers++
			}
			return true
		}
		if err != nil {
			l.closeConn(lc)
			return false
		}
	}
	if cap(c.out) > 4*outBufferKeep {
		c.out = make([]byte, 0, outBufferKeep)
	} else {
		c.out = c.out[:0]
	}
	lc.sent = 0
	c.setOutputBuffer(0)
	if c.closeAfter {
		l.closeConn(lc)
		return false
	}
	if lc.writing {
		if !l.watch(lc, syscall.EPOLLIN) {
			return false
		}
		lc.writing = false
		l.writers--
	}
	return true
}

// watch sets the events lc's socket is watched for; on failure it closes lc.
func (l *eventLoop) watch(lc *loopConn, events uint32) bool {
	ev := syscall.EpollEvent{Events: events, Fd: int32(lc.fd)}
	if err := syscall.EpollCtl(l.epfd, syscall.EPOLL_CTL_MOD, lc.fd, &ev); err != nil {
		l.srv.log.Warn("epoll_ctl mod failed", "client", lc.c.id, "err", err)
		l.closeConn(lc)
		return false
	}
	return true
}

// Read reads from the non-blocking socket; it returns resp.ErrWouldBlock
// when nothing is available. Only the loop goroutine calls it.
func (lc *loopConn) Read(p []byte) (int, error) {
	for {
		n, err := rawRead(lc.fd, p)
		switch {
		case err == syscall.EINTR:
			continue
		case err == syscall.EAGAIN:
			return 0, resp.ErrWouldBlock
		case err != nil:
			return 0, err
		case n == 0 && len(p) > 0:
			return 0, io.EOF
		}
		return n, nil
	}
}

// Write writes to the non-blocking socket what it takes now; with a short
// count it returns resp.ErrWouldBlock. Only the loop goroutine calls it.
func (lc *loopConn) Write(p []byte) (int, error) {
	done := 0
	for done < len(p) {
		n, err := rawWrite(lc.fd, p[done:])
		switch {
		case err == syscall.EINTR:
			continue
		case err == syscall.EAGAIN:
			return done, resp.ErrWouldBlock
		case err != nil:
			return done, err
		}
		done += n
	}
	return done, nil
}

// Close asks the loop to close the connection; it does not wait. Any
// goroutine may call it, any number of times.
func (lc *loopConn) Close() error {
	if !lc.closing.CompareAndSwap(false, true) || lc.loop == nil {
		return nil
	}
	l := lc.loop
	l.mu.Lock()
	if l.closed { // the loop closed all its connections on exit
		l.mu.Unlock()
		return nil
	}
	l.kills = append(l.kills, lc)
	l.mu.Unlock()
	l.wake()
	return nil
}

func (lc *loopConn) LocalAddr() net.Addr                   { return lc.laddr }
func (lc *loopConn) RemoteAddr() net.Addr                  { return lc.raddr }
func (lc *loopConn) SetDeadline(time.Time) error           { return nil }
func (lc *loopConn) SetReadDeadline(time.Time) error       { return nil }
func (lc *loopConn) SetWriteDeadline(time.Time) error      { return nil }
func (lc *loopConn) SyscallConn() (syscall.RawConn, error) { return fdRawConn(lc.fd), nil }

// fdRawConn exposes a descriptor number to connFD (CLIENT LIST's fd).
type fdRawConn int

func (f fdRawConn) Control(fn func(fd uintptr)) error { fn(uintptr(f)); return nil }
func (fdRawConn) Read(func(fd uintptr) bool) error    { return errors.ErrUnsupported }
func (fdRawConn) Write(func(fd uintptr) bool) error   { return errors.ErrUnsupported }

// The system calls below cannot block (the descriptors are non-blocking, the
// epoll timeout is 0), so they skip the scheduler's syscall bookkeeping.

func epollWaitNow(epfd int, events []syscall.EpollEvent) (int, error) {
	n, _, e := syscall.RawSyscall6(syscall.SYS_EPOLL_PWAIT, uintptr(epfd),
		uintptr(unsafe.Pointer(&events[0])), uintptr(len(events)), 0, 0, 0)
	if e != 0 {
		return 0, e
	}
	return int(n), nil
}

func rawRead(fd int, p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	n, _, e := syscall.RawSyscall(syscall.SYS_READ, uintptr(fd), uintptr(unsafe.Pointer(&p[0])), uintptr(len(p)))
	if e != 0 {
		return 0, e
	}
	return int(n), nil
}

func rawWrite(fd int, p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	n, _, e := syscall.RawSyscall(syscall.SYS_WRITE, uintptr(fd), uintptr(unsafe.Pointer(&p[0])), uintptr(len(p)))
	if e != 0 {
		return 0, e
	}
	return int(n), nil
}
