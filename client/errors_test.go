package client

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"testing"

	"github.com/redis/go-redis/v9"
)

// redisErr is what go-redis returns for an error reply.
type redisErr string

func (e redisErr) Error() string { return string(e) }
func (redisErr) RedisError()     {}

func TestClassify(t *testing.T) {
	const from = "10.0.0.1:7000"
	for _, tc := range []struct {
		err   error
		class class
		is    error
		addr  string
	}{
		{redis.Nil, classFinal, ErrNotFound, ""},
		{redisErr("MOVED 3999 10.0.0.2:7001"), classMoved, nil, "10.0.0.2:7001"},
		{redisErr("MOVED 3999 :7002"), classMoved, nil, "10.0.0.1:7002"},
		{redisErr("MOVED 3999 [::1]:7003"), classMoved, nil, "[::1]:7003"},
		{redisErr("MOVED nonsense"), classFinal, nil, ""},
		{redisErr("TRYAGAIN Multiple keys request during rehashing of slot"), classTryAgain, ErrTryAgain, ""},
		{redisErr("CLUSTERDOWN Hash slot not served"), classClusterDown, ErrClusterDown, ""},
		{redisErr("CROSSSLOT Keys in request don't hash to the same slot"), classFinal, ErrCrossSlot, ""},
		{redisErr("WRONGTYPE Operation against a key holding the wrong kind of value"), classFinal, nil, ""},
		{context.DeadlineExceeded, classFinal, context.DeadlineExceeded, ""},
		{&dialError{err: &net.OpError{Op: "dial", Err: errors.New("refused")}}, classNotSent, ErrUnavailable, ""},
		// A dial that timed out also matches DeadlineExceeded: still not sent.
		{&dialError{err: fmt.Errorf("dial tcp: %w", context.DeadlineExceeded)}, classNotSent, ErrUnavailable, ""},
		{redis.ErrClosed, classNotSent, ErrUnavailable, ""},
		{errors.New("redis: connection pool timeout"), classFinal, nil, ""},
		{io.EOF, classMaybeSent, ErrUnavailable, ""},
		{&net.OpError{Op: "read", Err: errors.New("connection reset")}, classMaybeSent, ErrUnavailable, ""},
	} {
		f := classify(tc.err, from)
		if f.class != tc.class || f.addr != tc.addr || (tc.is != nil && !errors.Is(f.err, tc.is)) {
			t.Errorf("classify(%v) = %+v, want class %d addr %q is %v", tc.err, f, tc.class, tc.addr, tc.is)
		}
		if tc.is == nil && f.class != classMoved && tc.class == classFinal {
			var se *ServerError
			if _, ok := tc.err.(redisErr); ok && !errors.As(f.err, &se) {
				t.Errorf("classify(%v) = %v, want a *ServerError", tc.err, f.err)
			}
		}
	}
	se := &ServerError{Msg: "WRONGTYPE Operation against a key"}
	if se.Prefix() != "WRONGTYPE" || se.Error() != se.Msg {
		t.Errorf("ServerError %q prefix %q", se.Error(), se.Prefix())
	}
	wrapped := fmt.Errorf("%w: %w", ErrClusterDown, context.DeadlineExceeded)
	if !errors.Is(wrapped, ErrClusterDown) || !errors.Is(wrapped, context.DeadlineExceeded) {
		t.Error("double wrapping lost a cause")
	}
}

func TestConfigValidate(t *testing.T) {
	for _, cfg := range []Config{{}, {NameNodes: []string{""}}, {NameNodes: []string{"nohost"}}} {
		if err := cfg.Validate(); !errors.Is(err, ErrInvalid) {
			t.Errorf("Validate(%+v) = %v, want ErrInvalid", cfg, err)
		}
	}
	if cfg := DefaultConfig(); cfg.Validate() != nil || cfg.NameNodes[0] != DefaultNameNode {
		t.Errorf("DefaultConfig %+v", cfg)
	}
}

func TestBackoff(t *testing.T) {
	b := backoff{min: 10, max: 80}
	for i, want := range []int64{10, 20, 40, 80, 80} {
		d := int64(b.next())
		if d < want/2 || d > want {
			t.Errorf("delay %d = %d, want in [%d, %d]", i, d, want/2, want)
		}
	}
	b.reset()
	if d := b.next(); d < 5 || d > 10 {
		t.Errorf("after reset: %d", d)
	}
}
