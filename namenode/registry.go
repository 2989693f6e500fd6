package namenode

import (
	"fmt"
	"slices"
	"time"
	"unicode/utf8"

	"github.com/chkv/chkv/common/election"
	"github.com/chkv/chkv/common/topology"
	"github.com/chkv/chkv/proto/chkvpb"
)

// member is the NameNode's liveness record of one DataNode. Its fields are
// guarded by Server.mu.
type member struct {
	lastSeen      time.Time // newest heartbeat, registration or answered probe
	lastHeartbeat time.Time // newest heartbeat or registration
	// leaseBase is when the newest request answered with a lease was
	// received. The DataNode counts its lease from when it sent that
	// request, which is earlier, so the lease ends no later than
	// leaseBase + lease.
	leaseBase time.Time
	load      topology.Load
	down      bool // declared down: heartbeats are answered with rejoin
	probing   bool // a probe round is under way
}

func newMember(now time.Time) *member {
	return &member{lastSeen: now, lastHeartbeat: now, leaseBase: now}
}

// renew records a request answered with a lease at now.
func (m *member) renew(now time.Time) {
	m.lastSeen, m.lastHeartbeat, m.leaseBase = now, now, now
}

// register handles a DataNode's announcement and returns the version to
// reply with, which includes the node.
func (s *Server) register(req *chkvpb.RegisterRequest) (*version, error) {
	node := topology.NodeFromProto(req.GetNode())
	node.State, node.Load = topology.Joining, topology.Load{}
	if node.ID == "" || node.RESPAddr == "" || node.GRPCAddr == "" {
		return nil, fmt.Errorf("%w: id, resp_addr and grpc_addr are required", ErrInvalidNode)
	}
	if !utf8.ValidString(node.ID + node.RESPAddr + node.GRPCAddr + node.HTTPAddr) {
		return nil, fmt.Errorf("%w: not UTF-8", ErrInvalidNode)
	}
	if node.Weight > MaxWeight {
		return nil, fmt.Errorf("%w: weight %d above %d", ErrInvalidNode, node.Weight, MaxWeight)
	}
	now := s.now()
	if act, epoch := s.Active(); act && req.GetPromisedEpoch() > epoch {
		s.fenced(req.GetPromisedEpoch(), fmt.Sprintf("registering datanode %s promised epoch %d", node.ID, req.GetPromisedEpoch()))
	}
	if !s.isActive() {
		return nil, s.notActive()
	}
	if req.GetTopology() != nil {
		held, err := topology.FromProto(req.GetTopology())
		if err != nil {
			return nil, fmt.Errorf("node %q: %w", node.ID, err)
		}
		if err := checkHeld(held); err != nil {
			return nil, fmt.Errorf("node %q: %w", node.ID, err)
		}
		s.adopt(held, now)
		if !s.isActive() {
			return nil, s.notActive()
		}
	}

	s.mu.Lock()
	i := slices.IndexFunc(s.nodes, func(n topology.Node) bool { return n.ID == node.ID })
	switch {
	case i < 0:
		s.nodes = append(s.nodes, node)
		s.dirty = true
		s.log.Info("datanode registered", "datanode", node.ID, "resp", node.RESPAddr, "grpc", node.GRPCAddr)
	default:
		old := s.nodes[i]
		node.Load = old.Load
		switch {
		case old.State == topology.Down:
			// A new process under a down node's ID joins afresh.
		case req.GetRejoin() && (old.State == topology.Draining || old.State == topology.Drained):
			s.log.Info("datanode rejoins after its drain", "datanode", node.ID, "was", old.State)
		default:
			node.State = old.State // a joining, up, draining or drained node stays so
		}
		if old != node {
			s.nodes[i] = node
			s.dirty = true
			s.log.Info("datanode re-registered", "datanode", node.ID, "was", old.State,
				"resp", node.RESPAddr, "grpc", node.GRPCAddr)
		}
	}
	m := s.members[node.ID]
	if m == nil {
		m = newMember(now)
		s.members[node.ID] = m
	}
	m.renew(now)
	m.down = false
	s.mu.Unlock()
	return s.commitPending()
}

// checkHeld refuses a DataNode's topology whose ring would be too large to
// compute.
func checkHeld(t *topology.Topology) error {
	if t.VNodes < 0 || t.VNodes > maxVNodes {
		return fmt.Errorf("%w: vnodes %d", topology.ErrInvalid, t.VNodes)
	}
	for _, n := range t.Nodes {
		if n.Weight > MaxWeight {
			return fmt.Errorf("%w: node %q weight %d", topology.ErrInvalid, n.ID, n.Weight)
		}
	}
	return nil
}

