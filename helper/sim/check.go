package sim

import (
	"slices"

	"github.com/chkv/chkv/common/election"
	"github.com/chkv/chkv/common/slot"
	"github.com/chkv/chkv/common/topology"
)

// checker holds what the safety properties are checked against.
type checker struct {
	s *Sim
	// byVersion is the one topology each (epoch, version) names.
	byVersion map[[2]uint64]*topology.Topology
	// winner and committer are the NameNode incarnation that won, and
	// that committed in, each epoch.
	winner, committer map[uint64]election.Ref
	newest            *topology.Topology // the newest committed version
	commits           uint64
	maxEpoch          uint64
	// overlap memoises whether two DataNodes' topologies give both a slot.
	overlap map[overlapKey]int
}

type overlapKey struct {
	a, b   *topology.Topology
	ai, bi int
}

func newChecker(s *Sim) *checker {
	return &checker{s: s, byVersion: map[[2]uint64]*topology.Topology{}, winner: map[uint64]election.Ref{},
		committer: map[uint64]election.Ref{}, overlap: map[overlapKey]int{}}
}

// seed records the initial committed version.
func (c *checker) seed(t *topology.Topology) {
	c.byVersion[[2]uint64{t.Epoch, t.Version}] = t
	c.newest = t
	c.committer[t.Epoch] = election.Ref{ID: "initial"}
	c.winner[t.Epoch] = election.Ref{ID: "initial"}
}

// won: no epoch is won by two NameNode incarnations.
func (c *checker) won(n *nameNode, epoch uint64) {
	c.maxEpoch = max(c.maxEpoch, epoch)
	if w, ok := c.winner[epoch]; ok && w != n.ref {
		c.s.failf("epoch %d won by %v and by %v", epoch, w, n.ref)
	}
	c.winner[epoch] = n.ref
}

// version: one (epoch, version) names one topology.
func (c *checker) version(t *topology.Topology) {
	k := [2]uint64{t.Epoch, t.Version}
	o, ok := c.byVersion[k]
	if !ok {
		c.byVersion[k] = t
		return
	}
	if o != t && !sameTopology(o, t) {
		c.s.failf("(epoch %d, version %d) names two topologies: %s and %s", t.Epoch, t.Version, describe(o), describe(t))
	}
}

// commit: one incarnation commits in an epoch, and every commit builds on
// the newest committed version, so none is lost.
func (c *checker) commit(n *nameNode, prev, next *topology.Topology) {
	c.version(next)
	c.commits++
	if w, ok := c.committer[next.Epoch]; ok && w != n.ref {
		c.s.failf("epoch %d committed in by %v and by %v", next.Epoch, w, n.ref)
	}
	c.committer[next.Epoch] = n.ref
	if c.newest.NewerThan(prev) {
		c.s.failf("committed (%d,%d) lost: %s committed (%d,%d) on top of (%d,%d)", c.newest.Epoch, c.newest.Version,
			n.id, next.Epoch, next.Version, prev.Epoch, prev.Version)
	}
	if next.NewerThan(c.newest) {
		c.newest = next
	}
}

// step checks, after every event, that no two DataNodes may serve one
// slot now. Serving only starts at events (a lease or a topology), and
// leases only run out between them, so checking at events covers every
// instant.
func (c *checker) step() {
	var serving []*dataNode
	for _, id := range c.s.dnIDs {
		if d := c.s.dns[id]; d.serving() {
			serving = append(serving, d)
		}
	}
	for i, a := range serving {
		for _, b := range serving[i+1:] {
			if s := c.overlapSlot(a, b); s >= 0 {
				c.s.failf("%s (%d,%d) and %s (%d,%d) both serve slot %d", a.id, a.top.Epoch, a.top.Version,
					b.id, b.top.Epoch, b.top.Version, s)
				return
			}
		}
	}
}

