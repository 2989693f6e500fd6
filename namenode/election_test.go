package namenode

import (
	"testing"

	"github.com/chkv/chkv/proto/chkvpb"
)

// TestPeerVoteTieBreak: two NameNodes of a cluster without DataNodes that
// stand for the same epoch at once each ask the other. Exactly one vote is
// granted, to the lower ID, and the loser can no longer win that epoch.
func TestPeerVoteTieBreak(t *testing.T) {
	candidate := func(id string) *Server {
		cfg := DefaultConfig()
		cfg.ID, cfg.HTTP = id, ""
		s, err := New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(s.Stop)
		s.candidate = 3
		return s
	}
	a, b := candidate("nn-a"), candidate("nn-b")
	if r := a.voteForPeer(&chkvpb.ElectRequest{CandidateId: "nn-b", Epoch: 3}); r.GetGranted() {
		t.Fatal("nn-a granted its own epoch to the higher ID")
	}
	if r := b.voteForPeer(&chkvpb.ElectRequest{CandidateId: "nn-a", Epoch: 3}); !r.GetGranted() {
		t.Fatalf("nn-b refused the lower ID: %s", r.GetReason())
	}
	if b.becomeActive(3, nil) {
		t.Fatal("nn-b became active in the epoch it voted for")
	}
	if !a.becomeActive(3, nil) {
		t.Fatal("nn-a could not take the epoch it was granted")
	}
}
