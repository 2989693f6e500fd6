package client

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"sync/atomic"

	"github.com/redis/go-redis/v9"

	"github.com/chkv/chkv/common/group"
	"github.com/chkv/chkv/common/grpcdial"
	"github.com/chkv/chkv/common/nnset"
	"github.com/chkv/chkv/common/topology"
	"github.com/chkv/chkv/proto/chkvpb"
)

// Client talks to a CHKV cluster: it routes each command to the DataNode
// that owns the key's slot. It is safe for concurrent use. Close it when
// done.
type Client struct {
	cfg    Config
	opts   options
	nns    *nnset.Set // the NameNodes of Config.NameNodes
	router *router
	group  *group.Group

	ready     chan struct{} // closed at the first topology
	readyOnce sync.Once
	refreshCh chan struct{} // a refresh was asked for; capacity 1
	watchErr  atomic.Pointer[error]

	closed    atomic.Bool
	closeOnce sync.Once
}

// New connects to the cluster described by cfg and returns once the first
// topology has arrived from a NameNode. ctx bounds only that wait: when it
// ends first, New returns an error wrapping ErrNoTopology, ctx's error and
// the last watch failure. The returned Client lives until Close.
func New(ctx context.Context, cfg Config, opts ...Option) (*Client, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	o := defaultOptions()
	for _, opt := range opts {
		opt(&o)
	}
	if err := o.validate(); err != nil {
		return nil, err
	}
	c := &Client{
		cfg:       cfg,
		opts:      o,
		ready:     make(chan struct{}),
		refreshCh: make(chan struct{}, 1),
	}
	c.cfg.NameNodes = append([]string(nil), cfg.NameNodes...)
	// The watch loop paces reconnections; gRPC's own backoff (up to two
	// minutes) would hide a NameNode that came back.
	dial := grpcdial.Config{Token: cfg.ClusterToken,
		BackoffBase: o.watchBackoffMin, BackoffMax: o.watchBackoffMax, MinConnectTimeout: o.dialTimeout}
	nns, err := nnset.New(nnset.Config{Addrs: c.cfg.NameNodes, Dial: dial, DialOptions: o.grpcOpts})
	if err != nil {
		return nil, fmt.Errorf("client: %w", err)
	}
	c.nns = nns
	c.router = newRouter(c.newRedis)
	c.group = group.New(context.Background())
	c.group.Go(c.watchLoop)
	c.group.Go(c.janitorLoop)

	select {
	case <-c.ready:
		return c, nil
	case <-ctx.Done():
	}
	werr := errors.New("no answer from any NameNode yet")
	if p := c.watchErr.Load(); p != nil && *p != nil {
		werr = *p
	}
	c.Close()
	return nil, fmt.Errorf("%w: %w: %w", ErrNoTopology, context.Cause(ctx), werr)
}

// newRedis returns the go-redis client of one DataNode address. It never
// retries by itself: the Client decides what may be retried.
func (c *Client) newRedis(addr string) *redis.Client {
	dial := c.opts.dialer
	if dial == nil {
		d := &net.Dialer{Timeout: c.opts.dialTimeout}
		dial = d.DialContext
	}
	return redis.NewClient(&redis.Options{
		Addr:     addr,
		Password: c.cfg.Password,
		Protocol: 2,
		Dialer: func(ctx context.Context, network, addr string) (net.Conn, error) {
			conn, err := dial(ctx, network, addr)
			if err != nil {
				return nil, &dialError{err: err}
			}
			return conn, nil
		},
		MaxRetries:            -1,
		DialTimeout:           c.opts.dialTimeout,
		ReadTimeout:           c.opts.readTimeout,
		WriteTimeout:          c.opts.writeTimeout,
		ContextTimeoutEnabled: true,
		PoolSize:              c.opts.poolSize,
		DisableIdentity:       true,
	})
}

// Close stops the watch, closes every connection and returns once every
// goroutine of the client has exited. Calls made after Close return
// ErrClosed. It is safe to call more than once.
func (c *Client) Close() error {
	c.closeOnce.Do(func() {
		c.closed.Store(true)
		c.group.Stop()
		c.router.close()
		c.nns.Close()
	})
	return nil
}

// Topology returns the topology the client routes by (the newest it has
// received), or nil before the first. It is shared: do not modify it.
func (c *Client) Topology() *topology.Topology {
	if tb := c.router.current.Load(); tb != nil {
		return tb.topo
	}
	return nil
}

// Status asks the NameNodes, the last active first, for their view of
// the cluster and returns the first answer.
func (c *Client) Status(ctx context.Context) (*chkvpb.StatusResponse, error) {
	if c.closed.Load() {
		return nil, ErrClosed
	}
	var resp *chkvpb.StatusResponse
	var errs []error
	err := c.nns.Each(func(addr string, nn chkvpb.NameNodeClient) bool {
		r, err := nn.Status(ctx, &chkvpb.StatusRequest{})
		if err == nil {
			resp = r
			return false
		}
		errs = append(errs, fmt.Errorf("status %s: %w", addr, err))
		return ctx.Err() == nil
	})
	switch {
	case resp != nil:
		return resp, nil
	case err != nil:
		return nil, ErrClosed
	}
	return nil, errors.Join(errs...)
}
