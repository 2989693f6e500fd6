package datanode

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/connectivity"
	"google.golang.org/grpc/status"

	"github.com/chkv/chkv/common/grpcdial"
	"github.com/chkv/chkv/common/nnset"
	"github.com/chkv/chkv/common/slot"
	"github.com/chkv/chkv/common/topology"
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

// view is the node's current topology and its own index in it (-1 when the
// topology does not list it). It is replaced whole, never modified.
type view struct {
	top  *topology.Topology
	self int
}

// owns reports whether the view gives slot s to this node.
func (v *view) owns(s int) bool { return v.self >= 0 && v.top.Owners[s] == v.self }

// member is a DataNode's side of cluster membership: it registers with the
// NameNodes, heartbeats them, holds the lease their replies grant, and
// applies the topology versions they send.
type member struct {
	srv *Server
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

	view       atomic.Pointer[view]
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

	// gates[s] is held shared by every command on slot s and exclusively
	// while the ownership of s changes, so no write lands in a slot the
	// node has just given away.
	gates [slot.Count]sync.RWMutex
	ovr   overrides

	reporter *reporter
	migrator *migrator
	drain    drainState

	// Incoming migration totals since start, for metrics: slots handed
	// off to this node, and the records and record bytes received.
	slotsIn, recordsIn, bytesIn atomic.Int64
}

