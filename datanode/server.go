package datanode

import (
	"context"
	"crypto/sha1"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"google.golang.org/grpc"

	"github.com/chkv/chkv/common/clustertoken"
	"github.com/chkv/chkv/common/group"
	"github.com/chkv/chkv/common/netaddr"
	"github.com/chkv/chkv/common/topology"
	"github.com/chkv/chkv/datanode/drainport"
	"github.com/chkv/chkv/datanode/membership"
	"github.com/chkv/chkv/datanode/migration"
	"github.com/chkv/chkv/datanode/ownership"
	"github.com/chkv/chkv/datanode/store"
	"github.com/chkv/chkv/proto/chkvpb"
)

// cronInterval is how often the background cron runs (Redis's hz 10).
const cronInterval = 100 * time.Millisecond

// expireWorkPerCron bounds the keys one active-expiry cycle examines.
const expireWorkPerCron = 20000

// Server is one DataNode.
type Server struct {
	cfg      Config
	id       string
	settings atomic.Pointer[Settings]
	store    *store.Store
	commands map[string]*command
	cmdStats *cmdStats  // per-command counters, indexed by command.id
	errors   errorStats // error replies by code (INFO errorstats)
	monitors monitors   // the clients in MONITOR mode (monitor.go)
	slowlog  slowlog    // SLOWLOG's entries
	latency  latencyMonitor
	pause    clientPause // CLIENT PAUSE (pause.go)

	scripts    scriptCache    // EVAL's compiled scripts (scripting.go)
	scriptRuns scriptRuns     // the scripts running now (scriptrun.go)
	functions  functionEngine // FUNCTION LOAD's libraries (functions.go)
	pubsub     *pubsubHub
	blocking   blockHub
	log        *slog.Logger
	started    time.Time

	// The cluster-mode parts (wiring.go); all nil when standalone.
	member   *membership.Member
	own      *ownership.Table
	migrator *migration.Migrator
	target   *migration.Target
	fanout   *fanout // forwards PUBLISH to the other DataNodes
	grpcSrv  *grpc.Server
	drainSrv *drainport.Server // the drain port; nil when disabled
	httpSrv  *http.Server      // /metrics and /healthz; nil when off

	mu      sync.Mutex
	ln      net.Listener
	grpcLn  net.Listener
	httpLn  net.Listener
	group   *group.Group
	clients map[uint64]*client
	stopped bool

	// loops are the event loops serving clients under IOModelEpoll; nil
	// under IOModelGoroutine. Set by Start.
	loops    []*eventLoop
	nextLoop int // accept-loop owned: the loop the next client goes to
	// writeTimeout is how long a reply may wait for a client that does not
	// read (writeTimeout unless a test shortens it before Start).
	writeTimeout time.Duration

	// scrapeMu is held shared by metric scrapes, which run on net/http's
	// goroutines, and exclusively by Stop while it frees the store;
	// storeClosed tells scrapes that came later to report nothing.
	scrapeMu    sync.RWMutex
	storeClosed bool

	nextClientID atomic.Uint64
	numClients   atomic.Int64
	stats        serverStats
	memory       memoryAccount
	persist      persistState // RDB snapshots (persist.go)
}

// serverStats are the counters INFO stats reports.
type serverStats struct {
	connectionsReceived atomic.Int64
	commandsProcessed   atomic.Int64
	rejectedConnections atomic.Int64
	keyspaceHits        atomic.Int64
	keyspaceMisses      atomic.Int64
	netInputBytes       atomic.Int64
	netOutputBytes      atomic.Int64
	opsPerSec           atomic.Int64 // instantaneous, sampled by the cron
	expiredBase         atomic.Int64 // store's expired count at CONFIG RESETSTAT
	evictedBase         atomic.Int64 // store's evicted count at CONFIG RESETSTAT
	lastOpsSample       int64        // cron-owned
	lastOpsSampleAt     time.Time    // cron-owned
}

