package localcluster

import (
	"context"
	"fmt"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	"github.com/chkv/chkv/common/clustertoken"
	"github.com/chkv/chkv/common/slot"
	"github.com/chkv/chkv/common/topology"
	"github.com/chkv/chkv/helper/testutil"
	"github.com/chkv/chkv/proto/chkvpb"
)

func startCluster(t *testing.T, opts Options) *Cluster {
	t.Helper()
	// Forming moves two thirds of the slots from the first DataNode to the
	// others: about 6 s under the race detector on an idle 2-core machine,
	// many times that while other test packages run beside it.
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	c, err := Start(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Stop)
	return c
}

func ctxFor(t *testing.T, d time.Duration) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// ownerOf returns the DataNode that the NameNode's topology gives key to.
func ownerOf(c *Cluster, key string) *DataNode {
	owner := c.Topology().Owner(slot.OfString(key))
	for _, dn := range c.DataNodes() {
		if owner != nil && dn.ID() == owner.ID {
			return dn
		}
	}
	return nil
}

func direct(t *testing.T, dn *DataNode) *redis.Client {
	t.Helper()
	rdb := redis.NewClient(&redis.Options{Addr: dn.RESPAddr(), MaxRetries: -1})
	t.Cleanup(func() { rdb.Close() })
	return rdb
}

func TestClusterFormsAndSDKRoutesToOwners(t *testing.T) {
	c := startCluster(t, Options{})
	top := c.Topology()
	for i := range top.Nodes {
		if n := top.SlotCount(i); n < slot.Count/6 {
			t.Errorf("node %s owns only %d slots", top.Nodes[i].ID, n)
		}
	}
	ctx := ctxFor(t, 30*time.Second)
	cl, err := c.NewClient(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	for i := range 300 {
		key := fmt.Sprintf("user:%d", i)
		if err := cl.Set(ctx, key, "v"+key); err != nil {
			t.Fatalf("Set %s: %v", key, err)
		}
	}
	// Every key lives on its owner and nowhere else.
	for i := range 300 {
		key := fmt.Sprintf("user:%d", i)
		owner := ownerOf(c, key)
		for _, dn := range c.DataNodes() {
			v, err := direct(t, dn).Get(ctx, key).Result()
			if dn == owner {
				if err != nil || v != "v"+key {
					t.Fatalf("%s on its owner %s: %q, %v", key, dn.ID(), v, err)
				}
			} else if err == nil || !strings.HasPrefix(err.Error(), "MOVED ") {
				t.Fatalf("%s on non-owner %s: %q, %v; want MOVED", key, dn.ID(), v, err)
			}
		}
	}
	keys := []string{"user:1", "user:2", "user:3", "missing"}
	vals, err := cl.MGet(ctx, keys...)
	if err != nil {
		t.Fatal(err)
	}
	if len(vals) != 4 || vals[0].Val != "vuser:1" || vals[2].Val != "vuser:3" || vals[3].Found {
		t.Fatalf("MGet across slots = %+v", vals)
	}
}

func TestGoRedisClusterClient(t *testing.T) {
	c := startCluster(t, Options{})
	ctx := ctxFor(t, 30*time.Second)
	rdb := redis.NewClusterClient(&redis.ClusterOptions{Addrs: []string{c.DataNodes()[0].RESPAddr()}})
	defer rdb.Close()
	for i := range 200 {
		key := fmt.Sprintf("k%d", i)
		if err := rdb.Set(ctx, key, i, 0).Err(); err != nil {
			t.Fatalf("Set %s: %v", key, err)
		}
	}
	for i := range 200 {
		key := fmt.Sprintf("k%d", i)
		if v, err := rdb.Get(ctx, key).Int(); err != nil || v != i {
			t.Fatalf("Get %s = %d, %v", key, v, err)
		}
	}
	slots, err := rdb.ClusterSlots(ctx).Result()
	if err != nil {
		t.Fatal(err)
	}
	covered := 0
	for _, s := range slots {
		covered += s.End - s.Start + 1
	}
	if covered != slot.Count {
		t.Fatalf("CLUSTER SLOTS covers %d slots", covered)
	}
}

func TestRedisCLIFollowsRedirects(t *testing.T) {
	cli, err := exec.LookPath("redis-cli")
	if err != nil {
		t.Skip("redis-cli not installed")
	}
	c := startCluster(t, Options{})
	entry := c.DataNodes()[0]
	host, port, _ := strings.Cut(entry.RESPAddr(), ":")
	run := func(args ...string) string {
		t.Helper()
		cmd := exec.Command(cli, append([]string{"-c", "-h", host, "-p", port}, args...)...)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("redis-cli %v: %v: %s", args, err, out)
		}
		return strings.TrimSpace(string(out))
	}
	moved := 0
	for i := range 30 {
		key := fmt.Sprintf("cli:%d", i)
		if ownerOf(c, key) != entry {
			moved++
		}
		if got := run("SET", key, "val"+key); got != "OK" {
			t.Fatalf("SET %s = %q", key, got)
		}
		if got := run("GET", key); got != "val"+key {
			t.Fatalf("GET %s = %q", key, got)
		}
	}
	if moved == 0 {
		t.Fatal("no key needed a redirect; the test proves nothing")
	}
}