func newMember(s *Server) (*member, error) {
	m := &member{srv: s, base: time.Now(), kick: make(chan struct{}, 1)}
	m.drain.done = make(chan struct{})
	m.rejoinAsked.Store(s.cfg.Rejoin)
	m.interval.Store(int64(defaultHeartbeatInterval))
	empty := topology.Empty(0, 0)
	m.view.Store(&view{top: empty, self: -1})
	// Fixed flow-control windows: with gRPC's dynamic ones each heartbeat
	// reply on an otherwise idle connection costs both sides a BDP ping
	// round trip. Reconnect to a restarted NameNode within a quarter
	// second; gRPC's default backoff grows to two minutes, longer than a
	// failover, and a restarted pair must hear from the DataNodes at once
	// to elect before their leases lapse (common/timing).
	nns, err := nnset.New(nnset.Config{
		Addrs: s.cfg.NameNodes,
		Dial: grpcdial.Config{Token: s.cfg.ClusterToken,
			BackoffBase: 50 * time.Millisecond, BackoffMax: 250 * time.Millisecond, MinConnectTimeout: time.Second},
		DialOptions: append([]grpc.DialOption{grpc.WithInitialWindowSize(flowWindow), grpc.WithInitialConnWindowSize(flowWindow)},
			s.cfg.GRPCDialOptions...),
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
	m.migrator = newMigrator(m)
	return m, nil
}

// dialOptions are the options of a gRPC connection to another CHKV
// component (grpcdial): the cluster token, the backoff of c, fixed
// flow-control windows of the given sizes, then extra.
func (s *Server) dialOptions(window, connWindow int32, c grpcdial.Config, extra []grpc.DialOption) []grpc.DialOption {
	c.Token = s.cfg.ClusterToken
	return grpcdial.Options(c, append([]grpc.DialOption{
		grpc.WithInitialWindowSize(window), grpc.WithInitialConnWindowSize(connWindow)}, extra...)...)
}

func (m *member) close() {
	m.migrator.close()
	m.nns.Close()
}

// now is the monotonic lease clock.
func (m *member) now() time.Duration { return time.Since(m.base) }

// leaseValid reports whether a NameNode's lease currently covers the node.
func (m *member) leaseValid() bool { return int64(m.now()) < m.leaseUntil.Load() }

// kickHeartbeat makes run send the next heartbeat at once. It does not
// block.
func (m *member) kickHeartbeat() {
	select {
	case m.kick <- struct{}{}:
	default:
	}
}

// heardFromEpoch asks for a heartbeat at once when a NameNode of an epoch
// newer than that of the node's lease has staged or pushed a version: it
// has just taken over, and its reply to the heartbeat renews the lease
// before the old active's runs out (common/timing).
func (m *member) heardFromEpoch(epoch uint64) {
	if epoch > m.leaseEpoch.Load() {
		m.kickHeartbeat()
	}
}

// extendLease moves the lease end to sentAt+lease if that is later, and
// records the epoch of the NameNode that granted it.
func (m *member) extendLease(epoch uint64, sentAt time.Duration, leaseMs int64) {
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
func (m *member) run(ctx context.Context) {
	backoff := 50 * time.Millisecond
	for ctx.Err() == nil {
		var wait time.Duration
		if m.retired.Load() {
			<-ctx.Done()
			return
		}
		if !m.registered.Load() {
			if err := m.registerOnce(ctx); err != nil {
				m.srv.log.Debug("register failed", "err", err)
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
func (m *member) self() *chkvpb.Node {
	return &chkvpb.Node{
		Id:       m.srv.id,
		RespAddr: m.srv.advertiseAddr(),
		GrpcAddr: m.srv.grpcAdvertiseAddr(),
		HttpAddr: m.srv.httpAdvertiseAddr(),
		Weight:   m.srv.cfg.Weight,
	}
}

// registerOnce announces the node to the first NameNode that answers.
func (m *member) registerOnce(ctx context.Context) error {
	req := &chkvpb.RegisterRequest{Node: m.self(), Rejoin: m.rejoinAsked.Load()}
	if v := m.view.Load(); v.top.Version > 0 {
		req.Topology = v.top.Proto()
	}
	var resp *chkvpb.RegisterResponse
	var sentAt time.Duration
	err := m.nns.TryEach(ctx, time.Duration(m.interval.Load()), func(ctx context.Context, i int, nn chkvpb.NameNodeClient) error {
		sent := m.now()
		r, err := nn.Register(ctx, req)
		if err != nil {
			return err
		}
		if !m.wit.fromActive(r.GetEpoch(), nameNodeRef{r.GetNamenodeId(), r.GetIncarnation()}, sent) {
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
		m.srv.log.Info("asked to join again after a drain (--rejoin)")
	}
	m.srv.log.Info("registered with namenode", "version", m.view.Load().top.Version)
	return nil
}

// heartbeatOnce sends one heartbeat to every NameNode in parallel, each
// on the NameNode's stream, opening or reopening the stream as needed. It
// does not wait for the replies: each stream's receiver applies them.
func (m *member) heartbeatOnce(ctx context.Context) {
	v := m.view.Load()
	st := m.srv.store
	req := &chkvpb.HeartbeatRequest{
		NodeId:        m.srv.id,
		Epoch:         v.top.Epoch,
		Version:       v.top.Version,
		GrpcAddr:      m.srv.grpcAdvertiseAddr(),
		PromisedEpoch: m.wit.epoch(),
		Load: topology.Load{
			Keys:            int64(st.Len()),
			UsedMemoryBytes: m.srv.usedMemory(),
			OpsPerSec:       m.srv.stats.opsPerSec.Load(),
			Migration:       m.migrator.load(),
		}.Proto(),
	}
	var wg sync.WaitGroup
	for i := range m.clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := m.beat(ctx, i, req); err != nil {
				m.srv.log.Debug("heartbeat failed", "err", err)
			}
		}()
	}
	wg.Wait()
}

// beat sends req on NameNode i's stream. A stream that has ended, or has
// left a request unanswered for a heartbeat interval, is torn down and a
// new one opened. Only heartbeatOnce, one call at a time, uses
// m.streams[i].
func (m *member) beat(ctx context.Context, i int, req *chkvpb.HeartbeatRequest) error {
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
func (m *member) watchReconnect(i int) {
	if !m.reconnecting[i].CompareAndSwap(false, true) {
		return
	}
	if !m.srv.group.Go(func(ctx context.Context) {
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
func (m *member) openStream(ctx context.Context, i int, timeout time.Duration) (*hbStream, error) {
	sctx, cancel := context.WithCancel(ctx)
	defer time.AfterFunc(timeout, cancel).Stop()
	stream, err := m.clients[i].HeartbeatStream(sctx)
	if err != nil {
		cancel()
		return nil, err
	}
	hs := &hbStream{nn: i, ctx: sctx, cancel: cancel, stream: stream}
	if !m.srv.group.Go(func(context.Context) { m.receive(hs) }) {
		cancel()
		return nil, ErrStopped
	}
	return hs, nil
}

// receive applies the replies on hs, each with the send time of its
// request, until the stream ends.
func (m *member) receive(hs *hbStream) {
	defer hs.cancel()
	for {
		resp, err := hs.stream.Recv()
		switch {
		case status.Code(err) == codes.FailedPrecondition:
			// The NameNode lost its state (a restart) and holds an older
			// topology than ours: register again, keeping the data, so it
			// adopts our topology.
			m.srv.log.Info("namenode is behind this node's topology; registering again")
			m.registered.Store(false)
			return
		case err != nil:
			m.srv.log.Debug("heartbeat stream ended", "err", err)
			return
		}
		sentAt, ok := hs.pop()
		if !ok {
			m.srv.log.Warn("namenode sent a heartbeat reply nobody asked for")
			return
		}
		m.onHeartbeat(hs.nn, sentAt, resp)
	}
}

// onHeartbeat applies NameNode nn's reply to a request sent at sentAt. The
// topology of any reply is committed and applied if newer; the lease and
// a rejoin count only from the active NameNode of the epoch the node
// follows, and the lease only while that NameNode hears from a majority.
func (m *member) onHeartbeat(nn int, sentAt time.Duration, resp *chkvpb.HeartbeatResponse) {
	from := nameNodeRef{resp.GetNamenodeId(), resp.GetIncarnation()}
	active := resp.GetActive() && m.wit.follows(resp.GetEpoch(), from)
	if active && resp.GetRejoin() {
		m.rejoin(resp.GetTopology())
		return
	}
	// The topology first: a lease must not renew the serving of a slot
	// the reply's topology takes away.
	if err := m.applyProto(resp.GetTopology()); err != nil {
		m.srv.log.Warn("bad topology in heartbeat reply", "err", err)
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
func (m *member) rejoin(p *chkvpb.Topology) {
	if m.drain.isFinished() {
		if !m.retired.Swap(true) {
			m.registered.Store(false)
			m.srv.log.Warn("removed from the cluster after its drain; this node serves nothing and can be stopped; " +
				"restart it to join again")
		}
		return
	}
	if !m.registered.Swap(false) {
		return
	}
	m.srv.log.Warn("namenode asked this node to rejoin; dropping its data")
	m.applyMu.Lock()
	defer m.applyMu.Unlock()
	cur := m.view.Load()
	top := cur.top
	if p != nil {
		t, err := topology.FromProto(p)
		switch {
		case err != nil:
			m.srv.log.Warn("bad topology in a rejoin reply", "err", err)
		case t.NewerThan(top) && t.Epoch >= m.wit.epoch():
			top = t
			m.wit.applied(t)
		}
	}
	next := &view{top: top, self: -1}
	m.setView(cur, next)
	m.migrator.plan(next)
	m.srv.store.Flush()
}

// reindex, once the node has registered again after a rejoin, serves by
// the held topology as a member: when the registration reply was no newer
// than the topology the node kept routing by, that topology still lists it
// with no index.
func (m *member) reindex() {
	m.applyMu.Lock()
	defer m.applyMu.Unlock()
	cur := m.view.Load()
	if cur.self >= 0 {
		return
	}
	if i := cur.top.Index(m.srv.id); i >= 0 {
		next := &view{top: cur.top, self: i}
		m.setView(cur, next)
		m.migrator.plan(next)
		m.drain.observe(m, next)
	}
}

// applyProto applies a wire topology; nil is ignored.
func (m *member) applyProto(p *chkvpb.Topology) error {
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
func (m *member) apply(t *topology.Topology) {
	m.applyMu.Lock()
	defer m.applyMu.Unlock()
	cur := m.view.Load()
	if !t.NewerThan(cur.top) {
		return
	}
	if p := m.wit.epoch(); t.Epoch < p {
		m.srv.log.Debug("ignored topology of a fenced epoch", "epoch", t.Epoch, "version", t.Version, "promised", p)
		return
	}
	next := &view{top: t, self: t.Index(m.srv.id)}
	m.wit.applied(t)
	lost := m.setView(cur, next)
	m.reporter.prune(t)
	m.migrator.plan(next)
	m.drain.observe(m, next)
	m.srv.log.Debug("topology applied", "epoch", t.Epoch, "version", t.Version, "slots_lost", len(lost))
}

// setView publishes next while holding the gates of every slot whose
// ownership or handoff state may change, reconciles the handoffs not yet
// committed with it, and drops and returns the slots the node stopped
// serving.
func (m *member) setView(cur, next *view) (lost []int) {
	var changed []int
	for s := range slot.Count {
		if cur.owns(s) != next.owns(s) || m.hasOverride(s) {
			changed = append(changed, s)
		}
	}
	for _, s := range changed {
		m.gates[s].Lock()
	}
	for _, s := range changed {
		before := m.serves(cur, s)
		drop := m.reconcile(next, s)
		if drop || (before && !m.serves(next, s)) {
			lost = append(lost, s)
			m.srv.store.DropSlot(s)
		}
	}
	m.view.Store(next)
	for _, s := range changed {
		m.gates[s].Unlock()
	}
	return lost
}

// Redirection replies, in Redis Cluster's exact form.
const (
	errCrossSlot     = "CROSSSLOT Keys in request don't hash to the same slot"
	errSlotNotServed = "CLUSTERDOWN Hash slot not served"
	errClusterDown   = "CLUSTERDOWN The cluster is down"
)

// admit decides whether this node serves the command's keys. On success it
// returns the slot's gate held shared, which the caller releases after the
// command ran; otherwise it returns the error reply (CROSSSLOT, MOVED or
// CLUSTERDOWN).
func (m *member) admit(cmd *command, args [][]byte) (*sync.RWMutex, string) {
	s := -1
	last := cmd.lastKey
	if last < 0 {
		last += len(args)
	}
	last = min(last, len(args)-1)
	for i := cmd.firstKey; i <= last; i += max(cmd.keyStep, 1) {
		ks := slot.Of(args[i])
		if s >= 0 && ks != s {
			return nil, errCrossSlot
		}
		s = ks
	}
	if s < 0 {
		return nil, "" // no key present: served locally
	}
	gate := &m.gates[s]
	gate.RLock()
	v := m.view.Load()
	owner := v.top.Owners[s]
	if m.ovr.in[s].Load() != nil {
		owner = v.self // received by handoff, not committed yet
	} else if h := m.ovr.out[s].Load(); h != nil {
		gate.RUnlock()
		return nil, h.reply
	}
	switch {
	case owner == topology.Unowned || (v.self < 0 && v.top.Nodes[owner].ID == m.srv.id):
		// Unowned, or owned by this node in a topology it no longer
		// serves by (it is rejoining): not served anywhere it knows of.
		gate.RUnlock()
		return nil, errSlotNotServed
	case owner != v.self:
		gate.RUnlock()
		return nil, fmt.Sprintf("MOVED %d %s", s, v.top.Nodes[owner].RESPAddr)
	case !m.leaseValid():
		gate.RUnlock()
		return nil, errClusterDown
	}
	return gate, ""
}
