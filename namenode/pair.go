package namenode

import (
	"slices"
	"time"

	"github.com/chkv/chkv/common/election"
	"github.com/chkv/chkv/common/timing"
	"github.com/chkv/chkv/common/topology"
	"github.com/chkv/chkv/proto/chkvpb"
)

// Timing of the NameNode pair (DESIGN.md §6), in heartbeat intervals; the
// inequalities between them and the leases are in common/timing.
const (
	// QuorumHeartbeats is the window within which the active must have
	// heard from a majority of the DataNodes to commit versions and grant
	// leases.
	QuorumHeartbeats = timing.QuorumHeartbeats
	// FailoverHeartbeats is how long a standby waits without a beat from an
	// active peer that hears from a majority before it campaigns.
	FailoverHeartbeats = timing.FailoverHeartbeats
	// StartupHeartbeats is how long a NameNode listens to heartbeats after
	// it starts before it first campaigns, so that it knows the DataNodes
	// and their topology.
	StartupHeartbeats = timing.StartupHeartbeats
)

// maxHeard bounds the DataNodes remembered from heartbeats of nodes the
// topology does not list.
const maxHeard = 1 << 14

// role is a NameNode's part in the pair.
type role int

const (
	standby role = iota
	active
)

func (r role) String() string {
	if r == active {
		return "active"
	}
	return "standby"
}

func (r role) proto() chkvpb.NameNodeRole {
	if r == active {
		return chkvpb.NameNodeRole_NAMENODE_ROLE_ACTIVE
	}
	return chkvpb.NameNodeRole_NAMENODE_ROLE_STANDBY
}

// peerInfo is what the NameNode knows of the other one of the pair. Its
// fields are guarded by Server.mu.
type peerInfo struct {
	id      string
	version uint64    // on the active: acknowledged by the standby; on a standby: the active's
	at      time.Time // last heard from; zero: never
}

// Active reports whether the NameNode is the active one of the pair, and its
// epoch: its term when active, else the highest it knows of.
func (s *Server) Active() (bool, uint64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.role == active, s.epoch
}

// isActive reports whether the NameNode is active.
func (s *Server) isActive() bool {
	act, _ := s.Active()
	return act
}

// voters returns the DataNodes of t that vote and stage, by ID, with their
// gRPC addresses: its witnesses (topology.State.Witness), the one
// definition every election, staging and quorum check uses.
func voters(t *topology.Topology) map[string]string { return t.Witnesses() }

// majority reports whether yes holds more than half of the voters; any set
// is a majority of none (election.Majority).
func majority(voters map[string]string, yes map[string]bool) bool {
	return election.Majority(voters, yes)
}

// quorumLocked reports whether the active heard from a majority of the
// voters of the committed topology within QuorumHeartbeats intervals. Only
// a committed version shrinks the voters: a node the NameNode merely
// believes down still counts, or a NameNode cut off with a minority could
// declare the majority down and go on granting leases. The caller holds
// s.mu.
func (s *Server) quorumLocked(now time.Time) bool {
	tm := s.cfg.timing()
	vs := s.withoutRecoveredLocked(voters(s.cur.Load().topo))
	fresh := make(map[string]bool, len(vs))
	for id := range vs {
		if m := s.members[id]; m != nil && election.Fresh(now.Sub(m.lastHeartbeat), tm) {
			fresh[id] = true
		}
	}
	return majority(vs, fresh)
}

// becomeActive makes the NameNode the active one of epoch, which a
// majority of the witnesses granted it, adopting held when it is newer than
// the NameNode's own topology. Every DataNode gets a fresh liveness record
// whose lease runs a lease past now: the old active may have granted one
// just before it stopped, so no node is declared down before any lease it
// holds has run out. It then commits the new epoch's first version.
func (s *Server) becomeActive(epoch uint64, held *topology.Topology) bool {
	s.commitMu.Lock()
	defer s.commitMu.Unlock()
	now := s.now()
	s.mu.Lock()
	if s.role == active || s.epoch >= epoch || s.voted >= epoch {
		s.mu.Unlock()
		return false // a newer epoch was promised meanwhile
	}
	cur := s.cur.Load().topo
	base := cur
	if held != nil && held.NewerThan(cur) {
		base = held
	}
	members := make(map[string]*member, len(base.Nodes))
	for _, n := range base.Nodes {
		m := newMember(now)
		m.leaseBase = now.Add(s.cfg.lease())
		if old := s.members[n.ID]; old != nil {
			m.load = old.load
		}
		m.down = n.State == topology.Down
		members[n.ID] = m
	}
	s.nodes, s.members = slices.Clone(base.Nodes), members
	s.markRecoveredDownLocked() // a recover's election: they are down
	s.handoffs = nil
	s.dirty = len(base.Nodes) > 0 // the new epoch's first version
	s.role, s.epoch, s.activeID, s.reelect = active, epoch, s.id, false
	s.mu.Unlock()
	s.log.Info("became the active namenode", "epoch", epoch, "adopted_epoch", base.Epoch, "adopted_version", base.Version,
		"nodes", len(base.Nodes))
	if base != cur {
		s.publishLocked(base)
	}
	if _, err := s.commitLocked(); err != nil {
		s.log.Warn("first commit of the new epoch failed; retrying", "epoch", epoch, "err", err)
	}
	return true
}

