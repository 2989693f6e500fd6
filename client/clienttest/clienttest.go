// Package clienttest is the in-process cluster the client's tests (and
// chkvctl's) run against: a fake NameNode whose topology, streams and
// liveness the test controls, standalone DataNodes, and a scripted RESP
// server for redirects.
//
// Everything listens on 127.0.0.1:0 and is stopped by t.Cleanup.
package clienttest

import (
	"context"
	"fmt"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tidwall/redcon"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/chkv/chkv/common/slot"
	"github.com/chkv/chkv/common/topology"
	"github.com/chkv/chkv/datanode"
	"github.com/chkv/chkv/proto/chkvpb"
)

// NameNode is a fake NameNode: it serves Watch and Status from what the
// test gives it.
type NameNode struct {
	chkvpb.UnimplementedNameNodeServer

	srv  *grpc.Server
	addr string

	mu       sync.Mutex
	cur      []byte // marshaled current topology; nil before Push
	status   *chkvpb.StatusResponse
	watchers map[*watcher]struct{}

	beat      time.Duration // 0: no beats
	stalled   atomic.Bool
	beatsSent atomic.Int64

	watchCalls atomic.Int64
	stopOnce   sync.Once
}

// watcher is one open Watch stream.
type watcher struct {
	events chan []byte
	cut    chan struct{} // closed by Break
}

// NewNameNode starts a fake NameNode with opts (e.g. the cluster token's
// clustertoken.ServerOptions) and stops it when the test ends.
func NewNameNode(t testing.TB, opts ...grpc.ServerOption) *NameNode {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	n := &NameNode{srv: grpc.NewServer(opts...), addr: ln.Addr().String(), watchers: make(map[*watcher]struct{})}
	chkvpb.RegisterNameNodeServer(n.srv, n)
	go n.srv.Serve(ln)
	t.Cleanup(n.Stop)
	return n
}

// Addr returns the NameNode's gRPC address.
func (n *NameNode) Addr() string { return n.addr }

// Push makes t the current topology and sends it to every watcher, even
// when it is older than the one before (tests of the client's filtering).
func (n *NameNode) Push(t *topology.Topology) {
	b, err := proto.Marshal(t.Proto())
	if err != nil {
		panic(err)
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	n.cur = b
	for w := range n.watchers {
		select {
		case w.events <- b:
		default: // a slow watcher skips versions, as the real NameNode's may
		}
	}
}

// Break ends every open Watch stream with UNAVAILABLE; the NameNode keeps
// serving new ones.
func (n *NameNode) Break() {
	n.mu.Lock()
	defer n.mu.Unlock()
	for w := range n.watchers {
		close(w.cut)
		delete(n.watchers, w)
	}
}

// Stop stops the NameNode for good: its streams end and its address
// refuses connections.
func (n *NameNode) Stop() {
	n.stopOnce.Do(func() {
		n.Break()
		n.srv.Stop()
	})
}

// SetBeat makes the Watch streams opened from now on send a beat every d,
// as the real NameNode does.
func (n *NameNode) SetBeat(d time.Duration) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.beat = d
}

// BeatsSent returns the number of beats sent so far, on all streams.
func (n *NameNode) BeatsSent() int64 { return n.beatsSent.Load() }

// Stall makes every Watch stream, open or new, go silent without ending,
// as a paused NameNode's does: no more versions and no beats.
func (n *NameNode) Stall() { n.stalled.Store(true) }

// Watchers returns the number of open Watch streams.
func (n *NameNode) Watchers() int {
	n.mu.Lock()
	defer n.mu.Unlock()
	return len(n.watchers)
}

// WatchCalls returns the number of Watch calls received so far.
func (n *NameNode) WatchCalls() int64 { return n.watchCalls.Load() }

// SetStatus sets what Status answers.
func (n *NameNode) SetStatus(s *chkvpb.StatusResponse) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.status = s
}

