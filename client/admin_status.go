package client

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/chkv/chkv/common/topology"
	"github.com/chkv/chkv/proto/chkvpb"
)

// NameNodeRole is what a NameNode is to the cluster.
type NameNodeRole string

// The roles of a NameNode.
const (
	RoleActive      NameNodeRole = "active"
	RoleStandby     NameNodeRole = "standby"
	RoleUnreachable NameNodeRole = "unreachable" // it did not answer
)

// NameNodeStatus is one NameNode of the pair.
type NameNodeStatus struct {
	Address string
	ID      string // empty when unreachable
	Role    NameNodeRole
	Epoch   uint64
	Version uint64
	// Quorum: the active hears from a majority of the DataNodes.
	Quorum bool
	// On the active: how many versions the standby is behind, and how
	// long ago it last acknowledged; negative when it never did.
	StandbyLag uint64
	StandbyAge time.Duration
	// Reason says why it is standby, or why the active has no majority.
	Reason string
	// Err is why it did not answer, when unreachable.
	Err error
}

// Note is a one-line remark on the NameNode: why it is unreachable or
// standby, whether the active can change the topology, and how far
// behind its standby is.
func (n NameNodeStatus) Note() string {
	switch {
	case n.Role == RoleActive && !n.Quorum && n.Reason != "":
		return n.Reason + ": not changing the topology"
	case n.Role == RoleActive && !n.Quorum:
		return "no majority of datanodes: not changing the topology"
	case n.Role == RoleStandby && n.Reason != "":
		return n.Reason
	case n.Role == RoleActive && n.StandbyAge < 0:
		return "no standby following"
	case n.Role == RoleActive:
		return fmt.Sprintf("standby lag %d versions, acked %s ago", n.StandbyLag, n.StandbyAge)
	case n.Err != nil:
		return n.Err.Error()
	}
	return ""
}

// DataNodeStatus is one DataNode as a NameNode sees it.
type DataNodeStatus struct {
	ID          string
	Address     string // RESP
	GRPCAddress string
	State       topology.State
	Slots       int   // slots it owns
	Keys        int64 // keys it holds
	UsedMemory  int64 // bytes
	OpsPerSec   int64
	// HeartbeatAge is the time since its last heartbeat; negative when
	// the NameNode has none.
	HeartbeatAge time.Duration
	// Slots the ring gives the node that it does not own yet, and slots
	// it owns that the ring gives to another node.
	SlotsIn, SlotsOut int
	// Its outgoing migration: slots moving now, slots whose move keeps
	// failing, and the totals handed off since the node started.
	MigratingSlots, StuckSlots        int64
	SlotsMoved, KeysMoved, BytesMoved int64
}

// Migration summarizes the node's outgoing migration, like "3 moving, 1
// stuck": empty when nothing is moving or stuck.
func (n DataNodeStatus) Migration() string {
	var parts []string
	if n.MigratingSlots > 0 {
		parts = append(parts, fmt.Sprintf("%d moving", n.MigratingSlots))
	}
	if n.StuckSlots > 0 {
		parts = append(parts, fmt.Sprintf("%d stuck", n.StuckSlots))
	}
	return strings.Join(parts, ", ")
}

// ClusterStatus is the NameNode pair and the DataNodes, as Admin.Status
// returns them.
type ClusterStatus struct {
	// NameNodes are every NameNode asked, in the order of their addresses.
	NameNodes []NameNodeStatus
	// NameNode is the ID of the NameNode whose view the rest is: the
	// active, else the first that answered.
	NameNode  string
	Epoch     uint64
	Version   uint64
	Watchers  int64 // clients watching its topology
	DataNodes []DataNodeStatus
	// Slots owned by one node that the ring gives to another (the sum of
	// the nodes' SlotsOut), and the nodes' stuck slots.
	MigratingSlots int64
	StuckSlots     int64
	// The witnesses (joining, up and draining DataNodes: they vote and
	// stage), how many of them may fail with the cluster still able to
	// change its topology, and those the NameNode has not heard from.
	Witnesses       []string
	MayFail         int
	SilentWitnesses []string
}

// pairStatus builds the status from every NameNode's answer (nil where
// errs holds why it did not answer).
func pairStatus(addrs []string, answers []*chkvpb.StatusResponse, errs []error) (ClusterStatus, error) {
	var main *chkvpb.StatusResponse
	var nns []NameNodeStatus
	for i, a := range answers {
		ns := NameNodeStatus{Address: addrs[i], Role: RoleUnreachable}
		if a == nil {
			ns.Err = errs[i]
			nns = append(nns, ns)
			continue
		}
		ns.ID, ns.Epoch, ns.Version, ns.Quorum = a.GetNamenodeId(), a.GetEpoch(), a.GetVersion(), a.GetQuorum()
		ns.Reason = a.GetReason()
		ns.Role = RoleStandby
		if a.GetRole() == chkvpb.NameNodeRole_NAMENODE_ROLE_ACTIVE {
			ns.Role = RoleActive
			if p := a.GetPeer(); p != nil {
				ns.StandbyLag, ns.StandbyAge = p.GetLagVersions(), time.Duration(p.GetAgeMs())*time.Millisecond
			}
			if main == nil || main.GetRole() != chkvpb.NameNodeRole_NAMENODE_ROLE_ACTIVE {
				main = a
			}
		}
		if main == nil {
			main = a
		}
		nns = append(nns, ns)
	}
	if main == nil {
		return ClusterStatus{}, errors.Join(errs...)
	}
	st := statusFromProto(main)
	st.NameNodes = nns
	return st, nil
}

// statusFromProto converts one NameNode's answer.
func statusFromProto(r *chkvpb.StatusResponse) ClusterStatus {
	s := ClusterStatus{NameNode: r.GetNamenodeId(), Epoch: r.GetEpoch(), Version: r.GetVersion(), Watchers: r.GetWatchers(),
		DataNodes: []DataNodeStatus{},
		Witnesses: append([]string{}, r.GetWitnesses()...), SilentWitnesses: append([]string{}, r.GetSilentWitnesses()...)}
	s.MayFail = max(0, (len(s.Witnesses)-1)/2)
	for _, n := range r.GetNodes() {
		ns := dataNodeFromProto(n)
		s.DataNodes = append(s.DataNodes, ns)
		s.MigratingSlots += int64(ns.SlotsOut)
		s.StuckSlots += ns.StuckSlots
	}
	return s
}

func dataNodeFromProto(n *chkvpb.NodeStatus) DataNodeStatus {
	load := n.GetNode().GetLoad()
	return DataNodeStatus{
		ID: n.GetNode().GetId(), Address: n.GetNode().GetRespAddr(), GRPCAddress: n.GetNode().GetGrpcAddr(),
		State: topology.State(n.GetNode().GetState()),
		Slots: int(n.GetSlots()), Keys: load.GetKeys(),
		UsedMemory:   load.GetUsedMemoryBytes(),
		OpsPerSec:    load.GetOpsPerSec(),
		HeartbeatAge: time.Duration(n.GetHeartbeatAgeMs()) * time.Millisecond,
		SlotsIn:      int(n.GetSlotsIn()), SlotsOut: int(n.GetSlotsOut()),
		MigratingSlots: load.GetMigratingSlots(), StuckSlots: load.GetStuckSlots(),
		SlotsMoved: load.GetSlotsMoved(), KeysMoved: load.GetKeysMoved(), BytesMoved: load.GetBytesMoved(),
	}
}
