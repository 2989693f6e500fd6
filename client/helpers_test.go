package client

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/chkv/chkv/client/clienttest"
	"github.com/chkv/chkv/common/slot"
	"github.com/chkv/chkv/common/topology"
	"github.com/chkv/chkv/datanode"
	"github.com/chkv/chkv/helper/fakenamenode"
	"github.com/chkv/chkv/helper/testutil"
)

// cluster is a fake NameNode and standalone DataNodes.
type cluster struct {
	nn    *fakenamenode.NameNode
	dns   []*datanode.Server
	addrs []string
}

// newCluster starts a fake NameNode and n DataNodes, and pushes version 1
// of a topology that splits the slots evenly over them.
func newCluster(t testing.TB, n int) *cluster {
	t.Helper()
	c := &cluster{nn: fakenamenode.New(t)}
	for range n {
		dn := clienttest.StartDataNode(t)
		c.dns = append(c.dns, dn)
		c.addrs = append(c.addrs, dn.Addr().String())
	}
	c.nn.Push(clienttest.Split(1, 1, c.addrs...))
	return c
}

// withRetireGrace sets how long pools of departed DataNodes stay open.
func withRetireGrace(d time.Duration) Option { return func(o *options) { o.retireGrace = d } }

// testCtx returns a context that ends with the test or after 20 s.
func testCtx(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// newClient returns a client of the NameNodes at addrs, closed when the
// test ends.
func newClient(t testing.TB, nameNodes []string, opts ...Option) *Client {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, err := New(ctx, Config{NameNodes: nameNodes}, opts...)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// direct returns a plain go-redis client of one DataNode, to check what it
// holds without the SDK's routing.
func direct(t testing.TB, addr string) *redis.Client {
	t.Helper()
	rc := redis.NewClient(&redis.Options{Addr: addr, Protocol: 2, DisableIdentity: true, MaxRetries: -1})
	t.Cleanup(func() { rc.Close() })
	return rc
}

// keyOnNode returns a key whose slot node i of t owns, distinct for each
// n.
func keyOnNode(t *topology.Topology, i, n int) string {
	for j := 0; ; j++ {
		k := fmt.Sprintf("k%d-%d-%d", i, n, j)
		if t.Owners[slot.OfString(k)] == i {
			return k
		}
	}
}

// waitVersion waits until c routes by a topology of at least version v.
func waitVersion(t testing.TB, c *Client, v uint64) {
	t.Helper()
	testutil.Eventually(t, 5*time.Second, fmt.Sprintf("topology version %d", v), func() bool {
		return c.Topology().Version >= v
	})
}
