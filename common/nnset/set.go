package nnset

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/chkv/chkv/common/grpcdial"
	"github.com/chkv/chkv/proto/chkvpb"
)

// DefaultRetryInterval is the pause between two rounds of CallActive.
const DefaultRetryInterval = 200 * time.Millisecond

var (
	// ErrNoAddress is returned by New for a Config without NameNodes.
	ErrNoAddress = errors.New("nnset: no NameNode address")
	// ErrClosed is returned by calls on a closed Set.
	ErrClosed = errors.New("nnset: closed")
)

// Config describes a Set.
type Config struct {
	// Addrs are the NameNodes' gRPC addresses; one of the pair is enough,
	// the other is learnt from its answers.
	Addrs []string
	// Dial says how to connect. A zero backoff takes 100ms to 1s, so that
	// a NameNode back from a restart is seen within about a second, and
	// a zero MinConnectTimeout takes Timeout.
	Dial grpcdial.Config
	// DialOptions are appended to grpcdial.Options(Dial).
	DialOptions []grpc.DialOption
	// Timeout bounds each call and CallActive's wait for an active.
	// Zero takes 5s.
	Timeout time.Duration
	// RetryInterval is the pause between two rounds of CallActive when no
	// NameNode took the call; zero takes DefaultRetryInterval.
	RetryInterval time.Duration
	// OnWaiting, when set, is called once per CallActive when a whole
	// round of it failed and it starts waiting for an active NameNode.
	OnWaiting func()
	// TimeoutName names Timeout in CallActive's give-up error, such as
	// "--timeout" for a command-line tool; empty names nothing.
	TimeoutName string
}

// Set is the NameNodes of a cluster, the active first: the one that last
// took a call that only the active serves. It is safe for concurrent use.
// Close it when done.
type Set struct {
	cfg  Config
	opts []grpc.DialOption

	mu     sync.Mutex
	addrs  []string // Config.Addrs, then actives learnt from standbys
	conns  []*grpc.ClientConn
	active int // index of the last NameNode that took a CallActive call
	closed bool
}

// New connects lazily to every NameNode of cfg.
func New(cfg Config) (*Set, error) {
	if len(cfg.Addrs) == 0 {
		return nil, ErrNoAddress
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 5 * time.Second
	}
	if cfg.RetryInterval <= 0 {
		cfg.RetryInterval = DefaultRetryInterval
	}
	if cfg.Dial.BackoffBase <= 0 {
		cfg.Dial.BackoffBase = 100 * time.Millisecond
	}
	if cfg.Dial.BackoffMax <= 0 {
		cfg.Dial.BackoffMax = time.Second
	}
	if cfg.Dial.MinConnectTimeout <= 0 {
		cfg.Dial.MinConnectTimeout = cfg.Timeout
	}
	s := &Set{cfg: cfg, opts: grpcdial.Options(cfg.Dial, cfg.DialOptions...)}
	for _, addr := range cfg.Addrs {
		if err := s.Add(addr); err != nil {
			s.Close()
			return nil, err
		}
	}
	return s, nil
}

// Timeout is the bound of each call and of the wait for an active.
func (s *Set) Timeout() time.Duration { return s.cfg.Timeout }

// Add connects lazily to the NameNode at addr, unless s has it already.
func (s *Set) Add(addr string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrClosed
	}
	if slices.Contains(s.addrs, addr) {
		return nil
	}
	cc, err := grpc.NewClient(addr, s.opts...)
	if err != nil {
		return fmt.Errorf("NameNode %s: %w", addr, err)
	}
	s.addrs, s.conns = append(s.addrs, addr), append(s.conns, cc)
	return nil
}

// Addrs returns the NameNodes' addresses: those of Config.Addrs, then
// those learnt.
func (s *Set) Addrs() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.addrs)
}

// Close closes every connection.
func (s *Set) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	var errs []error
	for _, cc := range s.conns {
		errs = append(errs, cc.Close())
	}
	return errors.Join(errs...)
}

// member is one NameNode of a Set.
type member struct {
	index int
	addr  string
	nn    chkvpb.NameNodeClient
}

// order returns the NameNodes, the last active first.
func (s *Set) order() []member {
	s.mu.Lock()
	defer s.mu.Unlock()
	ms := make([]member, 0, len(s.conns))
	for i, cc := range s.conns {
		m := member{index: i, addr: s.addrs[i], nn: chkvpb.NewNameNodeClient(cc)}
		if i == s.active {
			ms = append([]member{m}, ms...)
		} else {
			ms = append(ms, m)
		}
	}
	return ms
}