// New returns a DataNode configured by cfg; Start makes it serve.
func New(cfg Config) (*Server, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	s := &Server{
		cfg:     cfg,
		id:      cfg.ID,
		log:     cfg.Logger,
		clients: make(map[uint64]*client),
		store:   store.New(store.Config{Seed: cfg.Seed}),
		pubsub:  newPubSubHub(),

		writeTimeout: writeTimeout,
	}
	if s.log == nil {
		s.log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if s.id == "" {
		s.id = deriveID(cfg.Listen)
	}
	s.log = s.log.With("node", s.id)
	settings := cfg.Settings
	s.settings.Store(&settings)
	s.commands = buildCommandTable()
	s.cmdStats = newCmdStats(s.commands)
	return s, nil
}

// deriveID turns an address into a 40-hex-digit node ID, the shape of a
// Redis Cluster node ID, stable for a given address.
func deriveID(addr string) string {
	sum := sha1.Sum([]byte("chkv-datanode:" + addr))
	return hex.EncodeToString(sum[:])
}

// ID returns the node's ID.
func (s *Server) ID() string { return s.id }

// Start listens (unless the Config supplied a listener) and starts serving
// in the background. It returns once the node accepts connections.
func (s *Server) Start() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stopped {
		return ErrStopped
	}
	if s.group != nil {
		return fmt.Errorf("datanode: already started")
	}
	if err := s.loadRDB(); err != nil {
		return err
	}
	ln := s.cfg.Listener
	if ln == nil {
		var err error
		if ln, err = net.Listen("tcp", s.cfg.Listen); err != nil {
			return fmt.Errorf("datanode: listen: %w", err)
		}
	}
	s.ln = ln
	s.started = time.Now()
	s.persist.initSaved(s.started)
	s.stats.lastOpsSampleAt = s.started
	s.memory.sample()
	s.group = group.New(context.Background())
	fail := func(err error) error {
		ln.Close()
		if s.httpSrv != nil {
			s.httpSrv.Close()
		}
		s.group.Stop()
		return err
	}
	if err := s.startHTTP(); err != nil {
		return fail(err)
	}
	if s.cfg.ioModel() == IOModelEpoll {
		if err := s.startLoops(); err != nil {
			return fail(err)
		}
	}
	if len(s.cfg.NameNodes) > 0 {
		if err := s.startCluster(); err != nil {
			return fail(err)
		}
	}
	s.group.Go(s.acceptLoop)
	s.group.Go(s.cronLoop)
	s.log.Info("datanode serving", "listen", ln.Addr().String(), "mode", s.mode())
	return nil
}

// startCluster starts the gRPC control service and the membership loop.
// The caller holds s.mu.
func (s *Server) startCluster() error {
	grpcLn := s.cfg.GRPCListener
	if grpcLn == nil {
		var err error
		if grpcLn, err = net.Listen("tcp", s.cfg.GRPCListen); err != nil {
			return fmt.Errorf("datanode: grpc listen: %w", err)
		}
	}
	if err := s.newClusterParts(); err != nil {
		grpcLn.Close()
		return err
	}
	s.grpcLn = grpcLn
	m := s.member
	// WaitForHandlers makes Stop wait for running calls, which touch the
	// store that Stop frees afterwards.
	opts := append(clustertoken.ServerOptions(s.cfg.ClusterToken), grpc.WaitForHandlers(true))
	s.grpcSrv = grpc.NewServer(opts...)
	chkvpb.RegisterDataNodeServer(s.grpcSrv, &controlService{srv: s})
	s.group.Go(func(context.Context) {
		if err := s.grpcSrv.Serve(grpcLn); err != nil {
			s.log.Error("grpc server stopped", "err", err)
		}
	})
	s.group.Go(m.Run)
	s.group.Go(m.RunReporter)
	s.migrator.Start(s.group)
	return s.startDrainPort()
}

