package namenode

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/keepalive"

	"github.com/chkv/chkv/common/clustertoken"
	"github.com/chkv/chkv/common/election"
	"github.com/chkv/chkv/common/group"
	"github.com/chkv/chkv/common/topology"
	"github.com/chkv/chkv/proto/chkvpb"
)

// flowWindow is the fixed gRPC flow-control window of each stream and
// connection: room for a large topology in one Register.
const flowWindow = 1 << 20

// Server is one NameNode.
type Server struct {
	cfg Config
	id  string
	// incarnation tells this process apart from every other one under the
	// same ID: witnesses promise an epoch to one incarnation only, so a
	// restarted NameNode always takes a fresh epoch (DESIGN.md §6).
	incarnation uint64
	log         *slog.Logger
	now         func() time.Time
	codec       codec
	group       *group.Group // owns every goroutine; created by New
	hub         *hub

	// mu guards the membership the next commit is computed from and every
	// node's liveness record.
	mu      sync.Mutex
	nodes   []topology.Node
	members map[string]*member
	dirty   bool // nodes differ from the current version's
	// handoffs reported since the last commit; the next commit applies them.
	handoffs []topology.Handoff
	// epoch is the active's term, or on a standby the highest epoch it
	// knows a DataNode promised or an active led.
	epoch    uint64
	role     role
	activeID string // the active as this NameNode knows it
	voted    uint64 // the highest epoch granted to the peer as a witness
	// candidate is the epoch of this NameNode's current candidacy.
	candidate uint64
	// ballotTop is the newest topology the votes of its elections carried
	// (nil before any): the next round asks its witnesses too.
	ballotTop *topology.Topology
	// reelect is set on an active whose own epoch a witness promised to
	// a rival incarnation: it campaigns for a higher epoch to win that
	// witness back, staying active meanwhile (DESIGN.md §6).
	reelect bool
	// reelecting is the epoch of the active's latest re-election
	// campaign: a witness that promised it did so to this NameNode.
	reelecting uint64
	// electNow wakes the election loop for a re-election.
	electNow chan struct{}
	heard    map[string]string // DataNodes' gRPC addresses by ID, from their heartbeats
	peer     peerInfo
	// leaderSeen is when an active peer that hears from a majority was
	// last heard from (or a vote granted, or this NameNode stepped down).
	leaderSeen time.Time
	startedAt  time.Time
	// recovering holds, during a recover, the silent witnesses it gives up
	// on: elections, staging and the quorum check leave them out.
	recovering map[string]bool
	recoverMu  sync.Mutex // one recover at a time
	// peerChecked is set once the NameNode has tried to follow its peer:
	// either it followed an active, or the peer is down or a standby. A
	// NameNode without a peer has nothing to check.
	peerChecked bool

	// commitMu orders commits, adoptions and publications; it guards seq
	// and peers.
	commitMu sync.Mutex
	seq      uint64
	// numbering keeps a commit retried after a failed staging from
	// reusing the staged version's number.
	numbering election.Numbering
	peers     map[string]*peer
	cur       atomic.Pointer[version] // the current version; read without locks

	dnConns  connPool // to DataNodes, for pushes, staging and elections
	probeSem chan struct{}
	probes   sync.WaitGroup

	lifeMu  sync.Mutex // guards the fields below
	started bool
	stopped bool
	grpcSrv *grpc.Server
	httpSrv *http.Server
	ln      net.Listener
	httpLn  net.Listener

	metrics *metrics // Prometheus counters and registry; created by New
}

