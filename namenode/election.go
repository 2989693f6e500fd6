package namenode

import (
	"context"
	"fmt"
	"math/rand/v2"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/chkv/chkv/common/election"
	"github.com/chkv/chkv/common/topology"
	"github.com/chkv/chkv/proto/chkvpb"
)

// electionLoop makes the NameNode campaign whenever it is not active and
// no active peer that hears from a majority has been heard from for
// FailoverHeartbeats intervals, first after StartupHeartbeats intervals of
// listening to heartbeats, and makes an active re-elect itself when asked
// to (requestReelectionLocked). It checks four times per interval, with
// jitter, so that two candidates rarely ask at the same moment. It runs
// until ctx ends.
func (s *Server) electionLoop(ctx context.Context) {
	period := s.cfg.timing().CampaignPeriod // the longest pause
	for {
		d := period/2 + rand.N(period/2+1)
		t := time.NewTimer(d)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		case <-s.electNow:
			t.Stop()
		}
		if s.shouldCampaign(s.now()) {
			s.campaign(ctx)
		}
	}
}

// shouldCampaign reports whether the NameNode should seek election at now.
// An active does only to win back a witness (requestReelectionLocked).
// After a start it waits StartupHeartbeats intervals, unless it has
// already heard from a DataNode to ask and found that the peer is not an
// active it can follow: then waiting would only let the DataNodes' leases
// lapse (both NameNodes restarted).
func (s *Server) shouldCampaign(now time.Time) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return election.ShouldCampaign(election.Campaign{
		Active: s.role == active, Reelect: s.reelect,
		SinceStart: now.Sub(s.startedAt), HeardAny: len(s.heard) > 0, PeerChecked: s.peerChecked,
		LeaderSeen: !s.leaderSeen.IsZero(), SinceLeader: now.Sub(s.leaderSeen),
	}, s.cfg.timing())
}

// campaign runs one election round: it promises itself the next epoch
// above any it knows, asks every witness for it, and becomes active when
// a majority of the DataNodes of the newest topology among its own and
// the voters' grant it. An active campaigns the same way to re-elect
// itself, and stays active at the higher epoch when it wins. A NameNode
// that knows of no DataNode asks its peer instead, and takes over if the
// peer does not answer: with no DataNodes there is no data to protect. It
// reports whether it won.
func (s *Server) campaign(ctx context.Context) bool {
	s.mu.Lock()
	// The candidate epoch is kept across rounds, so that grants add up,
	// until a witness reports a newer promise.
	epoch := election.CandidateEpoch(s.epoch, s.voted, s.candidate)
	s.candidate = epoch // the peer cannot win it through our vote
	reelection := s.role == active
	if reelection {
		s.reelecting = max(s.reelecting, epoch)
	}
	known := s.cur.Load().topo
	if s.ballotTop.NewerThan(known) {
		// A NameNode that lost its state asks the witnesses of the newest
		// topology an earlier round's votes carried, not only the
		// DataNodes it hears heartbeats from: those that lost their
		// registration retry Register and do not heartbeat (found by
		// helper/sim).
		known = s.ballotTop
	}
	asked := voters(known)
	for id, addr := range s.heard {
		if _, ok := asked[id]; !ok {
			asked[id] = addr
		}
	}
	s.mu.Unlock()

	if len(asked) == 0 && !reelection {
		return s.campaignAlone(ctx, epoch)
	}
	req := &chkvpb.ElectRequest{CandidateId: s.id, Epoch: epoch, Incarnation: s.incarnation}
	type ballot struct {
		id   string
		resp *chkvpb.ElectResponse
		err  error
	}
	ballots := make(chan ballot, len(asked))
	cctx, cancel := context.WithTimeout(ctx, s.cfg.HeartbeatInterval)
	defer cancel()
	for id, addr := range asked {
		if !s.group.Go(func(context.Context) {
			resp, err := s.askVote(cctx, addr, req)
			ballots <- ballot{id, resp, err}
		}) {
			return false
		}
	}
	granted := make(map[string]bool, len(asked))
	newest := known
	var highest uint64
	for range asked {
		b := <-ballots
		if b.err != nil {
			s.log.Debug("no vote", "datanode", b.id, "err", b.err)
			continue
		}
		granted[b.id] = b.resp.GetGranted()
		if !b.resp.GetGranted() {
			// A refusal at our epoch means another candidate holds it.
			highest = max(highest, b.resp.GetPromisedEpoch())
			s.log.Debug("vote refused", "datanode", b.id, "epoch", epoch, "reason", b.resp.GetReason())
		}
		if p := b.resp.GetTopology(); p != nil {
			t, err := topology.FromProto(p)
			if err == nil {
				err = checkHeld(t)
			}
			if err != nil {
				s.log.Warn("bad topology in a vote", "datanode", b.id, "err", err)
				continue
			}
			if t.NewerThan(newest) {
				newest = t
			}
		}
	}
	s.mu.Lock()
	if highest >= epoch {
		s.candidate = max(s.candidate, highest+1)
	}
	if newest.NewerThan(s.ballotTop) {
		s.ballotTop = newest
	}
	s.mu.Unlock()
	s.mu.Lock()
	need := s.withoutRecoveredLocked(voters(newest))
	s.mu.Unlock()
	if len(need) == 0 && !reelection {
		if len(granted) < len(asked) {
			// One that did not answer may hold what must be protected
			// (found by helper/sim: a committed version lost when only
			// an emptied DataNode answered in time).
			return false
		}
		// Every one asked answered and holds no topology: nothing to
		// protect.
		return s.campaignAlone(ctx, epoch)
	}
	if !majority(need, granted) {
		s.log.Debug("election lost", "epoch", epoch, "granted", countTrue(granted), "voters", len(need), "reelection", reelection)
		if reelection {
			// A rival may win this epoch: from now on a witness's
			// promise of it fences us.
			s.mu.Lock()
			s.reelecting = 0
			s.mu.Unlock()
		}
		return false
	}
	if reelection {
		return s.reelected(epoch)
	}
	return s.becomeActive(epoch, newest)
}

