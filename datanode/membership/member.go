package membership

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/connectivity"
	"google.golang.org/grpc/status"

	"github.com/chkv/chkv/common/group"
	"github.com/chkv/chkv/common/grpcdial"
	"github.com/chkv/chkv/common/nnset"
	"github.com/chkv/chkv/common/topology"
	"github.com/chkv/chkv/datanode/ownership"
	"github.com/chkv/chkv/proto/chkvpb"
)

// Cluster-mode timing defaults, used until a NameNode says otherwise.
const (
	defaultHeartbeatInterval = time.Second
	maxRegisterBackoff       = 2 * time.Second
)

// flowWindow is the fixed gRPC flow-control window of the connections to
// the NameNodes: room for a large topology in one reply.
const flowWindow = 1 << 20

// Config is what membership needs to run.
type Config struct {
	// ID is the node's ID.
	ID string
	// NameNodes are the NameNodes' gRPC addresses (--namenodes).
	NameNodes []string
	// ClusterToken authenticates the node to the NameNodes.
	ClusterToken string
	// DialOptions are added when dialling the NameNodes (tests).
	DialOptions []grpc.DialOption
	// Rejoin makes the first registration ask to join again after a drain.
	Rejoin bool
	// Weight is the node's share of the slots relative to the others.
	Weight uint32
	// Log receives membership's messages.
	Log *slog.Logger
	// Group runs membership's goroutines; they stop with it.
	Group *group.Group
	// Own is the slot-ownership table whose views membership publishes.
	Own *ownership.Table
	// Host is the rest of the DataNode.
	Host Host
}

// Host is what membership needs from the rest of the DataNode.
type Host interface {
	// RESPAddr is the address clients reach the node on.
	RESPAddr() string
	// GRPCAddr is the address other components reach the node's gRPC
	// service on.
	GRPCAddr() string
	// HTTPAddr is the address of the node's HTTP key-value API, "" when
	// it serves none.
	HTTPAddr() string
	// Load describes the node's load for heartbeats.
	Load() topology.Load
	// MigrationLoad describes the node's outgoing migrations.
	MigrationLoad() topology.MigrationLoad
	// FlushData drops every key the node holds (a rejoin).
	FlushData()
	// ViewChanged is called, serialised, after each new view is published.
	ViewChanged(v *ownership.View)
}

// Member is a DataNode's side of cluster membership: it registers with the
// NameNodes, heartbeats them, holds the lease their replies grant, and
// applies the topology versions they send. It also reports handoffs
// (HandedOff, Accepted), votes as a witness of the NameNode pair, serves
// the NameNodes' calls (Probe, Elect, PushTopology) and follows the drain.
type Member struct {
	cfg  Config
	log  *slog.Logger
	host Host
	// nns are the NameNodes, the one last seen active first: calls only
	// the active serves (Register, Drain, ReportHandoff) try it first.
	// clients and conns are its NameNodes in the order of --namenodes.
	nns     *nnset.Set
	clients []chkvpb.NameNodeClient
	conns   []*grpc.ClientConn
	streams []*hbStream // per NameNode; nil until opened
	// reconnecting[i] is set while a goroutine waits for NameNode i's
	// connection to be ready again (watchReconnect).
	reconnecting []atomic.Bool

	// own is the slot-ownership table the node routes by.
	own        *ownership.Table
	applyMu    sync.Mutex // serialises apply
	base       time.Time  // origin of the monotonic lease clock
	leaseUntil atomic.Int64
	registered atomic.Bool
	// rejoinAsked: the next registration asks to join again (--rejoin);
	// cleared once one succeeds.
	rejoinAsked atomic.Bool
	// retired: the node was drained and then removed from the cluster; it
	// no longer registers or heartbeats until restarted.
	retired  atomic.Bool
	interval atomic.Int64 // heartbeat interval, ns
	wit      witness
	// leaseEpoch is the NameNode epoch of the newest lease granted.
	leaseEpoch atomic.Uint64
	// kick, when it holds a token, makes run heartbeat at once: a new
	// active has staged or pushed a version, and its first lease should
	// not wait for the next tick.
	kick chan struct{}

	reporter *reporter
	drain    drainState
}

