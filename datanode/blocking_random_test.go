package datanode

import (
	"fmt"
	"math/rand"
	"slices"
	"strings"
	"testing"
)

// blockModel is a model of lists and the clients blocked on them, enough
// to tell which blocking command blocks and which blocked clients a push
// serves (FIFO per key, served after the push, BLMOVE's destination ready
// in turn), so that a random script reads exactly the replies that come.
type blockModel struct {
	lens    map[string]int
	waiters []*modelWaiter // in arrival order
}

// modelWaiter is a blocked client of the model.
type modelWaiter struct {
	conn  string
	keys  []string
	dst   string // BLMOVE's destination, else ""
	count int    // elements a serve pops
}

// serve serves the waiters of the keys made ready, and returns the
// connections served, in order.
func (m *blockModel) serve(ready []string) []string {
	var served []string
	for i := 0; i < len(ready); i++ {
		k := ready[i]
		for _, w := range slices.Clone(m.waiters) {
			if m.lens[k] == 0 {
				break
			}
			if !slices.Contains(w.keys, k) {
				continue
			}
			m.lens[k] -= min(w.count, m.lens[k])
			if w.dst != "" {
				m.lens[w.dst]++
				ready = append(ready, w.dst)
			}
			m.waiters = slices.DeleteFunc(m.waiters, func(x *modelWaiter) bool { return x == w })
			served = append(served, w.conn)
		}
	}
	return served
}

// randomBlockScript returns a random blocking script of n steps.
func randomBlockScript(seed int64, n int) blockScript {
	rng := rand.New(rand.NewSource(seed))
	keys := []string{"k1", "k2", "k3"}
	m := &blockModel{lens: map[string]int{}}
	var script blockScript
	elem := 0
	for range n {
		var free []string
		for _, c := range []string{"A", "B", "C"} {
			if !slices.ContainsFunc(m.waiters, func(w *modelWaiter) bool { return w.conn == c }) {
				free = append(free, c)
			}
		}
		if len(free) > 0 && rng.Intn(3) > 0 {
			c := free[rng.Intn(len(free))]
			w := &modelWaiter{conn: c, count: 1}
			var cmd string
			switch rng.Intn(4) {
			case 0, 1:
				w.keys = []string{keys[rng.Intn(3)], keys[rng.Intn(3)]}
				cmd = fmt.Sprintf("%s %s %s 0", []string{"BLPOP", "BRPOP"}[rng.Intn(2)], w.keys[0], w.keys[1])
			case 2:
				w.keys, w.dst = []string{keys[rng.Intn(3)]}, keys[rng.Intn(3)]
				cmd = fmt.Sprintf("BLMOVE %s %s LEFT RIGHT 0", w.keys[0], w.dst)
			default:
				w.keys, w.count = []string{keys[rng.Intn(3)], keys[rng.Intn(3)]}, 1+rng.Intn(3)
				cmd = fmt.Sprintf("BLMPOP 0 2 %s %s RIGHT COUNT %d", w.keys[0], w.keys[1], w.count)
			}
			// At call time the first non-empty key serves it at once.
			if i := slices.IndexFunc(w.keys, func(k string) bool { return m.lens[k] > 0 }); i >= 0 {
				k := w.keys[i]
				m.lens[k] -= min(w.count, m.lens[k])
				script = append(script, c+" "+cmd)
				if w.dst != "" {
					m.lens[w.dst]++
					for _, s := range m.serve([]string{w.dst}) {
						script = append(script, s+"<")
					}
				}
				continue
			}
			m.waiters = append(m.waiters, w)
			script = append(script, c+"> "+cmd, fmt.Sprintf("BLOCKED %d", len(m.waiters)))
			continue
		}
		k := keys[rng.Intn(3)]
		if rng.Intn(3) == 0 {
			script = append(script, "D LPOP "+k+" 2")
			m.lens[k] = max(m.lens[k]-2, 0)
			continue
		}
		var elems []string
		for range 1 + rng.Intn(2) {
			elem++
			elems = append(elems, fmt.Sprint("e", elem))
		}
		m.lens[k] += len(elems)
		script = append(script, "D RPUSH "+k+" "+strings.Join(elems, " "))
		for _, s := range m.serve([]string{k}) {
			script = append(script, s+"<")
		}
		script = append(script, fmt.Sprintf("BLOCKED %d", len(m.waiters)))
	}
	return append(script, "D LRANGE k1 0 -1", "D LRANGE k2 0 -1", "D LRANGE k3 0 -1")
}

// TestBlockingRandomAgainstRedis runs seeded random scripts of blocking
// pops, moves and pushes by four clients on a DataNode and on Redis.
func TestBlockingRandomAgainstRedis(t *testing.T) {
	for seed := int64(1); seed <= 3; seed++ {
		t.Run(fmt.Sprint("seed", seed), func(t *testing.T) {
			compareBlockScript(t, randomBlockScript(seed, 150))
		})
	}
}