// Each calls f on every NameNode in turn, the last active first, until f
// returns false. It returns ErrClosed on a closed Set.
func (s *Set) Each(f func(addr string, nn chkvpb.NameNodeClient) bool) error {
	if s.isClosed() {
		return ErrClosed
	}
	for _, m := range s.order() {
		if !f(m.addr, m.nn) {
			return nil
		}
	}
	return nil
}

// CallActive makes call on the active NameNode and returns its answer. It
// tries the NameNodes, the last active first. One that is unreachable, too
// slow, or answers UNAVAILABLE (a standby, or an active without its
// majority) is passed over; a standby's status names the active and its
// address, which CallActive adds to s when it lacks it, so one address of
// the pair is enough. When a whole round fails it calls OnWaiting (once)
// and starts another after the retry interval, until the timeout has
// passed since the first; each call is bounded by the timeout too. Any
// other error is the cluster's answer and is returned at once as an
// *RPCError; a failure to find an active wraps ErrNoActive and the last
// round's errors, joined.
func CallActive[T any](ctx context.Context, s *Set, call func(context.Context, chkvpb.NameNodeClient) (T, error)) (T, error) {
	var zero T
	if s.isClosed() {
		return zero, ErrClosed
	}
	giveUp := time.Now().Add(s.cfg.Timeout)
	waiting := false
	for {
		var errs []error
		tried := map[int]bool{}
		for len(tried) < s.size() { // s grows as actives are learnt
			for _, m := range s.order() {
				if tried[m.index] {
					continue
				}
				tried[m.index] = true
				cctx, cancel := context.WithTimeout(ctx, s.cfg.Timeout)
				resp, err := call(cctx, m.nn)
				cancel()
				if err == nil {
					s.SetActive(m.index)
					return resp, nil
				}
				rerr := &RPCError{Addr: m.addr, Err: err}
				code := status.Code(err)
				if code != codes.Unavailable && code != codes.DeadlineExceeded {
					return zero, rerr // the answer, whatever the NameNodes before said
				}
				errs = append(errs, rerr)
				if ctx.Err() != nil {
					break
				}
				if code == codes.Unavailable {
					if err := s.learnActive(ctx, m.nn); err != nil {
						errs = append(errs, err)
					}
				}
				break // order again: s may have learnt an active
			}
			if ctx.Err() != nil {
				break
			}
		}
		if ctx.Err() != nil || time.Now().Add(s.cfg.RetryInterval).After(giveUp) {
			return zero, s.noActive(errs)
		}
		if !waiting {
			waiting = true
			if s.cfg.OnWaiting != nil {
				s.cfg.OnWaiting()
			}
		}
		t := time.NewTimer(s.cfg.RetryInterval)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return zero, fmt.Errorf("%w: %w", ErrNoActive, errors.Join(append(errs, ctx.Err())...))
		}
	}
}

// ErrNoActive is wrapped by CallActive's error when no NameNode took the
// call in time.
var ErrNoActive = errors.New("no active NameNode")

// noActive is CallActive's give-up error after the timeout.
func (s *Set) noActive(errs []error) error {
	within := s.cfg.Timeout.String()
	if s.cfg.TimeoutName != "" {
		within = s.cfg.TimeoutName + " " + within
	}
	return fmt.Errorf("%w within %s: %w", ErrNoActive, within, errors.Join(errs...))
}

func (s *Set) isClosed() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closed
}

func (s *Set) size() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.conns)
}

// Active returns the index, in Addrs, of the NameNode last known to be
// the active one: the last that took a CallActive call, or that SetActive
// named.
func (s *Set) Active() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.active
}

// SetActive records that the NameNode at index i of Addrs answered as the
// active one, for a caller that learns it otherwise (a DataNode from its
// heartbeat replies). An index out of range is ignored.
func (s *Set) SetActive(i int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if i >= 0 && i < len(s.conns) {
		s.active = i
	}
}

// Conns returns the connections, in the order of Addrs.
func (s *Set) Conns() []*grpc.ClientConn {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.conns)
}

