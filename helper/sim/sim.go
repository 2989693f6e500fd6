package sim

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/chkv/chkv/common/election"
	"github.com/chkv/chkv/common/timing"
	"github.com/chkv/chkv/common/topology"
)

// Config is one simulated cluster and run.
type Config struct {
	// Interval is the heartbeat interval; the rest of the timing follows
	// (common/timing).
	Interval time.Duration
	// FaultTime is how long faults are injected; QuietTime how long the
	// cluster then runs without faults. Liveness must be reached within
	// LivenessBound of the faults stopping.
	FaultTime, QuietTime, LivenessBound time.Duration
	// LoneTakeover makes a NameNode that knows no DataNode take over when
	// its peer is down, as the real one does. Off by default: it breaks
	// "no epoch is used by two incarnations" (DESIGN.md §8a).
	LoneTakeover bool
}

// DefaultConfig is the configuration the tests run.
func DefaultConfig() Config {
	return Config{Interval: time.Second, FaultTime: 120 * time.Second, QuietTime: 40 * time.Second, LivenessBound: 30 * time.Second}
}

// Result describes a run.
type Result struct {
	Seed      uint64
	Simulated time.Duration
	Steps     int
	Sent      int
	Lost      int
	Faults    map[string]int
	// Epochs is the highest epoch any NameNode led; Commits the versions
	// committed.
	Epochs, Commits uint64
	DataNodes       int
	Drained         int
}

// Failure is a violated property, with the seed that replays it.
type Failure struct {
	Seed   uint64
	At     time.Duration
	What   string
	Trace  []string
	State  []string
	Replay string
}

func (f *Failure) Error() string {
	return fmt.Sprintf("seed %d at %v: %s\nreplay: %s\nlast events:\n  %s\nstate:\n  %s", f.Seed, f.At, f.What, f.Replay,
		strings.Join(f.Trace, "\n  "), strings.Join(f.State, "\n  "))
}

// Sim is one simulated cluster.
type Sim struct {
	cfg   Config
	seed  uint64
	tm    timing.Timing
	e     *engine
	net   *network
	nns   map[string]*nameNode
	nnIDs []string
	dns   map[string]*dataNode
	dnIDs []string
	chk   *checker
	res   Result
	fail  *Failure
	// faulty is set while faults are injected.
	faulty bool
}

// Run runs one seed and returns its result, or the first violated
// property as a *Failure.
func Run(seed uint64, cfg Config) (Result, error) {
	s := newSim(seed, cfg)
	end := cfg.FaultTime + cfg.QuietTime
	s.e.at(cfg.FaultTime, "", s.stopFaults)
	s.e.at(cfg.FaultTime+cfg.LivenessBound, "", s.checkLive)
	for s.fail == nil && s.e.step(end) {
		if s.fail == nil {
			s.chk.step()
		}
	}
	s.res.Simulated, s.res.Steps = s.e.now, s.e.steps
	s.res.Sent, s.res.Lost = s.net.sent, s.net.lost
	s.res.Epochs, s.res.Commits = s.chk.maxEpoch, s.chk.commits
	if s.fail != nil {
		return s.res, s.fail
	}
	return s.res, nil
}

