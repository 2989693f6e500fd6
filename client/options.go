package client

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"runtime"
	"time"

	"google.golang.org/grpc"

	"github.com/chkv/chkv/common/topology"
)

// Defaults of the Options.
const (
	// DefaultPoolSizePerCPU times GOMAXPROCS is the default number of
	// connections kept per DataNode, as in go-redis.
	DefaultPoolSizePerCPU = 10
	// DefaultDialTimeout bounds opening one connection to a DataNode.
	DefaultDialTimeout = 2 * time.Second
	// DefaultIOTimeout bounds one command's read and write when the
	// context has no deadline.
	DefaultIOTimeout = 3 * time.Second
	// DefaultMaxRedirects is how many MOVED replies one command follows.
	DefaultMaxRedirects = 5
	// DefaultRetryTimeout bounds the retries of a call whose context has no
	// deadline.
	DefaultRetryTimeout = 5 * time.Second
	// DefaultRetryBackoffMin is the first pause between retries of a
	// command (TRYAGAIN, CLUSTERDOWN, connection failures); it doubles
	// with each retry.
	DefaultRetryBackoffMin = 5 * time.Millisecond
	// DefaultRetryBackoffMax caps the pause between retries of a command.
	DefaultRetryBackoffMax = 250 * time.Millisecond
	// DefaultWatchBackoffMin is the first pause before watching a NameNode
	// again after the stream broke; it doubles with each failure.
	DefaultWatchBackoffMin = 50 * time.Millisecond
	// DefaultWatchBackoffMax caps the pause before watching again.
	DefaultWatchBackoffMax = 2 * time.Second
	// DefaultRefreshAfter is how long the client waits for a newer
	// topology, after it saw a sign that its own is stale (MOVED, a
	// failed DataNode), before it restarts the watch on the next NameNode.
	DefaultRefreshAfter = time.Second
	// defaultRetireGrace is how long a DataNode's pool outlives the
	// node's removal from the topology, so in-flight calls finish.
	defaultRetireGrace = 5 * time.Second
)

// Option tunes a Client; pass them to New.
type Option func(*options)

// options are the settled Options.
type options struct {
	poolSize        int
	dialTimeout     time.Duration
	readTimeout     time.Duration
	writeTimeout    time.Duration
	maxRedirects    int
	retryTimeout    time.Duration
	retryBackoffMin time.Duration
	retryBackoffMax time.Duration
	watchBackoffMin time.Duration
	watchBackoffMax time.Duration
	refreshAfter    time.Duration
	retireGrace     time.Duration
	onTopology      func(*topology.Topology)
	logger          *slog.Logger
	grpcOpts        []grpc.DialOption
	dialer          func(ctx context.Context, network, addr string) (net.Conn, error)
}

func defaultOptions() options {
	return options{
		poolSize:        DefaultPoolSizePerCPU * runtime.GOMAXPROCS(0),
		dialTimeout:     DefaultDialTimeout,
		readTimeout:     DefaultIOTimeout,
		writeTimeout:    DefaultIOTimeout,
		maxRedirects:    DefaultMaxRedirects,
		retryTimeout:    DefaultRetryTimeout,
		retryBackoffMin: DefaultRetryBackoffMin,
		retryBackoffMax: DefaultRetryBackoffMax,
		watchBackoffMin: DefaultWatchBackoffMin,
		watchBackoffMax: DefaultWatchBackoffMax,
		refreshAfter:    DefaultRefreshAfter,
		retireGrace:     defaultRetireGrace,
		logger:          slog.New(slog.NewTextHandler(io.Discard, nil)),
	}
}