// Watch implements chkvpb.NameNodeServer: the current topology at once,
// then every pushed one.
func (n *NameNode) Watch(_ *chkvpb.WatchRequest, stream grpc.ServerStreamingServer[chkvpb.WatchEvent]) error {
	n.watchCalls.Add(1)
	w := &watcher{events: make(chan []byte, 64), cut: make(chan struct{})}
	n.mu.Lock()
	if n.cur != nil {
		w.events <- n.cur
	}
	n.watchers[w] = struct{}{}
	beat := n.beat
	n.mu.Unlock()
	defer func() {
		n.mu.Lock()
		delete(n.watchers, w)
		n.mu.Unlock()
	}()
	var beats <-chan time.Time
	if beat > 0 {
		tick := time.NewTicker(beat)
		defer tick.Stop()
		beats = tick.C
	}
	for {
		var ev *chkvpb.WatchEvent
		select {
		case <-stream.Context().Done():
			return stream.Context().Err()
		case <-w.cut:
			return status.Error(codes.Unavailable, "clienttest: stream broken")
		case b := <-w.events:
			ev = &chkvpb.WatchEvent{Topology: b}
		case <-beats:
			ev = &chkvpb.WatchEvent{BeatMs: uint32(beat.Milliseconds())}
		}
		if n.stalled.Load() {
			continue
		}
		if err := stream.Send(ev); err != nil {
			return err
		}
		if ev.GetBeatMs() > 0 {
			n.beatsSent.Add(1)
		}
	}
}

// Status implements chkvpb.NameNodeServer with what SetStatus set.
func (n *NameNode) Status(context.Context, *chkvpb.StatusRequest) (*chkvpb.StatusResponse, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.status == nil {
		return nil, status.Error(codes.Unavailable, "clienttest: no status set")
	}
	return proto.Clone(n.status).(*chkvpb.StatusResponse), nil
}

// StartDataNode starts a standalone DataNode (it serves every slot), with
// its configuration adjusted by mutate, and stops it when the test ends.
func StartDataNode(t testing.TB, mutate ...func(*datanode.Config)) *datanode.Server {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cfg := datanode.DefaultConfig()
	cfg.Listener = ln
	cfg.Listen = ln.Addr().String()
	cfg.Seed = 1
	for _, m := range mutate {
		m(&cfg)
	}
	s, err := datanode.New(cfg)
	if err != nil {
		ln.Close()
		t.Fatal(err)
	}
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Stop)
	return s
}

// Split returns a topology of epoch and version whose nodes, "dn-0",
// "dn-1"..., have the RESP addresses addrs and own equal runs of
// consecutive slots, in order.
func Split(epoch, version uint64, addrs ...string) *topology.Topology {
	return Assign(epoch, version, addrs, func(s int) int { return s * len(addrs) / slot.Count })
}

// Assign returns a topology of epoch and version whose nodes, "dn-0",
// "dn-1"..., have the RESP addresses addrs, and where owner(s) is the
// index of the node serving slot s, or topology.Unowned.
func Assign(epoch, version uint64, addrs []string, owner func(s int) int) *topology.Topology {
	t := topology.Empty(epoch, 16)
	t.Version = version
	for i, a := range addrs {
		t.Nodes = append(t.Nodes, topology.Node{ID: fmt.Sprintf("dn-%d", i), RESPAddr: a, State: topology.Up})
	}
	for s := range t.Owners {
		t.Owners[s] = owner(s)
		t.Target[s] = t.Owners[s]
	}
	return t
}

// RESPHandler answers one command of a RESPServer. args[0] is the command
// name in lower case.
type RESPHandler func(conn redcon.Conn, args []string)

// RESPServer is a scripted RESP server.
type RESPServer struct {
	srv  *redcon.Server
	addr string
	// Calls counts the commands given to the handler (HELLO and the
	// connection set-up go-redis sends are answered without it).
	Calls atomic.Int64
}

// NewRESPServer starts a RESP server that answers with h and stops it when
// the test ends.
func NewRESPServer(t testing.TB, h RESPHandler) *RESPServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	r := &RESPServer{addr: ln.Addr().String()}
	r.srv = redcon.NewServerNetwork("tcp", r.addr, func(conn redcon.Conn, cmd redcon.Command) {
		args := make([]string, len(cmd.Args))
		for i, a := range cmd.Args {
			args[i] = string(a)
		}
		args[0] = strings.ToLower(args[0])
		switch args[0] {
		case "hello":
			conn.WriteError("ERR unknown command 'hello'")
		case "ping":
			conn.WriteString("PONG")
		default:
			r.Calls.Add(1)
			h(conn, args)
		}
	}, nil, nil)
	go r.srv.Serve(ln)
	t.Cleanup(func() {
		r.srv.Close()
		ln.Close()
	})
	return r
}

// Addr returns the server's address.
func (r *RESPServer) Addr() string { return r.addr }
