package datanode

import (
	"strconv"
	"testing"
	"time"

	"github.com/chkv/chkv/common/slot"
	"github.com/chkv/chkv/common/topology"
	"github.com/chkv/chkv/helper/testutil"
)

// TestListClusterMode checks the multi-key list commands in cluster mode:
// LMOVE, RPOPLPUSH and LMPOP refuse keys of different slots with CROSSSLOT
// (LMPOP's keys found through its key count), serve keys of one slot, and
// redirect a foreign slot with MOVED.
func TestListClusterMode(t *testing.T) {
	nn := startFakeNameNode(t)
	self := topology.Node{ID: "dn-a", State: topology.Up}
	other := topology.Node{ID: "dn-b", RESPAddr: "127.0.0.1:7777", State: topology.Up}
	s := startClusterNode(t, nn, "dn-a")
	c := s.dial(t)
	mine, theirs := keyInSlotRange(0, 8000), keyInSlotRange(8000, slot.Count)
	testutil.Eventually(t, 5*time.Second, "registration", func() bool { return s.member.Registered() })
	self.RESPAddr = s.Addr().String()
	nn.set(func(f *fakeNameNode) { f.top = splitTopology(1, self, other, 8000) })
	testutil.Eventually(t, 5*time.Second, "topology via heartbeat", func() bool { return s.own.View().Top.Version == 1 })

	const crossSlot = "(error) CROSSSLOT Keys in request don't hash to the same slot"
	other1, other2 := "{"+mine+"}a", "{"+mine+"}b"
	for _, step := range []struct {
		cmd  []string
		want string
	}{
		{[]string{"RPUSH", mine, "a", "b", "c"}, "(integer) 3"},
		{[]string{"LMOVE", mine, theirs, "LEFT", "RIGHT"}, crossSlot},
		{[]string{"RPOPLPUSH", mine, theirs}, crossSlot},
		{[]string{"LMPOP", "2", mine, theirs, "LEFT"}, crossSlot},
		{[]string{"LMOVE", mine, other1, "LEFT", "RIGHT"}, `"a"`},
		{[]string{"RPOPLPUSH", mine, other2}, `"c"`},
		{[]string{"LMPOP", "3", other2, other1, mine, "LEFT", "COUNT", "5"}, `["{` + mine + `}b" ["c"]]`},
		{[]string{"LMPOP", "1", theirs, "LEFT"}, "(error) MOVED " + strconv.Itoa(slot.OfString(theirs)) + " 127.0.0.1:7777"},
		{[]string{"LMPOP", "0", theirs, "LEFT"}, "(error) ERR numkeys should be greater than 0"},
		{[]string{"LPUSH", theirs, "x"}, "(error) MOVED " + strconv.Itoa(slot.OfString(theirs)) + " 127.0.0.1:7777"},
	} {
		if got := c.do(step.cmd...); got != step.want {
			t.Errorf("%v = %s, want %s", step.cmd, got, step.want)
		}
	}
}
