package client

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/protobuf/proto"

	"github.com/chkv/chkv/common/topology"
	"github.com/chkv/chkv/proto/chkvpb"
)

// watchLoop keeps a Watch stream open on one NameNode at a time, rotating
// through the set, until ctx ends. It is the only writer of the topology.
func (c *Client) watchLoop(ctx context.Context) {
	b := backoff{min: c.opts.watchBackoffMin, max: c.opts.watchBackoffMax}
	for i := 0; ; i++ {
		addrs, conns := c.nns.Addrs(), c.nns.Conns()
		if len(conns) == 0 || len(conns) != len(addrs) {
			return // closed
		}
		i %= len(conns)
		got, err := c.watchOnce(ctx, addrs[i], conns[i])
		if ctx.Err() != nil {
			return
		}
		if got {
			b.reset()
		}
		c.watchErr.Store(&err)
		c.opts.logger.Warn("client: topology watch ended", "namenode", addrs[i], "err", err)
		if !sleepCtx(ctx, b.next()) {
			return
		}
	}
}

// watchOnce reads one Watch stream from the NameNode at addr, over cc,
// until it fails, ctx ends, or a refresh finds it stale. It reports
// whether it received a topology, and why it ended.
func (c *Client) watchOnce(ctx context.Context, addr string, cc *grpc.ClientConn) (got bool, err error) {
	sctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	// A new stream starts with the current topology: it answers any
	// refresh asked for until now.
	select {
	case <-c.refreshCh:
	default:
	}
	cc.ResetConnectBackoff() // our backoff has already waited
	stream, err := chkvpb.NewNameNodeClient(cc).Watch(sctx, &chkvpb.WatchRequest{})
	if err != nil {
		return false, fmt.Errorf("watch %s: %w", addr, err)
	}
	if !c.group.Go(func(context.Context) { c.staleWatchdog(sctx, cancel) }) {
		return false, ErrClosed
	}
	// A NameNode that stops sending without closing the stream (paused, or
	// cut off without a reset) is given up once it has been silent for
	// limit: a few of the beats it announces.
	limit := watchSilenceBeforeBeat
	silent := time.AfterFunc(limit, func() { cancel(errSilent) })
	defer silent.Stop()
	for {
		ev, err := stream.Recv()
		if err != nil {
			if cause := context.Cause(sctx); cause != nil && ctx.Err() == nil {
				err = cause
			} else if errors.Is(err, io.EOF) {
				err = fmt.Errorf("watch %s: stream closed by the NameNode", addr)
			} else {
				err = fmt.Errorf("watch %s: %w", addr, err)
			}
			return got, err
		}
		if beat := ev.GetBeatMs(); beat > 0 {
			limit = silenceLimit(time.Duration(beat) * time.Millisecond)
		}
		silent.Reset(limit)
		if len(ev.GetTopology()) == 0 {
			continue // a beat
		}
		var p chkvpb.Topology
		if err := proto.Unmarshal(ev.GetTopology(), &p); err != nil {
			return got, fmt.Errorf("watch %s: topology: %w", addr, err)
		}
		t, err := topology.FromProto(&p)
		if err != nil {
			return got, fmt.Errorf("watch %s: %w", addr, err)
		}
		got = true
		c.adopt(t)
	}
}

// watchBeatsMissed is how many beats a Watch stream may miss before the
// client gives up on its NameNode; minWatchSilence keeps a very short beat
// from turning a scheduling hiccup into a reconnect.
const (
	watchBeatsMissed = 3
	minWatchSilence  = 500 * time.Millisecond
)

// watchSilenceBeforeBeat is how long a Watch stream may stay silent before
// its NameNode has announced its beat.
const watchSilenceBeforeBeat = 10 * time.Second

// silenceLimit is how long a Watch stream whose NameNode beats every beat
// may stay silent.
func silenceLimit(beat time.Duration) time.Duration {
	return max(watchBeatsMissed*beat, minWatchSilence)
}

// errSilent ends a Watch stream whose NameNode sent nothing, not even a
// beat, for too long.
var errSilent = errors.New("the NameNode went silent: no version or beat")

// errStale ends a Watch stream that brought nothing new after a refresh was
// asked for.
var errStale = errors.New("no newer topology after a refresh request")

// staleWatchdog cancels the stream of sctx when a refresh is asked for and
// no newer topology arrives within refreshAfter, so the watch moves on to
// the next NameNode (whose view may be newer). It returns when sctx ends.
func (c *Client) staleWatchdog(sctx context.Context, cancel context.CancelCauseFunc) {
	for {
		select {
		case <-sctx.Done():
			return
		case <-c.refreshCh:
		}
		tb := c.router.current.Load()
		if tb == nil {
			continue // still waiting for the first topology
		}
		t := time.NewTimer(c.opts.refreshAfter)
		select {
		case <-sctx.Done():
			t.Stop()
			return
		case <-tb.superseded:
			t.Stop()
		case <-t.C:
			cancel(errStale)
			return
		}
	}
}

// refresh asks for a newer topology: the watch is restarted on the next
// NameNode unless one arrives soon. It never blocks.
func (c *Client) refresh() {
	select {
	case c.refreshCh <- struct{}{}:
	default:
	}
}

// adopt installs t if it is newer than the current topology and tells the
// WithOnTopology callback; older or equal versions are ignored.
func (c *Client) adopt(t *topology.Topology) bool {
	cur := c.router.current.Load()
	if cur != nil && !t.NewerThan(cur.topo) {
		c.opts.logger.Debug("client: ignored topology", "epoch", t.Epoch, "version", t.Version,
			"have_epoch", cur.topo.Epoch, "have_version", cur.topo.Version)
		return false
	}
	if !c.router.install(t, time.Now()) {
		return false
	}
	c.opts.logger.Debug("client: topology", "epoch", t.Epoch, "version", t.Version, "nodes", len(t.Nodes))
	c.readyOnce.Do(func() { close(c.ready) })
	if c.opts.onTopology != nil {
		c.opts.onTopology(t)
	}
	return true
}

// janitorLoop closes the pools of DataNodes that left the topology.
func (c *Client) janitorLoop(ctx context.Context) {
	tick := time.NewTicker(max(c.opts.retireGrace/4, 10*time.Millisecond))
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-tick.C:
			c.router.sweepOnce(now, c.opts.retireGrace)
		}
	}
}

// sleepCtx sleeps for d and reports whether ctx is still alive.
func sleepCtx(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
