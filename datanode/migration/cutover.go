package migration

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/chkv/chkv/datanode/ownership"
	"github.com/chkv/chkv/proto/chkvpb"
)

// handoffTimeout bounds the wait for a target's acknowledgement of a
// handoff, which is also the longest write pause of a slot.
const handoffTimeout = time.Second

// errRefused is a target's refusal of a slot.
var errRefused = errors.New("datanode: target refused the slot")

// cutover hands off the slots of a group that caught up: it pauses writes
// to each (taking its gate exclusively, in slot order), sends the keys
// written since the last round and the HANDOFF, and resumes each slot as
// soon as the target acknowledges it, now redirecting with MOVED. A slot
// whose acknowledgement does not come is in doubt (see inDoubt).
func (g *Migrator) cutover(mvs []*slotMove) {
	var paused []*slotMove
	for _, mv := range mvs {
		if !mv.over {
			paused = append(paused, mv)
		}
	}
	slices.SortFunc(paused, func(a, b *slotMove) int { return a.j.slot - b.j.slot })
	start := make(map[int]time.Time, len(paused))
	resume := func(mv *slotMove) {
		if t, ok := start[mv.j.slot]; ok {
			delete(start, mv.j.slot)
			g.own.Unlock(mv.j.slot)
			g.recordPause(time.Since(t))
		}
	}
	defer func() {
		for _, mv := range paused {
			resume(mv)
		}
	}()
	v := g.own.View()
	var sent []*slotMove
	var doubts []doubt
	for _, mv := range paused {
		s := mv.j.slot
		g.hook("cutover", s)
		g.own.Lock(s)
		start[s] = time.Now()
		tg := v.Top.Target[s]
		if v2 := g.own.View(); v2 != v || !v.Owns(s) || g.own.Out(s) != nil || tg < 0 || v.Top.Nodes[tg].ID != mv.j.to.ID {
			// The topology changed since the group began: replan.
			mv.fail(fmt.Errorf("%w: slot %d was replanned", errRetry, s))
			resume(mv)
			continue
		}
		mv.sl.Lock()
		reset := mv.tr.Reset
		mv.sl.Unlock()
		if reset {
			mv.fail(fmt.Errorf("%w: slot %d was flushed", errRetry, s))
			resume(mv)
			continue
		}
		if err := mv.sendDirty(); err != nil {
			mv.fail(err)
			resume(mv)
			continue
		}
		if err := mv.send(&chkvpb.MigrateRequest{Kind: chkvpb.MigrateRequest_HANDOFF, Slot: uint32(s), Session: mv.session}); err != nil {
			// The handoff may have left before the stream broke.
			doubts = append(doubts, mv.inDoubt(err))
			resume(mv)
			continue
		}
		sent = append(sent, mv)
	}
	g.awaitHandoffs(sent, func(mv *slotMove, err error) {
		switch {
		case err == nil:
			mv.handedOff(&ownership.HandedOut{To: mv.j.to, Reply: movedReply(mv.j.slot, mv.j.to.RESPAddr), Session: mv.session})
			mv.over = true
		case errors.Is(err, errRefused):
			mv.fail(err)
		default:
			doubts = append(doubts, mv.inDoubt(err))
		}
		resume(mv)
	})
	for _, d := range doubts { // every gate is released by now
		d.mv.fail(d.mv.settle(d.h))
	}
}

// doubt is a handoff whose acknowledgement was lost.
type doubt struct {
	mv *slotMove
	h  *ownership.HandedOut
}

func movedReply(s int, addr string) string { return fmt.Sprintf("MOVED %d %s", s, addr) }

