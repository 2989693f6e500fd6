package sim

import (
	"maps"
	"slices"
	"time"

	"github.com/chkv/chkv/common/election"
	"github.com/chkv/chkv/common/topology"
)

// Constants of the NameNode (namenode/config.go).
const (
	missedHeartbeats = 3
	probeAttempts    = 3
)

// member is the NameNode's liveness record of a DataNode, on its clock.
type member struct {
	lastSeen, lastHeartbeat, leaseBase time.Duration
	down, probing                      bool
}

func newMember(now time.Duration) *member {
	return &member{lastSeen: now, lastHeartbeat: now, leaseBase: now}
}

// campaign is an election round under way.
type campaign struct {
	round      uint64
	epoch      uint64
	reelection bool
	asked      map[string]bool
	answered   map[string]bool
	granted    map[string]bool
	newest     *topology.Topology
	highest    uint64
}

// staging is a commit under way: next staged on the witnesses of prev and
// next.
type staging struct {
	round         uint64
	prev, next    *topology.Topology
	before, after map[string]string
	asked         int
	answered      map[string]bool
	yes           map[string]bool
	nodes         []topology.Node // the membership next was computed from
}

// nameNode models one NameNode process (package namenode): the election
// loop, staging and commits, heartbeats and leases, failure detection and
// the Follow stream, deciding through common/election.
type nameNode struct {
	s    *Sim
	id   string
	peer string
	ref  election.Ref

	role                                int // 0 standby, 1 active
	epoch, voted, candidate, reelecting uint64
	reelect                             bool
	activeID                            string
	cur                                 *topology.Topology
	nodes                               []topology.Node
	members                             map[string]*member
	dirty                               bool
	heard                               map[string]bool
	leaderSeen                          time.Duration
	leaderSeenSet, peerChecked          bool
	startedAt                           time.Duration
	followerUntil                       time.Duration // the standby's stream is open until
	peerBeatAt                          time.Duration
	camp                                *campaign
	stg                                 *staging
	afterCommit                         []func()
	round                               uint64
	probeWait                           map[uint64]func(fenced bool)
	numbering                           election.Numbering
	ballotTop                           *topology.Topology
	lastStage                           uint64 // the round of the last staging, whose late refusals count
}

const (
	standby = 0
	active  = 1
)

func (n *nameNode) now() time.Duration { return n.s.e.localNow(n.id) }

// start begins the loops of a fresh process holding top.
func (n *nameNode) start(top *topology.Topology) {
	n.cur = top
	n.nodes = slices.Clone(top.Nodes)
	n.members = map[string]*member{}
	n.heard = map[string]bool{}
	n.probeWait = map[uint64]func(bool){}
	n.startedAt = n.now()
	n.epoch = top.Epoch
	iv := n.s.tm.Interval
	n.s.e.after(n.id, n.s.e.jitter(0, iv/4), n.electionTick)
	n.s.e.after(n.id, n.s.e.jitter(0, iv/2), n.detectTick)
	n.s.e.after(n.id, n.s.e.jitter(0, iv/4), n.followTick)
	n.s.e.after(n.id, n.s.e.jitter(0, iv/2), n.beatPeerTick)
}

// older reports whether (a, av) is an older (epoch, version) than (b, bv).
func older(a, av, b, bv uint64) bool {
	if a != b {
		return a < b
	}
	return av < bv
}

// electionTick is one pass of the election loop.
func (n *nameNode) electionTick() {
	period := n.s.tm.CampaignPeriod
	if n.camp == nil && election.ShouldCampaign(election.Campaign{
		Active: n.role == active, Reelect: n.reelect,
		SinceStart: n.now() - n.startedAt, HeardAny: len(n.heard) > 0, PeerChecked: n.peerChecked,
		LeaderSeen: n.leaderSeenSet, SinceLeader: n.now() - n.leaderSeen,
	}, n.s.tm) {
		n.startCampaign()
	}
	n.s.e.after(n.id, period/2+n.s.e.jitter(0, period/2), n.electionTick)
}

