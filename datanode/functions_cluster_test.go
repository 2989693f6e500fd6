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

// TestFunctionClusterMode checks FCALL in cluster mode as EVAL's: its keys
// must share a slot (CROSSSLOT), a foreign slot is redirected with MOVED,
// an undeclared key is refused as non-local, and a no-cluster function is
// refused; FCALL inside MULTI is admitted at EXEC like any key.
func TestFunctionClusterMode(t *testing.T) {
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

	lib := "#!lua name=cl\n" +
		"redis.register_function('incr', function(k, a) return redis.call('incr', k[1]) end)\n" +
		"redis.register_function('get', function(k, a) return redis.call('get', a[1]) end)\n" +
		"redis.register_function{function_name='local', callback=function() return 1 end, flags={'no-cluster'}}"
	for _, step := range []struct {
		cmd  []string
		want string
	}{
		{[]string{"FUNCTION", "LOAD", lib}, `"cl"`},
		{[]string{"FCALL", "incr", "1", mine}, "(integer) 1"},
		{[]string{"FCALL", "incr", "2", mine, theirs}, "(error) CROSSSLOT Keys in request don't hash to the same slot"},
		{[]string{"FCALL_RO", "incr", "2", mine, theirs}, "(error) CROSSSLOT Keys in request don't hash to the same slot"},
		{[]string{"FCALL", "incr", "1", theirs}, "(error) MOVED " + strconv.Itoa(slot.OfString(theirs)) + " 127.0.0.1:7777"},
		{[]string{"FCALL", "local", "0"}, "(error) " + errNoClusterFlag},
		{[]string{"MULTI"}, "OK"},
		{[]string{"FCALL", "incr", "1", mine}, "QUEUED"},
		{[]string{"EXEC"}, "[(integer) 2]"},
	} {
		if got := c.do(step.cmd...); got != step.want {
			t.Errorf("%v = %s, want %s", step.cmd, got, step.want)
		}
	}
	if got := c.do("FCALL", "get", "1", mine, theirs); !strings.Contains(got, errNonLocalKey) {
		t.Errorf("undeclared key = %s, want the non-local key error", got)
	}
}
