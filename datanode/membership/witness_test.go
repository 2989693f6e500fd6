package membership

import (
	"testing"
	"time"

	"github.com/chkv/chkv/common/topology"
	"github.com/chkv/chkv/proto/chkvpb"
)

// Two NameNodes, and a restart of the first under the same ID.
var (
	nnA  = nameNodeRef{ID: "nn-a", Incarnation: 1}
	nnA2 = nameNodeRef{ID: "nn-a", Incarnation: 2} // nn-a restarted: another incarnation
	nnB  = nameNodeRef{ID: "nn-b", Incarnation: 7}
)

func electReq(who nameNodeRef, epoch uint64) *chkvpb.ElectRequest {
	return &chkvpb.ElectRequest{CandidateId: who.ID, Incarnation: who.Incarnation, Epoch: epoch}
}

// TestWitnessVotes checks the rules of a DataNode's vote: it refuses
// while it hears from the active, it never promises one epoch to two
// NameNodes nor goes back to a lower one, and the NameNode it follows may
// be re-elected at once.
func TestWitnessVotes(t *testing.T) {
	const hold = 2 * time.Second
	var w witness
	held := topology.Empty(1, 16)
	vote := func(who nameNodeRef, epoch uint64, now time.Duration) *chkvpb.ElectResponse {
		return w.vote(electReq(who, epoch), now, hold, held)
	}
	if !w.fromActive(1, nnA, 10*time.Second) {
		t.Fatal("a first active refused")
	}
	if r := vote(nnB, 2, 11*time.Second); r.Granted {
		t.Fatal("granted a rival 1s after hearing from the active")
	}
	if r := vote(nnA, 2, 11*time.Second); !r.Granted {
		t.Fatalf("refused the active's own re-election: %s", r.Reason)
	}
	if r := vote(nnB, 2, 20*time.Second); r.Granted || r.PromisedEpoch != 2 {
		t.Fatalf("epoch 2 granted twice: %v", r)
	}
	if r := vote(nnB, 3, 20*time.Second); !r.Granted {
		t.Fatalf("refused a higher epoch after the hold: %s", r.Reason)
	}
	if r := vote(nnB, 3, 20*time.Second); !r.Granted {
		t.Fatal("a repeated request of the same candidate and epoch refused")
	}
	if r := vote(nnA, 4, 21*time.Second); r.Granted {
		t.Fatal("granted within the hold that a grant starts")
	}
	// The fenced epoch 2 can no longer act; epoch 3 from its holder can.
	if w.follows(2, nnA) {
		t.Fatal("follows a fenced epoch")
	}
	if w.follows(3, nnA) {
		t.Fatal("follows epoch 3 from a NameNode it was not promised to")
	}
	if !w.follows(3, nnB) {
		t.Fatal("does not follow the NameNode it promised epoch 3")
	}
}

