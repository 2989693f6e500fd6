package namenode

import (
	"context"
	"testing"
	"time"

	"github.com/chkv/chkv/helper/testutil"
	"github.com/chkv/chkv/proto/chkvpb"
)

// TestActiveReelectedWhenItsEpochWasPromisedToARival: two NameNodes that
// start together can split a witness's promises: the active won epoch 1
// with a majority while one witness promised 1 to the rival, which lost.
// That witness then refuses the active's staging. Each epoch still has
// one majority, so the active must not step down (the two would duel for
// ever, each losing the next epoch to the other): it counts the refusal as
// a no, commits with the majority, and re-elects itself at epoch 2, which
// wins the witness back.
func TestActiveReelectedWhenItsEpochWasPromisedToARival(t *testing.T) {
	nn := startNameNode(t, nil)
	c := nn.client(t, "")
	dns := []*fakeDataNode{startWitness(t, "dn-0"), startWitness(t, "dn-1"), startWitness(t, "dn-joiner")}
	for _, dn := range dns[:2] {
		register(t, c, dn.node(), nil)
	}
	joiner := dns[2]
	joiner.mu.Lock()
	joiner.promiseLocked(1, fakeRef{"nn-rival", 99})
	joiner.mu.Unlock()

	resp := register(t, c, joiner.node(), nil)
	if mustTopology(t, resp.GetTopology()).Index("dn-joiner") < 0 {
		t.Fatal("the joiner's registration was not committed by the majority")
	}
	// The joiner refuses the staging or, if the majority answered first,
	// the push of the committed version.
	testutil.Eventually(t, 5*time.Second, "the active hears the joiner's refusal", func() bool {
		nn.mu.Lock()
		defer nn.mu.Unlock()
		return nn.reelect || nn.role != active
	})
	if act, epoch := nn.Active(); !act || epoch != 1 {
		t.Fatalf("after the refusal: active %v in epoch %d, want active in epoch 1", act, epoch)
	}
	if !nn.shouldCampaign(nn.clock.Now()) {
		t.Fatal("the active does not seek re-election")
	}
	if !nn.campaign(context.Background()) {
		t.Fatal("the re-election was lost")
	}
	if act, epoch := nn.Active(); !act || epoch != 2 {
		t.Fatalf("after the re-election: active %v in epoch %d, want active in epoch 2", act, epoch)
	}
	testutil.Eventually(t, 5*time.Second, "the joiner holds epoch 2's topology", func() bool {
		epoch, who := joiner.promised()
		return epoch == 2 && who.id == nn.id && joiner.held() > 0
	})
	if nn.shouldCampaign(nn.clock.Now()) {
		t.Fatal("the active still seeks re-election after winning it")
	}
}

// TestActiveIgnoresItsOwnReelectionPromise: while an active re-elects
// itself, the witnesses that granted it the new epoch refuse its calls at
// the old one. Those promises are its own: it stays active. Once a
// re-election is lost, the epoch may be a rival's, and a promise of it
// fences the active.
func TestActiveIgnoresItsOwnReelectionPromise(t *testing.T) {
	nn := startNameNode(t, nil)
	c := nn.client(t, "")
	dns := []*fakeDataNode{startWitness(t, "dn-0"), startWitness(t, "dn-1"), startWitness(t, "dn-2")}
	for _, dn := range dns {
		register(t, c, dn.node(), nil)
	}
	if !nn.fenced(1, "test: a witness promised epoch 1 to a rival") {
		t.Fatal("stepped down for its own epoch promised to a rival")
	}
	gate := make(chan struct{})
	dns[2].mu.Lock()
	dns[2].voteGate = gate
	dns[2].mu.Unlock()
	won := make(chan bool, 1)
	go func() { won <- nn.campaign(context.Background()) }()
	testutil.Eventually(t, 5*time.Second, "dn-0 and dn-1 promise epoch 2", func() bool {
		e0, _ := dns[0].promised()
		e1, _ := dns[1].promised()
		return e0 == 2 && e1 == 2
	})
	heartbeatPromising(t, c, "dn-0", 2)
	if act, epoch := nn.Active(); !act || epoch != 1 {
		t.Fatalf("during its re-election: active %v in epoch %d, want active in epoch 1", act, epoch)
	}
	close(gate)
	if !<-won {
		t.Fatal("the re-election was lost")
	}
	if act, epoch := nn.Active(); !act || epoch != 2 {
		t.Fatalf("after the re-election: active %v in epoch %d, want active in epoch 2", act, epoch)
	}

	// A rival holds epoch 3 on a majority: the re-election is lost.
	for _, dn := range dns[:2] {
		dn.mu.Lock()
		dn.promiseLocked(3, fakeRef{"nn-rival", 99})
		dn.mu.Unlock()
	}
	if !nn.fenced(2, "test: a witness promised epoch 2 to a rival") {
		t.Fatal("stepped down for its own epoch promised to a rival")
	}
	if nn.campaign(context.Background()) {
		t.Fatal("won epoch 3, which a majority promised to a rival")
	}
	heartbeatPromising(t, c, "dn-0", 3)
	if act, _ := nn.Active(); act {
		t.Fatal("still active after a majority promised the epoch of its lost re-election to a rival")
	}
}

// heartbeatPromising sends a heartbeat of node id reporting that it
// promised epoch.
func heartbeatPromising(t testing.TB, c chkvpb.NameNodeClient, id string, epoch uint64) {
	t.Helper()
	if _, err := c.Heartbeat(context.Background(), &chkvpb.HeartbeatRequest{NodeId: id, PromisedEpoch: epoch}); err != nil {
		t.Fatalf("heartbeat %s: %v", id, err)
	}
}
