package namenode

import (
	"fmt"
	"slices"

	"github.com/chkv/chkv/common/slot"
	"github.com/chkv/chkv/common/topology"
	"github.com/chkv/chkv/proto/chkvpb"
)

// maxHandoffsPerReport bounds one ReportHandoff request.
const maxHandoffsPerReport = slot.Count

// reportHandoff queues the reported handoffs for the next commit and
// commits. A handoff that no longer matches the topology (the slot has
// another owner by now, or either node is not live) changes nothing, so
// repeated reports from both ends are harmless.
func (s *Server) reportHandoff(req *chkvpb.ReportHandoffRequest) (*version, error) {
	if len(req.GetHandoffs()) > maxHandoffsPerReport {
		return nil, fmt.Errorf("%w: %d handoffs in one report", ErrInvalidNode, len(req.GetHandoffs()))
	}
	cur := s.cur.Load().topo
	var hs []topology.Handoff
	for _, h := range req.GetHandoffs() {
		sl := int(h.GetSlot())
		if sl >= slot.Count {
			return nil, fmt.Errorf("%w: slot %d", ErrInvalidNode, sl)
		}
		if o := cur.Owner(sl); o == nil || o.ID != h.GetFromId() {
			continue // already committed, or overtaken
		}
		hs = append(hs, topology.Handoff{Slot: sl, From: h.GetFromId(), To: h.GetToId()})
	}
	if !s.isActive() {
		return nil, s.notActive()
	}
	if len(hs) == 0 {
		return s.cur.Load(), nil
	}
	s.mu.Lock()
	s.handoffs = append(s.handoffs, hs...)
	s.dirty = true
	s.mu.Unlock()
	return s.commitPending()
}

// Drain marks the DataNode named by id, RESP or gRPC address as draining,
// as the Drain call does, and returns what that call would.
func (s *Server) Drain(name string, force bool) (*chkvpb.DrainResponse, error) {
	return s.drain(name, force)
}

// drain marks the DataNode named by id, RESP or gRPC address as draining
// and commits, which retargets its slots to the least loaded nodes.
func (s *Server) drain(name string, force bool) (*chkvpb.DrainResponse, error) {
	slots := 0
	n, v, err := s.changeNode(name, func(i int, n topology.Node) error {
		switch {
		case n.State == topology.Down || s.members[n.ID] == nil || s.members[n.ID].down:
			return fmt.Errorf("%w: %q", ErrNodeDown, n.ID)
		case n.State == topology.Draining, n.State == topology.Drained:
		default:
			others := slices.ContainsFunc(s.nodes, func(o topology.Node) bool {
				return o.ID != n.ID && (o.State == topology.Up || o.State == topology.Joining)
			})
			if !others && !force {
				return fmt.Errorf("%w: %q", ErrLastNode, n.ID)
			}
			s.nodes[i].State = topology.Draining
			s.dirty = true
			s.log.Info("datanode draining", "datanode", n.ID, "force", force)
		}
		before := s.cur.Load().topo
		if j := before.Index(n.ID); j >= 0 {
			slots = before.SlotCount(j)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &chkvpb.DrainResponse{NodeId: n.ID, Slots: uint32(slots), Epoch: v.topo.Epoch, Version: v.topo.Version}, nil
}