// New returns a member that has not registered yet; Run runs it.
func New(cfg Config) (*Member, error) {
	m := &Member{cfg: cfg, log: cfg.Log, host: cfg.Host, own: cfg.Own, base: time.Now(), kick: make(chan struct{}, 1)}
	m.drain.done = make(chan struct{})
	m.rejoinAsked.Store(cfg.Rejoin)
	m.interval.Store(int64(defaultHeartbeatInterval))
	// Fixed flow-control windows: with gRPC's dynamic ones each heartbeat
	// reply on an otherwise idle connection costs both sides a BDP ping
	// round trip. Reconnect to a restarted NameNode within a quarter
	// second; gRPC's default backoff grows to two minutes, longer than a
	// failover, and a restarted pair must hear from the DataNodes at once
	// to elect before their leases lapse (common/timing).
	nns, err := nnset.New(nnset.Config{
		Addrs: cfg.NameNodes,
		Dial: grpcdial.Config{Token: cfg.ClusterToken,
			BackoffBase: 50 * time.Millisecond, BackoffMax: 250 * time.Millisecond, MinConnectTimeout: time.Second},
		DialOptions: append([]grpc.DialOption{grpc.WithInitialWindowSize(flowWindow), grpc.WithInitialConnWindowSize(flowWindow)},
			cfg.DialOptions...),
	})
	if err != nil {
		return nil, fmt.Errorf("datanode: %w", err)
	}
	m.nns, m.conns = nns, nns.Conns()
	for _, conn := range m.conns {
		m.clients = append(m.clients, chkvpb.NewNameNodeClient(conn))
	}
	m.streams = make([]*hbStream, len(m.clients))
	m.reconnecting = make([]atomic.Bool, len(m.clients))
	m.reporter = newReporter(m)
	return m, nil
}

// Close closes the connections to the NameNodes.
func (m *Member) Close() {
	m.nns.Close()
}

// now is the monotonic lease clock.
func (m *Member) now() time.Duration { return time.Since(m.base) }

// leaseValid reports whether a NameNode's lease currently covers the node.
func (m *Member) leaseValid() bool { return int64(m.now()) < m.leaseUntil.Load() }

// kickHeartbeat makes run send the next heartbeat at once. It does not
// block.
func (m *Member) kickHeartbeat() {
	select {
	case m.kick <- struct{}{}:
	default:
	}
}

// heardFromEpoch asks for a heartbeat at once when a NameNode of an epoch
// newer than that of the node's lease has staged or pushed a version: it
// has just taken over, and its reply to the heartbeat renews the lease
// before the old active's runs out (common/timing).
func (m *Member) heardFromEpoch(epoch uint64) {
	if epoch > m.leaseEpoch.Load() {
		m.kickHeartbeat()
	}
}

// extendLease moves the lease end to sentAt+lease if that is later, and
// records the epoch of the NameNode that granted it.
func (m *Member) extendLease(epoch uint64, sentAt time.Duration, leaseMs int64) {
	if leaseMs > 0 {
		for {
			cur := m.leaseEpoch.Load()
			if epoch <= cur || m.leaseEpoch.CompareAndSwap(cur, epoch) {
				break
			}
		}
	}
	until := int64(sentAt + time.Duration(leaseMs)*time.Millisecond)
	for {
		cur := m.leaseUntil.Load()
		if until <= cur || m.leaseUntil.CompareAndSwap(cur, until) {
			return
		}
	}
}

// run registers, then heartbeats every interval until ctx ends.
func (m *Member) run(ctx context.Context) {
	backoff := 50 * time.Millisecond
	for ctx.Err() == nil {
		var wait time.Duration
		if m.retired.Load() {
			<-ctx.Done()
			return
		}
		if !m.registered.Load() {
			if err := m.registerOnce(ctx); err != nil {
				m.log.Debug("register failed", "err", err)
				wait, backoff = backoff, min(2*backoff, maxRegisterBackoff)
			} else {
				backoff = 50 * time.Millisecond
				wait = time.Duration(m.interval.Load())
			}
		} else {
			m.heartbeatOnce(ctx)
			wait = time.Duration(m.interval.Load())
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
		case <-t.C:
		case <-m.kick:
		}
		t.Stop()
	}
}

// self describes this node for registration.
func (m *Member) self() *chkvpb.Node {
	return &chkvpb.Node{
		Id:       m.cfg.ID,
		RespAddr: m.host.RESPAddr(),
		GrpcAddr: m.host.GRPCAddr(),
		HttpAddr: m.host.HTTPAddr(),
		Weight:   m.cfg.Weight,
	}
}

