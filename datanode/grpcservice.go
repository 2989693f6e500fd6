package datanode

import (
	"context"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/chkv/chkv/common/topology"
	"github.com/chkv/chkv/proto/chkvpb"
)

// controlService is the DataNode gRPC service the NameNodes call.
type controlService struct {
	chkvpb.UnimplementedDataNodeServer
	srv *Server
}

// Probe answers a NameNode's direct liveness check, unless the NameNode's
// epoch has been fenced.
func (c *controlService) Probe(_ context.Context, req *chkvpb.ProbeRequest) (*chkvpb.ProbeResponse, error) {
	if m := c.srv.member; m != nil {
		if p := m.wit.epoch(); req.GetEpoch() < p {
			return nil, status.Errorf(codes.FailedPrecondition, "datanode: epoch %d is below the promised %d", req.GetEpoch(), p)
		}
	}
	return &chkvpb.ProbeResponse{NodeId: c.srv.id}, nil
}

// Elect answers a NameNode candidate's request for this node's vote.
func (c *controlService) Elect(_ context.Context, req *chkvpb.ElectRequest) (*chkvpb.ElectResponse, error) {
	m := c.srv.member
	if m == nil {
		return nil, status.Error(codes.FailedPrecondition, "datanode: standalone, not a cluster member")
	}
	resp := m.wit.vote(req, m.now(), m.voteHold(), m.own.View().Top)
	if resp.GetGranted() {
		c.srv.log.Info("voted for namenode", "namenode", req.GetCandidateId(), "epoch", req.GetEpoch())
	} else {
		c.srv.log.Debug("refused vote", "namenode", req.GetCandidateId(), "epoch", req.GetEpoch(), "reason", resp.GetReason())
	}
	return resp, nil
}

// PushTopology stages or applies a version from the active NameNode, unless
// its epoch has been fenced, and reports the version the node holds
// afterwards.
func (c *controlService) PushTopology(_ context.Context, req *chkvpb.PushTopologyRequest) (*chkvpb.PushTopologyResponse, error) {
	m := c.srv.member
	if m == nil {
		return nil, status.Error(codes.FailedPrecondition, "datanode: standalone, not a cluster member")
	}
	if req.GetTopology() == nil {
		return nil, status.Error(codes.InvalidArgument, "datanode: push without a topology")
	}
	t, err := topology.FromProto(req.GetTopology())
	if err != nil {
		return nil, status.Error(codes.InvalidArgument, err.Error())
	}
	from := nameNodeRef{req.GetNamenodeId(), req.GetIncarnation()}
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

// Migrate receives slots from another DataNode; see the proto.
func (c *controlService) Migrate(stream chkvpb.DataNode_MigrateServer) error {
	return c.srv.member.target.Migrate(stream)
}

// HandoffStatus settles a handoff whose acknowledgement was lost.
func (c *controlService) HandoffStatus(ctx context.Context, req *chkvpb.HandoffStatusRequest) (*chkvpb.HandoffStatusResponse, error) {
	return c.srv.member.target.HandoffStatus(ctx, req)
}
