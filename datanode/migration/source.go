package migration

import (
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/chkv/chkv/datanode/migrate"
	"github.com/chkv/chkv/datanode/store"
	"github.com/chkv/chkv/proto/chkvpb"
)

// How a slot moves: a snapshot, rounds of the keys written meanwhile, and
// a cutover under a write pause that sends the last of them and the
// handoff (see cutover).
const (
	batchBytes     = 64 << 10 // records per DATA message
	chunkBytes     = 1 << 20  // values above this travel in chunks of it
	scanKeys       = 128      // keys copied per hold of a slot's lock
	cutoverKeys    = 64       // pause writes once this few keys are dirty...
	maxPausedKeys  = 1024     // ...or, after maxDeltaRounds, this few
	maxDeltaRounds = 16       // rounds before settling for maxPausedKeys
)

// slotMove is one attempt at moving a slot, as part of a group.
type slotMove struct {
	g       *Migrator
	j       *job
	st      *outStream
	sl      *store.Slot
	tr      *store.Tracker
	session uint64
	err     error // set when the attempt is over; nil: handed off
	over    bool
	batch   []byte
	keys    int64
	bytes   int64
	// sentTotal is the length of the large value being sent in chunks.
	sentTotal int
}

// fail ends the attempt with err.
func (mv *slotMove) fail(err error) {
	if !mv.over {
		mv.over, mv.err = true, err
	}
}

// moveGroup runs one attempt at each job, all to one target over st, and
// returns each one's outcome: nil when handed off.
func (g *Migrator) moveGroup(jobs []*job, st *outStream) []error {
	mvs := make([]*slotMove, len(jobs))
	for i, j := range jobs {
		mv := &slotMove{g: g, j: j, st: st, sl: g.cfg.Store.Slot(j.slot), session: rand.Uint64() | 1}
		mvs[i] = mv
		if h := g.own.Out(j.slot); h != nil && h.InDoubt {
			mv.fail(mv.settle(h))
			continue
		}
		mv.tr = store.NewTracker()
		mv.sl.Lock()
		mv.sl.Track(mv.tr)
		mv.sl.Unlock()
	}
	defer func() {
		for _, mv := range mvs {
			if mv.tr != nil {
				mv.sl.Lock()
				mv.sl.Track(nil)
				mv.sl.Unlock()
			}
		}
	}()
	for _, mv := range mvs {
		if !mv.over {
			g.hook("begin", mv.j.slot)
			if err := mv.begin(); err != nil {
				mv.fail(err)
			}
			g.hook("snapshot", mv.j.slot)
		}
	}
	g.catchUp(mvs)
	g.cutover(mvs)
	errs := make([]error, len(mvs))
	for i, mv := range mvs {
		errs[i] = mv.err
		if mv.err != nil && !mv.st.broken() {
			// Tell the target to drop what it has; best effort, as the
			// stream may be the problem.
			mv.st.send(&chkvpb.MigrateRequest{Kind: chkvpb.MigrateRequest_ABORT, Slot: uint32(mv.j.slot), Session: mv.session}) //nolint:errcheck
		}
	}
	return errs
}

// begin announces the slot and sends its snapshot.
func (mv *slotMove) begin() error {
	if err := mv.send(&chkvpb.MigrateRequest{Kind: chkvpb.MigrateRequest_BEGIN, Slot: uint32(mv.j.slot),
		Session: mv.session, SourceId: mv.g.cfg.SelfID}); err != nil {
		return err
	}
	return mv.snapshot()
}

// catchUp sends rounds of the keys written since the snapshot until every
// slot's backlog is small enough to send under a write pause.
func (g *Migrator) catchUp(mvs []*slotMove) {
	for round := 0; ; round++ {
		behind := false
		for _, mv := range mvs {
			if mv.over {
				continue
			}
			mv.sl.Lock()
			reset, dirty := mv.tr.Reset, mv.sl.DirtyLen()
			mv.sl.Unlock()
			switch {
			case reset:
				mv.fail(fmt.Errorf("%w: slot %d was flushed", errRetry, mv.j.slot))
			case dirty <= cutoverKeys || (round >= maxDeltaRounds && dirty <= maxPausedKeys):
			case round >= 4*maxDeltaRounds:
				mv.fail(fmt.Errorf("%w: slot %d: %d keys still dirty after %d rounds", errRetry, mv.j.slot, dirty, round))
			default:
				behind = true
				if err := mv.sendDirty(); err != nil {
					mv.fail(err)
				}
			}
		}
		if !behind {
			return
		}
	}
}

