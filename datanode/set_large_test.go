package datanode

import (
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chkv/chkv/common/slot"
	"github.com/chkv/chkv/common/topology"
	"github.com/chkv/chkv/helper/testutil"
)

// TestSetTableAgainstRedis compares sets past set-max-intset-entries with
// Redis's: the same members, in an order Redis leaves open.
func TestSetTableAgainstRedis(t *testing.T) {
	c := startServer(t, nil).dial(t)
	r := startRedis(t)
	for _, conn := range []*respConn{c, r} {
		ints, strs := []string{"SADD", "ints"}, []string{"SADD", "strs"}
		for i := range 2000 {
			ints = append(ints, strconv.Itoa(i*7))
			strs = append(strs, fmt.Sprintf("m%d", i))
		}
		conn.do(ints...)
		conn.do(strs...)
		conn.do("SADD", "small", "7", "14", "m3", "nosuch")
		conn.do("SREM", "ints", "0", "7", "13993")
	}
	for _, cmd := range []string{"SCARD ints", "SCARD strs", "OBJECT ENCODING ints", "OBJECT ENCODING strs",
		"SISMEMBER ints 14", "SISMEMBER ints 7", "SMISMEMBER strs m1 m2000 m1999", "SINTERCARD 2 ints small",
		"SINTERCARD 3 ints strs small", "SINTERCARD 2 strs ints LIMIT 10", "SUNIONSTORE u ints strs", "SCARD u",
		"SDIFFSTORE d ints small", "SCARD d", "SINTERSTORE i strs small", "OBJECT ENCODING i", "SMEMBERS i",
		"TYPE strs"} {
		args := splitArgs(t, cmd)
		if got, want := c.do(args...), r.do(args...); got != want {
			t.Errorf("%s: got %s, want %s", cmd, got, want)
		}
	}
	for _, cmd := range []string{"SMEMBERS strs", "SRANDMEMBER strs 5000", "SUNION strs small", "SDIFF strs small", "SINTER small strs", "SMEMBERS u", "SPOP ints 10000", "SMEMBERS ints"} {
		args := splitArgs(t, cmd)
		if got, want := sortedReply(t, c, false, args...), sortedReply(t, r, false, args...); got != want {
			t.Errorf("%s differs from Redis's (sorted)", cmd)
		}
	}
}

// scanSet runs a whole SSCAN of key and returns how often each member was
// returned; between is called after each call.
func scanSet(t *testing.T, c *respConn, key string, count int, between func()) map[string]int {
	t.Helper()
	seen := map[string]int{}
	cursor := "0"
	for calls := 0; ; calls++ {
		if calls > 100000 {
			t.Fatal("SSCAN does not end")
		}
		reply, ok := c.doAny("SSCAN", key, cursor, "COUNT", fmt.Sprint(count)).([]any)
		if !ok || len(reply) != 2 {
			t.Fatalf("SSCAN reply %s", formatReply(reply))
		}
		cursor = string(reply[0].([]byte))
		for _, m := range reply[1].([]any) {
			seen[string(m.([]byte))]++
		}
		if between != nil {
			between()
		}
		if cursor == "0" {
			return seen
		}
	}
}

// TestSscanGuarantee checks SCAN's guarantee on a hashtable-encoded set
// changing during the scan: a member present throughout is returned.
func TestSscanGuarantee(t *testing.T) {
	c := startServer(t, nil).dial(t)
	args := []string{"SADD", "s"}
	for i := range 3000 {
		args = append(args, fmt.Sprintf("stay%d", i))
	}
	c.do(args...)
	if seen := scanSet(t, c, "s", 10, nil); len(seen) != 3000 {
		t.Fatalf("a quiet SSCAN returned %d members", len(seen))
	}
	i := 0
	seen := scanSet(t, c, "s", 20, func() {
		c.do("SADD", "s", fmt.Sprintf("new%d", i), fmt.Sprintf("new%d", i+1))
		c.do("SREM", "s", fmt.Sprintf("new%d", i-10))
		i += 2
	})
	for j := range 3000 {
		if seen[fmt.Sprintf("stay%d", j)] == 0 {
			t.Fatalf("SSCAN missed stay%d", j)
		}
	}
	matched := 0
	for m := range scanSet(t, c, "s", 100, nil) {
		if strings.HasPrefix(m, "stay1") {
			matched++
		}
	}
	reply := c.doAny("SSCAN", "s", "0", "MATCH", "stay1*", "COUNT", "100000").([]any)
	if n := len(reply[1].([]any)); n != matched || string(reply[0].([]byte)) != "0" {
		t.Fatalf("SSCAN MATCH returned %d members, want %d", n, matched)
	}
}

