package namenode

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/protobuf/proto"

	"github.com/chkv/chkv/common/topology"
	"github.com/chkv/chkv/proto/chkvpb"
)

// serveFollow streams the active's state to the standby: the current
// version at once, then each newer one, and a beat every half interval,
// until the stream ends or this NameNode is no longer active. It records
// the versions the standby acknowledges.
func (s *Server) serveFollow(stream chkvpb.NameNode_FollowServer) error {
	if !s.isActive() {
		return s.notActive()
	}
	ctx := stream.Context()
	acks := make(chan error, 1)
	// The receiver ends with the stream, which ends when this handler
	// returns.
	go func() { acks <- s.receiveAcks(stream) }()
	beat := time.NewTicker(s.cfg.HeartbeatInterval / 2)
	defer beat.Stop()
	var sent uint64 // seq of the last version sent
	for {
		s.mu.Lock()
		act, epoch, quorum := s.role == active, s.epoch, s.quorumLocked(s.now())
		s.mu.Unlock()
		if !act {
			return s.notActive()
		}
		ev := &chkvpb.FollowEvent{NamenodeId: s.id, Epoch: epoch, Quorum: quorum}
		v := s.cur.Load()
		if v.seq > sent {
			ev.Topology = v.frame[v.body:]
			sent = v.seq
		}
		if err := stream.Send(ev); err != nil {
			return err
		}
		_, newer, wake := s.hub.next(sent)
		if newer {
			continue
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case err := <-acks:
			return err
		case <-wake:
		case <-beat.C:
		}
	}
}

// receiveAcks records the standby's acknowledgements until the stream ends.
func (s *Server) receiveAcks(stream chkvpb.NameNode_FollowServer) error {
	for {
		ack, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		s.mu.Lock()
		s.peer = peerInfo{id: ack.GetNamenodeId(), version: ack.GetVersion(), at: s.now()}
		s.mu.Unlock()
	}
}

// followLoop keeps a Follow stream open to the peer while this NameNode is
// a standby, until ctx ends.
func (s *Server) followLoop(ctx context.Context) {
	conn, err := grpc.NewClient(s.cfg.Peer, s.dialOptions()...)
	if err != nil {
		s.log.Error("cannot dial the peer namenode", "peer", s.cfg.Peer, "err", err)
		return
	}
	defer conn.Close()
	client := chkvpb.NewNameNodeClient(conn)
	wasFollowing := false
	for {
		if !s.isActive() {
			following, err := s.followOnce(ctx, client)
			if ctx.Err() != nil {
				return
			}
			s.mu.Lock()
			s.peerChecked = true
			s.mu.Unlock()
			if following || wasFollowing {
				s.log.Info("following the active namenode ended", "peer", s.cfg.Peer, "err", err)
			}
			wasFollowing = following
		}
		if !sleep(ctx, s.cfg.HeartbeatInterval/4) {
			return
		}
	}
}

// followOnce follows the peer on one stream until it fails, goes silent
// for FailoverHeartbeats intervals, turns out stale, or this NameNode
// becomes active. It reports whether the peer was followed as active.
func (s *Server) followOnce(ctx context.Context, client chkvpb.NameNodeClient) (bool, error) {
	sctx, cancel := context.WithCancel(ctx)
	defer cancel()
	silence := FailoverHeartbeats * s.cfg.HeartbeatInterval
	watchdog := time.AfterFunc(silence, cancel)
	defer watchdog.Stop()
	stream, err := client.Follow(sctx)
	if err != nil {
		return false, err
	}
	following := false
	for {
		ev, err := stream.Recv()
		if err != nil {
			return following, err
		}
		watchdog.Reset(silence)
		if err := s.onFollowEvent(ev); err != nil {
			return following, err
		}
		following = true
		v := s.cur.Load().topo
		if err := stream.Send(&chkvpb.FollowAck{NamenodeId: s.id, Epoch: v.Epoch, Version: v.Version}); err != nil {
			return following, err
		}
	}
}

// onFollowEvent applies one event of the active peer.
func (s *Server) onFollowEvent(ev *chkvpb.FollowEvent) error {
	now := s.now()
	s.mu.Lock()
	if s.role == active {
		s.mu.Unlock()
		return errors.New("this namenode is active")
	}
	if ev.GetEpoch() < s.epoch {
		epoch := s.epoch
		s.mu.Unlock()
		return fmt.Errorf("peer %s leads epoch %d, below the known %d", ev.GetNamenodeId(), ev.GetEpoch(), epoch)
	}
	s.epoch = ev.GetEpoch()
	s.activeID = ev.GetNamenodeId()
	if ev.GetQuorum() {
		s.leaderSeen = now
	}
	s.peer.id, s.peer.at = ev.GetNamenodeId(), now
	s.peerChecked = true
	s.mu.Unlock()
	if len(ev.GetTopology()) == 0 {
		return nil
	}
	var p chkvpb.Topology
	if err := proto.Unmarshal(ev.GetTopology(), &p); err != nil {
		return fmt.Errorf("topology from peer: %w", err)
	}
	t, err := topology.FromProto(&p)
	if err != nil {
		return fmt.Errorf("topology from peer: %w", err)
	}
	s.learn(t)
	s.mu.Lock()
	s.peer.version = max(s.peer.version, t.Version)
	s.mu.Unlock()
	return nil
}