func (o *options) validate() error {
	switch {
	case o.poolSize < 1:
		return fmt.Errorf("%w: pool size %d", ErrInvalid, o.poolSize)
	case o.dialTimeout <= 0 || o.readTimeout <= 0 || o.writeTimeout <= 0:
		return fmt.Errorf("%w: timeouts must be positive", ErrInvalid)
	case o.maxRedirects < 0:
		return fmt.Errorf("%w: max redirects %d", ErrInvalid, o.maxRedirects)
	case o.retryTimeout <= 0:
		return fmt.Errorf("%w: retry timeout must be positive", ErrInvalid)
	case o.retryBackoffMin <= 0 || o.retryBackoffMax < o.retryBackoffMin:
		return fmt.Errorf("%w: retry backoff %v..%v", ErrInvalid, o.retryBackoffMin, o.retryBackoffMax)
	case o.watchBackoffMin <= 0 || o.watchBackoffMax < o.watchBackoffMin:
		return fmt.Errorf("%w: watch backoff %v..%v", ErrInvalid, o.watchBackoffMin, o.watchBackoffMax)
	case o.refreshAfter <= 0:
		return fmt.Errorf("%w: refresh interval must be positive", ErrInvalid)
	}
	return nil
}

// WithPoolSize sets the number of connections kept per DataNode
// (default DefaultPoolSizePerCPU per CPU).
func WithPoolSize(n int) Option { return func(o *options) { o.poolSize = n } }

// WithDialTimeout bounds opening one connection to a DataNode (default
// DefaultDialTimeout).
func WithDialTimeout(d time.Duration) Option { return func(o *options) { o.dialTimeout = d } }

// WithReadTimeout bounds waiting for one reply when the call's context has
// no deadline (default DefaultIOTimeout).
func WithReadTimeout(d time.Duration) Option { return func(o *options) { o.readTimeout = d } }

// WithWriteTimeout bounds writing one command when the call's context has
// no deadline (default DefaultIOTimeout).
func WithWriteTimeout(d time.Duration) Option { return func(o *options) { o.writeTimeout = d } }

// WithMaxRedirects sets how many MOVED replies one command follows before
// it fails with ErrTooManyRedirects (default DefaultMaxRedirects).
func WithMaxRedirects(n int) Option { return func(o *options) { o.maxRedirects = n } }

// WithRetryTimeout bounds the retries (TRYAGAIN, CLUSTERDOWN, connection
// failures) of a call whose context has no deadline (default
// DefaultRetryTimeout). A deadline on the context always wins.
func WithRetryTimeout(d time.Duration) Option { return func(o *options) { o.retryTimeout = d } }

// WithRetryBackoff sets the first and the largest pause between retries of
// one command (defaults DefaultRetryBackoffMin, DefaultRetryBackoffMax).
func WithRetryBackoff(first, limit time.Duration) Option {
	return func(o *options) { o.retryBackoffMin, o.retryBackoffMax = first, limit }
}

// WithWatchBackoff sets the first and the largest pause before watching a
// NameNode again after a failure (defaults DefaultWatchBackoffMin,
// DefaultWatchBackoffMax).
func WithWatchBackoff(first, limit time.Duration) Option {
	return func(o *options) { o.watchBackoffMin, o.watchBackoffMax = first, limit }
}

// WithRefreshAfter sets how long the client waits for a newer topology
// after a sign that its own is stale before it restarts the watch on the
// next NameNode (default DefaultRefreshAfter).
func WithRefreshAfter(d time.Duration) Option { return func(o *options) { o.refreshAfter = d } }

// WithOnTopology registers fn to be called with every topology version the
// client adopts, in order, from the client's watch goroutine, after routing
// has switched to it. fn must not block for long and must not call Close;
// the topology is shared and must not be modified.
func WithOnTopology(fn func(*topology.Topology)) Option {
	return func(o *options) { o.onTopology = fn }
}

// WithLogger sets where the client logs (default: nowhere).
func WithLogger(l *slog.Logger) Option {
	return func(o *options) {
		if l != nil {
			o.logger = l
		}
	}
}

// WithGRPCDialOptions adds options to the NameNode connections, after the
// client's own (insecure transport, cluster token), e.g. a custom dialer.
func WithGRPCDialOptions(opts ...grpc.DialOption) Option {
	return func(o *options) { o.grpcOpts = append(o.grpcOpts, opts...) }
}

// WithDialer replaces how connections to DataNodes are opened (default: a
// net.Dialer bounded by the dial timeout).
func WithDialer(dial func(ctx context.Context, network, addr string) (net.Conn, error)) Option {
	return func(o *options) { o.dialer = dial }
}
