package ownership

import (
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"

	"github.com/chkv/chkv/common/slot"
	"github.com/chkv/chkv/common/topology"
	"github.com/chkv/chkv/datanode/store"
)

// View is the node's current topology and its own index in it (-1 when the
// topology does not list it). It is replaced whole, never modified.
type View struct {
	Top  *topology.Topology
	Self int
}

// Owns reports whether the view gives slot s to this node.
func (v *View) Owns(s int) bool { return v.Self >= 0 && v.Top.Owners[s] == v.Self }

// HandedOut marks a slot this node handed off to another DataNode before
// the NameNode committed it: the node answers MOVED (or TRYAGAIN while the
// handoff is in doubt) instead of serving it.
type HandedOut struct {
	To      topology.Node
	Reply   string // the redirection sent to clients
	Session uint64 // the migration attempt that handed it off
	InDoubt bool   // the acknowledgement was lost; the node still holds the data
}

// HandedIn marks a slot this node received by handoff before the NameNode
// committed it: the node serves it.
type HandedIn struct{ From string }

// overrides are the handoffs not yet committed, on either end, and the
// incoming migrations. A slot's entries change only under its gate held
// exclusively; incoming changes under the store slot's lock too, since the
// receiver checks it while writing. They are atomic so that the checks
// made without those locks (planning, status) are well defined.
type overrides struct {
	out      [slot.Count]atomic.Pointer[HandedOut]
	in       [slot.Count]atomic.Pointer[HandedIn]
	incoming [slot.Count]atomic.Uint64 // session of an incoming migration; 0: none
	accepted [slot.Count]atomic.Uint64 // session of the last handoff accepted
}

// Config is what a Table needs from its node.
type Config struct {
	// SelfID is the node's ID.
	SelfID string
	// Store holds the slots' data; the table drops the data of slots the
	// node stops serving.
	Store *store.Store
	// Log receives the table's warnings.
	Log *slog.Logger
	// LeaseValid reports whether a NameNode's lease currently covers the
	// node; without one Admit answers CLUSTERDOWN.
	LeaseValid func() bool
}

// Table is the slot-ownership table of a DataNode in cluster mode.
type Table struct {
	cfg  Config
	view atomic.Pointer[View]
	// gates[s] is held shared by every command on slot s and exclusively
	// while the ownership of s changes, so no write lands in a slot the
	// node has just given away.
	gates [slot.Count]sync.RWMutex
	ovr   overrides
}

// New returns a table with an empty topology that serves nothing.
func New(cfg Config) *Table {
	t := &Table{cfg: cfg}
	t.view.Store(&View{Top: topology.Empty(0, 0), Self: -1})
	return t
}

// View returns the current view.
func (t *Table) View() *View { return t.view.Load() }

// Lock takes slot s's gate exclusively: no command on s runs until Unlock.
func (t *Table) Lock(s int) { t.gates[s].Lock() }

// Unlock releases the gate Lock took.
func (t *Table) Unlock(s int) { t.gates[s].Unlock() }

// Out returns slot s's uncommitted outgoing handoff, or nil.
func (t *Table) Out(s int) *HandedOut { return t.ovr.out[s].Load() }

// SetOut records (or, with nil, clears) slot s's outgoing handoff. The
// caller holds the slot's gate exclusively.
func (t *Table) SetOut(s int, h *HandedOut) { t.ovr.out[s].Store(h) }

// In returns slot s's uncommitted incoming handoff, or nil.
func (t *Table) In(s int) *HandedIn { return t.ovr.in[s].Load() }

// SetIn records slot s's incoming handoff. The caller holds the slot's
// gate exclusively.
func (t *Table) SetIn(s int, h *HandedIn) { t.ovr.in[s].Store(h) }

// Incoming returns the session of slot s's incoming migration; 0: none.
func (t *Table) Incoming(s int) uint64 { return t.ovr.incoming[s].Load() }

// SetIncoming sets the session of slot s's incoming migration (0: none).
// The caller holds the slot's gate exclusively and the store slot's lock.
func (t *Table) SetIncoming(s int, session uint64) { t.ovr.incoming[s].Store(session) }

// Accepted returns the session of the last handoff of slot s accepted.
func (t *Table) Accepted(s int) uint64 { return t.ovr.accepted[s].Load() }

// SetAccepted records the session of a handoff of slot s accepted.
func (t *Table) SetAccepted(s int, session uint64) { t.ovr.accepted[s].Store(session) }

// Serves reports whether the node serves slot s under view v. The caller
// holds gate s, shared or exclusive.
func (t *Table) Serves(v *View, s int) bool {
	if t.ovr.in[s].Load() != nil {
		return true
	}
	return v.Owns(s) && t.ovr.out[s].Load() == nil
}

