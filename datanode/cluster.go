package datanode

import (
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/chkv/chkv/common/slot"
	"github.com/chkv/chkv/common/topology"
)

// clusterCommands are the Redis Cluster commands that cluster-aware clients
// (go-redis ClusterClient, redis-cli -c) use to discover which node serves
// which slots, plus READONLY, READWRITE and ASKING.
func clusterCommands() []*command {
	const st = flagStale
	return []*command{
		newContainer("cluster", -2, 0, commandDoc{"cluster", "A container for Redis Cluster commands.", "3.0.0", "Depends on subcommand.", ""},
			[]*command{
				{name: "cluster|keyslot", arity: 3, flags: st, run: cmdClusterKeySlot,
					doc: commandDoc{"cluster", "Returns the hash slot for a key.", "3.0.0", "O(N) where N is the number of bytes in the key", "key"}},
				{name: "cluster|myid", arity: 2, flags: st, run: cmdClusterMyID,
					doc: commandDoc{"cluster", "Returns the ID of a node.", "3.0.0", "O(1)", ""}},
				{name: "cluster|info", arity: 2, flags: st, run: cmdClusterInfo,
					doc: commandDoc{"cluster", "Returns information about the state of a node.", "3.0.0", "O(1)", ""}},
				{name: "cluster|slots", arity: 2, flags: st, run: cmdClusterSlots,
					doc: commandDoc{"cluster", "Returns the mapping of cluster slots to nodes.", "3.0.0", "O(N) where N is the total number of Cluster nodes", ""}},
				{name: "cluster|shards", arity: 2, flags: st, run: cmdClusterShards,
					doc: commandDoc{"cluster", "Returns the mapping of cluster slots to shards.", "7.0.0", "O(N) where N is the total number of cluster nodes", ""}},
				{name: "cluster|nodes", arity: 2, flags: st, run: cmdClusterNodes,
					doc: commandDoc{"cluster", "Returns the cluster configuration for a node.", "3.0.0", "O(N) where N is the total number of Cluster nodes", ""}},
				{name: "cluster|countkeysinslot", arity: 3, flags: st, run: cmdClusterCountKeysInSlot,
					doc: commandDoc{"cluster", "Returns the number of keys in a hash slot.", "3.0.0", "O(1)", "slot"}},
				{name: "cluster|getkeysinslot", arity: 4, flags: st, run: cmdClusterGetKeysInSlot,
					doc: commandDoc{"cluster", "Returns the key names in a hash slot.", "3.0.0", "O(N) where N is the number of requested keys", "slot count"}},
				{name: "cluster|help", arity: 2, flags: flagLoading | flagStale, run: cmdClusterHelp,
					doc: commandDoc{"cluster", "Returns helpful text about the different subcommands.", "5.0.0", "O(1)", ""}},
			}),
		{name: "readonly", arity: 1, flags: flagLoading | flagStale | flagFast, run: cmdOK,
			doc: commandDoc{"cluster", "Enables read-only queries for a connection to a Redis Cluster replica node.", "3.0.0", "O(1)", ""}},
		{name: "readwrite", arity: 1, flags: flagLoading | flagStale | flagFast, run: cmdOK,
			doc: commandDoc{"cluster", "Enables read-write queries for a connection to a Redis Cluster replica node.", "3.0.0", "O(1)", ""}},
		{name: "asking", arity: 1, flags: flagFast, run: cmdOK,
			doc: commandDoc{"cluster", "Signals that a cluster client is following an -ASK redirect.", "3.0.0", "O(1)", ""}},
	}
}

// cmdOK replies OK: READONLY, READWRITE and ASKING have nothing to change
// on a node that serves every slot it is asked about and has no replicas.
func cmdOK(c *client, _ [][]byte) { c.replyOK() }

// slotRange is an inclusive range of hash slots.
type slotRange struct{ start, end int }

// clusterNode is one node of the cluster as CLUSTER SLOTS, SHARDS and
// NODES describe it.
type clusterNode struct {
	id     string
	host   string // IP address or host name clients connect to
	port   int
	myself bool
	failed bool  // known to be down
	epoch  int64 // configuration epoch
	slots  []slotRange
}

