package datanode

import (
	"fmt"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chkv/chkv/common/slot"
	"github.com/chkv/chkv/common/topology"
	"github.com/chkv/chkv/helper/testutil"
)

// startRedisCluster starts a real redis-server in cluster mode as the only
// node of its cluster, serving every slot, as a standalone DataNode
// presents itself; it skips the test where redis-server is not installed.
func startRedisCluster(t *testing.T) *respConn {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	busPort := strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
	ln.Close()
	r := startRedis(t, "--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf", "--cluster-port", busPort)
	if got := r.do("CLUSTER", "ADDSLOTSRANGE", "0", "16383"); got != "OK" {
		t.Fatalf("CLUSTER ADDSLOTSRANGE = %s", got)
	}
	testutil.Eventually(t, 10*time.Second, "the Redis cluster to be ok", func() bool {
		return strings.Contains(r.do("CLUSTER", "INFO"), "cluster_state:ok")
	})
	return r
}

// clusterScriptTest is scriptTest with a single-node Redis Cluster as the
// reference, since Redis refuses CLUSTER commands outside cluster mode.
func clusterScriptTest(t *testing.T, name string, steps []step) {
	t.Run(name, func(t *testing.T) {
		t.Run("datanode", func(t *testing.T) {
			s := startServer(t, nil)
			runScript(t, s.dial(t), steps)
		})
		t.Run("redis", func(t *testing.T) {
			runScript(t, startRedisCluster(t), steps)
		})
	})
}

func TestClusterScripts(t *testing.T) {
	clusterScriptTest(t, "commands", []step{
		{"CLUSTER", "(error) ERR wrong number of arguments for 'cluster' command"},
		{"CLUSTER NOSUCH", "(error) ERR unknown subcommand 'NOSUCH'. Try CLUSTER HELP."},
		{"CLUSTER KEYSLOT", "(error) ERR wrong number of arguments for 'cluster|keyslot' command"},
		{"CLUSTER KEYSLOT foo bar", "(error) ERR wrong number of arguments for 'cluster|keyslot' command"},
		{"CLUSTER KEYSLOT foo", "(integer) 12182"},
		{"CLUSTER keyslot {user1000}.following", "(integer) 3443"},
		{"CLUSTER KEYSLOT {}x", "(integer) 10595"},
		{`CLUSTER KEYSLOT ""`, "(integer) 0"},
		{"CLUSTER MYID x", "(error) ERR wrong number of arguments for 'cluster|myid' command"},
		{"CLUSTER INFO x", "(error) ERR wrong number of arguments for 'cluster|info' command"},
		{"CLUSTER SLOTS x", "(error) ERR wrong number of arguments for 'cluster|slots' command"},
		{"CLUSTER SHARDS x", "(error) ERR wrong number of arguments for 'cluster|shards' command"},
		{"CLUSTER NODES x", "(error) ERR wrong number of arguments for 'cluster|nodes' command"},
		{"CLUSTER COUNTKEYSINSLOT", "(error) ERR wrong number of arguments for 'cluster|countkeysinslot' command"},
		{"CLUSTER COUNTKEYSINSLOT x", "(error) ERR value is not an integer or out of range"},
		{"CLUSTER COUNTKEYSINSLOT 012182", "(error) ERR value is not an integer or out of range"},
		{"CLUSTER COUNTKEYSINSLOT -1", "(error) ERR Invalid slot"},
		{"CLUSTER COUNTKEYSINSLOT 16384", "(error) ERR Invalid slot"},
		{"CLUSTER COUNTKEYSINSLOT 12182", "(integer) 0"},
		{"CLUSTER GETKEYSINSLOT 12182", "(error) ERR wrong number of arguments for 'cluster|getkeysinslot' command"},
		{"CLUSTER GETKEYSINSLOT x 1", "(error) ERR value is not an integer or out of range"},
		{"CLUSTER GETKEYSINSLOT 1 x", "(error) ERR value is not an integer or out of range"},
		{"CLUSTER GETKEYSINSLOT 12182 -1", "(error) ERR Invalid slot or number of keys"},
		{"CLUSTER GETKEYSINSLOT 16384 1", "(error) ERR Invalid slot or number of keys"},
		{"CLUSTER GETKEYSINSLOT 12182 10", "[]"},
		{"SET foo bar", "OK"},
		{"SET {foo}x 1", "OK"},
		{"CLUSTER COUNTKEYSINSLOT 12182", "(integer) 2"},
		{"CLUSTER GETKEYSINSLOT 12182 0", "[]"},
		{"CLUSTER GETKEYSINSLOT 5061 10", "[]"},
		{"DEL {foo}x", "(integer) 1"},
		{"CLUSTER GETKEYSINSLOT 12182 10", `["foo"]`},
		{"READONLY", "OK"},
		{"READONLY x", "(error) ERR wrong number of arguments for 'readonly' command"},
		{"READWRITE", "OK"},
		{"READWRITE x", "(error) ERR wrong number of arguments for 'readwrite' command"},
		{"ASKING", "OK"},
		{"ASKING x", "(error) ERR wrong number of arguments for 'asking' command"},
		// One node owning every slot: Redis's exact CLUSTER INFO.
		{"CLUSTER INFO", `"cluster_state:ok\r\ncluster_slots_assigned:16384\r\ncluster_slots_ok:16384\r\ncluster_slots_pfail:0\r\ncluster_slots_fail:0\r\ncluster_known_nodes:1\r\ncluster_size:1\r\ncluster_current_epoch:0\r\ncluster_my_epoch:0\r\ncluster_stats_messages_sent:0\r\ncluster_stats_messages_received:0\r\ntotal_cluster_links_buffer_limit_exceeded:0\r\n"`},
	})
}

