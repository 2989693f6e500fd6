package fakenamenode

import (
	"fmt"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/chkv/chkv/proto/chkvpb"
)

// AddDataNodes adds a DataNode to the table for each of slots, up and
// owning that many slots: the i-th in the table is "dn-i", with RESP
// address 10.0.0.i:6379 and gRPC address 10.0.0.i:7379.
func (n *NameNode) AddDataNodes(slots ...uint32) {
	n.mu.Lock()
	defer n.mu.Unlock()
	for _, s := range slots {
		i := len(n.nodes)
		n.nodes = append(n.nodes, &chkvpb.NodeStatus{
			Node: &chkvpb.Node{Id: fmt.Sprintf("dn-%d", i), RespAddr: fmt.Sprintf("10.0.0.%d:6379", i),
				GrpcAddr: fmt.Sprintf("10.0.0.%d:7379", i), State: chkvpb.NodeState_NODE_STATE_UP, Load: &chkvpb.Load{}},
			Slots: s,
		})
	}
}

// SetStep sets how many slots each Status call moves off every draining
// node, after answering, as a migration would between two polls.
func (n *NameNode) SetStep(slots uint32) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.step = slots
}

// UpdateNodes calls fn with the node table, under the NameNode's lock.
func (n *NameNode) UpdateNodes(fn func(nodes []*chkvpb.NodeStatus)) {
	n.mu.Lock()
	defer n.mu.Unlock()
	fn(n.nodes)
}

// drainNode answers req from the table as the NameNode does: the node
// named by ID, RESP or gRPC address starts draining all its slots.
// n.mu is held.
func (n *NameNode) drainNode(req *chkvpb.DrainRequest) (*chkvpb.DrainResponse, error) {
	var d *chkvpb.NodeStatus
	others := false
	for _, ns := range n.nodes {
		if id := ns.Node.Id; id == req.Node || ns.Node.RespAddr == req.Node || ns.Node.GrpcAddr == req.Node {
			d = ns
		} else if st := ns.Node.State; st == chkvpb.NodeState_NODE_STATE_UP || st == chkvpb.NodeState_NODE_STATE_JOINING {
			others = true
		}
	}
	switch {
	case d == nil:
		return nil, status.Errorf(codes.NotFound, "namenode: no such datanode: %q", req.Node)
	case d.Node.State == chkvpb.NodeState_NODE_STATE_DOWN:
		return nil, status.Errorf(codes.FailedPrecondition, "namenode: datanode is down: %q", d.Node.Id)
	case !others && !req.Force:
		return nil, status.Errorf(codes.FailedPrecondition, "namenode: the last datanode holding data cannot be drained without force: %q", d.Node.Id)
	}
	if d.Node.State != chkvpb.NodeState_NODE_STATE_DRAINING {
		d.Node.State = chkvpb.NodeState_NODE_STATE_DRAINING
		n.version++
	}
	d.SlotsOut = d.Slots
	return &chkvpb.DrainResponse{NodeId: d.Node.Id, Slots: d.Slots, Epoch: n.epoch, Version: n.version}, nil
}

// migrate hands off a step of slots of every draining node, with the
// totals a migration would add. n.mu is held.
func (n *NameNode) migrate() {
	for _, ns := range n.nodes {
		if ns.Node.State != chkvpb.NodeState_NODE_STATE_DRAINING {
			continue
		}
		moved := min(n.step, ns.Slots)
		ns.Slots -= moved
		ns.SlotsOut = ns.Slots
		ns.Node.Load.MigratingSlots = int64(min(ns.Slots, 8))
		ns.Node.Load.SlotsMoved += int64(moved)
		ns.Node.Load.KeysMoved += 10 * int64(moved)
		ns.Node.Load.BytesMoved += 1000 * int64(moved)
		if moved > 0 {
			n.version++
		}
	}
}
