package sim

import (
	"time"

	"github.com/chkv/chkv/common/election"
	"github.com/chkv/chkv/common/topology"
)

// scheduleFault injects the next fault a random time from now, while
// faults run.
func (s *Sim) scheduleFault() {
	s.faulty = true
	s.e.at(s.e.now+s.e.jitter(100*time.Millisecond, 3*time.Second), "", func() {
		if !s.faulty {
			return
		}
		s.injectFault()
		s.scheduleFault()
	})
}

// allNodes returns the running-or-crashed NameNodes and DataNodes.
func (s *Sim) allNodes() []string {
	return append(append([]string(nil), s.nnIDs...), s.dnIDs...)
}

func (s *Sim) pick(ids []string) string { return ids[s.e.rng.IntN(len(ids))] }

// injectFault picks one fault.
func (s *Sim) injectFault() {
	e := s.e
	switch k := e.rng.IntN(10); k {
	case 0: // crash a NameNode, restart it later as a new incarnation
		id := s.pick(s.nnIDs)
		s.crash(id, e.jitter(100*time.Millisecond, 8*time.Second))
	case 1: // crash a DataNode, restart it later with nothing
		id := s.pick(s.dnIDs)
		s.crash(id, e.jitter(100*time.Millisecond, 12*time.Second))
	case 2: // pause any node
		id := s.pick(s.allNodes())
		h := e.hosts[id]
		if h.up && h.pausedTo <= e.now {
			h.pausedTo = e.now + e.jitter(100*time.Millisecond, 7*time.Second)
			s.res.Faults["pause"]++
			e.logf("pause %s until %.3fs", id, h.pausedTo.Seconds())
		}
	case 3: // cut the NameNodes apart, both ways or one
		a, b := s.nnIDs[0], s.nnIDs[1]
		if e.chance(0.5) {
			a, b = b, a
		}
		s.cutFor([][2]string{{a, b}}, e.chance(0.5))
	case 4: // cut one NameNode from some DataNodes
		nn := s.pick(s.nnIDs)
		var links [][2]string
		for _, dn := range s.dnIDs {
			if e.chance(0.5) {
				links = append(links, [2]string{nn, dn})
			}
		}
		s.cutFor(links, e.chance(0.7))
	case 5: // isolate a node from everyone, one way or both
		id := s.pick(s.allNodes())
		var links [][2]string
		for _, o := range s.allNodes() {
			if o != id {
				links = append(links, [2]string{id, o})
			}
		}
		s.cutFor(links, e.chance(0.7))
	case 6: // split the cluster in two sides
		var links [][2]string
		side := map[string]bool{}
		for _, id := range s.allNodes() {
			side[id] = e.chance(0.5)
		}
		for _, a := range s.allNodes() {
			for _, b := range s.allNodes() {
				if side[a] && !side[b] {
					links = append(links, [2]string{a, b})
				}
			}
		}
		s.cutFor(links, true)
	default: // change the message weather: drops, duplicates, delays
		s.net.drop = []float64{0, 0, 0.01, 0.05, 0.2}[e.rng.IntN(5)]
		s.net.dup = []float64{0, 0.01, 0.1}[e.rng.IntN(3)]
		s.net.slow = []float64{0, 0.01, 0.1}[e.rng.IntN(3)]
		s.net.maxDelay = []time.Duration{time.Millisecond, 5 * time.Millisecond, 50 * time.Millisecond, 300 * time.Millisecond}[e.rng.IntN(4)]
		s.net.slowDelay = []time.Duration{100 * time.Millisecond, time.Second, 3 * time.Second}[e.rng.IntN(3)]
		s.res.Faults["network"]++
		e.logf("network drop=%.2f dup=%.2f slow=%.2f delay<=%v slow<=%v", s.net.drop, s.net.dup, s.net.slow, s.net.maxDelay, s.net.slowDelay)
	}
}

// cutFor cuts the links (from, to), and the reverse ones when both, for a
// while.
func (s *Sim) cutFor(links [][2]string, both bool) {
	if len(links) == 0 {
		return
	}
	kind := "partition one-way"
	if both {
		kind = "partition"
	}
	s.res.Faults[kind]++
	for _, l := range links {
		s.net.setCut(l[0], l[1], true)
		if both {
			s.net.setCut(l[1], l[0], true)
		}
	}
	s.e.logf("%s %v", kind, links)
	s.e.at(s.e.now+s.e.jitter(500*time.Millisecond, 10*time.Second), "", func() {
		for _, l := range links {
			s.net.setCut(l[0], l[1], false)
			if both {
				s.net.setCut(l[1], l[0], false)
			}
		}
	})
}

// crash stops node id and restarts it after d, unless it is down already.
func (s *Sim) crash(id string, d time.Duration) {
	h := s.e.hosts[id]
	if !h.up {
		return
	}
	h.up, h.pausedTo = false, 0
	h.gen++
	s.res.Faults["crash"]++
	s.e.logf("crash %s", id)
	s.chk.amnesia()
	s.e.at(s.e.now+d, "", func() { s.restart(id) })
}

// restart starts a fresh process under id: a NameNode is a new
// incarnation holding the empty topology; a DataNode holds nothing.
func (s *Sim) restart(id string) {
	h := s.e.hosts[id]
	if h.up {
		return
	}
	h.up = true
	h.gen++
	if n := s.nns[id]; n != nil {
		fresh := &nameNode{s: s, id: id, peer: n.peer, ref: election.Ref{ID: id, Incarnation: s.e.rng.Uint64() | 1}}
		s.nns[id] = fresh
		s.e.logf("restart %s as incarnation %x", id, fresh.ref.Incarnation)
		fresh.start(topology.Empty(1, 16))
		s.chk.amnesia()
		return
	}
	d := newDataNode(s, id, topology.Empty(1, 16), false)
	s.dns[id] = d
	s.e.logf("restart %s", id)
	d.start()
	s.chk.amnesia()
}

// stopFaults ends the faults: links healed, crashed nodes restarted,
// paused ones resumed, the network reliable again.
func (s *Sim) stopFaults() {
	s.faulty = false
	s.net.heal()
	s.net.drop, s.net.dup, s.net.slow = 0, 0, 0
	s.net.maxDelay = 5 * time.Millisecond
	for _, id := range s.allNodes() {
		h := s.e.hosts[id]
		if h.pausedTo > s.e.now {
			h.pausedTo = s.e.now
		}
		if !h.up {
			s.restart(id)
		}
	}
	s.e.logf("faults stop")
}

// checkLive checks, a bound after the faults stopped, that an active
// NameNode hears from a majority and every slot is served.
func (s *Sim) checkLive() {
	var act *nameNode
	for _, id := range s.nnIDs {
		if n := s.nns[id]; n.role == active && n.quorum() {
			act = n
		}
	}
	if act == nil {
		s.failf("liveness: no active NameNode with a majority %v after the faults stopped", s.cfg.LivenessBound)
		return
	}
	if u := s.chk.unserved(); u > 0 {
		s.failf("liveness: %d slots unserved %v after the faults stopped (active %s at epoch %d)", u, s.cfg.LivenessBound, act.id, act.epoch)
	}
}