func TestClusterTopologyReplies(t *testing.T) {
	s := startServer(t, func(c *Config) { c.ID = "0123456789abcdef0123456789abcdef01234567" })
	c := s.dial(t)
	port := s.listenPort()
	id := s.ID()
	if got := c.do("CLUSTER", "MYID"); got != strconv.Quote(id) {
		t.Errorf("CLUSTER MYID = %s, want %q", got, id)
	}
	if got, want := c.do("CLUSTER", "SLOTS"), fmt.Sprintf(`[[(integer) 0 (integer) 16383 ["127.0.0.1" (integer) %d %q []]]]`, port, id); got != want {
		t.Errorf("CLUSTER SLOTS\n got: %s\nwant: %s", got, want)
	}
	if got, want := c.do("CLUSTER", "SHARDS"), fmt.Sprintf(`[["slots" [(integer) 0 (integer) 16383] "nodes" [["id" %q "port" (integer) %d "ip" "127.0.0.1" "endpoint" "127.0.0.1" "role" "master" "replication-offset" (integer) 0 "health" "online"]]]]`, id, port); got != want {
		t.Errorf("CLUSTER SHARDS\n got: %s\nwant: %s", got, want)
	}
	if got, want := c.do("CLUSTER", "NODES"), strconv.Quote(fmt.Sprintf("%s 127.0.0.1:%d@0 myself,master - 0 0 0 connected 0-16383\n", id, port)); got != want {
		t.Errorf("CLUSTER NODES\n got: %s\nwant: %s", got, want)
	}
	help := c.do("CLUSTER", "HELP")
	for _, want := range []string{"[CLUSTER <subcommand> [<arg> [value] [opt] ...]. Subcommands are:", "KEYSLOT <key>", "SLOTS", "HELP     Prints this help.]"} {
		if !strings.Contains(help, want) {
			t.Errorf("CLUSTER HELP lacks %q:\n%s", want, help)
		}
	}
}