// clusterView returns the cluster's nodes and the slots each serves; it is
// the one source of every CLUSTER reply. Standalone, this node serves every
// slot; in cluster mode the view is the topology the NameNodes pushed last.
// local is the address the asking client reached this node on: it stands
// in for a host that is a wildcard such as 0.0.0.0.
func (s *Server) clusterView(local net.Addr) []clusterNode {
	var nodes []clusterNode
	if s.member != nil {
		v := s.own.View()
		nodes = topologyNodes(v.Top, v.Self)
	} else {
		nodes = []clusterNode{{id: s.id, myself: true, slots: []slotRange{{0, slot.Count - 1}}}}
		nodes[0].host, nodes[0].port = splitHostPort(s.advertiseAddr())
	}
	for i := range nodes {
		n := &nodes[i]
		if ip := net.ParseIP(n.host); n.myself && (n.host == "" || (ip != nil && ip.IsUnspecified())) {
			n.host = ""
			if a, ok := local.(*net.TCPAddr); ok {
				n.host = a.IP.String()
			}
		}
	}
	return nodes
}

// topologyNodes converts a topology into the cluster view; self is this
// node's index in it, -1 if absent. The topology's version serves as every
// node's configuration epoch.
func topologyNodes(top *topology.Topology, self int) []clusterNode {
	nodes := make([]clusterNode, len(top.Nodes))
	for i, n := range top.Nodes {
		nodes[i] = clusterNode{id: n.ID, myself: i == self, failed: n.State == topology.Down, epoch: int64(top.Version)}
		nodes[i].host, nodes[i].port = splitHostPort(n.RESPAddr)
	}
	for _, r := range topology.Ranges(top.Owners) {
		nodes[r.Node].slots = append(nodes[r.Node].slots, slotRange{r.Start, r.End})
	}
	return nodes
}

// splitHostPort splits host:port, leaving the port 0 when there is none.
func splitHostPort(addr string) (string, int) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return addr, 0
	}
	p, _ := strconv.Atoi(port)
	return host, p
}

// clusterView is the cluster view as seen from c's connection.
func (c *client) clusterView() []clusterNode { return c.srv.clusterView(c.conn.LocalAddr()) }

func cmdClusterKeySlot(c *client, args [][]byte) { c.replyInt(int64(slot.Of(args[2]))) }

func cmdClusterMyID(c *client, _ [][]byte) { c.replyBulkString(c.srv.id) }

func cmdClusterInfo(c *client, _ [][]byte) {
	nodes := c.clusterView()
	assigned, size := 0, 0
	var epoch, myEpoch int64
	for _, n := range nodes {
		for _, r := range n.slots {
			assigned += r.end - r.start + 1
		}
		if len(n.slots) > 0 {
			size++
		}
		epoch = max(epoch, n.epoch)
		if n.myself {
			myEpoch = n.epoch
		}
	}
	state := "ok"
	if assigned < slot.Count || (c.srv.member != nil && !c.srv.member.LeaseValid()) {
		state = "fail"
	}
	var b infoBuilder
	b.line("cluster_state", state)
	b.line("cluster_slots_assigned", assigned)
	b.line("cluster_slots_ok", assigned)
	b.line("cluster_slots_pfail", 0)
	b.line("cluster_slots_fail", 0)
	b.line("cluster_known_nodes", len(nodes))
	b.line("cluster_size", size)
	b.line("cluster_current_epoch", epoch)
	b.line("cluster_my_epoch", myEpoch)
	b.line("cluster_stats_messages_sent", 0)
	b.line("cluster_stats_messages_received", 0)
	b.line("total_cluster_links_buffer_limit_exceeded", 0)
	c.replyBulkString(b.String())
}

// cmdClusterSlots replies with one entry per slot range: start, end and
// the serving node as [host, port, id, metadata].
func cmdClusterSlots(c *client, _ [][]byte) {
	nodes := c.clusterView()
	n := 0
	for _, node := range nodes {
		n += len(node.slots)
	}
	c.replyArray(n)
	for _, node := range nodes {
		for _, r := range node.slots {
			c.replyArray(3)
			c.replyInt(int64(r.start))
			c.replyInt(int64(r.end))
			c.replyArray(4)
			c.replyBulkString(node.host)
			c.replyInt(int64(node.port))
			c.replyBulkString(node.id)
			c.replyArray(0)
		}
	}
}

