package datanode

import (
	"context"
	"sync"

	"google.golang.org/grpc"

	"github.com/chkv/chkv/common/grpcdial"
	"github.com/chkv/chkv/common/slot"
	"github.com/chkv/chkv/common/topology"
	"github.com/chkv/chkv/datanode/membership"
	"github.com/chkv/chkv/datanode/migration"
	"github.com/chkv/chkv/datanode/ownership"
	"github.com/chkv/chkv/proto/chkvpb"
)

// This file wires the cluster-mode components together: the ownership
// table (datanode/ownership), membership (datanode/membership) and
// migration (datanode/migration). Each gets what it needs from the others
// through its Config; none of them knows the Server.

// newClusterParts builds the ownership table, the membership and the two
// sides of migration, and stores them in s.
func (s *Server) newClusterParts() error {
	var m *membership.Member
	own := ownership.New(ownership.Config{SelfID: s.id, Store: s.store, Log: s.log,
		LeaseValid: func() bool { return m.LeaseValid() }})
	mc := migration.Config{
		SelfID: s.id, Store: s.store, Own: own, Log: s.log, Group: s.group,
		// Large windows: a migration stream carries bulk data.
		DialOptions: s.dialOptions(4<<20, 16<<20, grpcdial.Config{}, s.cfg.PeerDialOptions),
		Rate:        s.cfg.MigrationRate,
		Workers:     s.cfg.MigrationWorkers,
		Hook:        s.cfg.Hook,
		HandedOff: func(slot int, to string) {
			m.HandedOff(slot, to)
			s.unsubscribeLostShards()
		},
		Accepted:   func(slot int, from string) { m.Accepted(slot, from) },
		MaxValue:   func() int { return int(s.settings.Load().ProtoMaxBulkLen) },
		ValidValue: validValue,
	}
	migrator := migration.NewMigrator(mc)
	m, err := membership.New(membership.Config{
		ID:           s.id,
		NameNodes:    s.cfg.NameNodes,
		ClusterToken: s.cfg.ClusterToken,
		DialOptions:  s.cfg.GRPCDialOptions,
		Rejoin:       s.cfg.Rejoin,
		Weight:       s.cfg.Weight,
		Log:          s.log,
		Group:        s.group,
		Own:          own,
		Host:         memberHost{s: s, migrator: migrator},
	})
	if err != nil {
		return err
	}
	s.own, s.member, s.migrator, s.target = own, m, migrator, migration.NewTarget(mc)
	s.fanout = s.newFanout()
	return nil
}

// memberHost is what membership sees of the server.
type memberHost struct {
	s        *Server
	migrator *migration.Migrator
}

func (h memberHost) RESPAddr() string { return h.s.advertiseAddr() }
func (h memberHost) GRPCAddr() string { return h.s.grpcAdvertiseAddr() }

func (h memberHost) HTTPAddr() string { return h.s.httpAdvertiseAddr() }

func (h memberHost) Load() topology.Load {
	return topology.Load{
		Keys:            int64(h.s.store.Len()),
		UsedMemoryBytes: h.s.usedMemory(),
		OpsPerSec:       h.s.stats.opsPerSec.Load(),
		Migration:       h.migrator.Load(),
	}
}

func (h memberHost) MigrationLoad() topology.MigrationLoad { return h.migrator.Load() }
func (h memberHost) FlushData()                            { h.s.store.Flush() }

// ViewChanged plans migrations for the new view and ends the shard
// subscriptions of the slots it took away.
func (h memberHost) ViewChanged(v *ownership.View) {
	h.migrator.Plan(v)
	h.s.unsubscribeLostShards()
}

// dialOptions are the options of a gRPC connection to another CHKV
// component (grpcdial): the cluster token, the backoff of c, fixed
// flow-control windows of the given sizes, then extra.
func (s *Server) dialOptions(window, connWindow int32, c grpcdial.Config, extra []grpc.DialOption) []grpc.DialOption {
	c.Token = s.cfg.ClusterToken
	return grpcdial.Options(c, append([]grpc.DialOption{
		grpc.WithInitialWindowSize(window), grpc.WithInitialConnWindowSize(connWindow)}, extra...)...)
}

// admit decides whether this node serves the command's keys. On success it
// returns the slot's gate held shared, which the caller releases after the
// command ran; otherwise it returns the error reply (CROSSSLOT, MOVED or
// CLUSTERDOWN; see ownership.Table.Admit).
func (s *Server) admit(cmd *command, args [][]byte) (*sync.RWMutex, string) {
	sl := -1
	for _, i := range cmd.callKeys(args) {
		ks := slot.Of(args[i])
		if sl >= 0 && ks != sl {
			return nil, ownership.ErrCrossSlot
		}
		sl = ks
	}
	if sl < 0 {
		return nil, "" // no key present: served locally
	}
	return s.own.Admit(sl)
}

// controlService is the DataNode gRPC service the NameNodes and the other
// DataNodes call: membership answers the NameNodes, migration's target
// the DataNodes.
type controlService struct {
	chkvpb.UnimplementedDataNodeServer
	srv *Server
}

// Probe answers a NameNode's direct liveness check, unless the NameNode's
// epoch has been fenced.
func (c *controlService) Probe(ctx context.Context, req *chkvpb.ProbeRequest) (*chkvpb.ProbeResponse, error) {
	return c.srv.member.Probe(ctx, req)
}

// Elect answers a NameNode candidate's request for this node's vote.
func (c *controlService) Elect(ctx context.Context, req *chkvpb.ElectRequest) (*chkvpb.ElectResponse, error) {
	return c.srv.member.Elect(ctx, req)
}

// PushTopology stages or applies a version from the active NameNode.
func (c *controlService) PushTopology(ctx context.Context, req *chkvpb.PushTopologyRequest) (*chkvpb.PushTopologyResponse, error) {
	return c.srv.member.PushTopology(ctx, req)
}

// Migrate receives slots from another DataNode; see the proto.
func (c *controlService) Migrate(stream chkvpb.DataNode_MigrateServer) error {
	return c.srv.target.Migrate(stream)
}

// HandoffStatus settles a handoff whose acknowledgement was lost.
func (c *controlService) HandoffStatus(ctx context.Context, req *chkvpb.HandoffStatusRequest) (*chkvpb.HandoffStatusResponse, error) {
	return c.srv.target.HandoffStatus(ctx, req)
}
