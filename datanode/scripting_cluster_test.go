package datanode

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chkv/chkv/common/slot"
	"github.com/chkv/chkv/common/topology"
	"github.com/chkv/chkv/helper/testutil"
)

// TestScriptClusterMode checks scripts in cluster mode: their KEYS must
// share a slot (CROSSSLOT), a foreign slot is redirected with MOVED, and a
// key the script did not declare is refused as non-local.
func TestScriptClusterMode(t *testing.T) {
	nn := startFakeNameNode(t)
	self := topology.Node{ID: "dn-a", State: topology.Up}
	other := topology.Node{ID: "dn-b", RESPAddr: "127.0.0.1:7777", State: topology.Up}
	s := startClusterNode(t, nn, "dn-a")
	c := s.dial(t)
	mine, theirs := keyInSlotRange(0, 8000), keyInSlotRange(8000, slot.Count)
	mine2 := keyInSlotRange(slot.OfString(mine)+1, 8000)
	testutil.Eventually(t, 5*time.Second, "registration", func() bool { return s.member.Registered() })
	self.RESPAddr = s.Addr().String()
	nn.set(func(f *fakeNameNode) { f.top = splitTopology(1, self, other, 8000) })
	testutil.Eventually(t, 5*time.Second, "topology via heartbeat", func() bool { return s.own.View().Top.Version == 1 })

	const incr = "return redis.call('incr', KEYS[1])"
	for _, step := range []struct {
		cmd  []string
		want string
	}{
		{[]string{"EVAL", incr, "1", mine}, "(integer) 1"},
		{[]string{"EVAL", incr, "2", mine, theirs}, "(error) CROSSSLOT Keys in request don't hash to the same slot"},
		{[]string{"EVAL", incr, "1", theirs}, "(error) MOVED " + strconv.Itoa(slot.OfString(theirs)) + " 127.0.0.1:7777"},
		{[]string{"EVAL", "return redis.call('incr', KEYS[1]) + redis.call('incr', '{" + mine + "}x')", "1", mine}, "(integer) 3"},
		{[]string{"EVAL", "return 7", "0"}, "(integer) 7"},
	} {
		if got := c.do(step.cmd...); got != step.want {
			t.Errorf("%v = %s, want %s", step.cmd, got, step.want)
		}
	}
	// Inside MULTI, EXEC admits the scripts' KEYS like any key.
	for _, step := range []struct {
		cmd  []string
		want string
	}{
		{[]string{"MULTI"}, "OK"},
		{[]string{"EVAL", incr, "1", mine}, "QUEUED"},
		{[]string{"EXEC"}, "[(integer) 3]"},
		{[]string{"MULTI"}, "OK"},
		{[]string{"EVAL", incr, "1", mine}, "QUEUED"},
		{[]string{"EVAL", incr, "1", mine2}, "QUEUED"},
		{[]string{"EXEC"}, "(error) CROSSSLOT Keys in request don't hash to the same slot"},
		{[]string{"MULTI"}, "OK"},
		{[]string{"EVAL", incr, "1", theirs}, "(error) MOVED " + strconv.Itoa(slot.OfString(theirs)) + " 127.0.0.1:7777"},
		{[]string{"EXEC"}, "(error) EXECABORT Transaction discarded because of previous errors."},
	} {
		if got := c.do(step.cmd...); got != step.want {
			t.Errorf("%v = %s, want %s", step.cmd, got, step.want)
		}
	}
	for _, cmd := range [][]string{
		{"EVAL", "return redis.call('get', ARGV[1])", "1", mine, theirs},
		{"EVAL", "return redis.call('get', ARGV[1])", "0", mine},
	} {
		if got := c.do(cmd...); !strings.Contains(got, errNonLocalKey) {
			t.Errorf("%v = %s, want the non-local key error", cmd, got)
		}
	}
}
