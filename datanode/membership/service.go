package membership

import (
	"context"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/chkv/chkv/common/topology"
	"github.com/chkv/chkv/proto/chkvpb"
)

// Probe answers a NameNode's direct liveness check, unless the NameNode's
// epoch has been fenced.
func (m *Member) Probe(_ context.Context, req *chkvpb.ProbeRequest) (*chkvpb.ProbeResponse, error) {
	if p := m.wit.epoch(); req.GetEpoch() < p {
		return nil, status.Errorf(codes.FailedPrecondition, "datanode: epoch %d is below the promised %d", req.GetEpoch(), p)
	}
	return &chkvpb.ProbeResponse{NodeId: m.cfg.ID}, nil
}

// Elect answers a NameNode candidate's request for this node's vote.
func (m *Member) Elect(_ context.Context, req *chkvpb.ElectRequest) (*chkvpb.ElectResponse, error) {
	resp := m.wit.vote(req, m.now(), m.voteHold(), m.own.View().Top)
	if resp.GetGranted() {
		m.log.Info("voted for namenode", "namenode", req.GetCandidateId(), "epoch", req.GetEpoch())
	} else {
		m.log.Debug("refused vote", "namenode", req.GetCandidateId(), "epoch", req.GetEpoch(), "reason", resp.GetReason())
	}
	return resp, nil
}

// PushTopology stages or applies a version from the active NameNode, unless
// its epoch has been fenced, and reports the version the node holds
// afterwards.
func (m *Member) PushTopology(_ context.Context, req *chkvpb.PushTopologyRequest) (*chkvpb.PushTopologyResponse, error) {
	if req.GetTopology() == nil {
		return nil, status.Error(codes.InvalidArgument, "datanode: push without a topology")
	}
	t, err := topology.FromProto(req.GetTopology())
	if err != nil {
		return nil, status.Error(codes.InvalidArgument, err.Error())
	}
	from := nameNodeRef{ID: req.GetNamenodeId(), Incarnation: req.GetIncarnation()}
	if req.GetStage() {
		held, ok := m.wit.stage(t, from, m.own.View().Top)
		if !ok {
			return &chkvpb.PushTopologyResponse{Stale: true, PromisedEpoch: m.wit.epoch()}, nil
		}
		m.heardFromEpoch(t.Epoch)
		return &chkvpb.PushTopologyResponse{Epoch: held.Epoch, Version: held.Version, PromisedEpoch: m.wit.epoch()}, nil
	}
	if !m.wit.follows(t.Epoch, from) {
		return &chkvpb.PushTopologyResponse{Stale: true, PromisedEpoch: m.wit.epoch()}, nil
	}
	m.heardFromEpoch(t.Epoch)
	m.apply(t)
	v := m.own.View()
	return &chkvpb.PushTopologyResponse{Epoch: v.Top.Epoch, Version: v.Top.Version, PromisedEpoch: m.wit.epoch()}, nil
}
