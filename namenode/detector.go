package namenode

import (
	"context"
	"fmt"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/chkv/chkv/common/election"
	"github.com/chkv/chkv/common/topology"
	"github.com/chkv/chkv/proto/chkvpb"
)

// maxConcurrentProbes bounds the probe rounds under way at once.
const maxConcurrentProbes = 32

// suspect is a DataNode that missed MissedHeartbeats heartbeats.
type suspect struct {
	id, addr string
	since    time.Time // its lastSeen when suspected
	at       time.Time // when the probe round began
}

// detectLoop runs detectOnce twice per heartbeat interval until ctx ends.
func (s *Server) detectLoop(ctx context.Context) {
	t := time.NewTicker(s.cfg.HeartbeatInterval / 2)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if s.isActive() {
				s.detectOnce(s.now())
			}
		}
	}
}

// detectOnce is one step of failure detection at time now:
//
//   - A node not heard from (heartbeat, registration or answered probe) for
//     more than MissedHeartbeats intervals gets a probe round in the
//     background: up to ProbeAttempts probes, each bounded by the probe
//     timeout. If one is answered the node stays up; if none is, and no
//     heartbeat arrived meanwhile, it is declared down and its heartbeats
//     are answered with rejoin from then on.
//   - A drained node declared down is removed at once: it owns nothing
//     and is no witness.
//   - A node declared down keeps its slots until its lease has surely
//     expired: now ≥ leaseBase + lease + MarginHeartbeats intervals, where
//     leaseBase is the receipt of the last request answered with a lease.
//     Then it is committed as down and topology.Next gives its slots to
//     its ring successors.
//
// detectOnce does not wait for probes; waitProbes does (tests).
func (s *Server) detectOnce(now time.Time) {
	interval := s.cfg.HeartbeatInterval
	suspectAfter := MissedHeartbeats * interval
	tm := s.cfg.timing()
	var suspects []suspect
	var gone []string // drained nodes declared down
	reassign := false
	s.mu.Lock()
	for i, n := range s.nodes {
		m := s.members[n.ID]
		if n.State == topology.Down || m == nil {
			continue
		}
		if m.down && n.State == topology.Drained {
			// It owns nothing and is no witness: forget it at once.
			gone = append(gone, n.ID)
			continue
		}
		if m.down {
			if election.LeaseOver(now.Sub(m.leaseBase), tm) {
				s.nodes[i].State = topology.Down
				s.dirty, reassign = true, true
				s.log.Warn("datanode lease expired; reassigning its slots", "datanode", n.ID,
					"lease_base_age", now.Sub(m.leaseBase))
			}
			continue
		}
		if !m.probing && now.Sub(m.lastSeen) > suspectAfter {
			m.probing = true
			suspects = append(suspects, suspect{id: n.ID, addr: n.GRPCAddr, since: m.lastSeen, at: now})
			s.log.Warn("datanode missed heartbeats; probing", "datanode", n.ID, "silent", now.Sub(m.lastSeen))
		}
	}
	for _, id := range gone {
		s.removeLocked(id)
		s.log.Warn("drained datanode stopped; removed it from the cluster", "datanode", id)
		reassign = true
	}
	s.mu.Unlock()
	for _, sp := range suspects {
		s.probes.Add(1)
		if !s.group.Go(func(ctx context.Context) {
			defer s.probes.Done()
			s.probeRound(ctx, sp)
		}) {
			s.probes.Done()
		}
	}
	s.mu.Lock()
	retry := s.dirty && s.role == active
	s.mu.Unlock()
	if reassign || retry {
		// A failed commit stays pending; this retries it too.
		if _, err := s.commitPending(); err != nil {
			s.log.Debug("commit failed", "err", err)
		}
	}
}

// waitProbes waits for the probe rounds started so far.
func (s *Server) waitProbes() { s.probes.Wait() }

// probeRound probes a suspect and records the outcome.
func (s *Server) probeRound(ctx context.Context, sp suspect) {
	select {
	case s.probeSem <- struct{}{}:
		defer func() { <-s.probeSem }()
	case <-ctx.Done():
		return
	}
	alive := s.probe(ctx, sp)
	if ctx.Err() != nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	m := s.members[sp.id]
	if m == nil {
		return
	}
	m.probing = false
	switch {
	case alive:
		if m.lastSeen.Before(sp.at) {
			m.lastSeen = sp.at
		}
		s.log.Info("datanode answered probe; keeping it up", "datanode", sp.id)
	case m.lastSeen.After(sp.since) || m.down:
		// It heartbeated or re-registered meanwhile, or is already down.
	default:
		m.down = true
		s.log.Warn("datanode declared down: probes unanswered", "datanode", sp.id, "probes", ProbeAttempts)
	}
}

// probe reports whether the DataNode answers one of ProbeAttempts probes.
// It uses a connection of its own, so a pusher's reconnect backoff cannot
// fail a probe, and waits for the connection within each probe's timeout.
func (s *Server) probe(ctx context.Context, sp suspect) bool {
	conn, err := grpc.NewClient(sp.addr, s.dialOptions()...)
	if err != nil {
		s.log.Warn("cannot dial datanode to probe it", "datanode", sp.id, "grpc", sp.addr, "err", err)
		return false
	}
	defer conn.Close()
	client := chkvpb.NewDataNodeClient(conn)
	s.mu.Lock()
	epoch := s.epoch
	s.mu.Unlock()
	timeout := s.cfg.probeTimeoutOrDefault()
	for attempt := 1; attempt <= ProbeAttempts; attempt++ {
		start := time.Now()
		pctx, cancel := context.WithTimeout(ctx, timeout)
		resp, err := client.Probe(pctx, &chkvpb.ProbeRequest{Epoch: epoch}, grpc.WaitForReady(true))
		cancel()
		switch {
		case err == nil && resp.GetNodeId() == sp.id:
			return true
		case err == nil:
			err = fmt.Errorf("probe answered by node %q", resp.GetNodeId())
		case ctx.Err() != nil:
			return false
		case status.Code(err) == codes.FailedPrecondition:
			// The DataNode promised a newer epoch: we were replaced.
			s.fenced(epoch+1, fmt.Sprintf("datanode %s refused a probe: %v", sp.id, err))
			return false
		}
		s.log.Debug("probe failed", "datanode", sp.id, "attempt", attempt, "err", err)
		// Space the attempts out by the timeout even when one fails fast.
		if attempt < ProbeAttempts && !sleep(ctx, timeout-time.Since(start)) {
			return false
		}
	}
	return false
}