// TestKilledDataNodeSlotsMoveAndClientsRecover kills a DataNode: the
// NameNode detects it, gives its slots to the survivors, and the SDK writes
// to those slots again within heartbeat interval × 6 plus the lease.
func TestKilledDataNodeSlotsMoveAndClientsRecover(t *testing.T) {
	c := startCluster(t, Options{})
	ctx := ctxFor(t, 60*time.Second)
	cl, err := c.NewClient(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	victim := c.DataNodes()[1]
	var key string
	for i := 0; ; i++ {
		key = fmt.Sprintf("victim:%d", i)
		if ownerOf(c, key) == victim {
			break
		}
	}
	if err := cl.Set(ctx, key, "before"); err != nil {
		t.Fatal(err)
	}
	c.Kill(victim)
	killed := time.Now()
	interval := DefaultHeartbeatInterval
	bound := 6*interval + 3*interval // six intervals plus the lease
	wctx, cancel := context.WithTimeout(ctx, bound+2*time.Second)
	defer cancel()
	if err := cl.Set(wctx, key, "after"); err != nil {
		t.Fatalf("write to the dead node's slot failed after %v: %v", time.Since(killed), err)
	}
	t.Logf("client wrote to the reassigned slot %v after the kill (bound %v)", time.Since(killed).Round(time.Millisecond), bound)
	top := c.Topology()
	if i := top.Index(victim.ID()); i < 0 || top.Nodes[i].State != topology.Down || top.SlotCount(i) != 0 {
		t.Fatalf("victim not down with no slots: %+v", top.Nodes)
	}
	if v, err := cl.Get(ctx, key); err != nil || v != "after" {
		t.Fatalf("Get after failover = %q, %v", v, err)
	}
}

// TestIsolatedDataNodeStopsServingWhenLeaseEnds cuts a DataNode off from
// the NameNode: it refuses its slots once its lease runs out, so it never
// serves them alongside their new owner; healed, it rejoins empty.
func TestIsolatedDataNodeStopsServingWhenLeaseEnds(t *testing.T) {
	c := startCluster(t, Options{})
	ctx := ctxFor(t, 60*time.Second)
	dn := c.DataNodes()[0]
	var key string
	for i := 0; ; i++ {
		key = fmt.Sprintf("iso:%d", i)
		if ownerOf(c, key) == dn {
			break
		}
	}
	rdb := direct(t, dn)
	if err := rdb.Set(ctx, key, "v", 0).Err(); err != nil {
		t.Fatal(err)
	}
	dn.Isolate()
	cut := time.Now()
	testutil.Eventually(t, 10*time.Second, "the isolated node to answer CLUSTERDOWN", func() bool {
		err := rdb.Get(ctx, key).Err()
		return err != nil && strings.HasPrefix(err.Error(), "CLUSTERDOWN")
	})
	stopped := time.Since(cut)
	if err := c.WaitForTopology(ctx, func(top *topology.Topology) bool {
		i := top.Index(dn.ID())
		return i >= 0 && top.Nodes[i].State == topology.Down && top.SlotCount(i) == 0
	}); err != nil {
		t.Fatal(err)
	}
	t.Logf("isolated node stopped serving %v after the cut", stopped.Round(time.Millisecond))
	dn.Heal()
	if err := c.WaitForTopology(ctx, func(top *topology.Topology) bool {
		i := top.Index(dn.ID())
		return i >= 0 && top.Nodes[i].State == topology.Up && top.SlotCount(i) > 0
	}); err != nil {
		t.Fatal(err)
	}
	// It dropped what it held while it was away, and serves again.
	waitCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	for {
		_, err := rdb.Get(waitCtx, key).Result()
		if err == redis.Nil {
			break
		}
		if waitCtx.Err() != nil {
			t.Fatalf("rejoined node: GET %s = %v, want nil (data dropped)", key, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestClusterTokenKeepsStrangersOut(t *testing.T) {
	c := startCluster(t, Options{ClusterToken: "s3cret", DataNodes: 2})
	ctx := ctxFor(t, 10*time.Second)
	register := func(token string) error {
		opts := append([]grpc.DialOption{grpc.WithTransportCredentials(insecure.NewCredentials())}, clustertoken.DialOptions(token)...)
		conn, err := grpc.NewClient(c.NameNodeAddr(), opts...)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		_, err = chkvpb.NewNameNodeClient(conn).Register(ctx, &chkvpb.RegisterRequest{
			Node: &chkvpb.Node{Id: "stranger", RespAddr: "127.0.0.1:1", GrpcAddr: "127.0.0.1:2"},
		})
		return err
	}
	for _, token := range []string{"", "wrong"} {
		if err := register(token); status.Code(err) != codes.Unauthenticated {
			t.Fatalf("register with token %q: %v, want Unauthenticated", token, err)
		}
	}
	if c.Topology().Index("stranger") >= 0 {
		t.Fatal("a stranger joined the cluster")
	}
	// The cluster's own DataNodes, which carry the token, are in.
	if got := countUp(c.Topology()); got != 2 {
		t.Fatalf("%d DataNodes up, want 2", got)
	}
}

// TestNameNodeRestartKeepsTopologyAndData restarts the NameNode with no
// state: it adopts the DataNodes' topology, so versions do not go back, no
// slot moves and no data is lost. The restarted process is a new
// incarnation and so commits in a new epoch, continuing after the version
// its predecessor committed.
func TestNameNodeRestartKeepsTopologyAndData(t *testing.T) {
	c := startCluster(t, Options{})
	ctx := ctxFor(t, 30*time.Second)
	cl, err := c.NewClient(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	for i := range 100 {
		if err := cl.Set(ctx, fmt.Sprintf("keep:%d", i), "v"); err != nil {
			t.Fatal(err)
		}
	}
	before := c.Topology()
	if err := c.RestartNameNode(); err != nil {
		t.Fatal(err)
	}
	if err := c.WaitForTopology(ctx, func(top *topology.Topology) bool {
		return top.Epoch > before.Epoch && countUp(top) == 3 && allServed(top)
	}); err != nil {
		t.Fatal(err)
	}
	after := c.Topology()
	if after.Version != before.Version+1 {
		t.Fatalf("restart went from (%d, %d) to (%d, %d), want the new epoch's first version right after", before.Epoch, before.Version, after.Epoch, after.Version)
	}
	for s := range after.Owners {
		if after.Owner(s).ID != before.Owner(s).ID {
			t.Fatalf("slot %d moved from %s to %s", s, before.Owner(s).ID, after.Owner(s).ID)
		}
	}
	// The DataNodes kept their leases and data; the cluster stays usable.
	for i := range 100 {
		if v, err := cl.Get(ctx, fmt.Sprintf("keep:%d", i)); err != nil || v != "v" {
			t.Fatalf("keep:%d after restart = %q, %v", i, v, err)
		}
	}
	// Writes keep succeeding over several lease periods under the new
	// NameNode: the DataNodes' leases are renewed by it.
	for end := time.Now().Add(5 * DefaultHeartbeatInterval); time.Now().Before(end); {
		if err := cl.Set(ctx, "keep:new", "v"); err != nil {
			t.Fatalf("write after restart: %v", err)
		}
	}
}
