package namenode

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/protobuf/encoding/protowire"

	"github.com/chkv/chkv/common/topology"
	"github.com/chkv/chkv/proto/chkvpb"
)

// connPool shares one gRPC connection per DataNode address among the
// pushers, staging and elections.
type connPool struct {
	mu     sync.Mutex
	conns  map[string]*grpc.ClientConn
	closed bool
}

// get returns the connection to addr, dialling it on first use.
func (p *connPool) get(addr string, opts []grpc.DialOption) (*grpc.ClientConn, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return nil, ErrStopped
	}
	if c := p.conns[addr]; c != nil {
		return c, nil
	}
	c, err := grpc.NewClient(addr, opts...)
	if err != nil {
		return nil, err
	}
	if p.conns == nil {
		p.conns = make(map[string]*grpc.ClientConn)
	}
	p.conns[addr] = c
	return c, nil
}

// retain closes the connections to addresses not in keep.
func (p *connPool) retain(keep map[string]bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for addr, c := range p.conns {
		if !keep[addr] {
			c.Close()
			delete(p.conns, addr)
		}
	}
}

// close closes every connection; get fails from then on.
func (p *connPool) close() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.closed = true
	for _, c := range p.conns {
		c.Close()
	}
	p.conns = nil
}

// pushFrame is v's push request: its frame, which is a PushTopologyRequest
// holding the topology, followed by the stage flag, the sender's ID and
// its incarnation.
func (s *Server) pushFrame(v *version, stage bool) frame {
	b := slices.Grow(slices.Clip([]byte(v.frame)), len(s.id)+32)
	if stage {
		b = protowire.AppendTag(b, 2, protowire.VarintType)
		b = protowire.AppendVarint(b, 1)
	}
	b = protowire.AppendTag(b, 3, protowire.BytesType)
	b = protowire.AppendString(b, s.id)
	b = protowire.AppendTag(b, 4, protowire.VarintType)
	return protowire.AppendVarint(b, s.incarnation)
}

// stageTimeout bounds the staging of one version.
func (s *Server) stageTimeout() time.Duration {
	return max(s.cfg.HeartbeatInterval, 500*time.Millisecond)
}

// errFenced reports a DataNode that promised a newer epoch than ours.
type errFenced struct {
	node     string
	promised uint64
}

func (e *errFenced) Error() string {
	return fmt.Sprintf("datanode %s promised epoch %d to another namenode", e.node, e.promised)
}

// stage keeps v on the DataNodes before it is committed: it returns nil
// once a majority of the voters of prev and a majority of the voters of
// v's topology hold it (both, so that a membership change cannot form a
// majority the next election misses). A DataNode that has promised a newer
// epoch to another NameNode fails the stage with *errFenced; one that
// promised the active's own epoch to a rival counts as a no and starts a
// re-election (fenced); too few answers fail it with ErrNoQuorum.
func (s *Server) stage(prev *topology.Topology, v *version) error {
	s.mu.Lock()
	before, after := s.withoutRecoveredLocked(voters(prev)), voters(v.topo)
	s.mu.Unlock()
	all := make(map[string]string, len(after))
	for id, addr := range before {
		all[id] = addr
	}
	for id, addr := range after {
		all[id] = addr
	}
	if len(all) == 0 {
		return nil
	}
	answers := make(chan answer, len(all))
	ctx, cancel := context.WithTimeout(s.group.Context(), s.stageTimeout())
	pending := len(all) // answers not yet read
	defer func() {
		if pending == 0 || !s.group.Go(func(context.Context) { s.lateRefusals(answers, pending, cancel) }) {
			cancel()
		}
	}()
	req := s.pushFrame(v, true)
	for id, addr := range all {
		if !s.group.Go(func(context.Context) {
			ok, err := s.stageOn(ctx, id, addr, req, v.topo)
			answers <- answer{id, ok, err}
		}) {
			return ErrStopped
		}
	}
	yes := make(map[string]bool, len(all))
	var errs []error
	for range all {
		a := <-answers
		pending--
		if fe, ok := a.err.(*errFenced); ok {
			// A witness that promised our own epoch to a rival counts
			// as a no while we win it back; any other promise fences us.
			if !s.fenced(fe.promised, fe.Error()) {
				return fe
			}
		}
		if a.err != nil {
			errs = append(errs, a.err)
		}
		yes[a.id] = a.ok
		if majority(before, yes) && majority(after, yes) {
			return nil
		}
	}
	return fmt.Errorf("%w: version %d staged on %d of %d datanodes: %v", ErrNoQuorum, v.topo.Version, countTrue(yes), len(all), errs)
}

// lateRefusals reads the n staging answers that came after the majority,
// within the staging's timeout, then cancels the calls. A witness that
// promised the active's epoch to a rival incarnation (a predecessor under
// the same ID, or a candidate that lost) refuses only staging, pushes and
// leases, never in a heartbeat: its late refusal must still start the
// re-election that wins it back, or it would go without a lease for ever
// (found by helper/sim).
func (s *Server) lateRefusals(answers <-chan answer, n int, cancel context.CancelFunc) {
	defer cancel()
	for range n {
		a := <-answers // each call ends by the staging's timeout
		if fe, ok := a.err.(*errFenced); ok {
			s.fenced(fe.promised, fe.Error())
		}
	}
}

// answer is one DataNode's answer to a staging.
type answer struct {
	id  string
	ok  bool
	err error
}

// stageOn stages one version on one DataNode.
func (s *Server) stageOn(ctx context.Context, id, addr string, req frame, t *topology.Topology) (bool, error) {
	conn, err := s.dnConns.get(addr, s.dialOptions())
	if err != nil {
		return false, err
	}
	var resp chkvpb.PushTopologyResponse
	if err := conn.Invoke(ctx, chkvpb.DataNode_PushTopology_FullMethodName, req, &resp, grpc.ForceCodecV2(s.codec), grpc.WaitForReady(true)); err != nil {
		return false, fmt.Errorf("%s: %w", id, err)
	}
	if resp.GetStale() {
		return false, &errFenced{node: id, promised: resp.GetPromisedEpoch()}
	}
	return !before(resp.GetEpoch(), resp.GetVersion(), t.Epoch, t.Version), nil
}

func countTrue(m map[string]bool) int {
	n := 0
	for _, v := range m {
		if v {
			n++
		}
	}
	return n
}