// TryEach makes call on the NameNodes in turn, the last active first,
// each call bounded by perCall, until one returns nil; i is the
// NameNode's index in Addrs. It returns nil then, else the calls' errors
// joined (ErrClosed on a closed Set). Unlike CallActive it makes one round
// and learns nothing: for callers that pace their own retries, such as a
// DataNode's registration.
func (s *Set) TryEach(ctx context.Context, perCall time.Duration, call func(ctx context.Context, i int, nn chkvpb.NameNodeClient) error) error {
	if s.isClosed() {
		return ErrClosed
	}
	var errs []error
	for _, m := range s.order() {
		cctx, cancel := context.WithTimeout(ctx, perCall)
		err := call(cctx, m.index, m.nn)
		cancel()
		if err == nil {
			return nil
		}
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// learnActive asks nn, which has just refused a call as unavailable, which
// NameNode is active, and adds the active's address when nn names its peer
// as the active.
func (s *Set) learnActive(ctx context.Context, nn chkvpb.NameNodeClient) error {
	ctx, cancel := context.WithTimeout(ctx, s.cfg.Timeout)
	defer cancel()
	st, err := nn.Status(ctx, &chkvpb.StatusRequest{})
	if err != nil {
		return nil // unreachable now: the round's error says enough
	}
	active, peer := st.GetActiveId(), st.GetPeer()
	if active == "" || active == st.GetNamenodeId() || peer.GetId() != active || peer.GetAddr() == "" {
		return nil
	}
	return s.Add(peer.GetAddr())
}

// StatusAll asks every NameNode for its status at once. The answers are
// in the order of Addrs (returned too), nil where a NameNode did not
// answer, with its *RPCError in errs; on a closed Set every answer is nil
// and every error ErrClosed.
func (s *Set) StatusAll(ctx context.Context) (addrs []string, answers []*chkvpb.StatusResponse, errs []error) {
	s.mu.Lock()
	addrs, conns, closed := slices.Clone(s.addrs), slices.Clone(s.conns), s.closed
	s.mu.Unlock()
	if closed {
		errs = make([]error, len(addrs))
		for i := range errs {
			errs[i] = ErrClosed
		}
		return addrs, make([]*chkvpb.StatusResponse, len(addrs)), errs
	}
	answers, errs = make([]*chkvpb.StatusResponse, len(conns)), make([]error, len(conns))
	var wg sync.WaitGroup
	for i, cc := range conns {
		wg.Go(func() {
			cctx, cancel := context.WithTimeout(ctx, s.cfg.Timeout)
			defer cancel()
			// Not WaitForReady: a NameNode that refuses connections fails
			// at once rather than holding up the other's answer.
			answers[i], errs[i] = chkvpb.NewNameNodeClient(cc).Status(cctx, &chkvpb.StatusRequest{})
			if errs[i] != nil {
				errs[i] = &RPCError{Addr: addrs[i], Err: errs[i]}
			}
		})
	}
	wg.Wait()
	return addrs, answers, errs
}

// NewestStatus asks every NameNode for its status and returns the answer
// with the newest topology, the active's among equals: a standby that
// lags behind never hides a change the active has made.
func (s *Set) NewestStatus(ctx context.Context) (*chkvpb.StatusResponse, error) {
	_, answers, errs := s.StatusAll(ctx)
	var best *chkvpb.StatusResponse
	for _, a := range answers {
		if a == nil {
			continue
		}
		switch {
		case best == nil,
			a.GetEpoch() > best.GetEpoch(),
			a.GetEpoch() == best.GetEpoch() && a.GetVersion() > best.GetVersion(),
			a.GetEpoch() == best.GetEpoch() && a.GetVersion() == best.GetVersion() && a.GetRole() == chkvpb.NameNodeRole_NAMENODE_ROLE_ACTIVE:
			best = a
		}
	}
	if best == nil {
		return nil, errors.Join(errs...)
	}
	return best, nil
}

// RPCError is a failed call to one NameNode. It reads as the server's
// message and status code rather than gRPC's "rpc error: code = ... desc
// = ...", and unwraps to the gRPC status error (status.Code works on it).
type RPCError struct {
	Addr string // the NameNode's address
	Err  error  // the gRPC error
}

// Error returns "NameNode ADDR: MESSAGE (CODE)".
func (e *RPCError) Error() string {
	if s, ok := status.FromError(e.Err); ok {
		return fmt.Sprintf("NameNode %s: %s (%s)", e.Addr, s.Message(), s.Code())
	}
	return fmt.Sprintf("NameNode %s: %v", e.Addr, e.Err)
}

// Unwrap returns the gRPC error.
func (e *RPCError) Unwrap() error { return e.Err }
