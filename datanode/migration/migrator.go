package migration

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/time/rate"
	"google.golang.org/grpc"

	"github.com/chkv/chkv/common/group"
	"github.com/chkv/chkv/common/slot"
	"github.com/chkv/chkv/common/topology"
	"github.com/chkv/chkv/datanode/ownership"
	"github.com/chkv/chkv/datanode/store"
)

// Migration scheduling.
const (
	// groupSlots is how many slots to one target a worker moves together,
	// sharing their round trips.
	groupSlots = 32
	retryBase  = 100 * time.Millisecond
	retryMax   = 5 * time.Second
	// StuckAttempts is how many failed attempts in a row make a slot's
	// move show as stuck in status.
	StuckAttempts = 3
	// maxPauseSamples bounds the cutover pauses kept for CutoverPauses.
	maxPauseSamples = 1 << 16
)

// errRetry ends an attempt at a slot that should be retried at once,
// without counting as a failure: the slot was flushed or replanned, or its
// backlog would not shrink.
var errRetry = errors.New("datanode: migration restarted")

// Config is what migration needs from its node.
type Config struct {
	// SelfID is the node's ID.
	SelfID string
	// Store holds the slots' data.
	Store *store.Store
	// Own is the node's slot-ownership table: migration pauses a slot by
	// its gate and records handoffs in its overrides.
	Own *ownership.Table
	// Log receives migration's warnings.
	Log *slog.Logger
	// Group runs the goroutines of the migration streams; they stop with
	// it.
	Group *group.Group
	// DialOptions are used to dial other DataNodes.
	DialOptions []grpc.DialOption
	// Rate bounds the bytes per second sent; 0: unlimited.
	Rate int64
	// Workers is how many groups of slots move at once (at least one).
	Workers int
	// Hook, when set, is called at each step of a slot's migration (tests).
	Hook func(step string, slot int)
	// HandedOff is called when a target acknowledged the handoff of slot
	// s: the NameNode should be told at once.
	HandedOff func(s int, to string)
	// Accepted is called when this node accepted slot s from node from by
	// handoff and the topology does not show it yet: the NameNode should
	// be told if the source does not tell it.
	Accepted func(s int, from string)
	// MaxValue returns the largest value a received record may hold.
	MaxValue func() int
	// ValidValue reports whether a received value of a type other than
	// string is well formed; nil refuses every such value.
	ValidValue func(typ store.Type, value []byte) bool
}

// errStopped is returned when the node stops while a stream opens.
var errStopped = errors.New("datanode: server stopped")

// job is one slot to move to another DataNode.
type job struct {
	slot      int
	to        topology.Node
	attempts  int
	notBefore time.Time
	running   bool
	ctx       context.Context    // the running attempt's
	cancel    context.CancelFunc // non-nil while running
}

// Migrator is the source side of migration. It moves the slots this node owns and the topology targets at
// another node: it keeps one job per such slot and runs them on a fixed
// number of workers, each with its own streams to the targets.
type Migrator struct {
	cfg     Config
	own     *ownership.Table
	limiter *rate.Limiter // nil: unlimited

	mu    sync.Mutex
	jobs  [slot.Count]*job
	count int   // non-nil jobs
	queue []int // slots whose jobs wait to run, oldest first
	wake  chan struct{}

	conns sync.Map // gRPC address -> *grpc.ClientConn, shared by workers

	slotsMoved, keysMoved, bytesMoved atomic.Int64
	failedMoves                       atomic.Int64 // attempts that failed and are retried

	pauseMu sync.Mutex
	pauses  []time.Duration
}

// NewMigrator returns a migrator with no jobs; Start starts its workers.
func NewMigrator(cfg Config) *Migrator {
	g := &Migrator{cfg: cfg, own: cfg.Own, wake: make(chan struct{}, 1)}
	if r := cfg.Rate; r > 0 {
		// A tenth of a second's worth at once keeps the pace smooth.
		g.limiter = rate.NewLimiter(rate.Limit(r), int(max(r/10, batchBytes)))
	}
	return g
}

// Start starts the workers in grp; they stop with it.
func (g *Migrator) Start(grp *group.Group) {
	for range max(g.cfg.Workers, 1) {
		grp.Go(g.work)
	}
}

// Close closes the connections to other DataNodes.
func (g *Migrator) Close() {
	g.conns.Range(func(k, v any) bool {
		v.(*grpc.ClientConn).Close()
		g.conns.Delete(k)
		return true
	})
}

// Plan makes the jobs match view v: one per slot the node owns (and has not
// handed off, or has in doubt) whose target is another node. A job whose
// slot no longer needs it, or whose target changed, is cancelled.
func (g *Migrator) Plan(v *ownership.View) {
	g.mu.Lock()
	defer g.mu.Unlock()
	added := false
	for s := range slot.Count {
		var to *topology.Node
		if v.Self >= 0 && v.Top.Owners[s] == v.Self {
			tg := v.Top.Target[s]
			h := g.own.Out(s)
			if tg != v.Self && tg != topology.Unowned && (h == nil || h.InDoubt) {
				to = &v.Top.Nodes[tg]
			}
		}
		j := g.jobs[s]
		if j != nil && (to == nil || to.ID != j.to.ID || to.GRPCAddr != j.to.GRPCAddr) {
			if j.cancel != nil {
				j.cancel()
			}
			g.jobs[s], j = nil, nil
			g.count--
		}
		if j == nil && to != nil {
			g.jobs[s] = &job{slot: s, to: *to}
			g.count++
			g.queue = append(g.queue, s)
			added = true
		}
	}
	if added {
		g.signal()
	}
}