// reelected makes the active NameNode, which a majority of the witnesses
// granted epoch in a re-election, the active of epoch, and commits the
// epoch's first version, which brings the witness it won back into line.
// It reports false when the NameNode stepped down or a newer epoch was
// promised meanwhile.
func (s *Server) reelected(epoch uint64) bool {
	s.commitMu.Lock()
	defer s.commitMu.Unlock()
	s.mu.Lock()
	if s.role != active || s.epoch >= epoch || s.voted >= epoch {
		s.mu.Unlock()
		return false
	}
	s.epoch, s.reelect, s.dirty = epoch, false, true
	s.mu.Unlock()
	s.log.Info("re-elected at a higher epoch", "epoch", epoch)
	if _, err := s.commitLocked(); err != nil {
		s.log.Warn("first commit of the new epoch failed; retrying", "epoch", epoch, "err", err)
	}
	return true
}

// fenced handles a DataNode's report that it promised epoch to a
// NameNode other than this active incarnation at its epoch, and reports
// whether the NameNode is still active. A promise of
// a newer epoch than the active's means it was replaced: it becomes a
// standby, and must not change the topology or grant leases any more.
// Two promises leave it active. Its own epoch promised to a rival that
// lost the election for it (the rival asked that witness first; each
// epoch still has one majority, the active's) is won back by re-electing
// itself at a higher epoch. The epoch of its own re-election campaign was
// promised to itself.
func (s *Server) fenced(epoch uint64, why string) bool {
	s.mu.Lock()
	switch election.OnPromise(s.role == active, s.epoch, s.reelecting, epoch) {
	case election.Reelect:
		first := !s.reelect
		s.requestReelectionLocked()
		s.mu.Unlock()
		if first {
			s.log.Info("a witness promised this epoch to a rival; re-electing", "epoch", epoch, "why", why)
		}
		return true
	case election.Stay:
		s.mu.Unlock()
		return true
	}
	s.epoch = max(s.epoch, epoch)
	if s.role != active {
		s.mu.Unlock()
		return false
	}
	s.role, s.activeID, s.reelect = standby, "", false
	s.leaderSeen = s.now() // give the new active time to show itself
	s.mu.Unlock()
	s.log.Warn("stepped down: another namenode holds a newer epoch", "epoch", epoch, "why", why)
	return false
}

// requestReelectionLocked makes the active campaign for a higher epoch
// at once. The caller holds s.mu.
func (s *Server) requestReelectionLocked() {
	s.reelect = true
	select {
	case s.electNow <- struct{}{}:
	default: // a wake-up is pending
	}
}

// learn makes t, a version committed by the active peer, the standby's
// current one when it is newer, with the membership it lists.
func (s *Server) learn(t *topology.Topology) {
	s.commitMu.Lock()
	defer s.commitMu.Unlock()
	if !t.NewerThan(s.cur.Load().topo) {
		return
	}
	now := s.now()
	s.mu.Lock()
	if s.role == active {
		s.mu.Unlock()
		return
	}
	members := make(map[string]*member, len(t.Nodes))
	for _, n := range t.Nodes {
		m := s.members[n.ID]
		if m == nil {
			m = newMember(now)
		}
		members[n.ID] = m
	}
	s.nodes, s.members, s.dirty, s.handoffs = slices.Clone(t.Nodes), members, false, nil
	s.epoch = max(s.epoch, t.Epoch)
	s.mu.Unlock()
	s.publishLocked(t)
}

// noteHeardLocked remembers a DataNode's gRPC address from its heartbeat:
// a witness that a NameNode that lost its state can ask for its vote and
// topology. The caller holds s.mu.
func (s *Server) noteHeardLocked(id, grpcAddr string) {
	if grpcAddr == "" {
		return
	}
	if _, ok := s.heard[id]; !ok && len(s.heard) >= maxHeard {
		return
	}
	s.heard[id] = grpcAddr
}

// pairStatusLocked fills the pair's part of a Status reply. The caller
// holds s.mu.
func (s *Server) pairStatusLocked(resp *chkvpb.StatusResponse, now time.Time) {
	resp.Role = s.role.proto()
	resp.ActiveId = s.activeID
	resp.Quorum = s.role == active && s.quorumLocked(now)
	s.quorumStatusLocked(resp, now)
	if s.cfg.Peer == "" {
		return
	}
	p := &chkvpb.PeerStatus{Id: s.peer.id, Addr: s.cfg.Peer, Version: s.peer.version, AgeMs: -1}
	if !s.peer.at.IsZero() {
		p.AgeMs = now.Sub(s.peer.at).Milliseconds()
	}
	if v := resp.GetVersion(); s.role == active && v > p.Version && !s.peer.at.IsZero() {
		p.LagVersions = v - p.Version
	}
	resp.Peer = p
}