// New returns a NameNode configured by cfg, holding the empty topology of
// cfg.Epoch until DataNodes register; Start makes it serve.
func New(cfg Config) (*Server, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	s := &Server{
		cfg:         cfg,
		id:          cfg.ID,
		incarnation: newIncarnation(),
		log:         cfg.Logger,
		now:         cfg.now,
		group:       group.New(context.Background()),
		hub:         newHub(),
		members:     make(map[string]*member),
		heard:       make(map[string]string),
		epoch:       cfg.Epoch - 1, // the first election takes cfg.Epoch
		peers:       make(map[string]*peer),
		probeSem:    make(chan struct{}, maxConcurrentProbes),
		electNow:    make(chan struct{}, 1),
	}
	s.codec = newCodec(s.cur.Load)
	s.metrics = newMetrics(s)
	if s.now == nil {
		s.now = time.Now
	}
	if s.log == nil {
		s.log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if s.id == "" {
		s.id = "namenode@" + cfg.Listen
		if cfg.Listener != nil {
			s.id = "namenode@" + cfg.Listener.Addr().String()
		}
	}
	s.log = s.log.With("node", s.id)
	s.commitMu.Lock()
	s.publishLocked(topology.Empty(cfg.Epoch, cfg.VNodes))
	s.commitMu.Unlock()
	return s, nil
}

// newIncarnation returns a random non-zero incarnation number.
func newIncarnation() uint64 {
	for {
		if n := rand.Uint64(); n != 0 {
			return n
		}
	}
}

// ID returns the NameNode's ID.
func (s *Server) ID() string { return s.id }

// Start listens (unless the Config supplied listeners) and starts serving
// in the background. It returns once the NameNode accepts connections.
func (s *Server) Start() error {
	s.lifeMu.Lock()
	defer s.lifeMu.Unlock()
	switch {
	case s.stopped:
		return ErrStopped
	case s.started:
		return ErrStarted
	}
	ln := s.cfg.Listener
	if ln == nil {
		var err error
		if ln, err = net.Listen("tcp", s.cfg.Listen); err != nil {
			return fmt.Errorf("namenode: listen: %w", err)
		}
	}
	httpLn := s.cfg.HTTPListener
	if httpLn == nil && s.cfg.HTTP != "" {
		var err error
		if httpLn, err = net.Listen("tcp", s.cfg.HTTP); err != nil {
			ln.Close()
			return fmt.Errorf("namenode: listen http: %w", err)
		}
	}
	s.started, s.ln, s.httpLn = true, ln, httpLn

	opts := append(append(clustertoken.ServerOptions(s.cfg.ClusterToken), s.metrics.serverOptions()...),
		grpc.ForceServerCodecV2(s.codec),
		// Fixed flow-control windows: with gRPC's dynamic ones every
		// heartbeat that arrives on an idle connection costs a window update
		// and a BDP ping, a write and a read more than the reply itself.
		grpc.InitialWindowSize(flowWindow), grpc.InitialConnWindowSize(flowWindow),
		// Stop waits for the handlers of open streams (heartbeats, watches),
		// which return once Stop closes their connections.
		grpc.WaitForHandlers(true),
		// A commit writes one frame to every watcher: fill larger writes. The
		// buffer is shared, so idle connections do not each hold one.
		grpc.WriteBufferSize(256<<10), grpc.SharedWriteBuffer(true),
		// Reap watchers whose client vanished without closing the stream.
		grpc.KeepaliveParams(keepalive.ServerParameters{Time: time.Minute, Timeout: 20 * time.Second}),
		grpc.KeepaliveEnforcementPolicy(keepalive.EnforcementPolicy{MinTime: 10 * time.Second, PermitWithoutStream: true}),
	)
	s.grpcSrv = grpc.NewServer(opts...)
	chkvpb.RegisterNameNodeServer(s.grpcSrv, rpc{s: s})
	s.group.Go(func(context.Context) {
		if err := s.grpcSrv.Serve(ln); err != nil {
			s.log.Error("grpc server failed", "err", err)
		}
	})
	if httpLn != nil {
		s.httpSrv = s.newHTTPServer()
		s.group.Go(func(context.Context) {
			if err := s.httpSrv.Serve(httpLn); err != nil && !errors.Is(err, http.ErrServerClosed) {
				s.log.Error("http server failed", "err", err)
			}
		})
	}
	s.mu.Lock()
	s.startedAt = s.now()
	s.peerChecked = s.cfg.Peer == ""
	s.mu.Unlock()
	if !s.cfg.manualDetect {
		s.group.Go(s.detectLoop)
	}
	if !s.cfg.manualElection {
		s.group.Go(s.electionLoop)
	}
	if s.cfg.Peer != "" {
		s.group.Go(s.followLoop)
	}
	attrs := []any{"listen", ln.Addr().String(), "peer", s.cfg.Peer, "heartbeat_interval", s.cfg.HeartbeatInterval}
	if httpLn != nil {
		attrs = append(attrs, "http", httpLn.Addr().String())
	}
	s.log.Info("namenode serving", attrs...)
	return nil
}

// Run starts the NameNode and serves until ctx is cancelled, then stops it.
func (s *Server) Run(ctx context.Context) error {
	if err := s.Start(); err != nil {
		return err
	}
	<-ctx.Done()
	s.Stop()
	return nil
}

// Stop closes the listeners, every watcher stream and every connection to
// a DataNode, and waits for all of the NameNode's goroutines to return.
// It is safe to call more than once and before Start.
func (s *Server) Stop() {
	s.lifeMu.Lock()
	already := s.stopped
	s.stopped = true
	grpcSrv, httpSrv := s.grpcSrv, s.httpSrv
	s.lifeMu.Unlock()
	if !already {
		if grpcSrv != nil {
			grpcSrv.Stop()
		}
		if httpSrv != nil {
			httpSrv.Close()
		}
	}
	s.group.Stop() // also waits for a concurrent Stop's goroutines
	s.dnConns.close()
	if !already {
		s.log.Info("namenode stopped")
	}
}

// Addr returns the gRPC address, or nil before Start.
func (s *Server) Addr() net.Addr {
	s.lifeMu.Lock()
	defer s.lifeMu.Unlock()
	if s.ln == nil {
		return nil
	}
	return s.ln.Addr()
}

// HTTPAddr returns the HTTP address, or nil before Start or when HTTP is
// disabled.
func (s *Server) HTTPAddr() net.Addr {
	s.lifeMu.Lock()
	defer s.lifeMu.Unlock()
	if s.httpLn == nil {
		return nil
	}
	return s.httpLn.Addr()
}

// Topology returns the current committed topology. It is shared and must
// not be modified.
func (s *Server) Topology() *topology.Topology { return s.cur.Load().topo }

// rpc serves the NameNode gRPC service; errors leave through toStatus.
type rpc struct {
	chkvpb.UnimplementedNameNodeServer
	s *Server
}

// Register announces a DataNode.
func (r rpc) Register(_ context.Context, req *chkvpb.RegisterRequest) (*chkvpb.RegisterResponse, error) {
	v, err := r.s.register(req)
	if err != nil {
		return nil, toStatus(err)
	}
	return &chkvpb.RegisterResponse{
		HeartbeatIntervalMs: r.s.cfg.HeartbeatInterval.Milliseconds(),
		LeaseMs:             r.s.cfg.lease().Milliseconds(),
		Topology:            v.pb,
		Epoch:               v.topo.Epoch,
		NamenodeId:          r.s.id,
		Incarnation:         r.s.incarnation,
	}, nil
}

// Heartbeat renews a DataNode's lease.
func (r rpc) Heartbeat(_ context.Context, req *chkvpb.HeartbeatRequest) (*chkvpb.HeartbeatResponse, error) {
	resp, err := r.s.heartbeat(req)
	return resp, toStatus(err)
}

// HeartbeatStream renews a DataNode's lease once per request on a stream
// the DataNode keeps open, answering each request in order as Heartbeat
// would. An error Heartbeat would return ends the stream with its status.
// The stream ends when the DataNode closes it or the server stops.
func (r rpc) HeartbeatStream(stream chkvpb.NameNode_HeartbeatStreamServer) error {
	for {
		req, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err // already a status: the stream broke or was cancelled
		}
		resp, err := r.s.heartbeat(req)
		if err != nil {
			return toStatus(err)
		}
		if err := stream.Send(resp); err != nil {
			return err
		}
	}
}