// registerOnce announces the node to the first NameNode that answers.
func (m *Member) registerOnce(ctx context.Context) error {
	req := &chkvpb.RegisterRequest{Node: m.self(), Rejoin: m.rejoinAsked.Load(), PromisedEpoch: m.wit.epoch()}
	if v := m.own.View(); v.Top.Version > 0 {
		req.Topology = v.Top.Proto()
	}
	var resp *chkvpb.RegisterResponse
	var sentAt time.Duration
	err := m.nns.TryEach(ctx, time.Duration(m.interval.Load()), func(ctx context.Context, i int, nn chkvpb.NameNodeClient) error {
		sent := m.now()
		r, err := nn.Register(ctx, req)
		if err != nil {
			return err
		}
		if !m.wit.fromActive(r.GetEpoch(), nameNodeRef{ID: r.GetNamenodeId(), Incarnation: r.GetIncarnation()}, sent) {
			return fmt.Errorf("namenode %s answered from a fenced epoch %d", r.GetNamenodeId(), r.GetEpoch())
		}
		m.nns.SetActive(i)
		resp, sentAt = r, sent
		return nil
	})
	if err != nil {
		return err
	}
	if iv := resp.GetHeartbeatIntervalMs(); iv > 0 {
		m.interval.Store(int64(time.Duration(iv) * time.Millisecond))
	}
	m.extendLease(resp.GetEpoch(), sentAt, resp.GetLeaseMs())
	if err := m.applyProto(resp.GetTopology()); err != nil {
		return err
	}
	m.reindex()
	m.registered.Store(true)
	if m.rejoinAsked.Swap(false) {
		m.log.Info("asked to join again after a drain (--rejoin)")
	}
	m.log.Info("registered with namenode", "version", m.own.View().Top.Version)
	return nil
}

// heartbeatOnce sends one heartbeat to every NameNode in parallel, each
// on the NameNode's stream, opening or reopening the stream as needed. It
// does not wait for the replies: each stream's receiver applies them.
func (m *Member) heartbeatOnce(ctx context.Context) {
	v := m.own.View()
	promised, holder := m.wit.promise()
	req := &chkvpb.HeartbeatRequest{
		NodeId:              m.cfg.ID,
		Epoch:               v.Top.Epoch,
		Version:             v.Top.Version,
		GrpcAddr:            m.host.GRPCAddr(),
		PromisedEpoch:       promised,
		PromisedTo:          holder.ID,
		PromisedIncarnation: holder.Incarnation,
		Load:                m.host.Load().Proto(),
	}
	var wg sync.WaitGroup
	for i := range m.clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := m.beat(ctx, i, req); err != nil {
				m.log.Debug("heartbeat failed", "err", err)
			}
		}()
	}
	wg.Wait()
}

// beat sends req on NameNode i's stream. A stream that has ended, or has
// left a request unanswered for a heartbeat interval, is torn down and a
// new one opened. Only heartbeatOnce, one call at a time, uses
// m.streams[i].
func (m *Member) beat(ctx context.Context, i int, req *chkvpb.HeartbeatRequest) error {
	timeout := time.Duration(m.interval.Load())
	hs := m.streams[i]
	if hs != nil && !hs.healthy(m.now(), timeout) {
		hs.cancel() // its receiver returns; the lease runs out unless renewed
		hs, m.streams[i] = nil, nil
	}
	if hs == nil {
		var err error
		if hs, err = m.openStream(ctx, i, timeout); err != nil {
			m.watchReconnect(i)
			return err
		}
		m.streams[i] = hs
	}
	// Send blocks only when the NameNode stops reading; give up on the
	// stream then.
	defer time.AfterFunc(timeout, hs.cancel).Stop()
	hs.push(m.now())
	if err := hs.stream.Send(req); err != nil {
		hs.cancel() // the receiver logs why the stream ended
	}
	return nil
}

// watchReconnect makes the node heartbeat as soon as NameNode i's
// connection is ready again, rather than at the next tick: a restarted
// NameNode learns of its witnesses, and can elect and renew leases, within
// a reconnect. One goroutine per NameNode at most; it ends when the
// connection is ready or the server stops.
func (m *Member) watchReconnect(i int) {
	if !m.reconnecting[i].CompareAndSwap(false, true) {
		return
	}
	if !m.cfg.Group.Go(func(ctx context.Context) {
		defer m.reconnecting[i].Store(false)
		conn := m.conns[i]
		for {
			st := conn.GetState()
			switch st {
			case connectivity.Ready:
				m.kickHeartbeat()
				return
			case connectivity.Idle:
				conn.Connect()
			}
			if !conn.WaitForStateChange(ctx, st) {
				return
			}
		}
	}) {
		m.reconnecting[i].Store(false)
	}
}