func newSim(seed uint64, cfg Config) *Sim {
	e := &engine{rng: rand.New(rand.NewPCG(seed, 0x5eed)), hosts: map[string]*host{}}
	s := &Sim{cfg: cfg, seed: seed, tm: timing.For(cfg.Interval), e: e,
		nns: map[string]*nameNode{}, dns: map[string]*dataNode{}}
	s.net = &network{e: e, cut: map[string]map[string]bool{}, minDelay: time.Millisecond, maxDelay: 5 * time.Millisecond}
	s.res = Result{Seed: seed, Faults: map[string]int{}}
	s.chk = newChecker(s)

	nData := 3 + e.rng.IntN(3)
	nDrained := e.rng.IntN(nData + 1)
	s.res.DataNodes, s.res.Drained = nData, nDrained
	var nodes []topology.Node
	for i := range nData + nDrained {
		id := fmt.Sprintf("dn%d", i)
		st := topology.Up
		if i >= nData {
			st = topology.Drained
		}
		nodes = append(nodes, topology.Node{ID: id, RESPAddr: id, GRPCAddr: id, State: st, Weight: 1})
	}
	// The cluster as an earlier active of epoch 1 left it.
	init := topology.Empty(1, 16).Next(1, nodes)
	s.chk.seed(init)
	for i, id := range []string{"nn-a", "nn-b"} {
		s.nnIDs = append(s.nnIDs, id)
		e.hosts[id] = &host{id: id, clk: s.randomClock(), up: true}
		n := &nameNode{s: s, id: id, peer: []string{"nn-b", "nn-a"}[i]}
		n.ref = election.Ref{ID: id, Incarnation: e.rng.Uint64() | 1}
		s.nns[id] = n
	}
	for _, nd := range nodes {
		e.hosts[nd.ID] = &host{id: nd.ID, clk: s.randomClock(), up: nd.State == topology.Up}
		if nd.State != topology.Up {
			continue // drained and stopped: it costs nothing
		}
		s.dnIDs = append(s.dnIDs, nd.ID)
		s.dns[nd.ID] = newDataNode(s, nd.ID, init, true)
	}
	for _, id := range s.nnIDs {
		s.nns[id].start(init)
	}
	for _, id := range s.dnIDs {
		s.dns[id].start()
	}
	s.scheduleFault()
	return s
}

// randomClock returns a clock with a random offset, drifting within the
// bound.
func (s *Sim) randomClock() clock {
	return clock{off: s.e.jitter(0, time.Hour), ppm: s.e.rng.Int64N(2*timing.MaxDriftPPM+1) - timing.MaxDriftPPM}
}

// send routes msg from one node to another.
func (s *Sim) send(from, to string, msg any) {
	s.net.send(from, to, msg, func(from string, msg any) {
		if n := s.nns[to]; n != nil {
			n.handle(from, msg)
		} else if d := s.dns[to]; d != nil {
			d.handle(from, msg)
		}
	})
}

// failf records the first violated property.
func (s *Sim) failf(format string, args ...any) {
	if s.fail != nil {
		return
	}
	s.fail = &Failure{Seed: s.seed, At: s.e.now, What: fmt.Sprintf(format, args...), Trace: append([]string(nil), s.e.trace...), State: s.state(),
		Replay: fmt.Sprintf("go test ./helper/sim -run TestReplay -seed %d -v", s.seed)}
	if s.cfg.LoneTakeover {
		s.fail.Replay += " -lone"
	}
}

// The checker's hooks, called by the models.

func (s *Sim) becameActive(n *nameNode, epoch uint64) {
	s.e.logf("%s active at epoch %d", n.id, epoch)
	s.chk.won(n, epoch)
}

func (s *Sim) staged(n *nameNode, t *topology.Topology) { s.chk.version(t) }

func (s *Sim) committedVersion(n *nameNode, prev, next *topology.Topology) {
	s.e.logf("%s committed (%d,%d)", n.id, next.Epoch, next.Version)
	s.chk.commit(n, prev, next)
}

func (s *Sim) published(n *nameNode, t *topology.Topology) { s.chk.version(t) }

// state describes every node, for a failure report.
func (s *Sim) state() []string {
	var out []string
	for _, id := range s.nnIDs {
		n, h := s.nns[id], s.e.hosts[id]
		out = append(out, fmt.Sprintf("%s up=%v role=%d epoch=%d voted=%d candidate=%d reelect=%v cur=(%d,%d) dirty=%v staging=%v quorum=%v nodes=%s",
			id, h.up, n.role, n.epoch, n.voted, n.candidate, n.reelect, n.cur.Epoch, n.cur.Version, n.dirty, n.stg != nil, n.quorum(), describeNodes(n.nodes)))
	}
	for _, id := range s.dnIDs {
		d, h := s.dns[id], s.e.hosts[id]
		out = append(out, fmt.Sprintf("%s up=%v promised=%d to %s top=(%d,%d) registered=%v member=%v lease=%v serving=%v",
			id, h.up, d.wit.Epoch(), d.wit.PromisedTo().ID, d.top.Epoch, d.top.Version, d.registered, d.member, d.leaseUntil-d.now(), d.serving()))
	}
	return out
}

func describeNodes(nodes []topology.Node) string {
	var b strings.Builder
	for _, n := range nodes {
		fmt.Fprintf(&b, "%s:%s ", n.ID, n.State)
	}
	return b.String()
}