// startDrainPort serves the drain port, if configured. With a cluster
// token, k must give it, except from loopback; a listener that is not on
// loopback requires one.
func (s *Server) startDrainPort() error {
	ln := s.cfg.DrainListener
	if ln == nil && s.cfg.DrainListen == "" {
		return nil
	}
	if ln == nil {
		var err error
		if ln, err = net.Listen("tcp", s.cfg.DrainListen); err != nil {
			return fmt.Errorf("datanode: drain port: %w", err)
		}
	}
	if !netaddr.IsLoopback(ln.Addr()) && s.cfg.ClusterToken == "" {
		ln.Close()
		return fmt.Errorf("datanode: drain port %s is not on loopback: it requires --cluster-token", ln.Addr())
	}
	srv, err := drainport.New(drainport.Config{Drainer: s.member, Token: s.cfg.ClusterToken, PID: os.Getpid(), NodeID: s.id, Logger: s.log})
	if err != nil {
		ln.Close()
		return err
	}
	s.drainSrv = srv
	s.group.Go(func(context.Context) {
		if err := srv.Serve(ln); err != nil {
			s.log.Error("drain port stopped", "err", err)
		}
	})
	return nil
}

// Drained is closed once this node has been drained: it owns no slots and
// can be stopped. It is nil for a standalone node.
func (s *Server) Drained() <-chan struct{} {
	if s.member == nil {
		return nil
	}
	return s.member.Drained()
}

// CutoverPauses returns the write pauses of the most recent slot
// handoffs this node made, oldest first.
func (s *Server) CutoverPauses() []time.Duration {
	if s.member == nil {
		return nil
	}
	return s.migrator.CutoverPauses()
}

// MigrationLoad returns this node's outgoing migration figures.
func (s *Server) MigrationLoad() topology.MigrationLoad {
	if s.member == nil {
		return topology.MigrationLoad{}
	}
	return s.migrator.Load()
}

// MigrationFailures returns how many attempts to move a slot away failed
// and were retried since the node started.
func (s *Server) MigrationFailures() int64 {
	if s.member == nil {
		return 0
	}
	return s.migrator.FailedMoves()
}

// Topology returns the cluster topology the node currently holds, or nil
// for a standalone node.
func (s *Server) Topology() *topology.Topology {
	if s.member == nil {
		return nil
	}
	return s.own.View().Top
}

// advertiseAddr is the RESP address given to clients and other nodes.
func (s *Server) advertiseAddr() string {
	if s.cfg.Advertise != "" {
		return s.cfg.Advertise
	}
	return s.Addr().String()
}

// grpcAdvertiseAddr is the gRPC address given to the NameNodes.
func (s *Server) grpcAdvertiseAddr() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.grpcLn == nil {
		return ""
	}
	return s.grpcLn.Addr().String()
}

// Addr returns the address the node accepts RESP connections on, or nil
// before Start.
func (s *Server) Addr() net.Addr {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ln == nil {
		return nil
	}
	return s.ln.Addr()
}

// Run starts the node and serves until ctx is cancelled, or with
// ExitAfterDrain until the node has been drained, then stops it.
func (s *Server) Run(ctx context.Context) error {
	if err := s.Start(); err != nil {
		return err
	}
	var drained <-chan struct{}
	if s.cfg.ExitAfterDrain {
		drained = s.Drained()
	}
	select {
	case <-ctx.Done():
	case <-drained:
		s.log.Info("drained; exiting as --exit-after-drain asks")
	}
	s.Stop()
	return nil
}

// Stop closes the listener and every client connection and waits for all of
// the node's goroutines to return. It is safe to call more than once.
func (s *Server) Stop() {
	s.mu.Lock()
	if s.stopped {
		s.mu.Unlock()
		if s.group != nil {
			s.group.Stop() // waits for a concurrent Stop to finish
		}
		return
	}
	s.stopped = true
	s.stopPause()
	g, ln := s.group, s.ln
	for _, c := range s.clients {
		c.conn.Close()
	}
	for _, l := range s.loops {
		l.stop()
	}
	s.mu.Unlock()
	if ln != nil {
		ln.Close()
	}
	if s.drainSrv != nil {
		s.drainSrv.Close()
	}
	if s.httpSrv != nil {
		s.httpSrv.Close()
	}
	if s.grpcSrv != nil {
		s.grpcSrv.Stop()
	}
	if g != nil {
		g.Stop()
	}
	if s.member != nil {
		s.migrator.Close()
		s.member.Close()
	}
	if g != nil {
		s.saveOnStop()
	}
	s.scrapeMu.Lock()
	s.storeClosed = true
	s.store.Close()
	s.scrapeMu.Unlock()
	s.log.Info("datanode stopped")
}

