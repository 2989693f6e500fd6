package sim

import "time"

// clock is a node's monotonic clock: it reads off + g*(1+ppm/1e6) at the
// simulation's true time g.
type clock struct {
	off time.Duration
	ppm int64
}

// local is the clock's reading at true time g.
func (c clock) local(g time.Duration) time.Duration {
	return c.off + g + time.Duration(float64(g)*float64(c.ppm)/1e6)
}

// global is the earliest true time at which the clock reads at least l.
func (c clock) global(l time.Duration) time.Duration {
	g := time.Duration(float64(l-c.off) / (1 + float64(c.ppm)/1e6))
	for c.local(g) < l {
		g++
	}
	for g > 0 && c.local(g-1) >= l {
		g--
	}
	return g
}