// Watch streams topology versions.
func (r rpc) Watch(_ *chkvpb.WatchRequest, stream chkvpb.NameNode_WatchServer) error {
	return toStatus(r.s.hub.serve(stream.Context(), stream, r.s.cfg.HeartbeatInterval))
}

// ReportHandoff commits reported handoffs.
func (r rpc) ReportHandoff(_ context.Context, req *chkvpb.ReportHandoffRequest) (*chkvpb.ReportHandoffResponse, error) {
	v, err := r.s.reportHandoff(req)
	if err != nil {
		return nil, toStatus(err)
	}
	return &chkvpb.ReportHandoffResponse{Epoch: v.topo.Epoch, Version: v.topo.Version}, nil
}

// Follow streams the active's state to the standby.
func (r rpc) Follow(stream chkvpb.NameNode_FollowServer) error {
	return toStatus(r.s.serveFollow(stream))
}

// Elect answers the peer's request for a vote.
func (r rpc) Elect(_ context.Context, req *chkvpb.ElectRequest) (*chkvpb.ElectResponse, error) {
	return r.s.voteForPeer(req), nil
}

// Drain starts draining a DataNode.
func (r rpc) Drain(_ context.Context, req *chkvpb.DrainRequest) (*chkvpb.DrainResponse, error) {
	resp, err := r.s.drain(req.GetNode(), req.GetForce())
	return resp, toStatus(err)
}

// Remove forgets a drained or down DataNode.
func (r rpc) Remove(_ context.Context, req *chkvpb.RemoveRequest) (*chkvpb.RemoveResponse, error) {
	resp, err := r.s.remove(req.GetNode())
	return resp, toStatus(err)
}

// Undrain makes a draining or drained DataNode joining again.
func (r rpc) Undrain(_ context.Context, req *chkvpb.UndrainRequest) (*chkvpb.UndrainResponse, error) {
	resp, err := r.s.undrain(req.GetNode())
	return resp, toStatus(err)
}

// Recover gives up on the silent witnesses when a majority is gone.
func (r rpc) Recover(ctx context.Context, req *chkvpb.RecoverRequest) (*chkvpb.RecoverResponse, error) {
	resp, err := r.s.recover(ctx, req.GetAcceptDataLoss())
	return resp, toStatus(err)
}

// Status describes the cluster.
func (r rpc) Status(context.Context, *chkvpb.StatusRequest) (*chkvpb.StatusResponse, error) {
	return r.s.status(), nil
}
