package namenode

import (
	"context"
	"fmt"
	"math/rand/v2"
	"time"

	"google.golang.org/grpc"

	"github.com/chkv/chkv/common/grpcdial"
	"github.com/chkv/chkv/common/topology"
	"github.com/chkv/chkv/proto/chkvpb"
)

// Retry pacing for pushes to a DataNode that does not answer.
const (
	pushBackoffBase = 50 * time.Millisecond
	pushBackoffMax  = 5 * time.Second
)

// peer delivers topology versions to one DataNode. Its goroutine sends the
// newest version offered, latest-wins: versions offered while a push is
// under way collapse into one.
type peer struct {
	id, addr string
	cancel   context.CancelFunc
	latest   chan *version // holds at most the newest version not yet taken
}

// offer makes v the next version to send, replacing any not yet sent.
func (p *peer) offer(v *version) {
	for {
		select {
		case p.latest <- v:
			return
		default:
		}
		select {
		case <-p.latest: // drop the older one
		default:
		}
	}
}

// dialOptions are the options for every connection to a DataNode.
func (s *Server) dialOptions() []grpc.DialOption {
	return grpcdial.Options(grpcdial.Config{Token: s.cfg.ClusterToken,
		BackoffBase: 100 * time.Millisecond, BackoffMax: 2 * time.Second, MinConnectTimeout: 2 * time.Second}, s.cfg.DialOptions...)
}

// syncPeers starts a pusher for every DataNode of v that is not down,
// replaces those whose address changed, stops those of nodes that left or
// are down, and offers v to every pusher. The caller holds commitMu.
func (s *Server) syncPeers(v *version) {
	want := make(map[string]string, len(v.topo.Nodes))
	for _, n := range v.topo.Nodes {
		if n.State != topology.Down {
			want[n.ID] = n.GRPCAddr
		}
	}
	keep := make(map[string]bool, len(v.topo.Nodes))
	for _, n := range v.topo.Nodes {
		keep[n.GRPCAddr] = true
	}
	s.dnConns.retain(keep)
	for id, p := range s.peers {
		if addr, ok := want[id]; !ok || addr != p.addr {
			p.cancel()
			delete(s.peers, id)
		}
	}
	for id, addr := range want {
		p := s.peers[id]
		if p == nil {
			if p = s.startPeer(id, addr); p == nil {
				continue
			}
			s.peers[id] = p
		}
		p.offer(v)
	}
}

// stopPeers stops every pusher: the NameNode is not the active one.
// The caller holds commitMu.
func (s *Server) stopPeers() {
	for id, p := range s.peers {
		p.cancel()
		delete(s.peers, id)
	}
}

// startPeer starts a DataNode's pusher; nil if the address cannot be
// dialled or the server is stopping.
func (s *Server) startPeer(id, addr string) *peer {
	conn, err := s.dnConns.get(addr, s.dialOptions())
	if err != nil {
		s.log.Warn("cannot dial datanode", "datanode", id, "grpc", addr, "err", err)
		return nil
	}
	ctx, cancel := context.WithCancel(s.group.Context())
	p := &peer{id: id, addr: addr, cancel: cancel, latest: make(chan *version, 1)}
	if !s.group.Go(func(context.Context) { s.runPeer(ctx, p, conn) }) {
		cancel()
		return nil
	}
	return p
}

// runPeer pushes the newest offered version to the DataNode until ctx ends,
// retrying failures with backoff. A DataNode that answers with a newer
// version than sent is not sent older ones. A DataNode that has promised a
// newer epoch makes the NameNode step down.
func (s *Server) runPeer(ctx context.Context, p *peer, conn *grpc.ClientConn) {
	log := s.log.With("datanode", p.id, "grpc", p.addr)
	var ackEpoch, ackVersion uint64
	acked := false
	var v *version
	failures := 0
	for {
		if v == nil || (acked && !before(ackEpoch, ackVersion, v.topo.Epoch, v.topo.Version)) {
			select {
			case <-ctx.Done():
				return
			case v = <-p.latest:
				continue
			}
		}
		select { // a newer version offered while backing off replaces v
		case v = <-p.latest:
		default:
		}
		pctx, cancel := context.WithTimeout(ctx, s.cfg.pushTimeoutOrDefault())
		var resp chkvpb.PushTopologyResponse
		err := conn.Invoke(pctx, chkvpb.DataNode_PushTopology_FullMethodName, s.pushFrame(v, false), &resp, grpc.ForceCodecV2(s.codec))
		cancel()
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			failures++
			if failures == 1 {
				log.Warn("topology push failed; retrying", "version", v.topo.Version, "err", err)
			} else {
				log.Debug("topology push failed", "version", v.topo.Version, "attempt", failures, "err", err)
			}
			if !sleep(ctx, retryDelay(failures)) {
				return
			}
			continue
		}
		if failures > 0 {
			log.Info("topology push recovered", "version", v.topo.Version, "attempts", failures+1)
			failures = 0
		}
		ackEpoch, ackVersion, acked = v.topo.Epoch, v.topo.Version, true
		if resp.GetStale() {
			s.fenced(resp.GetPromisedEpoch(), fmt.Sprintf("datanode %s refused a push", p.id))
			continue // not resent; the next commit, if any, would be refused too
		}
		if before(ackEpoch, ackVersion, resp.GetEpoch(), resp.GetVersion()) {
			ackEpoch, ackVersion = resp.GetEpoch(), resp.GetVersion()
		}
	}
}

// retryDelay is the pause before retry n (n ≥ 1): exponential from
// pushBackoffBase up to pushBackoffMax, with ±20% jitter.
func retryDelay(n int) time.Duration {
	d := pushBackoffBase << min(n-1, 16)
	d = min(d, pushBackoffMax)
	return d - d/5 + rand.N(2*d/5+1)
}

// sleep waits for d or until ctx ends, reporting whether d passed.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
