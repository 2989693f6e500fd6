package migration

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync/atomic"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/chkv/chkv/common/slot"
	"github.com/chkv/chkv/datanode/migrate"
	"github.com/chkv/chkv/datanode/ownership"
	"github.com/chkv/chkv/proto/chkvpb"
)

// incomingSlot is a slot a Migrate stream is receiving.
type incomingSlot struct {
	session uint64
	from    string
	asm     migrate.Assembler
}

// Target is the receiving side of migration: it serves the Migrate and
// HandoffStatus calls of other DataNodes.
type Target struct {
	cfg Config
	own *ownership.Table

	// Incoming migration totals since start, for metrics: slots handed
	// off to this node, and the records and record bytes received.
	slotsIn, recordsIn, bytesIn atomic.Int64
}

// NewTarget returns the receiving side of migration.
func NewTarget(cfg Config) *Target { return &Target{cfg: cfg, own: cfg.Own} }

// Received returns the incoming migration totals since start: slots handed
// off to this node, and the records and record bytes received.
func (m *Target) Received() (slots, records, bytes int64) {
	return m.slotsIn.Load(), m.recordsIn.Load(), m.bytesIn.Load()
}

// Migrate receives slots from another DataNode; see the proto.
func (m *Target) Migrate(stream chkvpb.DataNode_MigrateServer) error {
	slots := make(map[int]*incomingSlot)
	defer func() {
		for s, in := range slots {
			m.abandonIncoming(s, in.session)
		}
	}()
	for {
		req, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		s := int(req.GetSlot())
		if s >= slot.Count {
			return status.Errorf(codes.InvalidArgument, "datanode: slot %d", s)
		}
		in := slots[s]
		var reply *chkvpb.MigrateResponse
		switch req.GetKind() {
		case chkvpb.MigrateRequest_BEGIN:
			if in != nil {
				m.abandonIncoming(s, in.session)
				delete(slots, s)
			}
			if err := m.beginIncoming(s, req.GetSession()); err != nil {
				reply = &chkvpb.MigrateResponse{Slot: req.GetSlot(), Session: req.GetSession(), Error: err.Error()}
				break
			}
			slots[s] = &incomingSlot{session: req.GetSession(), from: req.GetSourceId(),
				asm: migrate.Assembler{MaxValue: m.cfg.MaxValue()}}
		case chkvpb.MigrateRequest_DATA:
			if in == nil || in.session != req.GetSession() {
				continue // an abandoned attempt's tail
			}
			if err := m.applyRecords(s, in, req.GetRecords()); err != nil {
				m.abandonIncoming(s, in.session)
				delete(slots, s)
				reply = &chkvpb.MigrateResponse{Slot: req.GetSlot(), Session: req.GetSession(), Error: err.Error()}
			}
		case chkvpb.MigrateRequest_HANDOFF:
			reply = &chkvpb.MigrateResponse{Slot: req.GetSlot(), Session: req.GetSession()}
			if in == nil || in.session != req.GetSession() {
				reply.Error = "handoff of a slot not being received"
				break
			}
			delete(slots, s)
			if err := m.acceptHandoff(s, in.session, in.from); err != nil {
				reply.Error = err.Error()
			} else {
				reply.HandedOff = true
			}
		case chkvpb.MigrateRequest_ABORT:
			if in != nil && in.session == req.GetSession() {
				m.abandonIncoming(s, in.session)
				delete(slots, s)
			}
		default:
			return status.Errorf(codes.InvalidArgument, "datanode: migrate message of kind %v", req.GetKind())
		}
		if reply != nil {
			if err := stream.Send(reply); err != nil {
				return err
			}
		}
	}
}

// HandoffStatus settles a handoff whose acknowledgement was lost.
func (m *Target) HandoffStatus(_ context.Context, req *chkvpb.HandoffStatusRequest) (*chkvpb.HandoffStatusResponse, error) {
	s := int(req.GetSlot())
	if s >= slot.Count || req.GetSession() == 0 {
		return nil, status.Errorf(codes.InvalidArgument, "datanode: slot %d session %d", s, req.GetSession())
	}
	return &chkvpb.HandoffStatusResponse{HandedOff: m.handoffStatus(s, req.GetSession())}, nil
}

// beginIncoming starts receiving slot s under session, dropping anything
// the node holds of it. A slot the node serves is refused.
func (m *Target) beginIncoming(s int, session uint64) error {
	if session == 0 {
		return errors.New("session 0")
	}
	m.own.Lock(s)
	defer m.own.Unlock(s)
	if m.own.Serves(m.own.View(), s) {
		return fmt.Errorf("slot %d is served by this node", s)
	}
	sl := m.cfg.Store.Slot(s)
	sl.Lock()
	m.own.SetIncoming(s, session)
	sl.Clear()
	sl.Unlock()
	return nil
}

// applyRecords writes a DATA message's records to slot s, if the slot is
// still being received under in's session.
func (m *Target) applyRecords(s int, in *incomingSlot, records []byte) error {
	sl := m.cfg.Store.Slot(s)
	now := time.Now().UnixMilli()
	sl.Lock()
	defer sl.Unlock()
	if m.own.Incoming(s) != in.session {
		return nil // cancelled: the slot came by another way
	}
	m.bytesIn.Add(int64(len(records)))
	for len(records) > 0 {
		r, rest, err := migrate.Next(records)
		if err != nil {
			return err
		}
		records = rest
		m.recordsIn.Add(1)
		if slot.Of(r.Key) != s {
			return fmt.Errorf("key %q is not in slot %d", r.Key, s)
		}
		whole, ok, err := in.asm.Add(r)
		if err != nil {
			return err
		}
		if !ok {
			continue
		}
		if whole.Deleted {
			sl.Delete(whole.Key)
			continue
		}
		var expireAt int64
		if whole.TTL > 0 {
			expireAt = now + whole.TTL
		}
		if err := restoreRecord(sl, whole, expireAt, now, m.cfg.ValidValue); err != nil {
			return err
		}
	}
	return nil
}

// acceptHandoff makes the node serve slot s, received under session from
// node from, and queues the handoff's report.
func (m *Target) acceptHandoff(s int, session uint64, from string) error {
	m.own.Lock(s)
	defer m.own.Unlock(s)
	if m.own.Incoming(s) != session {
		return fmt.Errorf("slot %d: session %d was cancelled", s, session)
	}
	sl := m.cfg.Store.Slot(s)
	sl.Lock()
	m.own.SetIncoming(s, 0)
	sl.Unlock()
	m.own.SetAccepted(s, session)
	m.slotsIn.Add(1)
	if !m.own.View().Owns(s) {
		m.own.SetIn(s, &ownership.HandedIn{From: from})
		m.cfg.Accepted(s, from)
	}
	return nil
}

// handoffStatus reports whether the handoff of slot s under session was
// accepted; if not, it makes sure it never will be.
func (m *Target) handoffStatus(s int, session uint64) bool {
	m.own.Lock(s)
	defer m.own.Unlock(s)
	if m.own.Accepted(s) == session {
		return true
	}
	m.abandonLocked(s, session)
	return false
}

// abandonIncoming drops what was received of slot s under session, unless
// another session has taken the slot over since.
func (m *Target) abandonIncoming(s int, session uint64) {
	m.own.Lock(s)
	defer m.own.Unlock(s)
	m.abandonLocked(s, session)
}

func (m *Target) abandonLocked(s int, session uint64) {
	sl := m.cfg.Store.Slot(s)
	sl.Lock()
	defer sl.Unlock()
	if m.own.Incoming(s) == session {
		m.own.SetIncoming(s, 0)
		sl.Clear()
	}
}
