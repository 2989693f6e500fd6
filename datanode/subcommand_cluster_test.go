package datanode

import (
	"strconv"
	"testing"
	"time"

	"github.com/chkv/chkv/common/slot"
	"github.com/chkv/chkv/common/topology"
	"github.com/chkv/chkv/helper/testutil"
)

// TestSubcommandKeysClusterMode: a container command's keys are its
// subcommand's, so OBJECT and MEMORY USAGE on a key another node owns are
// answered MOVED, as Redis Cluster answers them, not with a nil for a key
// this node does not hold.
func TestSubcommandKeysClusterMode(t *testing.T) {
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

	moved := "(error) MOVED " + strconv.Itoa(slot.OfString(theirs)) + " 127.0.0.1:7777"
	for _, step := range []struct {
		cmd  []string
		want string
	}{
		{[]string{"SET", mine, "v"}, "OK"},
		{[]string{"OBJECT", "ENCODING", mine}, `"embstr"`},
		{[]string{"OBJECT", "ENCODING", theirs}, moved},
		{[]string{"OBJECT", "FREQ", theirs}, moved},
		{[]string{"MEMORY", "USAGE", theirs}, moved},
		{[]string{"CLIENT", "SETNAME", "keyless"}, "OK"}, // a container without keys is served here
	} {
		if got := c.do(step.cmd...); got != step.want {
			t.Errorf("%v = %s, want %s", step.cmd, got, step.want)
		}
	}
}
