package datanode

import (
	"testing"
	"time"

	"github.com/chkv/chkv/common/topology"
	"github.com/chkv/chkv/proto/chkvpb"
)

// TestWitnessVotes checks the rules of a DataNode's vote: it refuses
// while it hears from the active, it never promises one epoch to two
// NameNodes nor goes back to a lower one, and the NameNode it follows may
// be re-elected at once.
func TestWitnessVotes(t *testing.T) {
	const hold = 2 * time.Second
	var w witness
	held := topology.Empty(1, 16)
	vote := func(who string, epoch uint64, now time.Duration) *chkvpb.ElectResponse {
		return w.vote(&chkvpb.ElectRequest{CandidateId: who, Epoch: epoch}, now, hold, held)
	}
	if !w.fromActive(1, "nn-a", 10*time.Second) {
		t.Fatal("a first active refused")
	}
	if r := vote("nn-b", 2, 11*time.Second); r.Granted {
		t.Fatal("granted a rival 1s after hearing from the active")
	}
	if r := vote("nn-a", 2, 11*time.Second); !r.Granted {
		t.Fatalf("refused the active's own re-election: %s", r.Reason)
	}
	if r := vote("nn-b", 2, 20*time.Second); r.Granted || r.PromisedEpoch != 2 {
		t.Fatalf("epoch 2 granted twice: %v", r)
	}
	if r := vote("nn-b", 3, 20*time.Second); !r.Granted {
		t.Fatalf("refused a higher epoch after the hold: %s", r.Reason)
	}
	if r := vote("nn-b", 3, 20*time.Second); !r.Granted {
		t.Fatal("a repeated request of the same candidate and epoch refused")
	}
	if r := vote("nn-a", 4, 21*time.Second); r.Granted {
		t.Fatal("granted within the hold that a grant starts")
	}
	// The fenced epoch 2 can no longer act; epoch 3 from its holder can.
	if w.follows(2, "nn-a") {
		t.Fatal("follows a fenced epoch")
	}
	if w.follows(3, "nn-a") {
		t.Fatal("follows epoch 3 from a NameNode it was not promised to")
	}
	if !w.follows(3, "nn-b") {
		t.Fatal("does not follow the NameNode it promised epoch 3")
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
	got, ok := w.stage(next, "nn-a", time.Second, held)
	if !ok || got.Version != 6 {
		t.Fatalf("stage: %v %v", got, ok)
	}
	r := w.vote(&chkvpb.ElectRequest{CandidateId: "nn-b", Epoch: 2}, 10*time.Second, time.Second, held)
	if !r.Granted || r.GetTopology().GetVersion() != 6 {
		t.Fatalf("vote after staging: granted=%v version=%d, want the staged 6", r.Granted, r.GetTopology().GetVersion())
	}
	if _, ok := w.stage(next, "nn-a", 11*time.Second, held); ok {
		t.Fatal("staged from epoch 1 after promising epoch 2")
	}
	w.applied(next)
	if w.staged != nil {
		t.Fatal("the staged version outlived its application")
	}
}
