package namenode

import (
	"context"
	"strings"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"google.golang.org/grpc"
	"google.golang.org/grpc/status"

	"github.com/chkv/chkv/common/slot"
	"github.com/chkv/chkv/common/topology"
	"github.com/chkv/chkv/proto/chkvpb"
)

// metrics are the NameNode's own counters; every other figure is read from
// Status at scrape time, so the metrics follow whatever Status reports.
type metrics struct {
	heartbeats atomic.Uint64          // heartbeats received, unary and streamed
	rpcs       *prometheus.CounterVec // calls by method and code
	reg        *prometheus.Registry
}

func nnDesc(name, help string, labels ...string) *prometheus.Desc {
	return prometheus.NewDesc("chkv_namenode_"+name, help, labels, nil)
}

// Metric descriptions.
var (
	descNNInfo = nnDesc("info", "Always 1; the labels describe the NameNode.", "namenode", "active_id")
	descRole   = nnDesc("role",
		"1 for the NameNode's current role in the pair: active or standby.", "role")
	descIsActive = nnDesc("is_active",
		"1 when this NameNode commits topology versions: its role is active, or it runs alone.")
	descNNEpoch    = nnDesc("epoch", "Epoch of the current topology.")
	descNNVersion  = nnDesc("topology_version", "Version of the current topology.")
	descQuorum     = nnDesc("quorum", "1 while the active hears from a majority of the DataNodes.")
	descWatchers   = nnDesc("watchers", "Clients watching the topology.")
	descWitnesses  = nnDesc("witnesses", "DataNodes that vote and stage (joining, up and draining) in the current topology.")
	descSilent     = nnDesc("witnesses_silent", "Witnesses this NameNode has not heard from within the quorum window.")
	descByState    = nnDesc("datanodes", "DataNodes in the topology, by state.", "state")
	descUnowned    = nnDesc("slots_unowned", "Slots that no DataNode serves.")
	descMigrating  = nnDesc("slots_migrating", "Slots whose owner differs from the ring's target: migrations in progress.")
	descMoving     = nnDesc("slots_moving", "Slots the DataNodes report moving right now.")
	descStuck      = nnDesc("slots_stuck", "Slots whose move keeps failing, as the DataNodes report.")
	descHeartbeats = nnDesc("heartbeats_received_total", "DataNode heartbeats received (unary and streamed).")
	descNodeSlots  = nnDesc("datanode_slots", "Slots a DataNode owns.", "node")
	descNodeIn     = nnDesc("datanode_slots_in", "Slots the ring gives a DataNode that it does not own yet.", "node")
	descNodeOut    = nnDesc("datanode_slots_out", "Slots a DataNode owns that the ring gives to another.", "node")
	descNodeState  = nnDesc("datanode_state", "1 for a DataNode's current state.", "node", "state")
	descNodeKeys   = nnDesc("datanode_keys", "Keys a DataNode holds, from its last heartbeat.", "node")
	descNodeMemory = nnDesc("datanode_used_memory_bytes", "A DataNode's used memory, from its last heartbeat.", "node")
	descNodeOps    = nnDesc("datanode_ops_per_second", "A DataNode's commands per second, from its last heartbeat.", "node")
	descNodeAge    = nnDesc("datanode_heartbeat_age_seconds",
		"Time since a DataNode's last heartbeat; absent when it has none on record.", "node")
	descNodeMissed = nnDesc("datanode_missed_heartbeats",
		"Heartbeat intervals since a DataNode's last heartbeat (0 while it heartbeats on time); at 3 the NameNode probes it.", "node")
	descNodeMoving   = nnDesc("datanode_slots_moving", "Slots a DataNode is moving away right now.", "node")
	descNodeMoved    = nnDesc("datanode_migration_slots_total", "Slots a DataNode has handed off since it started.", "node")
	descNodeMovedKey = nnDesc("datanode_migration_keys_total", "Keys a DataNode has handed off since it started.", "node")
	descNodeMovedB   = nnDesc("datanode_migration_bytes_total", "Bytes a DataNode has handed off since it started.", "node")
	descPeer         = nnDesc("peer_configured", "1 when the NameNode has a peer (runs as a pair).")
	descPeerLag      = nnDesc("peer_lag_versions", "Topology versions the standby is behind the active.")
	descPeerAge      = nnDesc("peer_age_seconds", "Time since the peer NameNode was last heard from.")
)

// nnCollector reads the NameNode's Status at scrape time.
type nnCollector struct{ s *Server }

// Describe sends every description the collector uses.
func (c nnCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{
		descNNInfo, descRole, descIsActive, descNNEpoch, descNNVersion, descQuorum, descWatchers, descWitnesses, descSilent,
		descByState, descUnowned, descMigrating, descMoving, descStuck, descHeartbeats,
		descNodeSlots, descNodeIn, descNodeOut, descNodeState, descNodeKeys, descNodeMemory,
		descNodeOps, descNodeAge, descNodeMissed, descNodeMoving, descNodeMoved, descNodeMovedKey,
		descNodeMovedB, descPeer, descPeerLag, descPeerAge,
	} {
		ch <- d
	}
}

// roleNames are the role label values, by NameNodeRole.
var roleNames = map[chkvpb.NameNodeRole]string{
	chkvpb.NameNodeRole_NAMENODE_ROLE_UNSPECIFIED: "unspecified",
	chkvpb.NameNodeRole_NAMENODE_ROLE_ACTIVE:      "active",
	chkvpb.NameNodeRole_NAMENODE_ROLE_STANDBY:     "standby",
}

// stateNames are the DataNode state label values, by state.
var stateNames = []struct {
	state topology.State
	name  string
}{{topology.Joining, "joining"}, {topology.Up, "up"}, {topology.Draining, "draining"}, {topology.Down, "down"}, {topology.Drained, "drained"}}