// adopt makes held the current topology when it is newer than the
// NameNode's own, as after a NameNode restart: versions never go back and
// membership comes from held. Nodes it names that the NameNode did not know
// get a fresh liveness record, so they have a full detection period to
// heartbeat and any lease an earlier NameNode granted them counts as
// running until now.
func (s *Server) adopt(held *topology.Topology, now time.Time) {
	if _, epoch := s.Active(); held.Epoch > epoch {
		// A newer epoch than ours has been led: we were replaced. Its
		// versions are committed; keep the newest as a standby would.
		s.fenced(held.Epoch, "a datanode holds a topology of a newer epoch")
		s.learn(held)
		return
	}
	s.commitMu.Lock()
	defer s.commitMu.Unlock()
	cur := s.cur.Load().topo
	if !held.NewerThan(cur) {
		return
	}
	s.mu.Lock()
	nodes := slices.Clone(held.Nodes)
	members := make(map[string]*member, len(nodes))
	for _, n := range nodes {
		m := s.members[n.ID]
		if m == nil {
			m = newMember(now)
		}
		m.down = n.State == topology.Down
		members[n.ID] = m
	}
	// Nodes that registered here but are not in held stay, as additions for
	// the next commit.
	dirty := false
	for _, n := range s.nodes {
		if m := s.members[n.ID]; members[n.ID] == nil && n.State != topology.Down && m != nil && !m.down {
			nodes = append(nodes, n)
			members[n.ID] = m
			dirty = true
		}
	}
	s.nodes, s.members, s.dirty = nodes, members, dirty
	s.mu.Unlock()
	if held.VNodes != s.cfg.VNodes {
		s.log.Warn("adopted topology uses a different vnodes setting; keeping it", "adopted", held.VNodes, "configured", s.cfg.VNodes)
	}
	s.log.Info("adopted newer topology from a datanode", "epoch", held.Epoch, "version", held.Version,
		"was_epoch", cur.Epoch, "was_version", cur.Version)
	s.publishLocked(held)
}

// heartbeat renews a DataNode's lease and records its load. A standby only
// records it and sends the DataNode newer versions; an active grants the
// lease only while it hears from a majority of the DataNodes.
func (s *Server) heartbeat(req *chkvpb.HeartbeatRequest) (*chkvpb.HeartbeatResponse, error) {
	now := s.now()
	holder := election.Ref{ID: req.GetPromisedTo(), Incarnation: req.GetPromisedIncarnation()}
	if act, epoch := s.Active(); act && (req.GetPromisedEpoch() > epoch ||
		election.RivalHolds(epoch, election.Ref{ID: s.id, Incarnation: s.incarnation}, req.GetPromisedEpoch(), holder)) {
		s.fenced(req.GetPromisedEpoch(), fmt.Sprintf("datanode %s promised epoch %d to %s", req.GetNodeId(), req.GetPromisedEpoch(), holder))
	}
	cur := s.cur.Load()
	s.mu.Lock()
	s.noteHeardLocked(req.GetNodeId(), req.GetGrpcAddr())
	m := s.members[req.GetNodeId()]
	if s.role != active {
		if m != nil {
			m.lastHeartbeat, m.lastSeen = now, now
			m.load = topology.LoadFromProto(req.GetLoad())
		}
		epoch := s.epoch
		s.mu.Unlock()
		resp := &chkvpb.HeartbeatResponse{Epoch: epoch, NamenodeId: s.id, Incarnation: s.incarnation}
		if before(req.GetEpoch(), req.GetVersion(), cur.topo.Epoch, cur.topo.Version) {
			resp.Topology = cur.pb
		}
		return resp, nil
	}
	epoch := s.epoch
	if m == nil || m.down {
		s.mu.Unlock()
		if m == nil && before(cur.topo.Epoch, cur.topo.Version, req.GetEpoch(), req.GetVersion()) {
			return nil, fmt.Errorf("%w: node %q holds (%d, %d), namenode (%d, %d)", ErrBehind,
				req.GetNodeId(), req.GetEpoch(), req.GetVersion(), cur.topo.Epoch, cur.topo.Version)
		}
		resp := &chkvpb.HeartbeatResponse{Rejoin: true, Epoch: epoch, Active: true, NamenodeId: s.id, Incarnation: s.incarnation}
		if before(req.GetEpoch(), req.GetVersion(), cur.topo.Epoch, cur.topo.Version) {
			// The node keeps routing by it while it rejoins: MOVED to the
			// owners, not CLUSTERDOWN.
			resp.Topology = cur.pb
		}
		return resp, nil
	}
	m.renew(now)
	l := req.GetLoad()
	m.load = topology.LoadFromProto(l)
	quorum := s.quorumLocked(now)
	s.mu.Unlock()
	resp := &chkvpb.HeartbeatResponse{Epoch: epoch, Active: true, NamenodeId: s.id, Incarnation: s.incarnation}
	if quorum {
		resp.LeaseMs = s.cfg.lease().Milliseconds()
	}
	if before(req.GetEpoch(), req.GetVersion(), cur.topo.Epoch, cur.topo.Version) {
		resp.Topology = cur.pb
	}
	return resp, nil
}

// commitPending commits the membership changes made since the last commit,
// if any, and returns the current version. Changes made while another
// commit computes the ring are committed together by the next caller.
func (s *Server) commitPending() (*version, error) {
	s.commitMu.Lock()
	defer s.commitMu.Unlock()
	return s.commitLocked()
}

