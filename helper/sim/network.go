package sim

import "time"

// network carries messages between nodes: each is dropped, delayed,
// duplicated (and so reordered) at random, and links can be cut one way.
type network struct {
	e *engine
	// cut[from][to] drops every message from from to to.
	cut map[string]map[string]bool
	// faults: the probabilities and delays in force.
	drop, dup, slow float64
	minDelay        time.Duration
	maxDelay        time.Duration
	slowDelay       time.Duration
	sent, lost      int
}

// send delivers msg from from to to's handle, unless lost.
func (n *network) send(from, to string, msg any, handle func(from string, msg any)) {
	n.sent++
	if n.cut[from][to] || n.e.chance(n.drop) {
		n.lost++
		return
	}
	copies := 1
	if n.e.chance(n.dup) {
		copies = 2
	}
	for range copies {
		d := n.e.jitter(n.minDelay, n.maxDelay)
		if n.e.chance(n.slow) {
			d += n.e.jitter(0, n.slowDelay)
		}
		n.e.at(n.e.now+d, to, func() { handle(from, msg) })
	}
}

// setCut cuts or heals the link from from to to.
func (n *network) setCut(from, to string, cut bool) {
	if n.cut[from] == nil {
		n.cut[from] = map[string]bool{}
	}
	n.cut[from][to] = cut
}

// heal restores every link.
func (n *network) heal() { n.cut = map[string]map[string]bool{} }
