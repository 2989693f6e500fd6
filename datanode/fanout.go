package datanode

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"google.golang.org/grpc"

	"github.com/chkv/chkv/common/group"
	"github.com/chkv/chkv/common/grpcdial"
	"github.com/chkv/chkv/common/topology"
	"github.com/chkv/chkv/datanode/ownership"
	"github.com/chkv/chkv/proto/chkvpb"
)

// fanout makes PUBLISH cluster-wide, as Redis Cluster does: a message
// published on this node is delivered to its own subscribers by
// Server.publish, then handed to fanout, which forwards it to every other
// DataNode of the current topology through the DataNode Publish RPC; the
// receiver delivers it to its subscribers and never forwards it again.
// Sharded Pub/Sub (SPUBLISH) stays with the slot's owner and is never
// forwarded.
//
// The publisher never waits for a peer: each peer has a peerQueue, a
// bounded FIFO that one sender goroutine drains in batches, one RPC at a
// time, each with a timeout. When a peer is slow or unreachable its queue
// fills and further messages for it are dropped and counted (the
// pubsub_forward_dropped_total metric), as a batch whose RPC failed is:
// delivery to other nodes is best effort, as on Redis's cluster bus. One
// queue and one sender per peer keep the messages of any publisher in
// order at every peer.
//
// The set of peers follows the topology: it is rebuilt when the node's view
// changes, keeping the queue of a peer that stays at the same address.
// Sender goroutines belong to the server's group and stop with it, or when
// their peer leaves the topology.
type fanout struct {
	selfID string
	view   func() *ownership.View
	group  *group.Group
	log    *slog.Logger
	limits fanoutLimits
	// newSender returns the send function of a peer at addr and a
	// function that releases what it holds.
	newSender func(addr string) (sendFunc, func(), error)

	peers   atomic.Pointer[peerSet] // read by every PUBLISH without the lock
	mu      sync.Mutex              // serializes rebuilding peers
	dropped atomic.Int64            // messages not delivered to a peer
	sent    atomic.Int64            // messages a peer acknowledged
}

// peerSet is the peers built from one topology version.
type peerSet struct {
	top   *topology.Topology
	queue map[string]*peerQueue // by node ID
	list  []*peerQueue
}

// newFanout returns the fan-out of a cluster-mode server.
func (s *Server) newFanout() *fanout {
	// A peer that comes back is seen again within seconds.
	dial := s.dialOptions(1<<20, 4<<20, grpcdial.Config{BackoffBase: 100 * time.Millisecond, BackoffMax: 2 * time.Second}, s.cfg.PeerDialOptions)
	return &fanout{
		selfID: s.id,
		view:   s.own.View,
		group:  s.group,
		log:    s.log,
		limits: defaultFanoutLimits,
		newSender: func(addr string) (sendFunc, func(), error) {
			conn, err := grpc.NewClient(addr, dial...)
			if err != nil {
				return nil, nil, err
			}
			cl := chkvpb.NewDataNodeClient(conn)
			send := func(ctx context.Context, msgs []pubMessage) error {
				_, err := cl.Publish(ctx, publishRequest(s.id, msgs))
				return err
			}
			return send, func() { conn.Close() }, nil
		},
	}
}

// publishRequest is the RPC request carrying msgs.
func publishRequest(from string, msgs []pubMessage) *chkvpb.PublishRequest {
	req := &chkvpb.PublishRequest{SourceId: from, Messages: make([]*chkvpb.PublishMessage, len(msgs))}
	for i, m := range msgs {
		req.Messages[i] = &chkvpb.PublishMessage{Channel: m.channel, Message: m.message}
	}
	return req
}

// forward queues a copy of the message for every other DataNode. It never
// blocks on a peer. A message too large for the RPC is dropped for every
// peer at once.
func (f *fanout) forward(channel, message []byte) {
	peers := f.current()
	if len(peers.list) == 0 {
		return
	}
	if len(channel)+len(message) > f.limits.maxMessage {
		f.dropped.Add(int64(len(peers.list)))
		return
	}
	m := pubMessage{channel: append([]byte(nil), channel...), message: append([]byte(nil), message...)}
	for _, p := range peers.list {
		if !p.enqueue(m) {
			f.dropped.Add(1)
		}
	}
}

// current returns the peers of the node's current view, rebuilding them
// when the view changed since the last call.
func (f *fanout) current() *peerSet {
	v := f.view()
	if ps := f.peers.Load(); ps != nil && ps.top == v.Top {
		return ps
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	old := f.peers.Load()
	if old != nil && old.top == v.Top {
		return old
	}
	ps := &peerSet{top: v.Top, queue: make(map[string]*peerQueue)}
	if v.Top != nil {
		for _, n := range v.Top.Nodes {
			if n.ID == f.selfID || !n.State.Live() || n.GRPCAddr == "" {
				continue
			}
			p := old.keep(n)
			if p == nil {
				if p = f.start(n); p == nil {
					continue
				}
			}
			ps.queue[n.ID] = p
			ps.list = append(ps.list, p)
		}
	}
	if old != nil {
		for id, p := range old.queue {
			if ps.queue[id] != p {
				p.stop()
			}
		}
	}
	f.peers.Store(ps)
	return ps
}

// keep returns the queue of node n in ps when n kept its address, or nil.
func (ps *peerSet) keep(n topology.Node) *peerQueue {
	if ps == nil {
		return nil
	}
	if p := ps.queue[n.ID]; p != nil && p.addr == n.GRPCAddr {
		return p
	}
	return nil
}

// start starts the queue and sender of node n, or returns nil when the
// server is stopping or the peer cannot be dialled.
func (f *fanout) start(n topology.Node) *peerQueue {
	send, release, err := f.newSender(n.GRPCAddr)
	if err != nil {
		f.log.Warn("pubsub fan-out: cannot reach peer", "peer", n.ID, "addr", n.GRPCAddr, "err", err)
		return nil
	}
	ctx, cancel := context.WithCancel(f.group.Context())
	p := newPeerQueue(n.ID, n.GRPCAddr, f.limits, send, cancel)
	if !f.group.Go(func(context.Context) {
		defer release()
		p.run(ctx, f)
	}) {
		cancel()
		release()
		return nil
	}
	return p
}

// Publish delivers the messages another DataNode forwarded to this node's
// subscribers, in order; they are not forwarded again.
func (c *controlService) Publish(_ context.Context, req *chkvpb.PublishRequest) (*chkvpb.PublishResponse, error) {
	for _, m := range req.Messages {
		c.srv.publish(m.Channel, m.Message, false)
	}
	return &chkvpb.PublishResponse{}, nil
}

// forwardPublish hands a message published on this node to the fan-out,
// in cluster mode.
func (s *Server) forwardPublish(channel, message []byte) {
	if s.fanout != nil {
		s.fanout.forward(channel, message)
	}
}