// commitLocked commits the pending changes: only the active NameNode does,
// only while it hears from a majority of the DataNodes, and only once a
// majority holds the new version staged (see stage). When a commit fails
// the changes stay pending for the next one. The caller holds commitMu.
func (s *Server) commitLocked() (*version, error) {
	s.mu.Lock()
	switch {
	case !s.dirty:
		s.mu.Unlock()
		return s.cur.Load(), nil
	case s.role != active:
		s.mu.Unlock()
		return nil, s.notActive()
	case !s.quorumLocked(s.now()):
		s.mu.Unlock()
		return nil, fmt.Errorf("%w: %s has not heard from a majority of the datanodes", ErrNoQuorum, s.id)
	}
	s.dirty = false
	nodes := slices.Clone(s.nodes)
	for i := range nodes {
		if m := s.members[nodes[i].ID]; m != nil {
			nodes[i].Load = m.load
		}
	}
	epoch := s.epoch
	handoffs := s.handoffs
	s.handoffs = nil
	s.mu.Unlock()
	prev := s.cur.Load().topo
	next := prev.Next(epoch, nodes, handoffs...)
	s.numbering.Number(next)
	v := newVersion(s.seq+1, next)
	if err := s.stage(prev, v); err != nil {
		s.mu.Lock()
		s.dirty = true
		s.handoffs = append(handoffs, s.handoffs...)
		s.mu.Unlock()
		if fe, ok := err.(*errFenced); ok {
			s.fenced(fe.promised, fe.Error())
		}
		s.log.Warn("commit failed: the new version is not on a majority of the datanodes", "epoch", epoch, "version", next.Version, "err", err)
		return nil, err
	}
	s.mu.Lock()
	// Next promotes joining nodes that received all their slots to up, and
	// draining nodes that own nothing to drained; a node whose state
	// changed meanwhile (an undrain) keeps its new state.
	for j, n := range next.Nodes {
		if i := slices.IndexFunc(s.nodes, func(m topology.Node) bool { return m.ID == n.ID }); i >= 0 && s.nodes[i].State == nodes[j].State {
			if n.State != nodes[j].State {
				s.log.Info("datanode state changed", "datanode", n.ID, "from", nodes[j].State, "to", n.State)
			}
			s.nodes[i].State = n.State
		}
	}
	s.mu.Unlock()
	s.publishVersionLocked(v)
	s.log.Info("topology committed", "epoch", next.Epoch, "version", next.Version, "nodes", len(next.Nodes), "bytes", len(v.frame))
	return v, nil
}

// publishLocked makes t, a committed version, the current one and hands it
// to watchers and, on the active, to the DataNodes. The caller holds
// commitMu, which orders publications.
func (s *Server) publishLocked(t *topology.Topology) *version {
	v := newVersion(s.seq+1, t)
	s.publishVersionLocked(v)
	s.log.Debug("topology published", "epoch", t.Epoch, "version", t.Version, "nodes", len(t.Nodes))
	return v
}

// publishVersionLocked publishes v, numbered s.seq+1. The caller holds
// commitMu.
func (s *Server) publishVersionLocked(v *version) {
	s.seq = v.seq
	s.cur.Store(v)
	s.hub.publish(v)
	s.mu.Lock()
	push := s.role == active && v.topo.Epoch == s.epoch
	s.mu.Unlock()
	if push {
		s.syncPeers(v)
	} else {
		s.stopPeers()
	}
}

// status describes the committed topology and each node's liveness.
func (s *Server) status() *chkvpb.StatusResponse {
	v := s.cur.Load()
	now := s.now()
	slots := make([]uint32, len(v.topo.Nodes))
	for _, o := range v.topo.Owners {
		if o != topology.Unowned {
			slots[o]++
		}
	}
	resp := &chkvpb.StatusResponse{
		NamenodeId: s.id, Epoch: v.topo.Epoch, Version: v.topo.Version,
		Watchers: s.hub.watchers.Load(),
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.pairStatusLocked(resp, now)
	in, out := make([]uint32, len(v.topo.Nodes)), make([]uint32, len(v.topo.Nodes))
	for sl, o := range v.topo.Owners {
		if tg := v.topo.Target[sl]; tg != o {
			if tg != topology.Unowned {
				in[tg]++
			}
			if o != topology.Unowned {
				out[o]++
			}
		}
	}
	for i, n := range v.topo.Nodes {
		ns := &chkvpb.NodeStatus{Slots: slots[i], HeartbeatAgeMs: -1, SlotsIn: in[i], SlotsOut: out[i]}
		load := n.Load
		if m := s.members[n.ID]; m != nil {
			load = m.load
			ns.HeartbeatAgeMs = now.Sub(m.lastHeartbeat).Milliseconds()
		}
		n.Load = load
		ns.Node = n.Proto()
		resp.Nodes = append(resp.Nodes, ns)
	}
	return resp
}
