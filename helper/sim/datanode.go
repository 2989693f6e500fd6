package sim

import (
	"time"

	"github.com/chkv/chkv/common/election"
	"github.com/chkv/chkv/common/topology"
)

// streamReq names a heartbeat on the stream to one NameNode.
type streamReq struct {
	nn string
	id uint64
}

// dataNode models a DataNode's membership (datanode/membership): it
// registers, heartbeats both NameNodes every interval, holds the lease
// their replies grant, applies topologies, and is a witness through
// election.Witness. Its state is lost when it crashes.
type dataNode struct {
	s  *Sim
	id string

	wit        election.Witness
	top        *topology.Topology // applied; never nil
	member     bool               // the view lists it (Self >= 0): it may serve
	registered bool
	leaseUntil time.Duration // on its clock
	leaseEpoch uint64
	nextReq    uint64
	sent       map[streamReq]time.Duration // send times of unanswered heartbeats, per NameNode stream
	regSent    map[uint64]time.Duration
	kicked     bool
}

func newDataNode(s *Sim, id string, top *topology.Topology, registered bool) *dataNode {
	d := &dataNode{s: s, id: id, top: top, registered: registered, member: registered && top.Index(id) >= 0,
		sent: map[streamReq]time.Duration{}, regSent: map[uint64]time.Duration{}}
	return d
}

func (d *dataNode) now() time.Duration { return d.s.e.localNow(d.id) }

// start begins the heartbeat loop.
func (d *dataNode) start() {
	d.s.e.after(d.id, d.s.e.jitter(0, d.s.tm.Interval), d.tick)
}

// tick registers or heartbeats, then waits an interval.
func (d *dataNode) tick() {
	d.beat()
	d.s.e.after(d.id, d.s.tm.Interval, d.tick)
}

// kick heartbeats at once (heardFromEpoch), at most once until the next.
func (d *dataNode) kick(epoch uint64) {
	if epoch <= d.leaseEpoch || d.kicked {
		return
	}
	d.kicked = true
	d.s.e.after(d.id, 0, func() { d.kicked = false; d.beat() })
}

func (d *dataNode) beat() {
	if !d.registered {
		d.nextReq++
		d.regSent[d.nextReq] = d.now()
		var held *topology.Topology
		if d.top.Version > 0 {
			held = d.top
		}
		for _, nn := range d.s.nnIDs {
			d.s.send(d.id, nn, regReq{id: d.nextReq, node: d.id, top: held, promised: d.wit.Epoch()})
		}
		return
	}
	d.nextReq++
	for id, at := range d.sent {
		if d.now()-at > 4*d.s.tm.Interval { // the stream was torn down
			delete(d.sent, id)
		}
	}
	for _, nn := range d.s.nnIDs {
		d.sent[streamReq{nn, d.nextReq}] = d.now()
		d.s.send(d.id, nn, hbReq{id: d.nextReq, node: d.id, epoch: d.top.Epoch, version: d.top.Version, promised: d.wit.Epoch(), holder: d.wit.PromisedTo()})
	}
}

// extendLease moves the lease end to sentAt+lease if later.
func (d *dataNode) extendLease(epoch uint64, sentAt, lease time.Duration) {
	if lease > 0 && epoch > d.leaseEpoch {
		d.leaseEpoch = epoch
	}
	if until := sentAt + lease; until > d.leaseUntil {
		d.leaseUntil = until
	}
}

// apply installs a committed t if the witness allows (Member.apply).
func (d *dataNode) apply(t *topology.Topology) {
	if t == nil || !d.wit.MayApply(t, d.top) {
		return
	}
	d.top = t
	d.wit.Applied(t)
	if d.registered {
		d.member = t.Index(d.id) >= 0
	}
}

// serving returns whether the node may serve writes now: it is a member
// of its view and its lease runs. Which slots: those its view gives it.
func (d *dataNode) serving() bool {
	h := d.s.e.hosts[d.id]
	return h.up && h.pausedTo <= d.s.e.now && d.member && d.now() < d.leaseUntil
}

// handle serves one message.
func (d *dataNode) handle(from string, msg any) {
	switch m := msg.(type) {
	case voteReq:
		b := d.wit.Vote(m.epoch, m.cand, d.now(), d.s.tm.VoteHold, d.top)
		d.s.send(d.id, from, voteResp{round: m.round, node: d.id, ballot: b})
	case stageReq:
		held, ok := d.wit.Stage(m.top, m.nn, d.top)
		if !ok {
			d.s.send(d.id, from, stageResp{round: m.round, node: d.id, stale: true, promised: d.wit.Epoch()})
			return
		}
		d.kick(m.top.Epoch)
		d.s.send(d.id, from, stageResp{round: m.round, node: d.id, promised: d.wit.Epoch(), epoch: held.Epoch, version: held.Version})
	case pushReq:
		if !d.wit.Follows(m.top.Epoch, m.nn) {
			return
		}
		d.kick(m.top.Epoch)
		d.apply(m.top)
	case probeReq:
		d.s.send(d.id, from, probeResp{round: m.round, node: d.id, fenced: m.epoch < d.wit.Epoch()})
	case hbResp:
		d.onHeartbeat(m)
	case regResp:
		d.onRegistered(m)
	}
}

// onHeartbeat applies a reply (Member.onHeartbeat).
func (d *dataNode) onHeartbeat(m hbResp) {
	k := streamReq{m.from, m.id}
	sentAt, ok := d.sent[k]
	if !ok || !d.registered {
		return
	}
	delete(d.sent, k)
	if m.behind {
		d.registered = false
		return
	}
	active := m.active && d.wit.Follows(m.epoch, m.nn)
	if active && m.rejoin {
		d.rejoin(m.top)
		return
	}
	d.apply(m.top)
	if active && m.lease > 0 && d.wit.FromActive(m.epoch, m.nn, sentAt) {
		d.extendLease(m.epoch, sentAt, m.lease)
	}
}

// rejoin drops what the node holds and registers again (Member.rejoin).
func (d *dataNode) rejoin(p *topology.Topology) {
	if !d.registered {
		return
	}
	d.registered, d.member = false, false
	if p != nil && p.NewerThan(d.top) && p.Epoch >= d.wit.Epoch() {
		d.top = p
		d.wit.Applied(p)
	}
	d.s.e.logf("%s rejoins", d.id)
}

// onRegistered completes a registration (Member.registerOnce).
func (d *dataNode) onRegistered(m regResp) {
	sentAt, ok := d.regSent[m.id]
	if !ok || d.registered {
		return
	}
	delete(d.regSent, m.id)
	if !d.wit.FromActive(m.epoch, m.nn, sentAt) {
		return
	}
	d.extendLease(m.epoch, sentAt, m.lease)
	d.registered = true
	d.apply(m.top)
	d.member = d.top.Index(d.id) >= 0
	d.s.e.logf("%s registered with %s (%d,%d)", d.id, m.nn.ID, d.top.Epoch, d.top.Version)
}
