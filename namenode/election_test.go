package namenode

import (
	"testing"
	"time"

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

// TestRestartedNameNodeCampaignsOnceItKnowsAWitness: after a start a
// NameNode waits StartupHeartbeats intervals before campaigning, unless it
// has heard from a DataNode and found that its peer is no active to
// follow: then waiting would only let the DataNodes' leases lapse.
func TestRestartedNameNodeCampaignsOnceItKnowsAWitness(t *testing.T) {
	clock := newFakeClock()
	cfg := DefaultConfig()
	cfg.ID, cfg.HTTP, cfg.Peer, cfg.now = "nn-a", "", "127.0.0.1:1", clock.Now
	nn, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nn.Stop)
	// As Start leaves it, without its loops.
	nn.startedAt, nn.peerChecked = clock.Now(), false
	soon := clock.Now().Add(time.Millisecond)
	if nn.shouldCampaign(soon) {
		t.Fatal("campaigns at once, knowing no DataNode")
	}
	nn.mu.Lock()
	nn.heard["dn-1"] = "127.0.0.1:2"
	nn.mu.Unlock()
	if nn.shouldCampaign(soon) {
		t.Fatal("campaigns before it has tried to follow its peer")
	}
	nn.mu.Lock()
	nn.peerChecked = true
	nn.mu.Unlock()
	if !nn.shouldCampaign(soon) {
		t.Fatal("waits for the startup window although it knows a witness and has no active peer")
	}
	nn.mu.Lock()
	delete(nn.heard, "dn-1")
	nn.mu.Unlock()
	if nn.shouldCampaign(soon) || !nn.shouldCampaign(clock.Now().Add(StartupHeartbeats*cfg.HeartbeatInterval)) {
		t.Fatal("knowing no DataNode, it must campaign after the startup window and not before")
	}
	nn.mu.Lock()
	nn.heard["dn-1"] = "127.0.0.1:2"
	nn.mu.Unlock()
	nn.mu.Lock()
	nn.leaderSeen = soon
	nn.mu.Unlock()
	if nn.shouldCampaign(soon) {
		t.Fatal("campaigns while it follows an active peer")
	}
}
