package namenode

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/chkv/chkv/common/topology"
	"github.com/chkv/chkv/proto/chkvpb"
)

// Errors of the membership life cycle: remove, undrain and recover.
var (
	// ErrLiveNode refuses to remove a DataNode that is joining, up or
	// draining: it holds data or is a witness. Drain it first.
	ErrLiveNode = errors.New("namenode: datanode is live")
	// ErrNotDrained refuses to undrain a DataNode that is neither draining
	// nor drained.
	ErrNotDrained = errors.New("namenode: datanode is not draining or drained")
	// ErrDataLoss refuses a recover that did not accept losing the data of
	// the silent witnesses.
	ErrDataLoss = errors.New("namenode: recover loses data and must be accepted")
	// ErrMajorityReachable refuses a recover while a majority of the
	// witnesses is reachable (or an active that hears from one is): an
	// election or the active already works, without losing data.
	ErrMajorityReachable = errors.New("namenode: a majority of the witnesses is reachable")
	// ErrNoWitness refuses a recover when no witness is reachable at all.
	ErrNoWitness = errors.New("namenode: no witness is reachable")
)

// findLocked returns the index in s.nodes of the DataNode named by ID, RESP
// or gRPC address, or -1. The caller holds s.mu.
func (s *Server) findLocked(name string) int {
	return slices.IndexFunc(s.nodes, func(n topology.Node) bool {
		return n.ID == name || n.RESPAddr == name || n.GRPCAddr == name
	})
}

// removeLocked forgets the DataNode id for the next commit. The caller
// holds s.mu.
func (s *Server) removeLocked(id string) {
	s.nodes = slices.DeleteFunc(s.nodes, func(n topology.Node) bool { return n.ID == id })
	delete(s.members, id)
	s.dirty = true
}

// Remove forgets a drained or down DataNode, as the Remove call does.
func (s *Server) Remove(name string) (*chkvpb.RemoveResponse, error) { return s.remove(name) }

// changeNode is the one path of the operator's membership changes (drain,
// remove, undrain): on the active only, it finds the DataNode named by ID,
// RESP or gRPC address, lets change check and edit the membership under
// s.mu (i is the node's index in s.nodes), and commits. It returns the node
// as it was and the committed version.
func (s *Server) changeNode(name string, change func(i int, n topology.Node) error) (topology.Node, *version, error) {
	if !s.isActive() {
		return topology.Node{}, nil, s.notActive()
	}
	s.mu.Lock()
	i := s.findLocked(name)
	if i < 0 {
		s.mu.Unlock()
		return topology.Node{}, nil, fmt.Errorf("%w: %q", ErrUnknownNode, name)
	}
	n := s.nodes[i]
	err := change(i, n)
	s.mu.Unlock()
	if err != nil {
		return n, nil, err
	}
	v, err := s.commitPending()
	return n, v, err
}