// startCampaign runs one election round (Server.campaign).
func (n *nameNode) startCampaign() {
	epoch := election.CandidateEpoch(n.epoch, n.voted, n.candidate)
	n.candidate = epoch
	reelection := n.role == active
	if reelection {
		n.reelecting = max(n.reelecting, epoch)
	}
	known := n.cur
	if n.ballotTop.NewerThan(known) {
		known = n.ballotTop
	}
	asked := map[string]bool{}
	for id := range known.Witnesses() {
		asked[id] = true
	}
	for id := range n.heard {
		asked[id] = true
	}
	if len(asked) == 0 && !reelection {
		n.campaignAlone(epoch)
		return
	}
	n.round++
	c := &campaign{round: n.round, epoch: epoch, reelection: reelection, asked: asked,
		answered: map[string]bool{}, granted: map[string]bool{}, newest: n.cur}
	n.camp = c
	for _, id := range slices.Sorted(maps.Keys(asked)) {
		n.s.send(n.id, id, voteReq{round: c.round, cand: n.ref, epoch: epoch})
	}
	n.s.e.after(n.id, n.s.tm.Interval, func() {
		if n.camp == c {
			n.finishCampaign()
		}
	})
}

func (n *nameNode) onVote(m voteResp) {
	c := n.camp
	if c == nil || m.round != c.round || c.answered[m.node] {
		return
	}
	c.answered[m.node] = true
	c.granted[m.node] = m.ballot.Granted
	if !m.ballot.Granted {
		c.highest = max(c.highest, m.ballot.Promised)
	}
	if t := m.ballot.Newest; t != nil && t.Version > 0 && t.NewerThan(c.newest) {
		c.newest = t
	}
	if len(c.answered) == len(c.asked) {
		n.finishCampaign()
	}
}

func (n *nameNode) finishCampaign() {
	c := n.camp
	n.camp = nil
	if c.highest >= c.epoch {
		n.candidate = max(n.candidate, c.highest+1)
	}
	if c.newest.NewerThan(n.ballotTop) {
		n.ballotTop = c.newest
	}
	need := c.newest.Witnesses()
	if len(need) == 0 && !c.reelection {
		if len(c.answered) == len(c.asked) {
			n.campaignAlone(c.epoch)
		}
		return
	}
	if !election.Majority(need, c.granted) {
		if c.reelection {
			n.reelecting = 0
		}
		return
	}
	if c.reelection {
		n.withCommitLock(func() { n.reelected(c.epoch) })
		return
	}
	n.withCommitLock(func() { n.becomeActive(c.epoch, c.newest) })
}

// campaignAlone (Server.campaignAlone) elects the NameNode when it knows
// of no DataNode: the peer is the witness. The real NameNode also takes
// over from a peer that cannot be reached at all (crashed: the connection
// is refused); the simulator does only with Config.LoneTakeover, because
// that rule is unsafe after a restart (a NameNode that has not heard from
// the DataNodes yet takes an epoch they promised long ago; see the
// package's tests). A peer behind a cut link makes the call time out,
// which is no grant.
func (n *nameNode) campaignAlone(epoch uint64) {
	if n.s.cfg.LoneTakeover && !n.s.e.hosts[n.peer].up {
		n.withCommitLock(func() { n.becomeActive(epoch, nil) })
		return
	}
	n.s.send(n.id, n.peer, peerVoteReq{cand: n.ref, epoch: epoch})
}

func (n *nameNode) onPeerVote(m peerVoteResp) {
	if !m.granted {
		n.candidate = max(n.candidate, m.promised+1)
		return
	}
	if m.epoch == n.candidate {
		n.withCommitLock(func() { n.becomeActive(m.epoch, nil) })
	}
}