// TestClusterViewWildcardListen checks that a node listening on every
// interface advertises the address the client reached it on.
func TestClusterViewWildcardListen(t *testing.T) {
	ln, err := net.Listen("tcp", "0.0.0.0:0")
	if err != nil {
		t.Skip("cannot listen on 0.0.0.0:", err)
	}
	s := startServer(t, func(c *Config) { c.Listener = ln; c.Listen = ln.Addr().String() })
	port := ln.Addr().(*net.TCPAddr).Port
	c := dial(t, "tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
	if got, want := c.do("CLUSTER", "SLOTS"), fmt.Sprintf(`[[(integer) 0 (integer) 16383 ["127.0.0.1" (integer) %d %q []]]]`, port, s.ID()); got != want {
		t.Errorf("CLUSTER SLOTS\n got: %s\nwant: %s", got, want)
	}
}

func TestFormatSlotRanges(t *testing.T) {
	if got := formatSlotRanges([]slotRange{{0, 5460}, {5461, 5461}, {10923, 16383}}); got != "0-5460 5461 10923-16383" {
		t.Errorf("formatSlotRanges = %q", got)
	}
}

// TestClusterViewFromTopology checks the CLUSTER replies of a cluster-mode
// node: they describe the topology the NameNode pushed.
func TestClusterViewFromTopology(t *testing.T) {
	nn := startFakeNameNode(t)
	s := startClusterNode(t, nn, "dn-a")
	c := s.dial(t)
	testutil.Eventually(t, 5*time.Second, "registration", func() bool { return s.member.Registered() })
	if got := c.do("CLUSTER", "SLOTS"); got != "[]" {
		t.Errorf("CLUSTER SLOTS before any topology = %s", got)
	}
	if got := c.do("CLUSTER", "INFO"); !strings.HasPrefix(got, `"cluster_state:fail\r\ncluster_slots_assigned:0\r\n`) {
		t.Errorf("CLUSTER INFO before any topology = %s", got)
	}

	self := topology.Node{ID: "dn-a", RESPAddr: s.Addr().String(), State: topology.Up}
	other := topology.Node{ID: "dn-b", RESPAddr: "10.1.2.3:7777", State: topology.Up}
	nn.set(func(f *fakeNameNode) { f.top = splitTopology(3, self, other, 8000) })
	testutil.Eventually(t, 5*time.Second, "topology", func() bool { return s.own.View().Top.Version == 3 })
	port := s.listenPort()
	if got, want := c.do("CLUSTER", "SLOTS"), fmt.Sprintf(`[[(integer) 0 (integer) 7999 ["127.0.0.1" (integer) %d "dn-a" []]] [(integer) 8000 (integer) 16383 ["10.1.2.3" (integer) 7777 "dn-b" []]]]`, port); got != want {
		t.Errorf("CLUSTER SLOTS\n got: %s\nwant: %s", got, want)
	}
	nodes := c.do("CLUSTER", "NODES")
	for _, want := range []string{
		fmt.Sprintf("dn-a 127.0.0.1:%d@0 myself,master - 0 0 3 connected 0-7999\\n", port),
		" 3 connected 8000-16383\\n",
		"dn-b 10.1.2.3:7777@0 master - 0 ",
	} {
		if !strings.Contains(nodes, want) {
			t.Errorf("CLUSTER NODES lacks %q:\n%s", want, nodes)
		}
	}
	info := c.do("CLUSTER", "INFO")
	for _, want := range []string{"cluster_state:ok", "cluster_known_nodes:2", "cluster_size:2", "cluster_current_epoch:3"} {
		if !strings.Contains(info, want) {
			t.Errorf("CLUSTER INFO lacks %s: %s", want, info)
		}
	}
	if got := c.do("CLUSTER", "SHARDS"); !strings.Contains(got, `["slots" [(integer) 8000 (integer) 16383] "nodes" [["id" "dn-b" "port" (integer) 7777 "ip" "10.1.2.3"`) {
		t.Errorf("CLUSTER SHARDS = %s", got)
	}
}

func TestTopologyNodes(t *testing.T) {
	top := topology.Empty(1, 0)
	top.Version = 9
	top.Nodes = []topology.Node{
		{ID: "a", RESPAddr: "10.0.0.1:7000", State: topology.Up},
		{ID: "b", RESPAddr: "10.0.0.2:7000", State: topology.Down},
		{ID: "c", RESPAddr: "[::1]:7001", State: topology.Joining},
	}
	for s := range slot.Count {
		top.Owners[s] = 0 // every slot to a ...
	}
	top.Owners[100] = 1 // ... but slot 100 to b
	top.Owners[200] = topology.Unowned
	got := topologyNodes(top, 2)
	if len(got) != 3 {
		t.Fatalf("topologyNodes: %d nodes", len(got))
	}
	if a := got[0]; a.host != "10.0.0.1" || a.port != 7000 || a.myself || a.failed || a.epoch != 9 ||
		formatSlotRanges(a.slots) != "0-99 101-199 201-16383" {
		t.Errorf("node a = %+v", a)
	}
	if b := got[1]; !b.failed || formatSlotRanges(b.slots) != "100" {
		t.Errorf("node b = %+v", b)
	}
	if c := got[2]; c.host != "::1" || c.port != 7001 || !c.myself || len(c.slots) != 0 {
		t.Errorf("node c = %+v", c)
	}
}
