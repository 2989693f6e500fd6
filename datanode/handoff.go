package datanode

import (
	"context"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/chkv/chkv/common/slot"
	"github.com/chkv/chkv/common/topology"
	"github.com/chkv/chkv/proto/chkvpb"
)

// handedOut marks a slot this node handed off to another DataNode before
// the NameNode committed it: the node answers MOVED (or TRYAGAIN while the
// handoff is in doubt) instead of serving it.
type handedOut struct {
	to      topology.Node
	reply   string // the redirection sent to clients
	session uint64 // the migration attempt that handed it off
	inDoubt bool   // the acknowledgement was lost; the node still holds the data
}

// handedIn marks a slot this node received by handoff before the NameNode
// committed it: the node serves it.
type handedIn struct{ from string }

// overrides are the handoffs not yet committed, on either end, and the
// incoming migrations. A slot's entries change only under its gate held
// exclusively; incoming changes under the store slot's lock too, since the
// receiver checks it while writing. They are atomic so that the checks
// made without those locks (planning, status) are well defined.
type overrides struct {
	out      [slot.Count]atomic.Pointer[handedOut]
	in       [slot.Count]atomic.Pointer[handedIn]
	incoming [slot.Count]atomic.Uint64 // session of an incoming migration; 0: none
	accepted [slot.Count]atomic.Uint64 // session of the last handoff accepted
}

// serves reports whether the node serves slot s under view v. The caller
// holds gate s, shared or exclusive.
func (m *member) serves(v *view, s int) bool {
	if m.ovr.in[s].Load() != nil {
		return true
	}
	return v.owns(s) && m.ovr.out[s].Load() == nil
}

// reconcile updates the overrides of slot s for the incoming view next,
// under gate s held exclusively: a handoff the topology now shows is
// dropped, and so is one it overtook. It reports whether the slot's data
// must be dropped because another node was given the slot.
func (m *member) reconcile(next *view, s int) (drop bool) {
	o := &m.ovr
	if h := o.out[s].Load(); h != nil {
		ti := next.top.Index(h.to.ID)
		switch {
		case !next.owns(s):
			o.out[s].Store(nil) // committed, or reassigned: route by topology
		case ti < 0 || next.top.Nodes[ti].State == topology.Down:
			// The target died before the NameNode committed the handoff;
			// its lease has run out, so the slot is ours again.
			o.out[s].Store(nil)
			m.srv.log.Warn("handoff target declared down before commit; serving the slot again",
				"slot", s, "target", h.to.ID, "data_kept", h.inDoubt)
		}
	}
	if h := o.in[s].Load(); h != nil {
		owner := next.top.Owner(s)
		switch {
		case next.owns(s):
			o.in[s].Store(nil) // committed
		case owner == nil || owner.ID != h.from:
			o.in[s].Store(nil) // given to another node: our copy is stale
			drop = true
		}
	}
	if o.incoming[s].Load() != 0 && next.owns(s) && o.in[s].Load() == nil {
		// The slot came to us by reassignment, not by handoff (the source
		// died): a partial copy must not be served.
		sl := m.srv.store.Slot(s)
		sl.Lock()
		o.incoming[s].Store(0)
		sl.Clear()
		sl.Unlock()
	}
	return drop
}

// hasOverride reports whether slot s has any override the next view may
// change.
func (m *member) hasOverride(s int) bool {
	o := &m.ovr
	return o.out[s].Load() != nil || o.in[s].Load() != nil || o.incoming[s].Load() != 0
}

// reporter tells the NameNodes about handoffs until a committed version
// shows them. The source of a handoff reports at once; the target only if
// the commit has not come a heartbeat interval later (the source died).
type reporter struct {
	m       *member
	wake    chan struct{}
	mu      sync.Mutex
	pending map[int]pendingHandoff
}

type pendingHandoff struct {
	h        *chkvpb.Handoff
	notUntil time.Duration // member clock
}

func newReporter(m *member) *reporter {
	return &reporter{m: m, wake: make(chan struct{}, 1), pending: make(map[int]pendingHandoff)}
}

// add queues a handoff for reporting after delay.
func (r *reporter) add(s int, from, to string, delay time.Duration) {
	r.mu.Lock()
	r.pending[s] = pendingHandoff{
		h:        &chkvpb.Handoff{Slot: uint32(s), FromId: from, ToId: to},
		notUntil: r.m.now() + delay,
	}
	r.mu.Unlock()
	if delay == 0 {
		select {
		case r.wake <- struct{}{}:
		default:
		}
	}
}

// prune forgets handoffs that t shows committed or overtaken.
func (r *reporter) prune(t *topology.Topology) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for s, p := range r.pending {
		if o := t.Owner(s); o == nil || o.ID != p.h.FromId {
			delete(r.pending, s)
		}
	}
}

// run reports due handoffs when woken and every heartbeat interval, until
// ctx ends.
func (r *reporter) run(ctx context.Context) {
	for {
		interval := time.Duration(r.m.interval.Load())
		select {
		case <-ctx.Done():
			return
		case <-r.wake:
		case <-time.After(interval / 4):
		}
		now := r.m.now()
		r.mu.Lock()
		var due []*chkvpb.Handoff
		for _, p := range r.pending {
			if p.notUntil <= now {
				due = append(due, p.h)
			}
		}
		r.mu.Unlock()
		if len(due) == 0 {
			continue
		}
		slices.SortFunc(due, func(a, b *chkvpb.Handoff) int { return int(a.Slot) - int(b.Slot) })
		req := &chkvpb.ReportHandoffRequest{NodeId: r.m.srv.id, Handoffs: due}
		// Each failure is logged; the handoffs stay pending, reported
		// again next round, until a topology shows them (prune).
		_ = r.m.nns.TryEach(ctx, interval, func(ctx context.Context, _ int, nn chkvpb.NameNodeClient) error {
			resp, err := nn.ReportHandoff(ctx, req)
			if err != nil {
				r.m.srv.log.Debug("reporting handoffs failed", "err", err, "slots", len(due))
				return err
			}
			r.m.srv.log.Debug("handoffs reported", "slots", len(due), "version", resp.GetVersion())
			return nil
		})
	}
}