// openStream opens a heartbeat stream to NameNode i, giving up after
// timeout, and starts its receiver. The stream ends when ctx does.
func (m *Member) openStream(ctx context.Context, i int, timeout time.Duration) (*hbStream, error) {
	sctx, cancel := context.WithCancel(ctx)
	defer time.AfterFunc(timeout, cancel).Stop()
	stream, err := m.clients[i].HeartbeatStream(sctx)
	if err != nil {
		cancel()
		return nil, err
	}
	hs := &hbStream{nn: i, ctx: sctx, cancel: cancel, stream: stream}
	if !m.cfg.Group.Go(func(context.Context) { m.receive(hs) }) {
		cancel()
		return nil, errStopped
	}
	return hs, nil
}

// receive applies the replies on hs, each with the send time of its
// request, until the stream ends.
func (m *Member) receive(hs *hbStream) {
	defer hs.cancel()
	for {
		resp, err := hs.stream.Recv()
		switch {
		case status.Code(err) == codes.FailedPrecondition:
			// The NameNode lost its state (a restart) and holds an older
			// topology than ours: register again, keeping the data, so it
			// adopts our topology.
			m.log.Info("namenode is behind this node's topology; registering again")
			m.registered.Store(false)
			return
		case err != nil:
			m.log.Debug("heartbeat stream ended", "err", err)
			return
		}
		sentAt, ok := hs.pop()
		if !ok {
			m.log.Warn("namenode sent a heartbeat reply nobody asked for")
			return
		}
		m.onHeartbeat(hs.nn, sentAt, resp)
	}
}

// onHeartbeat applies NameNode nn's reply to a request sent at sentAt. The
// topology of any reply is committed and applied if newer; the lease and
// a rejoin count only from the active NameNode of the epoch the node
// follows, and the lease only while that NameNode hears from a majority.
func (m *Member) onHeartbeat(nn int, sentAt time.Duration, resp *chkvpb.HeartbeatResponse) {
	from := nameNodeRef{ID: resp.GetNamenodeId(), Incarnation: resp.GetIncarnation()}
	active := resp.GetActive() && m.wit.follows(resp.GetEpoch(), from)
	if active && resp.GetRejoin() {
		m.rejoin(resp.GetTopology())
		return
	}
	// The topology first: a lease must not renew the serving of a slot
	// the reply's topology takes away.
	if err := m.applyProto(resp.GetTopology()); err != nil {
		m.log.Warn("bad topology in heartbeat reply", "err", err)
	}
	if active && resp.GetLeaseMs() > 0 && m.wit.fromActive(resp.GetEpoch(), from, sentAt) {
		m.nns.SetActive(nn)
		m.extendLease(resp.GetEpoch(), sentAt, resp.GetLeaseMs())
	}
}

// hbStream is one HeartbeatStream to a NameNode. ctx is the stream's: it
// is cancelled when the stream ends, by error or by cancel, and so is the
// stream's receiver goroutine.
type hbStream struct {
	nn     int // index of the NameNode
	ctx    context.Context
	cancel context.CancelFunc
	stream chkvpb.NameNode_HeartbeatStreamClient

	mu   sync.Mutex
	sent []time.Duration // send times of unanswered requests, oldest first
}

// push records the send time of a request about to be sent.
func (hs *hbStream) push(at time.Duration) {
	hs.mu.Lock()
	hs.sent = append(hs.sent, at)
	hs.mu.Unlock()
}

// pop removes and returns the send time of the oldest unanswered request.
func (hs *hbStream) pop() (time.Duration, bool) {
	hs.mu.Lock()
	defer hs.mu.Unlock()
	if len(hs.sent) == 0 {
		return 0, false
	}
	at := hs.sent[0]
	hs.sent = hs.sent[1:]
	return at, true
}

// healthy reports whether the stream is still open and has answered every
// request sent before now-timeout.
func (hs *hbStream) healthy(now, timeout time.Duration) bool {
	if hs.ctx.Err() != nil {
		return false
	}
	hs.mu.Lock()
	defer hs.mu.Unlock()
	return len(hs.sent) == 0 || now-hs.sent[0] < timeout
}