// overlapSlot returns a slot both a and b own by their topologies, or -1.
func (c *checker) overlapSlot(a, b *dataNode) int {
	k := overlapKey{a.top, b.top, a.top.Index(a.id), b.top.Index(b.id)}
	if s, ok := c.overlap[k]; ok {
		return s
	}
	s := -1
	if k.ai >= 0 && k.bi >= 0 {
		for sl := range slot.Count {
			if a.top.Owners[sl] == k.ai && b.top.Owners[sl] == k.bi {
				s = sl
				break
			}
		}
	}
	c.overlap[k] = s
	return s
}

// unserved returns the number of slots no DataNode serves now.
func (c *checker) unserved() int {
	served := make([]bool, slot.Count)
	for _, id := range c.s.dnIDs {
		d := c.s.dns[id]
		if !d.serving() {
			continue
		}
		i := d.top.Index(d.id)
		for sl, o := range d.top.Owners {
			if o == i {
				served[sl] = true
			}
		}
	}
	n := 0
	for _, ok := range served {
		if !ok {
			n++
		}
	}
	return n
}

func sameTopology(a, b *topology.Topology) bool {
	if len(a.Nodes) != len(b.Nodes) || !slices.Equal(a.Owners, b.Owners) || !slices.Equal(a.Target, b.Target) {
		return false
	}
	for i := range a.Nodes {
		if a.Nodes[i].ID != b.Nodes[i].ID || a.Nodes[i].State != b.Nodes[i].State {
			return false
		}
	}
	return true
}

func describe(t *topology.Topology) string {
	var b []byte
	for _, n := range t.Nodes {
		b = append(b, n.ID...)
		b = append(b, ':')
		b = append(b, n.State.String()...)
		b = append(b, ' ')
	}
	return string(b)
}

// amnesia starts a new history when no node, running or crashed, holds
// anything of the old one: every NameNode and DataNode lost its state (an
// in-memory cluster restarted whole). Nothing is left to protect, and the
// epochs start again.
func (c *checker) amnesia() {
	c.forgotten()
	for _, id := range c.s.nnIDs {
		if n := c.s.nns[id]; c.s.e.hosts[id].up && n.cur.Version > 0 {
			return
		}
	}
	for _, id := range c.s.dnIDs {
		d := c.s.dns[id]
		if c.s.e.hosts[id].up && (d.top.Version > 0 || d.wit.Staged() != nil || d.wit.Epoch() > 0) {
			return
		}
	}
	c.s.e.logf("every node lost its state: a new history")
	c.s.res.Faults["amnesia"]++
	c.byVersion = map[[2]uint64]*topology.Topology{}
	c.winner, c.committer = map[uint64]election.Ref{}, map[uint64]election.Ref{}
	c.newest = topology.Empty(1, 16)
	c.overlap = map[overlapKey]int{}
}

// forgotten lowers the newest committed version to the newest one a
// running node holds when every node that held it crashed: an in-memory
// cluster that loses the active and a majority of the witnesses at once
// loses what only they held (DESIGN.md §6 protects failovers, not that).
func (c *checker) forgotten() {
	var held *topology.Topology
	for _, id := range c.s.nnIDs {
		if n := c.s.nns[id]; c.s.e.hosts[id].up && n.cur.NewerThan(held) {
			held = n.cur
		}
	}
	for _, id := range c.s.dnIDs {
		d := c.s.dns[id]
		if !c.s.e.hosts[id].up {
			continue
		}
		for _, t := range []*topology.Topology{d.top, d.wit.Staged()} {
			if t != nil && t.NewerThan(held) {
				held = t
			}
		}
	}
	if held != nil && c.newest.NewerThan(held) {
		c.s.e.logf("every node holding (%d,%d) crashed; newest held (%d,%d)", c.newest.Epoch, c.newest.Version, held.Epoch, held.Version)
		c.s.res.Faults["forgotten"]++
		c.newest = held
	}
}