// TestWitnessEpochBelongsToOneIncarnation checks DESIGN.md §6: a NameNode
// restarted under the same ID is another incarnation. It is never granted
// the epoch its predecessor held, nor can it stage, push or lease in it;
// it must take a fresh epoch, and only after the hold of the predecessor's
// lease, as any rival.
func TestWitnessEpochBelongsToOneIncarnation(t *testing.T) {
	const hold = 2 * time.Second
	var w witness
	held := topology.Empty(1, 16)
	held.Version = 5
	vote := func(who nameNodeRef, epoch uint64, now time.Duration) *chkvpb.ElectResponse {
		return w.vote(electReq(who, epoch), now, hold, held)
	}
	if r := vote(nnA, 3, time.Second); !r.Granted {
		t.Fatalf("first election refused: %s", r.Reason)
	}
	staged := held.Next(3, nil)
	staged.Version = 6
	if _, ok := w.stage(staged, nnA, held); !ok {
		t.Fatal("the elected incarnation could not stage")
	}
	if !w.fromActive(3, nnA, 2*time.Second) {
		t.Fatal("the elected incarnation's lease refused")
	}
	// nn-a crashes and restarts: the same ID, a new incarnation.
	r := vote(nnA2, 3, 10*time.Second)
	if r.Granted {
		t.Fatal("the restarted incarnation was granted the epoch its predecessor held")
	}
	if r.PromisedEpoch != 3 {
		t.Fatalf("refusal reports promised epoch %d, want 3 so the candidate moves above it", r.PromisedEpoch)
	}
	other := held.Next(3, nil)
	other.Version = 6
	if _, ok := w.stage(other, nnA2, held); ok {
		t.Fatal("the restarted incarnation staged a version in its predecessor's epoch")
	}
	if w.follows(3, nnA2) || w.fromActive(3, nnA2, 10*time.Second) {
		t.Fatal("the restarted incarnation is followed in its predecessor's epoch")
	}
	// A fresh epoch, like any rival: not within the hold of the
	// predecessor's last lease, granted after it.
	if r := vote(nnA2, 4, 3*time.Second); r.Granted {
		t.Fatal("the restarted incarnation bypassed the hold of its predecessor's lease")
	}
	r = vote(nnA2, 4, 10*time.Second)
	if !r.Granted {
		t.Fatalf("a fresh epoch refused to the restarted incarnation: %s", r.Reason)
	}
	if r.GetTopology().GetEpoch() != 3 || r.GetTopology().GetVersion() != 6 {
		t.Fatalf("the vote carries (%d, %d), want the staged (3, 6)", r.GetTopology().GetEpoch(), r.GetTopology().GetVersion())
	}
	// The predecessor, were it still alive, is fenced now.
	if w.follows(3, nnA) || w.follows(4, nnA) {
		t.Fatal("the old incarnation is still followed")
	}
	if !w.follows(4, nnA2) {
		t.Fatal("the new incarnation is not followed in its epoch")
	}
}

// TestWitnessHoldRunsFromLeases checks that pushes and staging do not
// extend the vote hold: it runs from the last lease, as the lease does,
// so the hold always ends before the lease (common/timing).
func TestWitnessHoldRunsFromLeases(t *testing.T) {
	const hold = 2 * time.Second
	var w witness
	held := topology.Empty(1, 16)
	if !w.fromActive(1, nnA, time.Second) {
		t.Fatal("lease refused")
	}
	next := held.Next(1, nil)
	next.Version = 1
	if _, ok := w.stage(next, nnA, held); !ok {
		t.Fatal("stage refused")
	}
	if !w.follows(1, nnA) {
		t.Fatal("push refused")
	}
	if r := w.vote(electReq(nnB, 2), 2900*time.Millisecond, hold, held); r.Granted {
		t.Fatal("granted within the hold of the lease")
	}
	if r := w.vote(electReq(nnB, 2), 3100*time.Millisecond, hold, held); !r.Granted {
		t.Fatalf("refused after the lease's hold although only pushes came since: %s", r.Reason)
	}
}

// TestWitnessStages checks that staging keeps the newest version without
// applying it, is refused from a fenced epoch, and is answered in the
// votes so that a new active adopts it.
func TestWitnessStages(t *testing.T) {
	var w witness
	held := topology.Empty(1, 16)
	held.Version = 5
	next := held.Next(1, nil)
	next.Version = 6
	got, ok := w.stage(next, nnA, held)
	if !ok || got.Version != 6 {
		t.Fatalf("stage: %v %v", got, ok)
	}
	r := w.vote(electReq(nnB, 2), 10*time.Second, time.Second, held)
	if !r.Granted || r.GetTopology().GetVersion() != 6 {
		t.Fatalf("vote after staging: granted=%v version=%d, want the staged 6", r.Granted, r.GetTopology().GetVersion())
	}
	if _, ok := w.stage(next, nnA, held); ok {
		t.Fatal("staged from epoch 1 after promising epoch 2")
	}
	w.applied(next)
	if w.staged() != nil {
		t.Fatal("the staged version outlived its application")
	}
}