// reconcile updates the overrides of slot s for the incoming view next,
// under gate s held exclusively: a handoff the topology now shows is
// dropped, and so is one it overtook. It reports whether the slot's data
// must be dropped because another node was given the slot.
func (t *Table) reconcile(next *View, s int) (drop bool) {
	o := &t.ovr
	if h := o.out[s].Load(); h != nil {
		ti := next.Top.Index(h.To.ID)
		switch {
		case !next.Owns(s):
			o.out[s].Store(nil) // committed, or reassigned: route by topology
		case ti < 0 || next.Top.Nodes[ti].State == topology.Down:
			// The target died before the NameNode committed the handoff;
			// its lease has run out, so the slot is ours again.
			o.out[s].Store(nil)
			t.cfg.Log.Warn("handoff target declared down before commit; serving the slot again",
				"slot", s, "target", h.To.ID, "data_kept", h.InDoubt)
		}
	}
	if h := o.in[s].Load(); h != nil {
		owner := next.Top.Owner(s)
		switch {
		case next.Owns(s):
			o.in[s].Store(nil) // committed
		case owner == nil || owner.ID != h.From:
			o.in[s].Store(nil) // given to another node: our copy is stale
			drop = true
		}
	}
	if o.incoming[s].Load() != 0 && next.Owns(s) && o.in[s].Load() == nil {
		// The slot came to us by reassignment, not by handoff (the source
		// died): a partial copy must not be served.
		sl := t.cfg.Store.Slot(s)
		sl.Lock()
		o.incoming[s].Store(0)
		sl.Clear()
		sl.Unlock()
	}
	return drop
}

// hasOverride reports whether slot s has any override the next view may
// change.
func (t *Table) hasOverride(s int) bool {
	o := &t.ovr
	return o.out[s].Load() != nil || o.in[s].Load() != nil || o.incoming[s].Load() != 0
}

// SetView publishes next while holding the gates of every slot whose
// ownership or handoff state may change, reconciles the handoffs not yet
// committed with it, and drops and returns the slots the node stopped
// serving. cur is the view current until now; the caller serialises
// SetView calls.
func (t *Table) SetView(cur, next *View) (lost []int) {
	var changed []int
	for s := range slot.Count {
		if cur.Owns(s) != next.Owns(s) || t.hasOverride(s) {
			changed = append(changed, s)
		}
	}
	for _, s := range changed {
		t.gates[s].Lock()
	}
	for _, s := range changed {
		before := t.Serves(cur, s)
		drop := t.reconcile(next, s)
		if drop || (before && !t.Serves(next, s)) {
			lost = append(lost, s)
			t.cfg.Store.DropSlot(s)
		}
	}
	t.view.Store(next)
	for _, s := range changed {
		t.gates[s].Unlock()
	}
	return lost
}

// Redirection replies, in Redis Cluster's exact form.
const (
	// ErrCrossSlot is the reply to a command whose keys hash to different
	// slots.
	ErrCrossSlot = "CROSSSLOT Keys in request don't hash to the same slot"
	// ErrSlotNotServed is the reply for a slot no node serves, as far as
	// this node knows.
	ErrSlotNotServed = "CLUSTERDOWN Hash slot not served"
	// ErrClusterDown is the reply while the node holds no lease.
	ErrClusterDown = "CLUSTERDOWN The cluster is down"
)

// Admit decides whether this node serves slot s. On success it returns the
// slot's gate held shared, which the caller releases (RUnlock) after the
// command ran; otherwise it returns the error reply: MOVED, the reply of
// an uncommitted handoff (MOVED, or TRYAGAIN while it is in doubt), or
// CLUSTERDOWN.
func (t *Table) Admit(s int) (*sync.RWMutex, string) {
	gate := &t.gates[s]
	gate.RLock()
	v := t.view.Load()
	owner := v.Top.Owners[s]
	if t.ovr.in[s].Load() != nil {
		owner = v.Self // received by handoff, not committed yet
	} else if h := t.ovr.out[s].Load(); h != nil {
		gate.RUnlock()
		return nil, h.Reply
	}
	switch {
	case owner == topology.Unowned || (v.Self < 0 && v.Top.Nodes[owner].ID == t.cfg.SelfID):
		// Unowned, or owned by this node in a topology it no longer
		// serves by (it is rejoining): not served anywhere it knows of.
		gate.RUnlock()
		return nil, ErrSlotNotServed
	case owner != v.Self:
		gate.RUnlock()
		return nil, fmt.Sprintf("MOVED %d %s", s, v.Top.Nodes[owner].RESPAddr)
	case !t.cfg.LeaseValid():
		gate.RUnlock()
		return nil, ErrClusterDown
	}
	return gate, ""
}