// campaignAlone elects the NameNode when it knows of no DataNode: the peer,
// if any, is the witness.
func (s *Server) campaignAlone(ctx context.Context, epoch uint64) bool {
	if s.cfg.Peer != "" {
		conn, err := s.dnConns.get(s.cfg.Peer, s.dialOptions())
		if err != nil {
			return false
		}
		cctx, cancel := context.WithTimeout(ctx, s.cfg.HeartbeatInterval)
		resp, err := chkvpb.NewNameNodeClient(conn).Elect(cctx, &chkvpb.ElectRequest{CandidateId: s.id, Epoch: epoch, Incarnation: s.incarnation})
		cancel()
		switch {
		case err == nil && !resp.GetGranted():
			s.log.Debug("peer refused its vote", "epoch", epoch, "reason", resp.GetReason())
			s.mu.Lock()
			s.candidate = max(s.candidate, resp.GetPromisedEpoch()+1)
			s.mu.Unlock()
			return false
		case err != nil && (ctx.Err() != nil || status.Code(err) != codes.Unavailable):
			// A slow peer may yet grant the epoch or be active: only a
			// peer that cannot be reached at all is taken over from.
			return false
		case err != nil:
			s.log.Warn("peer unreachable and no datanodes known; taking over", "peer", s.cfg.Peer, "err", err)
		}
	}
	return s.becomeActive(epoch, nil)
}

// askVote asks one DataNode for its vote.
func (s *Server) askVote(ctx context.Context, addr string, req *chkvpb.ElectRequest) (*chkvpb.ElectResponse, error) {
	conn, err := s.dnConns.get(addr, s.dialOptions())
	if err != nil {
		return nil, err
	}
	return chkvpb.NewDataNodeClient(conn).Elect(ctx, req, grpc.WaitForReady(true))
}

// voteForPeer answers the peer's Elect: it is a witness only for a
// cluster without DataNodes, and grants an epoch above any it knows when
// it is not active itself. When both stand for the same epoch, the lower
// ID gets it, and this NameNode's own candidacy for it can no longer win
// (becomeActive refuses an epoch voted for).
func (s *Server) voteForPeer(req *chkvpb.ElectRequest) *chkvpb.ElectResponse {
	s.mu.Lock()
	defer s.mu.Unlock()
	e := req.GetEpoch()
	resp := &chkvpb.ElectResponse{}
	switch {
	case s.role == active:
		resp.Reason = fmt.Sprintf("%s is active in epoch %d", s.id, s.epoch)
	case len(voters(s.cur.Load().topo)) > 0 || len(s.heard) > 0:
		resp.Reason = "the cluster has datanodes: they are the witnesses"
	case e <= max(s.epoch, s.voted) || e < s.candidate:
		resp.Reason = fmt.Sprintf("epoch %d is not above %d", e, max(s.epoch, s.voted, s.candidate))
	case e == s.candidate && req.GetCandidateId() >= s.id:
		// Both ask for the same epoch: the lower ID gets it, or two
		// candidates in step would refuse each other for ever.
		resp.Reason = fmt.Sprintf("%s is a candidate for epoch %d too", s.id, e)
	default:
		s.voted = e
		s.leaderSeen = s.now()
		resp.Granted = true
	}
	resp.PromisedEpoch = max(s.epoch, s.voted, s.candidate)
	return resp
}

// notActive is the error for calls only the active serves.
func (s *Server) notActive() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.activeID != "" && s.activeID != s.id {
		return fmt.Errorf("%w: %s is standby; the active is %s", ErrNotActive, s.id, s.activeID)
	}
	return fmt.Errorf("%w: %s is standby", ErrNotActive, s.id)
}
