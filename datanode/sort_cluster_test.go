package datanode

import (
	"strconv"
	"testing"
	"time"

	"github.com/chkv/chkv/common/slot"
	"github.com/chkv/chkv/common/topology"
	"github.com/chkv/chkv/helper/testutil"
)

// TestSortClusterMode checks SORT in cluster mode as Redis Cluster 7.0
// answers it (read off a redis-server 7.0.15 with cluster-enabled): a BY
// pattern with '*' and any GET, even "#" or one whose hash tag names the
// key's slot, are refused; a STORE destination in another slot is
// CROSSSLOT, checked before the options; a foreign key is MOVED.
func TestSortClusterMode(t *testing.T) {
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

	const (
		crossSlot = "(error) CROSSSLOT Keys in request don't hash to the same slot"
		byDenied  = "(error) ERR BY option of SORT denied in Cluster mode."
		getDenied = "(error) ERR GET option of SORT denied in Cluster mode."
	)
	tagged := "{" + mine + "}"
	for _, step := range []struct {
		cmd  []string
		want string
	}{
		{[]string{"RPUSH", mine, "3", "1", "2"}, "(integer) 3"},
		{[]string{"SORT", mine}, `["1" "2" "3"]`},
		{[]string{"SORT", mine, "BY", "w_*"}, byDenied},
		{[]string{"SORT", mine, "BY", tagged + "w_*"}, byDenied},
		{[]string{"SORT_RO", mine, "BY", "w_*"}, byDenied},
		{[]string{"SORT", mine, "GET", "#"}, getDenied},
		{[]string{"SORT", mine, "GET", tagged + "*"}, getDenied},
		{[]string{"SORT", mine, "BY", "nosort"}, `["3" "1" "2"]`},
		{[]string{"SORT", mine, "BY", "nosort", "GET", "#"}, getDenied},
		{[]string{"SORT", mine, "LIMIT", "0", "1", "BY", "w*", "ASC"}, byDenied},
		{[]string{"SORT", mine, "foo", "BY", "w*"}, "(error) ERR syntax error"},
		{[]string{"SORT", mine, "BY", "w_*", "STORE", theirs}, crossSlot},
		{[]string{"SORT", mine, "STORE", theirs}, crossSlot},
		{[]string{"SORT", mine, "STORE", tagged + "d"}, "(integer) 3"},
		{[]string{"LRANGE", tagged + "d", "0", "-1"}, `["1" "2" "3"]`},
		{[]string{"SORT", theirs}, "(error) MOVED " + strconv.Itoa(slot.OfString(theirs)) + " 127.0.0.1:7777"},
		{[]string{"SORT_RO", theirs}, "(error) MOVED " + strconv.Itoa(slot.OfString(theirs)) + " 127.0.0.1:7777"},
	} {
		if got := c.do(step.cmd...); got != step.want {
			t.Errorf("%v = %s, want %s", step.cmd, got, step.want)
		}
	}
}