func (g *Migrator) signal() {
	select {
	case g.wake <- struct{}{}:
	default:
	}
}

// next takes up to groupSlots due jobs for one target, marking them
// running; when none is due it returns how long until one is (0: none
// queued).
func (g *Migrator) next(ctx context.Context, now time.Time) ([]*job, time.Duration) {
	g.mu.Lock()
	defer g.mu.Unlock()
	var picked []*job
	var wait time.Duration
	kept := g.queue[:0]
	for i, s := range g.queue {
		j := g.jobs[s]
		if j == nil || j.running {
			continue // cancelled, or queued twice
		}
		due := j.notBefore.Sub(now)
		if len(picked) >= groupSlots || i > 4*groupSlots+len(picked) || due > 0 ||
			(len(picked) > 0 && j.to.ID != picked[0].to.ID) {
			if due > 0 && (wait == 0 || due < wait) {
				wait = due
			}
			kept = append(kept, s)
			continue
		}
		j.ctx, j.cancel = context.WithCancel(ctx)
		j.running = true
		picked = append(picked, j)
	}
	g.queue = kept
	return picked, wait
}

// finish records the end of an attempt at j: done, to retry, or gone.
func (g *Migrator) finish(j *job, err error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	j.cancel()
	j.running, j.cancel, j.ctx = false, nil, nil
	if g.jobs[j.slot] != j {
		return // replanned meanwhile
	}
	if err == nil {
		g.jobs[j.slot] = nil
		g.count--
		return
	}
	if !errors.Is(err, errRetry) {
		j.attempts++
		j.notBefore = time.Now().Add(min(retryBase<<min(j.attempts-1, 10), retryMax))
	}
	g.queue = append(g.queue, j.slot)
	g.signal()
}

// Load reports the migration figures for heartbeats and status.
func (g *Migrator) Load() topology.MigrationLoad {
	g.mu.Lock()
	stuck := 0
	for _, j := range g.jobs {
		if j != nil && j.attempts >= StuckAttempts {
			stuck++
		}
	}
	pending := g.count
	g.mu.Unlock()
	return topology.MigrationLoad{
		MigratingSlots: int64(pending),
		StuckSlots:     int64(stuck),
		SlotsMoved:     g.slotsMoved.Load(),
		KeysMoved:      g.keysMoved.Load(),
		BytesMoved:     g.bytesMoved.Load(),
	}
}

// work runs groups of jobs until ctx ends, keeping one stream per target.
func (g *Migrator) work(ctx context.Context) {
	streams := make(map[string]*outStream)
	defer func() {
		for _, st := range streams {
			st.close()
		}
	}()
	for ctx.Err() == nil {
		jobs, wait := g.next(ctx, time.Now())
		if len(jobs) == 0 {
			var timer <-chan time.Time
			if wait > 0 {
				timer = time.After(wait)
			}
			select {
			case <-ctx.Done():
			case <-g.wake:
			case <-timer:
			}
			continue
		}
		g.signal() // another idle worker may find more
		to := jobs[0].to
		st := streams[to.ID]
		var err error
		if st == nil || st.broken() {
			if st != nil {
				st.close()
			}
			delete(streams, to.ID)
			if st, err = g.openStream(ctx, to); err == nil {
				streams[to.ID] = st
			}
		}
		errs := make([]error, len(jobs))
		if err != nil {
			for i := range errs {
				errs[i] = err
			}
		} else {
			errs = g.moveGroup(jobs, st)
			if st.broken() {
				st.close()
				delete(streams, to.ID)
			}
		}
		for i, j := range jobs {
			if err := errs[i]; err != nil && !errors.Is(err, errRetry) && ctx.Err() == nil && j.ctx.Err() == nil {
				g.failedMoves.Add(1)
				g.cfg.Log.Warn("slot migration failed; retrying", "slot", j.slot, "target", j.to.ID,
					"attempt", j.attempts+1, "err", err)
			}
			g.finish(j, errs[i])
		}
	}
}

// FailedMoves returns how many attempts to move a slot failed (and were
// retried) since the node started.
func (g *Migrator) FailedMoves() int64 { return g.failedMoves.Load() }

// CutoverPauses returns the write pauses of the most recent slot
// handoffs, oldest first.
func (g *Migrator) CutoverPauses() []time.Duration {
	g.pauseMu.Lock()
	defer g.pauseMu.Unlock()
	return slices.Clone(g.pauses)
}

// hook calls the test hook, if any, at a migration step.
func (g *Migrator) hook(step string, slot int) {
	if g.cfg.Hook != nil {
		g.cfg.Hook(step, slot)
	}
}

// recordPause keeps a cutover's write pause for CutoverPauses.
func (g *Migrator) recordPause(d time.Duration) {
	g.pauseMu.Lock()
	defer g.pauseMu.Unlock()
	if len(g.pauses) >= maxPauseSamples {
		g.pauses = g.pauses[1:]
	}
	g.pauses = append(g.pauses, d)
}
