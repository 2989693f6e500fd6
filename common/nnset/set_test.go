package nnset

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/chkv/chkv/helper/fakenamenode"
	"github.com/chkv/chkv/proto/chkvpb"
)

// newFake starts a fake NameNode with ID id, active or a standby that
// knows no active, answering the drains it takes with the node's name and
// its own ("dn-1-by-nn-a").
func newFake(t *testing.T, id string, active bool) *fakenamenode.NameNode {
	t.Helper()
	f := fakenamenode.New(t)
	f.SetID(id)
	if !active {
		f.StandbyOf(nil)
	}
	f.SetHandlers(fakenamenode.Handlers{Drain: func(_ context.Context, req *chkvpb.DrainRequest) (*chkvpb.DrainResponse, error) {
		return &chkvpb.DrainResponse{NodeId: req.GetNode() + "-by-" + id}, nil
	}})
	return f
}

func drain(ctx context.Context, s *Set) (string, error) {
	return CallActive(ctx, s, func(ctx context.Context, nn chkvpb.NameNodeClient) (string, error) {
		r, err := nn.Drain(ctx, &chkvpb.DrainRequest{Node: "dn-1"})
		return r.GetNodeId(), err
	})
}

func newSet(t *testing.T, cfg Config) *Set {
	t.Helper()
	if cfg.RetryInterval == 0 {
		cfg.RetryInterval = 10 * time.Millisecond
	}
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// Given only the standby, CallActive learns the active it names, calls it,
// and calls it first from then on.
func TestCallActiveFollowsTheNamedActive(t *testing.T) {
	active, standby := newFake(t, "nn-a", true), newFake(t, "nn-b", false)
	standby.StandbyOf(active)
	waited := atomic.Int64{}
	s := newSet(t, Config{Addrs: []string{standby.Addr()}, Timeout: 2 * time.Second, OnWaiting: func() { waited.Add(1) }})
	got, err := drain(context.Background(), s)
	if err != nil || got != "dn-1-by-nn-a" {
		t.Fatalf("drain = %q, %v; want the active's answer", got, err)
	}
	if addrs := s.Addrs(); len(addrs) != 2 || addrs[1] != active.Addr() {
		t.Fatalf("addrs %v, want the active's address learnt", addrs)
	}
	if waited.Load() != 0 {
		t.Fatal("waited although the standby named the active")
	}
	before := len(standby.Drains())
	if _, err := drain(context.Background(), s); err != nil {
		t.Fatal(err)
	}
	if len(standby.Drains()) != before {
		t.Fatal("the second call tried the standby before the known active")
	}
}

// During an election CallActive waits, notes it once, and returns the
// answer once an active takes the call.
func TestCallActiveWaitsWithNotice(t *testing.T) {
	f := newFake(t, "nn-a", true)
	f.Refuse(3)
	waited := atomic.Int64{}
	s := newSet(t, Config{Addrs: []string{f.Addr()}, Timeout: 5 * time.Second, OnWaiting: func() { waited.Add(1) }})
	got, err := drain(context.Background(), s)
	if err != nil || got != "dn-1-by-nn-a" {
		t.Fatalf("drain = %q, %v", got, err)
	}
	if waited.Load() != 1 || len(f.Drains()) != 4 {
		t.Fatalf("notices %d (want 1), drain calls %d (want 4)", waited.Load(), len(f.Drains()))
	}
}

// With no active at all CallActive gives up after the timeout with
// ErrNoActive, the timeout's name and the NameNode's answer.
func TestCallActiveGivesUp(t *testing.T) {
	f := newFake(t, "nn-b", false)
	s := newSet(t, Config{Addrs: []string{f.Addr()}, Timeout: 300 * time.Millisecond, TimeoutName: "--timeout"})
	start := time.Now()
	_, err := drain(context.Background(), s)
	if !errors.Is(err, ErrNoActive) || status.Code(err) != codes.Unavailable ||
		!strings.Contains(err.Error(), "no active NameNode within --timeout 300ms: NameNode "+f.Addr()+": namenode: not the active namenode: nn-b is standby (Unavailable)") {
		t.Fatalf("err %v", err)
	}
	if d := time.Since(start); d < 250*time.Millisecond || d > 5*time.Second {
		t.Fatalf("gave up after %v, want about the 300ms timeout", d)
	}
}

// Cancelling the context ends the wait at once.
func TestCallActiveContextCancel(t *testing.T) {
	f := newFake(t, "nn-b", false)
	s := newSet(t, Config{Addrs: []string{f.Addr()}, Timeout: time.Minute})
	ctx, cancel := context.WithCancel(context.Background())
	s.cfg.OnWaiting = cancel
	start := time.Now()
	_, err := drain(ctx, s)
	if !errors.Is(err, ErrNoActive) || !errors.Is(err, context.Canceled) {
		t.Fatalf("err %v, want ErrNoActive and context.Canceled", err)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Fatalf("returned after %v", d)
	}
}

// An answer other than UNAVAILABLE is the cluster's, returned at once.
func TestCallActiveReturnsTheAnswer(t *testing.T) {
	f := newFake(t, "nn-a", true)
	f.SetHandlers(fakenamenode.Handlers{Drain: func(context.Context, *chkvpb.DrainRequest) (*chkvpb.DrainResponse, error) {
		return nil, status.Error(codes.NotFound, "no such datanode")
	}})
	s := newSet(t, Config{Addrs: []string{f.Addr()}, Timeout: 5 * time.Second})
	_, err := drain(context.Background(), s)
	var rerr *RPCError
	if !errors.As(err, &rerr) || rerr.Addr != f.Addr() || status.Code(err) != codes.NotFound ||
		err.Error() != "NameNode "+f.Addr()+": no such datanode (NotFound)" || len(f.Drains()) != 1 {
		t.Fatalf("err %v after %d calls", err, len(f.Drains()))
	}
}

// NewestStatus prefers the newest topology, the active's among equals.
func TestNewestStatus(t *testing.T) {
	a, b := newFake(t, "nn-a", true), newFake(t, "nn-b", false)
	a.SetVersion(2, 5)
	b.SetVersion(2, 6)
	s := newSet(t, Config{Addrs: []string{a.Addr(), b.Addr()}, Timeout: 5 * time.Second})
	st, err := s.NewestStatus(context.Background())
	if err != nil || st.GetNamenodeId() != "nn-b" {
		t.Fatalf("newest %v, %v: want the standby ahead", st, err)
	}
	b.SetVersion(2, 5)
	if st, err = s.NewestStatus(context.Background()); err != nil || st.GetNamenodeId() != "nn-a" {
		t.Fatalf("newest %v, %v: want the active among equals", st, err)
	}
}

func TestNewWithoutAddress(t *testing.T) {
	if _, err := New(Config{}); !errors.Is(err, ErrNoAddress) {
		t.Fatalf("err %v", err)
	}
}

// A closed Set fails every call at once.
func TestClosedSet(t *testing.T) {
	f := newFake(t, "nn-a", true)
	s := newSet(t, Config{Addrs: []string{f.Addr()}, Timeout: time.Minute})
	s.Close()
	if _, err := drain(context.Background(), s); !errors.Is(err, ErrClosed) {
		t.Fatalf("CallActive: %v", err)
	}
	if err := s.Each(func(string, chkvpb.NameNodeClient) bool { t.Fatal("called"); return false }); !errors.Is(err, ErrClosed) {
		t.Fatalf("Each: %v", err)
	}
	if _, err := s.NewestStatus(context.Background()); !errors.Is(err, ErrClosed) {
		t.Fatalf("NewestStatus: %v", err)
	}
	if err := s.Add("127.0.0.1:1"); !errors.Is(err, ErrClosed) {
		t.Fatalf("Add: %v", err)
	}
	if len(f.Drains()) != 0 {
		t.Fatal("a closed set called the NameNode")
	}
}

// TryEach makes one round, the active first, and stops at the first
// success; SetActive moves the start.
func TestTryEach(t *testing.T) {
	a, b := newFake(t, "nn-a", false), newFake(t, "nn-b", true)
	s := newSet(t, Config{Addrs: []string{a.Addr(), b.Addr()}, Timeout: time.Minute})
	var tried []int
	call := func(ctx context.Context, i int, nn chkvpb.NameNodeClient) error {
		tried = append(tried, i)
		_, err := nn.Drain(ctx, &chkvpb.DrainRequest{Node: "dn-1"})
		return err
	}
	if err := s.TryEach(context.Background(), time.Second, call); err != nil || fmt.Sprint(tried) != "[0 1]" {
		t.Fatalf("TryEach: %v after %v", err, tried)
	}
	if s.Active() != 0 {
		t.Fatalf("TryEach moved the active to %d", s.Active())
	}
	s.SetActive(1)
	s.SetActive(7) // out of range: ignored
	tried = nil
	if err := s.TryEach(context.Background(), time.Second, call); err != nil || fmt.Sprint(tried) != "[1]" {
		t.Fatalf("TryEach after SetActive(1): %v after %v", err, tried)
	}
	b.StandbyOf(nil)
	tried = nil
	err := s.TryEach(context.Background(), time.Second, call)
	if status.Code(err) != codes.Unavailable || fmt.Sprint(tried) != "[1 0]" || strings.Count(err.Error(), "not the active") != 2 {
		t.Fatalf("TryEach with no active: %v after %v", err, tried)
	}
}