// isActive reports whether a Status comes from the NameNode that commits
// topology versions: the active of a pair, or a NameNode alone.
func isActive(st *chkvpb.StatusResponse) bool {
	switch st.GetRole() {
	case chkvpb.NameNodeRole_NAMENODE_ROLE_ACTIVE:
		return true
	case chkvpb.NameNodeRole_NAMENODE_ROLE_UNSPECIFIED:
		return st.GetPeer() == nil
	}
	return false
}

// Collect reads Status.
func (c nnCollector) Collect(ch chan<- prometheus.Metric) {
	st := c.s.status()
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	counter := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, v, labels...)
	}
	gauge(descNNInfo, 1, st.GetNamenodeId(), st.GetActiveId())
	for role, name := range roleNames {
		gauge(descRole, boolFloat(st.GetRole() == role), name)
	}
	gauge(descIsActive, boolFloat(isActive(st)))
	gauge(descNNEpoch, float64(st.GetEpoch()))
	gauge(descNNVersion, float64(st.GetVersion()))
	gauge(descQuorum, boolFloat(st.GetQuorum()))
	gauge(descWatchers, float64(st.GetWatchers()))
	gauge(descWitnesses, float64(len(st.GetWitnesses())))
	gauge(descSilent, float64(len(st.GetSilentWitnesses())))
	counter(descHeartbeats, float64(c.s.metrics.heartbeats.Load()))

	interval := c.s.cfg.HeartbeatInterval.Milliseconds()
	byState := map[topology.State]int{}
	var owned, migrating, moving, stuck int64
	for _, ns := range st.GetNodes() {
		n := ns.GetNode()
		id, state, load := n.GetId(), topology.State(n.GetState()), n.GetLoad()
		byState[state]++
		owned += int64(ns.GetSlots())
		migrating += int64(ns.GetSlotsOut())
		moving += load.GetMigratingSlots()
		stuck += load.GetStuckSlots()
		gauge(descNodeSlots, float64(ns.GetSlots()), id)
		gauge(descNodeIn, float64(ns.GetSlotsIn()), id)
		gauge(descNodeOut, float64(ns.GetSlotsOut()), id)
		for _, sn := range stateNames {
			gauge(descNodeState, boolFloat(sn.state == state), id, sn.name)
		}
		gauge(descNodeKeys, float64(load.GetKeys()), id)
		gauge(descNodeMemory, float64(load.GetUsedMemoryBytes()), id)
		gauge(descNodeOps, float64(load.GetOpsPerSec()), id)
		gauge(descNodeMoving, float64(load.GetMigratingSlots()), id)
		counter(descNodeMoved, float64(load.GetSlotsMoved()), id)
		counter(descNodeMovedKey, float64(load.GetKeysMoved()), id)
		counter(descNodeMovedB, float64(load.GetBytesMoved()), id)
		if age := ns.GetHeartbeatAgeMs(); age >= 0 {
			gauge(descNodeAge, float64(age)/1e3, id)
			if interval > 0 {
				gauge(descNodeMissed, float64(age/interval), id)
			}
		}
	}
	for _, sn := range stateNames {
		gauge(descByState, float64(byState[sn.state]), sn.name)
	}
	gauge(descUnowned, float64(int64(slot.Count)-owned))
	gauge(descMigrating, float64(migrating))
	gauge(descMoving, float64(moving))
	gauge(descStuck, float64(stuck))
	peer := st.GetPeer()
	gauge(descPeer, boolFloat(peer != nil))
	if peer != nil {
		gauge(descPeerLag, float64(peer.GetLagVersions()))
		if peer.GetAgeMs() >= 0 {
			gauge(descPeerAge, float64(peer.GetAgeMs())/1e3)
		}
	}
}

func boolFloat(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// newMetrics returns the NameNode's metrics, registered with their own
// registry (several NameNodes may share a process).
func newMetrics(s *Server) *metrics {
	m := &metrics{
		reg: prometheus.NewRegistry(),
		rpcs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "chkv_namenode_grpc_requests_total",
			Help: "gRPC calls served, by method and status code (a stream counts when it ends).",
		}, []string{"method", "code"}),
	}
	m.reg.MustRegister(nnCollector{s: s}, m.rpcs,
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// methodName is the last element of a gRPC full method name.
func methodName(full string) string { return full[strings.LastIndexByte(full, '/')+1:] }

// serverOptions count the calls and the heartbeats the NameNode serves.
func (m *metrics) serverOptions() []grpc.ServerOption {
	return []grpc.ServerOption{
		grpc.ChainUnaryInterceptor(func(ctx context.Context, req any, info *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
			if info.FullMethod == chkvpb.NameNode_Heartbeat_FullMethodName {
				m.heartbeats.Add(1)
			}
			resp, err := h(ctx, req)
			m.rpcs.WithLabelValues(methodName(info.FullMethod), status.Code(err).String()).Inc()
			return resp, err
		}),
		grpc.ChainStreamInterceptor(func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, h grpc.StreamHandler) error {
			if info.FullMethod == chkvpb.NameNode_HeartbeatStream_FullMethodName {
				ss = countingStream{ServerStream: ss, n: &m.heartbeats}
			}
			err := h(srv, ss)
			m.rpcs.WithLabelValues(methodName(info.FullMethod), status.Code(err).String()).Inc()
			return err
		}),
	}
}

// countingStream counts the messages received on a stream.
type countingStream struct {
	grpc.ServerStream
	n *atomic.Uint64
}

// RecvMsg receives a message and counts it.
func (s countingStream) RecvMsg(msg any) error {
	err := s.ServerStream.RecvMsg(msg)
	if err == nil {
		s.n.Add(1)
	}
	return err
}