// voteForPeer (Server.voteForPeer).
func (n *nameNode) voteForPeer(from string, req peerVoteReq) {
	e := req.epoch
	resp := peerVoteResp{epoch: e}
	switch {
	case n.role == active:
	case len(n.cur.Witnesses()) > 0 || len(n.heard) > 0:
	case e <= max(n.epoch, n.voted) || e < n.candidate:
	case e == n.candidate && req.cand.ID >= n.id:
	default:
		n.voted = e
		n.leaderSeen, n.leaderSeenSet = n.now(), true
		resp.granted = true
	}
	resp.promised = max(n.epoch, n.voted, n.candidate)
	n.s.send(n.id, from, resp)
}

// withCommitLock runs fn now, or after the commit under way (commitMu).
func (n *nameNode) withCommitLock(fn func()) {
	if n.stg != nil {
		n.afterCommit = append(n.afterCommit, fn)
		return
	}
	fn()
}

// becomeActive (Server.becomeActive).
func (n *nameNode) becomeActive(epoch uint64, held *topology.Topology) {
	if n.role == active || n.epoch >= epoch || n.voted >= epoch {
		return
	}
	now := n.now()
	base := n.cur
	if held != nil && held.NewerThan(base) {
		base = held
	}
	members := map[string]*member{}
	for _, nd := range base.Nodes {
		m := newMember(now)
		m.leaseBase = now + n.s.tm.Lease
		m.down = nd.State == topology.Down
		members[nd.ID] = m
	}
	n.nodes, n.members = slices.Clone(base.Nodes), members
	n.dirty = len(base.Nodes) > 0
	n.role, n.epoch, n.activeID, n.reelect = active, epoch, n.id, false
	n.s.becameActive(n, epoch)
	if base != n.cur {
		n.publish(base)
	}
	n.commit()
}

// reelected (Server.reelected).
func (n *nameNode) reelected(epoch uint64) {
	if n.role != active || n.epoch >= epoch || n.voted >= epoch {
		return
	}
	n.epoch, n.reelect, n.dirty = epoch, false, true
	n.s.becameActive(n, epoch)
	n.s.e.logf("%s re-elected at epoch %d", n.id, epoch)
	n.commit()
}

// fenced (Server.fenced) reports whether the NameNode is still active.
func (n *nameNode) fenced(promised uint64) bool {
	switch election.OnPromise(n.role == active, n.epoch, n.reelecting, promised) {
	case election.Reelect:
		if !n.reelect {
			n.reelect = true
			n.s.e.after(n.id, 0, n.electNow)
		}
		return true
	case election.Stay:
		return true
	}
	n.epoch = max(n.epoch, promised)
	if n.role != active {
		return false
	}
	n.role, n.activeID, n.reelect = standby, "", false
	n.leaderSeen, n.leaderSeenSet = n.now(), true
	n.s.e.logf("%s stepped down (promise of epoch %d)", n.id, promised)
	return false
}

// electNow is the election loop woken for a re-election.
func (n *nameNode) electNow() {
	if n.camp == nil && n.role == active && n.reelect {
		n.startCampaign()
	}
}

// quorum (Server.quorumLocked).
func (n *nameNode) quorum() bool {
	vs := n.cur.Witnesses()
	fresh := map[string]bool{}
	for id := range vs {
		if m := n.members[id]; m != nil && election.Fresh(n.now()-m.lastHeartbeat, n.s.tm) {
			fresh[id] = true
		}
	}
	return election.Majority(vs, fresh)
}

// commit (Server.commitLocked), staging first.
func (n *nameNode) commit() {
	if n.stg != nil {
		return // the next commit after it picks the changes up
	}
	switch {
	case !n.dirty, n.role != active, !n.quorum():
		return
	}
	n.dirty = false
	prev := n.cur
	next := prev.Next(n.epoch, slices.Clone(n.nodes))
	n.numbering.Number(next)
	n.s.staged(n, next)
	before, after := prev.Witnesses(), next.Witnesses()
	all := maps.Clone(before)
	maps.Copy(all, after)
	n.round++
	st := &staging{round: n.round, prev: prev, next: next, before: before, after: after, asked: len(all),
		answered: map[string]bool{}, yes: map[string]bool{}, nodes: slices.Clone(n.nodes)}
	if len(all) == 0 {
		n.stg = st
		n.committed(true)
		return
	}
	n.stg = st
	for _, id := range slices.Sorted(maps.Keys(all)) {
		n.s.send(n.id, id, stageReq{round: st.round, nn: n.ref, top: next})
	}
	n.s.e.after(n.id, max(n.s.tm.Interval, 500*time.Millisecond), func() {
		if n.stg == st {
			n.committed(false)
		}
	})
}