// awaitHandoffs waits for the target's answers to the HANDOFFs of sent,
// calling done once for each: nil when acknowledged, errRefused, or the
// reason the answer did not come.
func (g *Migrator) awaitHandoffs(sent []*slotMove, done func(*slotMove, error)) {
	if len(sent) == 0 {
		return
	}
	st := sent[0].st
	waiting := make(map[uint32]*slotMove, len(sent))
	for _, mv := range sent {
		waiting[uint32(mv.j.slot)] = mv
	}
	timer := time.NewTimer(handoffTimeout)
	defer timer.Stop()
	var lost error
	for len(waiting) > 0 && lost == nil {
		select {
		case r := <-st.replies:
			mv := waiting[r.GetSlot()]
			if mv == nil || r.GetSession() != mv.session {
				continue
			}
			delete(waiting, r.GetSlot())
			switch {
			case r.GetError() != "":
				done(mv, fmt.Errorf("%w %d: %s", errRefused, mv.j.slot, r.GetError()))
			case r.GetHandedOff():
				done(mv, nil)
			}
		case <-st.done:
			lost = errors.New("datanode: migration stream ended before the handoff was acknowledged")
		case <-timer.C:
			lost = errors.New("datanode: handoff not acknowledged in time")
		}
	}
	for _, mv := range waiting {
		done(mv, lost)
	}
}

// handedOff records a handoff the target acknowledged: the node redirects
// the slot from now on, frees its data and reports the handoff. The caller
// holds the slot's gate exclusively.
func (mv *slotMove) handedOff(h *ownership.HandedOut) {
	g, s := mv.g, mv.j.slot
	g.own.SetOut(s, h)
	mv.sl.Lock()
	mv.sl.Track(nil)
	mv.sl.Clear()
	mv.sl.Unlock()
	mv.tr = nil
	mv.g.slotsMoved.Add(1)
	mv.g.keysMoved.Add(mv.keys)
	mv.g.bytesMoved.Add(mv.bytes)
	g.cfg.HandedOff(s, h.To.ID)
	g.hook("handoff", s)
}

// inDoubt marks a handoff whose acknowledgement was lost: the target may or
// may not serve the slot now. Until settle settles it the node answers
// TRYAGAIN for the slot, keeping its data. The caller holds the slot's
// gate exclusively.
func (mv *slotMove) inDoubt(cause error) doubt {
	s := mv.j.slot
	h := &ownership.HandedOut{To: mv.j.to, Session: mv.session, InDoubt: true,
		Reply: fmt.Sprintf("TRYAGAIN Slot %d is being handed off to %s", s, mv.j.to.RESPAddr)}
	mv.g.own.SetOut(s, h)
	mv.g.cfg.Log.Warn("handoff in doubt; asking the target", "slot", s, "target", mv.j.to.ID, "err", cause)
	return doubt{mv: mv, h: h}
}

// settle asks the target whether it took the handoff h, until it answers
// or the topology settles it (the target declared down). Its answer is
// final: a target that did not take the slot never will under h's session.
func (mv *slotMove) settle(h *ownership.HandedOut) error {
	g, s := mv.g, mv.j.slot
	conn, err := mv.g.dial(h.To.GRPCAddr)
	if err != nil {
		return err
	}
	client := chkvpb.NewDataNodeClient(conn)
	for {
		if g.own.Out(s) != h {
			return fmt.Errorf("%w: handoff of slot %d settled by the topology", errRetry, s)
		}
		cctx, cancel := context.WithTimeout(mv.j.ctx, handoffTimeout)
		resp, err := client.HandoffStatus(cctx, &chkvpb.HandoffStatusRequest{Slot: uint32(s), Session: h.Session})
		cancel()
		if err == nil {
			return mv.settled(h, resp.GetHandedOff())
		}
		select {
		case <-mv.j.ctx.Done():
			return mv.j.ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// settled applies the target's answer about the handoff in doubt h.
func (mv *slotMove) settled(h *ownership.HandedOut, taken bool) error {
	g, s := mv.g, mv.j.slot
	g.own.Lock(s)
	defer g.own.Unlock(s)
	if g.own.Out(s) != h {
		return fmt.Errorf("%w: handoff of slot %d settled by the topology", errRetry, s)
	}
	if !taken {
		g.own.SetOut(s, nil)
		return fmt.Errorf("datanode: target %s did not take slot %d; serving it again", h.To.ID, s)
	}
	if mv.tr == nil { // a handoff left in doubt by an earlier attempt
		mv.sl.Lock()
		mv.sl.Track(nil)
		mv.sl.Unlock()
	}
	mv.handedOff(&ownership.HandedOut{To: h.To, Reply: movedReply(s, h.To.RESPAddr), Session: h.Session})
	g.cfg.Log.Info("handoff in doubt was taken by the target", "slot", s, "target", h.To.ID)
	return nil
}