// cmdClusterShards replies with one shard per node (CHKV has no replicas):
// its slot ranges and the node.
func cmdClusterShards(c *client, _ [][]byte) {
	nodes := c.clusterView()
	c.replyArray(len(nodes))
	for _, node := range nodes {
		c.replyMap(2)
		c.replyBulkString("slots")
		c.replyArray(2 * len(node.slots))
		for _, r := range node.slots {
			c.replyInt(int64(r.start))
			c.replyInt(int64(r.end))
		}
		c.replyBulkString("nodes")
		c.replyArray(1)
		c.replyMap(7)
		c.replyBulkString("id")
		c.replyBulkString(node.id)
		c.replyBulkString("port")
		c.replyInt(int64(node.port))
		c.replyBulkString("ip")
		c.replyBulkString(node.host)
		c.replyBulkString("endpoint")
		c.replyBulkString(node.host)
		c.replyBulkString("role")
		c.replyBulkString("master")
		c.replyBulkString("replication-offset")
		c.replyInt(0)
		c.replyBulkString("health")
		if node.failed {
			c.replyBulkString("failed")
		} else {
			c.replyBulkString("online")
		}
	}
}

// cmdClusterNodes replies with Redis's nodes.conf-style lines:
// id ip:port@cport flags master ping-sent pong-recv config-epoch link-state
// slot... CHKV has no cluster bus: cport is 0.
func cmdClusterNodes(c *client, _ [][]byte) {
	var b strings.Builder
	now := time.Now().UnixMilli()
	for _, n := range c.clusterView() {
		flags, pong, link := "master", now, "connected"
		if n.myself {
			flags, pong = "myself,master", 0
		}
		if n.failed {
			flags, link = flags+",fail", "disconnected"
		}
		fmt.Fprintf(&b, "%s %s:%d@0 %s - 0 %d %d %s", n.id, n.host, n.port, flags, pong, n.epoch, link)
		if len(n.slots) > 0 {
			b.WriteString(" " + formatSlotRanges(n.slots))
		}
		b.WriteByte('\n')
	}
	c.replyBulkString(b.String())
}

// parseSlotArg parses an integer argument of CLUSTER COUNTKEYSINSLOT and
// GETKEYSINSLOT; ok is false, and the error sent, when it is not one.
func parseSlotArg(c *client, arg []byte) (int64, bool) {
	n, ok := parseInt(arg)
	if !ok {
		c.replyError(errNotInteger)
	}
	return n, ok
}

func cmdClusterCountKeysInSlot(c *client, args [][]byte) {
	n, ok := parseSlotArg(c, args[2])
	if !ok {
		return
	}
	if n < 0 || n >= slot.Count {
		c.replyError("ERR Invalid slot")
		return
	}
	c.replyInt(int64(c.srv.store.Slot(int(n)).Len()))
}

func cmdClusterGetKeysInSlot(c *client, args [][]byte) {
	id, ok := parseSlotArg(c, args[2])
	if !ok {
		return
	}
	count, ok := parseSlotArg(c, args[3])
	if !ok {
		return
	}
	if id < 0 || id >= slot.Count || count < 0 {
		c.replyError("ERR Invalid slot or number of keys")
		return
	}
	var keys [][]byte
	if count > 0 {
		sl := c.srv.store.Slot(int(id))
		c.lock(sl)
		sl.ForEach(time.Now().UnixMilli(), func(key, _ []byte, _ int64) bool {
			keys = append(keys, append([]byte(nil), key...))
			return int64(len(keys)) < count
		})
		c.unlock(sl)
	}
	c.replyArray(len(keys))
	for _, k := range keys {
		c.replyBulk(k)
	}
}

func cmdClusterHelp(c *client, _ [][]byte) {
	c.replyHelp("cluster", []string{
		"COUNTKEYSINSLOT <slot>",
		"    Return the number of keys in <slot>.",
		"GETKEYSINSLOT <slot> <count>",
		"    Return key names stored by current node in a slot.",
		"INFO",
		"    Return information about the cluster.",
		"KEYSLOT <key>",
		"    Return the hash slot for <key>.",
		"MYID",
		"    Return the node id.",
		"NODES",
		"    Return cluster configuration seen by node. Output format:",
		"    <id> <ip:port> <flags> <master> <pings> <pongs> <epoch> <link> <slot> ...",
		"SLOTS",
		"    Return information about slots range mappings. Each range is made of:",
		"    start, end, master and replicas IP addresses, ports and ids",
		"SHARDS",
		"    Return information about slot range mappings and the nodes associated with them.",
	})
}

// formatSlotRanges renders ranges as CLUSTER NODES does ("0-5460 5461").
func formatSlotRanges(ranges []slotRange) string {
	parts := make([]string, len(ranges))
	for i, r := range ranges {
		parts[i] = strconv.Itoa(r.start)
		if r.end != r.start {
			parts[i] += "-" + strconv.Itoa(r.end)
		}
	}
	return strings.Join(parts, " ")
}