func (n *nameNode) onStage(m stageResp) {
	st := n.stg
	if st == nil || m.round != st.round || st.answered[m.node] {
		if m.stale && m.round == n.lastStage {
			n.fenced(m.promised) // a late refusal (Server.lateRefusals)
		}
		return
	}
	st.answered[m.node] = true
	if m.stale && !n.fenced(m.promised) {
		n.committed(false)
		return
	}
	st.yes[m.node] = !m.stale && !older(m.epoch, m.version, st.next.Epoch, st.next.Version)
	switch {
	case election.Majority(st.before, st.yes) && election.Majority(st.after, st.yes):
		n.committed(true)
	case len(st.answered) == st.asked:
		n.committed(false)
	}
}

// committed ends the staging: ok publishes the version.
func (n *nameNode) committed(ok bool) {
	st := n.stg
	n.stg = nil
	n.lastStage = st.round
	if !ok {
		n.dirty = true
	} else {
		for j, nd := range st.next.Nodes {
			if i := slices.IndexFunc(n.nodes, func(m topology.Node) bool { return m.ID == nd.ID }); i >= 0 && n.nodes[i].State == st.nodes[j].State {
				n.nodes[i].State = nd.State
			}
		}
		n.s.committedVersion(n, st.prev, st.next)
		n.publish(st.next)
	}
	q := n.afterCommit
	n.afterCommit = nil
	for _, fn := range q {
		fn()
	}
}

// publish makes t current and, on the active of its epoch, pushes it.
func (n *nameNode) publish(t *topology.Topology) {
	n.cur = t
	n.s.published(n, t)
	if n.role == active && t.Epoch == n.epoch {
		for _, nd := range t.Nodes {
			if nd.State != topology.Down {
				n.s.send(n.id, nd.ID, pushReq{nn: n.ref, top: t})
			}
		}
		n.beatPeer()
	}
}

// learn (Server.learn).
func (n *nameNode) learn(t *topology.Topology) {
	if !t.NewerThan(n.cur) || n.role == active {
		return
	}
	members := map[string]*member{}
	for _, nd := range t.Nodes {
		m := n.members[nd.ID]
		if m == nil {
			m = newMember(n.now())
		}
		members[nd.ID] = m
	}
	n.nodes, n.members, n.dirty = slices.Clone(t.Nodes), members, false
	n.epoch = max(n.epoch, t.Epoch)
	n.publish(t)
}

// handle serves one message.
func (n *nameNode) handle(from string, msg any) {
	switch m := msg.(type) {
	case hbReq:
		n.onHeartbeat(from, m)
	case regReq:
		n.onRegister(from, m)
	case voteResp:
		n.onVote(m)
	case stageResp:
		n.onStage(m)
	case probeResp:
		n.onProbe(m)
	case peerVoteReq:
		n.voteForPeer(from, m)
	case peerVoteResp:
		n.onPeerVote(m)
	case followReq:
		if n.role != active {
			n.s.send(n.id, from, followNo{})
			return
		}
		n.followerUntil = n.now() + n.s.tm.FailoverSilence
		if !m.ack {
			n.beatPeer() // a new stream gets the state at once
		}
	case followNo:
		n.peerChecked = true
	case followEv:
		n.onFollowEvent(m)
	}
}