// snapshot sends every key of the slot, a few at a time under its lock.
func (mv *slotMove) snapshot() error {
	var cursor uint32
	var large [][]byte
	for {
		if err := mv.j.ctx.Err(); err != nil {
			return err
		}
		now := time.Now().UnixMilli()
		mv.sl.Lock()
		next, done := mv.sl.ScanTyped(cursor, scanKeys, now, func(key, value []byte, typ store.Type, expireAt int64) {
			if len(value) > chunkBytes {
				large = append(large, append([]byte(nil), key...))
				return
			}
			mv.add(key, value, typ, expireAt, now)
		})
		mv.sl.Unlock()
		for _, k := range large {
			if err := mv.sendLarge(k); err != nil {
				return err
			}
		}
		large = large[:0]
		if len(mv.batch) >= batchBytes || done {
			if err := mv.flush(); err != nil {
				return err
			}
		}
		if done {
			return nil
		}
		cursor = next
	}
}

// add appends the record of a key's state to the batch. The caller holds
// the slot's lock.
func (mv *slotMove) add(key, value []byte, typ store.Type, expireAt, now int64) {
	r := typedRecord(key, value, typ, expireAt, now)
	mv.batch = migrate.Append(mv.batch, &r)
	mv.keys++
}

// addState appends the current state of key, present or not. The caller
// holds the slot's lock. It returns false for a value to send in chunks.
func (mv *slotMove) addState(key []byte, now int64) bool {
	value, expireAt, typ, ok := mv.sl.PeekTyped(key, now)
	switch {
	case !ok:
		mv.batch = migrate.Append(mv.batch, &migrate.Record{Key: key, Deleted: true})
	case len(value) > chunkBytes:
		return false
	default:
		mv.add(key, value, typ, expireAt, now)
	}
	return true
}

// sendDirty sends the state of the keys written since the last call.
func (mv *slotMove) sendDirty() error {
	mv.sl.Lock()
	dirty := mv.sl.TakeDirty()
	var large [][]byte
	i := 0
	for k := range dirty {
		if !mv.addState([]byte(k), time.Now().UnixMilli()) {
			large = append(large, []byte(k))
		}
		if i++; i%scanKeys == 0 || len(mv.batch) >= batchBytes {
			mv.sl.Unlock()
			if len(mv.batch) >= batchBytes {
				if err := mv.flush(); err != nil {
					return err
				}
			}
			mv.sl.Lock()
		}
	}
	mv.sl.Unlock()
	for _, k := range large {
		if err := mv.sendLarge(k); err != nil {
			return err
		}
	}
	return mv.flush()
}

// sendLarge sends a value above chunkBytes in chunks, taking the slot's
// lock for one chunk at a time so that the slot's other keys stay
// writable. If the key changes meanwhile the value is abandoned: the key
// is dirty and will be sent again. A change is seen through the slot's
// tracker, not the value's length: a write in place (a list push into its
// spare room, a same-length hash field) keeps the length, and a value
// assembled from chunks read before and after it could be malformed.
func (mv *slotMove) sendLarge(key []byte) error {
	if err := mv.flush(); err != nil {
		return err
	}
	for off := 0; ; {
		now := time.Now().UnixMilli()
		mv.sl.Lock()
		value, expireAt, typ, ok := mv.sl.PeekTyped(key, now)
		if !ok || off > len(value) || (off > 0 && (len(value) != mv.sentTotal || mv.sl.Changed(key))) {
			mv.sl.Unlock()
			return nil // deleted or rewritten: it is dirty
		}
		if off == 0 {
			mv.sl.Forget(key) // sent from here on
		}
		end := min(off+chunkBytes, len(value))
		r := typedRecord(key, value[off:end], typ, expireAt, now)
		r.Total, r.Offset = len(value), off
		mv.sentTotal = len(value)
		mv.batch = migrate.Append(mv.batch, &r)
		mv.sl.Unlock()
		if err := mv.flush(); err != nil {
			return err
		}
		if end == len(value) {
			mv.keys++
			return nil
		}
		mv.g.hook("chunk", mv.j.slot)
		off = end
	}
}

// flush sends the batch, if any, as one DATA message, within the
// migration rate.
func (mv *slotMove) flush() error {
	if len(mv.batch) == 0 {
		return nil
	}
	if l := mv.g.limiter; l != nil {
		for n := len(mv.batch); n > 0; n -= l.Burst() {
			if err := l.WaitN(mv.j.ctx, min(n, l.Burst())); err != nil {
				return err
			}
		}
	}
	err := mv.send(&chkvpb.MigrateRequest{Kind: chkvpb.MigrateRequest_DATA, Slot: uint32(mv.j.slot),
		Session: mv.session, Records: mv.batch})
	mv.bytes += int64(len(mv.batch))
	mv.batch = mv.batch[:0] // Send has encoded the message: the buffer is free
	return err
}

func (mv *slotMove) send(req *chkvpb.MigrateRequest) error {
	if err := mv.j.ctx.Err(); err != nil {
		return err
	}
	if err := mv.st.send(req); err != nil {
		return mv.st.sendErr(err)
	}
	return nil
}