func (s *Server) acceptLoop(ctx context.Context) {
	var backoff time.Duration
	for {
		nc, err := s.ln.Accept()
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, net.ErrClosed) {
				return
			}
			if ne, ok := err.(net.Error); ok && ne.Timeout() {
				continue
			}
			// Temporary failures such as EMFILE: back off as net/http does.
			backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
			s.log.Warn("accept failed", "err", err, "retry_in", backoff)
			select {
			case <-time.After(backoff):
				continue
			case <-ctx.Done():
				return
			}
		}
		backoff = 0
		s.stats.connectionsReceived.Add(1)
		if reason := s.refuse(nc); reason != "" {
			s.stats.rejectedConnections.Add(1)
			nc.SetWriteDeadline(time.Now().Add(time.Second))
			io.WriteString(nc, "-"+reason+"\r\n")
			nc.Close()
			continue
		}
		if s.loops != nil && loopable(nc) {
			if !s.handOff(nc) {
				return
			}
			continue
		}
		c := s.register(nc)
		if c == nil {
			nc.Close()
			return
		}
		if !s.group.Go(func(context.Context) { s.serveClient(c) }) {
			s.unregister(c)
			nc.Close()
			return
		}
	}
}

// refuse returns the error a new connection gets instead of service, or ""
// when it is welcome.
func (s *Server) refuse(nc net.Conn) string {
	st := s.settings.Load()
	if s.numClients.Load() >= int64(st.MaxClients) {
		return errMaxClients
	}
	if st.ProtectedMode && st.RequirePass == "" && !netaddr.IsLoopback(nc.RemoteAddr()) {
		return errProtectedDenied
	}
	return ""
}

func (s *Server) register(nc net.Conn) *client {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stopped {
		return nil
	}
	c := newClient(s, nc, s.nextClientID.Add(1))
	s.clients[c.id] = c
	s.numClients.Add(1)
	return c
}

func (s *Server) unregister(c *client) {
	s.mu.Lock()
	if _, ok := s.clients[c.id]; ok {
		delete(s.clients, c.id)
		s.numClients.Add(-1)
	}
	s.mu.Unlock()
	s.pubsub.dropClient(c)
	s.blocking.dropClient(c)
	if w := c.waiter.Load(); w != nil && w.paused {
		s.dropPaused(c)
	}
	if c.monitoring.Load() {
		s.monitors.drop(c)
	}
}

// forEachClient calls fn for every connected client, in no order.
func (s *Server) forEachClient(fn func(*client)) {
	s.mu.Lock()
	list := make([]*client, 0, len(s.clients))
	for _, c := range s.clients {
		list = append(list, c)
	}
	s.mu.Unlock()
	for _, c := range list {
		fn(c)
	}
}

func (s *Server) cronLoop(ctx context.Context) {
	t := time.NewTicker(cronInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			s.cronOnce(now)
		}
	}
}

// cronOnce runs one round of background work: active expiry, idle-client
// timeouts, memory sampling and the ops/sec figure.
func (s *Server) cronOnce(now time.Time) {
	s.store.ExpireCycle(now.UnixMilli(), expireWorkPerCron)
	s.persistCron(now)
	s.memory.sample()
	s.redirectBlocked()
	st := s.settings.Load()
	if st.Timeout > 0 {
		idleLimit := time.Duration(st.Timeout) * time.Second
		s.forEachClient(func(c *client) {
			if now.Sub(time.UnixMilli(c.lastActive.Load())) > idleLimit && !c.inPubSub() && !c.blockedNow() {
				c.conn.Close()
			}
		})
	}
	processed := s.stats.commandsProcessed.Load()
	if elapsed := now.Sub(s.stats.lastOpsSampleAt); elapsed > 0 {
		s.stats.opsPerSec.Store(int64(float64(processed-s.stats.lastOpsSample) / elapsed.Seconds()))
	}
	s.stats.lastOpsSample, s.stats.lastOpsSampleAt = processed, now
}

// Keys returns the number of keys the node holds, expired ones not yet
// removed included.
func (s *Server) Keys() int { return s.store.Len() }