// onHeartbeat (Server.heartbeat).
func (n *nameNode) onHeartbeat(from string, req hbReq) {
	now := n.now()
	if n.role == active && (req.promised > n.epoch || election.RivalHolds(n.epoch, n.ref, req.promised, req.holder)) {
		n.fenced(req.promised)
	}
	n.heard[req.node] = true
	m := n.members[req.node]
	behind := older(req.epoch, req.version, n.cur.Epoch, n.cur.Version)
	resp := hbResp{from: n.id, id: req.id, nn: n.ref, epoch: n.epoch}
	if behind {
		resp.top = n.cur
	}
	switch {
	case n.role != active:
		if m != nil {
			m.lastHeartbeat, m.lastSeen = now, now
		}
	case m == nil || m.down:
		if m == nil && older(n.cur.Epoch, n.cur.Version, req.epoch, req.version) {
			resp = hbResp{from: n.id, id: req.id, behind: true}
			break
		}
		resp.rejoin, resp.active = true, true
	default:
		m.lastSeen, m.lastHeartbeat, m.leaseBase = now, now, now
		resp.active = true
		if n.quorum() {
			resp.lease = n.s.tm.Lease
		}
	}
	n.s.send(n.id, from, resp)
}

// onRegister (Server.register and the Register reply).
func (n *nameNode) onRegister(from string, req regReq) {
	if n.role == active && req.promised > n.epoch {
		n.fenced(req.promised)
	}
	if n.role != active {
		return // the DataNode tries the other NameNode
	}
	now := n.now()
	if req.top != nil {
		n.adopt(req.top)
		if n.role != active {
			return
		}
	}
	i := slices.IndexFunc(n.nodes, func(nd topology.Node) bool { return nd.ID == req.node })
	if i < 0 {
		n.nodes = append(n.nodes, topology.Node{ID: req.node, RESPAddr: req.node, GRPCAddr: req.node, State: topology.Joining, Weight: 1})
		n.dirty = true
	} else if n.nodes[i].State == topology.Down {
		n.nodes[i].State = topology.Joining
		n.dirty = true
	}
	m := n.members[req.node]
	if m == nil {
		m = newMember(now)
		n.members[req.node] = m
	}
	m.lastSeen, m.lastHeartbeat, m.leaseBase = now, now, now
	m.down = false
	reply := func() {
		if n.role != active || n.dirty {
			return // the commit failed: an error reply
		}
		n.s.send(n.id, from, regResp{id: req.id, nn: n.ref, epoch: n.cur.Epoch, lease: n.s.tm.Lease, top: n.cur})
	}
	if !n.dirty {
		n.withCommitLock(reply)
		return
	}
	n.withCommitLock(func() {
		n.commit()
		n.afterCommitOr(reply)
	})
}

// afterCommitOr runs fn after the commit under way, or now if none.
func (n *nameNode) afterCommitOr(fn func()) {
	if n.stg != nil {
		n.afterCommit = append(n.afterCommit, fn)
		return
	}
	fn()
}

// adopt (Server.adopt).
func (n *nameNode) adopt(held *topology.Topology) {
	if held.Epoch > n.epoch {
		n.fenced(held.Epoch)
		n.learn(held)
		return
	}
	if !held.NewerThan(n.cur) {
		return
	}
	members := map[string]*member{}
	for _, nd := range held.Nodes {
		m := n.members[nd.ID]
		if m == nil {
			m = newMember(n.now())
		}
		m.down = nd.State == topology.Down
		members[nd.ID] = m
	}
	n.nodes, n.members = slices.Clone(held.Nodes), members
	n.publish(held)
}

// detectTick runs detectOnce twice per interval on the active.
func (n *nameNode) detectTick() {
	if n.role == active {
		n.detectOnce()
	}
	n.s.e.after(n.id, n.s.tm.Interval/2, n.detectTick)
}