// remove forgets the drained or down DataNode named by id, RESP or gRPC
// address and commits. A process still running under its ID is told to
// rejoin by its next heartbeat; a drained one then stops (see the
// DataNode), any other joins as a fresh node.
func (s *Server) remove(name string) (*chkvpb.RemoveResponse, error) {
	n, v, err := s.changeNode(name, func(_ int, n topology.Node) error {
		if n.State != topology.Drained && n.State != topology.Down {
			return fmt.Errorf("%w: %q is %s; drain it first (chkvctl drain %s), or wait until it is declared down",
				ErrLiveNode, n.ID, n.State, n.ID)
		}
		s.removeLocked(n.ID)
		s.log.Info("datanode removed", "datanode", n.ID, "was", n.State)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &chkvpb.RemoveResponse{NodeId: n.ID, Epoch: v.topo.Epoch, Version: v.topo.Version}, nil
}

// Undrain makes a draining or drained DataNode joining again, as the
// Undrain call does.
func (s *Server) Undrain(name string) (*chkvpb.UndrainResponse, error) { return s.undrain(name) }

// undrain makes the draining or drained DataNode named by id, RESP or gRPC
// address joining again and commits: the ring gives it slots again and it
// is a witness from that version on.
func (s *Server) undrain(name string) (*chkvpb.UndrainResponse, error) {
	n, v, err := s.changeNode(name, func(i int, n topology.Node) error {
		switch m := s.members[n.ID]; {
		case n.State != topology.Draining && n.State != topology.Drained:
			return fmt.Errorf("%w: %q is %s", ErrNotDrained, n.ID, n.State)
		case m == nil || m.down:
			return fmt.Errorf("%w: %q; start it again with --rejoin", ErrNodeDown, n.ID)
		case s.now().Sub(m.lastHeartbeat) > QuorumHeartbeats*s.cfg.HeartbeatInterval:
			// A witness that does not answer would cost the quorum.
			return fmt.Errorf("%w: %q has not heartbeated for %v; start it again with --rejoin", ErrNodeDown, n.ID,
				s.now().Sub(m.lastHeartbeat).Round(time.Millisecond))
		}
		s.nodes[i].State = topology.Joining
		s.dirty = true
		s.log.Info("datanode undrained; joining again", "datanode", n.ID, "was", n.State)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &chkvpb.UndrainResponse{NodeId: n.ID, Epoch: v.topo.Epoch, Version: v.topo.Version}, nil
}

// witnessesLocked splits the witnesses of the current topology into those
// heard from within the quorum window and the silent ones, each sorted by
// ID. The caller holds s.mu.
func (s *Server) witnessesLocked(now time.Time) (all, heard, silent []string) {
	window := QuorumHeartbeats * s.cfg.HeartbeatInterval
	for id := range voters(s.cur.Load().topo) {
		all = append(all, id)
		if m := s.members[id]; m != nil && now.Sub(m.lastHeartbeat) <= window {
			heard = append(heard, id)
		} else {
			silent = append(silent, id)
		}
	}
	slices.Sort(all)
	slices.Sort(heard)
	slices.Sort(silent)
	return all, heard, silent
}

// withoutRecoveredLocked returns vs without the witnesses a recover under
// way has given up on. The caller holds s.mu.
func (s *Server) withoutRecoveredLocked(vs map[string]string) map[string]string {
	if len(s.recovering) == 0 {
		return vs
	}
	out := maps.Clone(vs)
	for id := range s.recovering {
		delete(out, id)
	}
	return out
}

// quorumStatusLocked fills the quorum part of a Status reply: the
// witnesses, the silent ones and why the NameNode cannot lead or commit.
// The caller holds s.mu.
func (s *Server) quorumStatusLocked(resp *chkvpb.StatusResponse, now time.Time) {
	all, heard, silent := s.witnessesLocked(now)
	resp.Witnesses, resp.SilentWitnesses = all, silent
	need := len(all)/2 + 1
	iv := s.cfg.HeartbeatInterval
	silentText := strings.Join(silent, ", ")
	switch {
	case s.role == active && resp.Quorum:
	case s.role == active:
		resp.Reason = fmt.Sprintf("no majority: heard from %d of %d witnesses, %d needed; silent: %s",
			len(heard), len(all), need, silentText)
	case s.activeID != "" && s.activeID != s.id && !s.peer.at.IsZero() && now.Sub(s.peer.at) < FailoverHeartbeats*iv:
		if now.Sub(s.leaderSeen) < FailoverHeartbeats*iv {
			resp.Reason = "following " + s.activeID
		} else {
			resp.Reason = fmt.Sprintf("following %s, which has no majority of the witnesses; silent: %s", s.activeID, silentText)
		}
	case len(all) == 0 && len(s.heard) > 0:
		resp.Reason = fmt.Sprintf("no active: holds no topology yet; asking the %d datanodes heard from for votes and their topology", len(s.heard))
	case len(all) == 0:
		resp.Reason = "no active: electing (no witnesses; the peer namenode decides)"
	case len(silent) == 0:
		resp.Reason = fmt.Sprintf("no active: electing; waiting for votes from %d of the %d witnesses", need, len(all))
	default:
		resp.Reason = fmt.Sprintf("no active: waiting for votes from %d of %d witnesses; heard from %d; silent: %s",
			need, len(all), len(heard), silentText)
	}
}

// Recover gives up on the silent witnesses, as the Recover call does.
func (s *Server) Recover(ctx context.Context, acceptDataLoss bool) (*chkvpb.RecoverResponse, error) {
	return s.recover(ctx, acceptDataLoss)
}

// recover is the operator's escape when a majority of the witnesses is
// gone for good: it marks the silent witnesses down, so the remaining ones
// form the voter set, and commits. Their slots go to the remaining nodes
// empty: their data is lost. It refuses while a majority is reachable or
// an active that hears from one is followed, and it commits only once any
// lease a silent witness may hold has run out (waiting for that within
// ctx), so no silent node still serves when its slots move. A standby
// becomes active through an election among the remaining witnesses.
//
// What it cannot know: that the silent nodes are really gone rather than
// cut off with another NameNode. Their leases have expired and the
// remaining witnesses fence older epochs, but the operator must make sure
// the silent nodes are stopped before recovering.
func (s *Server) recover(ctx context.Context, accept bool) (*chkvpb.RecoverResponse, error) {
	if !accept {
		return nil, fmt.Errorf("%w: it gives the slots of the silent witnesses to the others empty; pass accept_data_loss (chkvctl recover --accept-data-loss)", ErrDataLoss)
	}
	s.recoverMu.Lock()
	defer s.recoverMu.Unlock()
	silent, until, err := s.recoverPlan(s.now())
	if err != nil {
		return nil, err
	}
	s.log.Warn("recover: giving up on the silent witnesses once their leases have run out; their data is lost",
		"silent", silent, "wait", until.Sub(s.now()).Round(time.Millisecond))
	if d := until.Sub(s.now()); d > 0 && !sleep(ctx, d) {
		return nil, fmt.Errorf("recover: waiting %v for the silent witnesses' leases to run out: %w", d.Round(time.Millisecond), ctx.Err())
	}
	// They may have come back meanwhile; the plan must still hold.
	again, until, err := s.recoverPlan(s.now())
	if err != nil {
		return nil, err
	}
	if !slices.Equal(silent, again) || s.now().Before(until) {
		return nil, fmt.Errorf("%w: the silent witnesses changed while waiting (%v, now %v); try again", ErrNoQuorum, silent, again)
	}
	s.mu.Lock()
	s.recovering = make(map[string]bool, len(silent))
	for _, id := range silent {
		s.recovering[id] = true
	}
	isActive := s.role == active
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		s.recovering = nil
		s.mu.Unlock()
	}()
	if isActive {
		err = s.recoverActive(silent)
	} else {
		err = s.recoverByElection(ctx)
	}
	if err != nil {
		return nil, err
	}
	v := s.cur.Load()
	s.log.Warn("recover: committed; the silent witnesses are down and their slots moved to the others", "down", silent,
		"epoch", v.topo.Epoch, "version", v.topo.Version)
	return &chkvpb.RecoverResponse{Down: silent, Epoch: v.topo.Epoch, Version: v.topo.Version}, nil
}

// recoverPlan checks that a recover may proceed at now and returns the
// silent witnesses and when every lease they may hold has run out.
func (s *Server) recoverPlan(now time.Time) ([]string, time.Time, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	iv := s.cfg.HeartbeatInterval
	all, heard, silent := s.witnessesLocked(now)
	switch {
	case s.role != active && s.activeID != "" && s.activeID != s.id && now.Sub(s.leaderSeen) < FailoverHeartbeats*iv:
		return nil, time.Time{}, fmt.Errorf("%w: %s follows the active %s, which hears from a majority", ErrMajorityReachable, s.id, s.activeID)
	case len(all) == 0:
		return nil, time.Time{}, fmt.Errorf("%w: the topology has no witnesses", ErrNoWitness)
	case 2*len(heard) > len(all):
		return nil, time.Time{}, fmt.Errorf("%w: %s hears from %d of %d witnesses (%s); nothing to recover",
			ErrMajorityReachable, s.id, len(heard), len(all), strings.Join(heard, ", "))
	case len(heard) == 0:
		return nil, time.Time{}, fmt.Errorf("%w: %s hears from none of the %d witnesses; start one first", ErrNoWitness, s.id, len(all))
	}
	// A lease runs for at most lease from the request that got it, which
	// reached this NameNode (as active or standby) no earlier than it was
	// sent. Only an active that hears from a majority grants leases, so
	// none was granted after this NameNode last saw one.
	last := s.leaderSeen
	for _, id := range silent {
		if m := s.members[id]; m != nil {
			last = latest(last, m.leaseBase, m.lastHeartbeat)
		}
	}
	return silent, last.Add(s.cfg.lease() + MarginHeartbeats*iv), nil
}

func latest(ts ...time.Time) time.Time {
	var out time.Time
	for _, t := range ts {
		if t.After(out) {
			out = t
		}
	}
	return out
}

// markRecoveredDownLocked marks the witnesses a recover gives up on down in
// the membership of the next commit, and reports the previous states for
// undo. The caller holds s.mu.
func (s *Server) markRecoveredDownLocked() map[string]topology.State {
	was := make(map[string]topology.State, len(s.recovering))
	for i, n := range s.nodes {
		if !s.recovering[n.ID] {
			continue
		}
		was[n.ID] = n.State
		s.nodes[i].State = topology.Down
		if m := s.members[n.ID]; m != nil {
			m.down = true
		}
		s.dirty = true
	}
	return was
}

// recoverActive commits the silent witnesses down on the active, staging
// only on the remaining ones. On failure the membership is as before.
func (s *Server) recoverActive(silent []string) error {
	s.commitMu.Lock()
	defer s.commitMu.Unlock()
	s.mu.Lock()
	was := s.markRecoveredDownLocked()
	s.mu.Unlock()
	if _, err := s.commitLocked(); err != nil {
		s.mu.Lock()
		for i, n := range s.nodes {
			if st, ok := was[n.ID]; ok {
				s.nodes[i].State = st
				if m := s.members[n.ID]; m != nil {
					m.down = false
				}
			}
		}
		s.mu.Unlock()
		return fmt.Errorf("recover of %v: %w", silent, err)
	}
	return nil
}

// recoverByElection makes a standby active through elections among the
// remaining witnesses until one is won and its first version committed,
// or ctx ends. becomeActive marks the silent witnesses down.
func (s *Server) recoverByElection(ctx context.Context) error {
	iv := s.cfg.HeartbeatInterval
	for {
		if s.isActive() || s.campaign(ctx) {
			if _, err := s.commitPending(); err == nil && s.recoveredCommitted() {
				return nil
			}
		}
		if !sleep(ctx, iv/2) {
			return fmt.Errorf("recover: no election among the remaining witnesses won or committed: %w", ctx.Err())
		}
		if s.isActive() {
			s.mu.Lock()
			s.markRecoveredDownLocked()
			s.mu.Unlock()
		}
	}
}

// recoveredCommitted reports whether the current version shows every
// witness the recover gives up on as down.
func (s *Server) recoveredCommitted() bool {
	t := s.cur.Load().topo
	s.mu.Lock()
	defer s.mu.Unlock()
	for id := range s.recovering {
		if i := t.Index(id); i >= 0 && t.Nodes[i].State != topology.Down {
			return false
		}
	}
	return true
}