// TestSetHugeCounts checks that SPOP and SRANDMEMBER with counts far past
// the set's size allocate by the set, and that SRANDMEMBER with a huge
// negative count is cut and its client closed rather than buffering an
// unbounded reply.
func TestSetHugeCounts(t *testing.T) {
	s := startServer(t, nil)
	c := s.dial(t)
	c.do("SADD", "s", "a", "b", "c")
	if got := c.do("SRANDMEMBER", "s", "9223372036854775807"); len(got) == 0 || strings.Count(got, `"`) != 6 {
		t.Fatalf("SRANDMEMBER huge count = %s", got)
	}
	if got := c.do("SPOP", "s", "9223372036854775807"); strings.Count(got, `"`) != 6 {
		t.Fatalf("SPOP huge count = %s", got)
	}
	c.do("SADD", "s", strings.Repeat("x", 64<<10))
	c.send("SRANDMEMBER", "s", "-9223372036854775807")
	if _, err := c.readUntilClosed(60 * time.Second); err != nil {
		t.Fatalf("SRANDMEMBER with a huge negative count: %v", err)
	}
	if got := s.dial(t).do("SCARD", "s"); got != "(integer) 1" {
		t.Fatalf("SCARD after = %s", got)
	}
}

// TestSetClusterMode checks that multi-key set commands, SINTERCARD's
// counted keys included, are refused across slots and redirected for
// keys the node does not own.
func TestSetClusterMode(t *testing.T) {
	nn := startFakeNameNode(t)
	s := startClusterNode(t, nn, "dn-a")
	testutil.Eventually(t, 5*time.Second, "registration", func() bool { return s.member.Registered() })
	c := ownEverySlot(t, nn, s)
	a, b := keyInSlotRange(0, 8000), keyInSlotRange(8000, slot.Count)
	const crossSlot = "(error) CROSSSLOT Keys in request don't hash to the same slot"
	for _, cmd := range [][]string{
		{"SINTER", a, b}, {"SUNIONSTORE", a, b}, {"SMOVE", a, b, "m"}, {"SINTERCARD", "2", a, b},
		{"SDIFFSTORE", "{x}d", "{x}a", b},
	} {
		if got := c.do(cmd...); got != crossSlot {
			t.Errorf("%v = %s", cmd, got)
		}
	}
	for _, cmd := range [][]string{
		{"SADD", "{t}a", "1", "2"}, {"SADD", "{t}b", "2", "3"}, {"SINTERCARD", "2", "{t}a", "{t}b", "LIMIT", "5"},
		{"SINTERSTORE", "{t}c", "{t}a", "{t}b"}, {"SMOVE", "{t}a", "{t}c", "1"}, {"SMEMBERS", "{t}c"},
	} {
		if got := c.do(cmd...); strings.HasPrefix(got, "(error)") {
			t.Errorf("%v = %s", cmd, got)
		}
	}
	if got := c.do("SINTERCARD", "0", a); got != "(error) "+errNumkeys {
		t.Errorf("SINTERCARD 0 = %s", got)
	}
}

// TestSetClusterModeRedirects checks that SINTERCARD, whose keys follow a
// count, is redirected when the node does not own them.
func TestSetClusterModeRedirects(t *testing.T) {
	nn := startFakeNameNode(t)
	s := startClusterNode(t, nn, "dn-a")
	c := s.dial(t)
	testutil.Eventually(t, 5*time.Second, "registration", func() bool { return s.member.Registered() })
	self := topology.Node{ID: "dn-a", RESPAddr: s.Addr().String(), State: topology.Up}
	other := topology.Node{ID: "dn-b", RESPAddr: "127.0.0.1:7777", State: topology.Up}
	nn.set(func(f *fakeNameNode) { f.top = splitTopology(1, self, other, 8000) })
	testutil.Eventually(t, 5*time.Second, "topology", func() bool { return s.own.View().Top.Version == 1 })
	mine, theirs := keyInSlotRange(0, 8000), keyInSlotRange(8000, slot.Count)
	c.do("SADD", mine, "a")
	if got := c.do("SINTERCARD", "1", mine); got != "(integer) 1" {
		t.Fatalf("SINTERCARD of an owned key = %s", got)
	}
	want := "(error) MOVED " + strconv.Itoa(slot.OfString(theirs)) + " 127.0.0.1:7777"
	for _, cmd := range [][]string{{"SINTERCARD", "1", theirs}, {"SINTERCARD", "1", theirs, "LIMIT", "2"}, {"SMEMBERS", theirs}} {
		if got := c.do(cmd...); got != want {
			t.Errorf("%v = %s, want %s", cmd, got, want)
		}
	}
}
