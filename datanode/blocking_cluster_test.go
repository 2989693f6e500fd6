package datanode

import (
	"strconv"
	"testing"
	"time"

	"github.com/chkv/chkv/common/slot"
	"github.com/chkv/chkv/common/topology"
	"github.com/chkv/chkv/helper/testutil"
)

// TestBlockingClusterRedirect checks that a client blocked on a key whose
// slot the node stops serving is released with MOVED, and that a blocking
// command on a foreign slot is redirected at once.
func TestBlockingClusterRedirect(t *testing.T) {
	nn := startFakeNameNode(t)
	self := topology.Node{ID: "dn-a", State: topology.Up}
	other := topology.Node{ID: "dn-b", RESPAddr: "127.0.0.1:7777", State: topology.Up}
	s := startClusterNode(t, nn, "dn-a")
	a, b := s.dial(t), s.dial(t)
	mine, theirs := keyInSlotRange(0, 8000), keyInSlotRange(8000, slot.Count)
	testutil.Eventually(t, 5*time.Second, "registration", func() bool { return s.member.Registered() })
	self.RESPAddr = s.Addr().String()
	nn.set(func(f *fakeNameNode) { f.top = splitTopology(1, self, other, 8000) })
	testutil.Eventually(t, 5*time.Second, "topology via heartbeat", func() bool { return s.own.View().Top.Version == 1 })

	moved := func(key string) string {
		return "(error) MOVED " + strconv.Itoa(slot.OfString(key)) + " 127.0.0.1:7777"
	}
	if got := a.do("BLPOP", theirs, "0"); got != moved(theirs) {
		t.Errorf("BLPOP foreign key = %s", got)
	}
	if got := a.do("BLPOP", mine, theirs, "0"); got != "(error) CROSSSLOT Keys in request don't hash to the same slot" {
		t.Errorf("BLPOP cross slot = %s", got)
	}
	a.send("BLPOP", mine, "0")
	waitBlocked(t, b, "1")
	// All slots go to the other node.
	nn.set(func(f *fakeNameNode) { f.top = splitTopology(2, self, other, 0) })
	if got := a.reply(); got != moved(mine) {
		t.Errorf("blocked BLPOP after its slot moved = %s", got)
	}
	waitBlocked(t, b, "0")
}
