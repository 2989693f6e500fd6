package membership

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/chkv/chkv/common/topology"
	"github.com/chkv/chkv/datanode/drainport"
	"github.com/chkv/chkv/datanode/ownership"
	"github.com/chkv/chkv/proto/chkvpb"
)

// drainState follows this node's drain: when it began, how many slots it
// had then, and whether it has finished.
type drainState struct {
	mu       sync.Mutex
	total    int  // slots owned when the drain began
	started  bool // the topology (or a Drain call) showed the node draining
	finished bool // the topology showed the node drained
	done     chan struct{}
}

// observe updates the drain from a newly applied view. The drain is done
// when the topology shows the node drained: it owns nothing, is the target
// of nothing and is no longer a witness, so stopping it never costs the
// cluster its quorum. A node made joining again (undrain, --rejoin) may
// drain again. The caller holds applyMu.
func (d *drainState) observe(m *Member, v *ownership.View) {
	if v.Self < 0 {
		return
	}
	st := v.Top.Nodes[v.Self].State
	d.mu.Lock()
	defer d.mu.Unlock()
	switch st {
	case topology.Draining, topology.Drained:
	case topology.Joining, topology.Up:
		if d.started {
			d.started, d.finished, d.total = false, false, 0
			m.log.Info("joining again after a drain: receiving slots")
		}
		return
	default:
		return
	}
	owned := v.Top.SlotCount(v.Self)
	if !d.started {
		d.started = true
		d.total = max(d.total, owned)
		if st == topology.Draining {
			m.log.Info("draining: moving every slot to the other datanodes", "slots", owned)
		}
	}
	if st == topology.Drained && !d.finished {
		d.finished = true
		select {
		case <-d.done:
		default:
			close(d.done)
		}
		m.log.Info("drained: this node owns no slots, is no witness and can be stopped; " +
			"chkvctl undrain or --rejoin brings it back, chkvctl remove forgets it")
	}
}

// isFinished reports whether the newest topology that listed this node
// showed it drained. It stays so when a later topology drops the node
// (removed), until one shows it joining again.
func (d *drainState) isFinished() bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.finished
}

// StartDrain asks a NameNode to drain this node. It returns once the drain
// has been accepted. When every NameNode is unavailable (a standby, one
// without a majority, or unreachable) the error wraps
// drainport.ErrNoActiveNameNode, and the drain port retries.
func (m *Member) StartDrain(ctx context.Context) error {
	var errs []error
	transient := true
	err := m.nns.TryEach(ctx, 5*time.Second, func(ctx context.Context, _ int, nn chkvpb.NameNodeClient) error {
		resp, err := nn.Drain(ctx, &chkvpb.DrainRequest{Node: m.cfg.ID})
		if err != nil {
			errs = append(errs, err)
			if code := status.Code(err); code != codes.Unavailable && code != codes.DeadlineExceeded {
				transient = false
			}
			return err
		}
		m.drain.mu.Lock()
		m.drain.total = max(m.drain.total, int(resp.GetSlots()))
		m.drain.mu.Unlock()
		m.log.Info("drain accepted by namenode", "slots", resp.GetSlots(), "version", resp.GetVersion())
		return nil
	})
	if err == nil {
		return nil
	}
	if transient && len(errs) > 0 && ctx.Err() == nil {
		return fmt.Errorf("%w: %w", drainport.ErrNoActiveNameNode, errors.Join(errs...))
	}
	return errors.Join(errs...)
}

// Progress describes this node's drain for the drain port.
func (m *Member) Progress() drainport.Progress {
	v := m.own.View()
	load := m.host.MigrationLoad()
	p := drainport.Progress{
		Node:        m.cfg.ID,
		SlotsMoving: int(load.MigratingSlots),
		StuckSlots:  int(load.StuckSlots),
		KeysMoved:   load.KeysMoved,
		BytesMoved:  load.BytesMoved,
		State:       "unregistered",
	}
	if v.Self >= 0 {
		p.State = v.Top.Nodes[v.Self].State.String()
		p.SlotsLeft = v.Top.SlotCount(v.Self)
		p.Done = v.Top.Nodes[v.Self].State == topology.Drained
	}
	m.drain.mu.Lock()
	p.Draining, p.SlotsTotal = m.drain.started, max(m.drain.total, p.SlotsLeft)
	m.drain.mu.Unlock()
	if m.retired.Load() {
		p.Done, p.State = true, "removed"
	}
	return p
}
