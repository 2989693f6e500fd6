package datanode

import (
	"context"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/chkv/chkv/proto/chkvpb"
)

// controlService is the DataNode gRPC service the NameNodes call.
type controlService struct {
	chkvpb.UnimplementedDataNodeServer
	srv *Server
}

// Probe answers a NameNode's direct liveness check.
func (c *controlService) Probe(context.Context, *chkvpb.ProbeRequest) (*chkvpb.ProbeResponse, error) {
	return &chkvpb.ProbeResponse{NodeId: c.srv.id}, nil
}

// PushTopology applies a committed topology version if it is newer than the
// one the node holds, and reports the version it holds afterwards.
func (c *controlService) PushTopology(_ context.Context, req *chkvpb.PushTopologyRequest) (*chkvpb.PushTopologyResponse, error) {
	m := c.srv.member
	if req.GetTopology() == nil {
		return nil, status.Error(codes.InvalidArgument, "datanode: push without a topology")
	}
	if err := m.applyProto(req.GetTopology()); err != nil {
		return nil, status.Error(codes.InvalidArgument, err.Error())
	}
	v := m.view.Load()
	return &chkvpb.PushTopologyResponse{Epoch: v.top.Epoch, Version: v.top.Version}, nil
}