// detectOnce (Server.detectOnce): suspects are probed; a node declared
// down keeps its slots until its lease is surely over.
func (n *nameNode) detectOnce() {
	now := n.now()
	reassign := false
	var gone []string
	for i, nd := range n.nodes {
		m := n.members[nd.ID]
		if nd.State == topology.Down || m == nil {
			continue
		}
		if m.down && nd.State == topology.Drained {
			gone = append(gone, nd.ID)
			continue
		}
		if m.down {
			if election.LeaseOver(now-m.leaseBase, n.s.tm) {
				n.nodes[i].State = topology.Down
				n.dirty, reassign = true, true
				n.s.e.logf("%s: %s lease over; reassigning", n.id, nd.ID)
			}
			continue
		}
		if !m.probing && now-m.lastSeen > missedHeartbeats*n.s.tm.Interval {
			m.probing = true
			n.probe(nd.ID, m.lastSeen, now)
		}
	}
	for _, id := range gone {
		n.nodes = slices.DeleteFunc(n.nodes, func(nd topology.Node) bool { return nd.ID == id })
		delete(n.members, id)
		n.dirty, reassign = true, true
	}
	if reassign || n.dirty {
		n.withCommitLock(n.commit)
	}
}

// probe runs a probe round: probeAttempts probes a probe timeout apart
// (half an interval); none answered and no heartbeat meanwhile: down.
func (n *nameNode) probe(id string, since, at time.Duration) {
	n.round++
	round := n.round
	timeout := n.s.tm.Interval / 2
	answered := false
	n.probeWait[round] = func(fenced bool) {
		if fenced {
			n.fenced(n.epoch + 1)
			return
		}
		answered = true
	}
	var attempt func(k int)
	attempt = func(k int) {
		if answered || k == probeAttempts {
			delete(n.probeWait, round)
			m := n.members[id]
			if m == nil {
				return
			}
			m.probing = false
			switch {
			case answered:
				m.lastSeen = max(m.lastSeen, at)
			case m.lastSeen > since || m.down:
			default:
				m.down = true
				n.s.e.logf("%s: %s declared down", n.id, id)
			}
			return
		}
		n.s.send(n.id, id, probeReq{round: round, epoch: n.epoch})
		n.s.e.after(n.id, timeout, func() { attempt(k + 1) })
	}
	attempt(0)
}

func (n *nameNode) onProbe(m probeResp) {
	if f := n.probeWait[m.round]; f != nil {
		f(m.fenced)
	}
}

// followTick keeps the standby's Follow stream to the peer open.
func (n *nameNode) followTick() {
	if n.role != active {
		if n.now()-n.peerBeatAt > n.s.tm.FailoverSilence {
			n.s.send(n.id, n.peer, followReq{from: n.id})
			// An unanswered attempt times out: the peer is checked.
			sent := n.now()
			n.s.e.after(n.id, n.s.tm.FailoverSilence, func() {
				if n.peerBeatAt < sent {
					n.peerChecked = true
				}
			})
		}
	}
	n.s.e.after(n.id, n.s.tm.Interval/4, n.followTick)
}

// beatPeerTick sends the Follow stream's beat every half interval.
func (n *nameNode) beatPeerTick() {
	n.beatPeer()
	n.s.e.after(n.id, n.s.tm.Interval/2, n.beatPeerTick)
}

func (n *nameNode) beatPeer() {
	if n.role != active || n.now() > n.followerUntil {
		return
	}
	n.s.send(n.id, n.peer, followEv{nn: n.ref, epoch: n.epoch, quorum: n.quorum(), top: n.cur})
}

// onFollowEvent (Server.onFollowEvent).
func (n *nameNode) onFollowEvent(ev followEv) {
	if n.role == active || ev.epoch < n.epoch {
		return
	}
	now := n.now()
	n.epoch, n.activeID = ev.epoch, ev.nn.ID
	if ev.quorum {
		n.leaderSeen, n.leaderSeenSet = now, true
	}
	n.peerBeatAt, n.peerChecked = now, true
	n.learn(ev.top)
	n.s.send(n.id, n.peer, followReq{from: n.id, ack: true}) // the FollowAck keeps the stream open
}
