package membership

import (
	"context"
	"slices"
	"sync"
	"time"

	"github.com/chkv/chkv/common/topology"
	"github.com/chkv/chkv/proto/chkvpb"
)

// reporter tells the NameNodes about handoffs until a committed version
// shows them. The source of a handoff reports at once; the target only if
// the commit has not come a heartbeat interval later (the source died).
type reporter struct {
	m       *Member
	wake    chan struct{}
	mu      sync.Mutex
	pending map[int]pendingHandoff
}

type pendingHandoff struct {
	h        *chkvpb.Handoff
	notUntil time.Duration // member clock
}

func newReporter(m *Member) *reporter {
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
		req := &chkvpb.ReportHandoffRequest{NodeId: r.m.cfg.ID, Handoffs: due}
		// Each failure is logged; the handoffs stay pending, reported
		// again next round, until a topology shows them (prune).
		_ = r.m.nns.TryEach(ctx, interval, func(ctx context.Context, _ int, nn chkvpb.NameNodeClient) error {
			resp, err := nn.ReportHandoff(ctx, req)
			if err != nil {
				r.m.log.Debug("reporting handoffs failed", "err", err, "slots", len(due))
				return err
			}
			r.m.log.Debug("handoffs reported", "slots", len(due), "version", resp.GetVersion())
			return nil
		})
	}
}