// rejoin drops everything the node holds and registers again: the
// NameNode has declared it down or forgotten it. Until it has registered
// it serves no slot but keeps routing by the newest topology it has, p if
// newer: a key of a slot another node owns gets MOVED to that owner, and
// only the slots the topology still gives this node get CLUSTERDOWN.
//
// A drained node that was forgotten (chkvctl remove, or stopped and
// detected down) retires instead: it stops registering and heartbeating,
// and a restart makes it join as a fresh node.
func (m *Member) rejoin(p *chkvpb.Topology) {
	if m.drain.isFinished() {
		if !m.retired.Swap(true) {
			m.registered.Store(false)
			m.log.Warn("removed from the cluster after its drain; this node serves nothing and can be stopped; " +
				"restart it to join again")
		}
		return
	}
	if !m.registered.Swap(false) {
		return
	}
	m.log.Warn("namenode asked this node to rejoin; dropping its data")
	m.applyMu.Lock()
	defer m.applyMu.Unlock()
	cur := m.own.View()
	top := cur.Top
	if p != nil {
		t, err := topology.FromProto(p)
		switch {
		case err != nil:
			m.log.Warn("bad topology in a rejoin reply", "err", err)
		case t.NewerThan(top) && t.Epoch >= m.wit.epoch():
			top = t
			m.wit.applied(t)
		}
	}
	next := &ownership.View{Top: top, Self: -1}
	m.own.SetView(cur, next)
	m.host.ViewChanged(next)
	m.host.FlushData()
}

// reindex, once the node has registered again after a rejoin, serves by
// the held topology as a member: when the registration reply was no newer
// than the topology the node kept routing by, that topology still lists it
// with no index.
func (m *Member) reindex() {
	m.applyMu.Lock()
	defer m.applyMu.Unlock()
	cur := m.own.View()
	if cur.Self >= 0 {
		return
	}
	if i := cur.Top.Index(m.cfg.ID); i >= 0 {
		next := &ownership.View{Top: cur.Top, Self: i}
		m.own.SetView(cur, next)
		m.host.ViewChanged(next)
		m.drain.observe(m, next)
	}
}

// applyProto applies a wire topology; nil is ignored.
func (m *Member) applyProto(p *chkvpb.Topology) error {
	if p == nil {
		return nil
	}
	t, err := topology.FromProto(p)
	if err != nil {
		return err
	}
	m.apply(t)
	return nil
}

// apply installs t if it is newer than the current topology and not of an
// epoch lower than the promised one, frees the
// slots the node no longer serves, and plans the migrations it shows.
func (m *Member) apply(t *topology.Topology) {
	m.applyMu.Lock()
	defer m.applyMu.Unlock()
	cur := m.own.View()
	if !t.NewerThan(cur.Top) {
		return
	}
	if p := m.wit.epoch(); t.Epoch < p {
		m.log.Debug("ignored topology of a fenced epoch", "epoch", t.Epoch, "version", t.Version, "promised", p)
		return
	}
	next := &ownership.View{Top: t, Self: t.Index(m.cfg.ID)}
	m.wit.applied(t)
	lost := m.own.SetView(cur, next)
	m.reporter.prune(t)
	m.host.ViewChanged(next)
	m.drain.observe(m, next)
	m.log.Debug("topology applied", "epoch", t.Epoch, "version", t.Version, "slots_lost", len(lost))
}

// errStopped is returned when the node stops while a stream opens.
var errStopped = errors.New("datanode: server stopped")

// HandedOff queues the report of slot s handed off by this node to node
// to, acknowledged by the target: the NameNodes are told at once.
func (m *Member) HandedOff(s int, to string) { m.reporter.add(s, m.cfg.ID, to, 0) }

// Accepted queues the report of slot s accepted by this node from node
// from: the NameNodes are told if the commit has not come a heartbeat
// interval later (the source died).
func (m *Member) Accepted(s int, from string) {
	m.reporter.add(s, from, m.cfg.ID, time.Duration(m.interval.Load()))
}

// Registered reports whether the node is registered with the NameNodes.
func (m *Member) Registered() bool { return m.registered.Load() }

// LeaseValid reports whether a NameNode's lease currently covers the node.
func (m *Member) LeaseValid() bool { return m.leaseValid() }

// LeaseRemaining is how long the current lease still runs; negative when
// it has run out.
func (m *Member) LeaseRemaining() time.Duration {
	return time.Duration(m.leaseUntil.Load() - int64(m.now()))
}

// Run registers, then heartbeats every interval until ctx ends.
func (m *Member) Run(ctx context.Context) { m.run(ctx) }

// RunReporter reports handoffs to the NameNodes until ctx ends.
func (m *Member) RunReporter(ctx context.Context) { m.reporter.run(ctx) }

// Drained is closed once the topology shows the node drained.
func (m *Member) Drained() <-chan struct{} { return m.drain.done }
