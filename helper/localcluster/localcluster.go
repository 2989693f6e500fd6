// Package localcluster runs a whole CHKV cluster inside one process: a
// NameNode and DataNodes on loopback ports chosen by the kernel. Every path
// between the NameNode and a DataNode runs over a faultnet.Link, so tests
// cut, heal or slow links on purpose, and DataNodes can be killed and
// added while clients run. Tests, benchmarks and examples share it, as
// hashicorp/raft's MakeCluster.
package localcluster

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"slices"
	"sync"
	"time"

	"google.golang.org/grpc"

	"github.com/chkv/chkv/client"
	"github.com/chkv/chkv/common/topology"
	"github.com/chkv/chkv/datanode"
	"github.com/chkv/chkv/helper/faultnet"
	"github.com/chkv/chkv/namenode"
)

// Options configure a local cluster. Zero values take the defaults below.
type Options struct {
	// DataNodes is how many DataNodes Start brings up (default 3).
	DataNodes int
	// HeartbeatInterval is the DataNodes' heartbeat period (default 250ms,
	// four times the production pace, so failure tests run quickly).
	HeartbeatInterval time.Duration
	// VNodes is the ring's virtual nodes per DataNode (default 256).
	VNodes int
	// ClusterToken is the shared secret of every gRPC call.
	ClusterToken string
	// Logger receives every component's logs; nil discards them.
	Logger *slog.Logger
	// DataNodeConfig, when set, adjusts each DataNode's configuration.
	DataNodeConfig func(*datanode.Config)
	// NameNodeConfig, when set, adjusts the NameNode's configuration
	// (e.g. HTTP = "127.0.0.1:0" for its status page and metrics; HTTP is
	// off otherwise).
	NameNodeConfig func(*namenode.Config)
}

// DefaultHeartbeatInterval is the heartbeat period of a local cluster.
const DefaultHeartbeatInterval = 250 * time.Millisecond

// Cluster is a running local cluster.
type Cluster struct {
	opts Options

	mu sync.Mutex
	// NameNode is the current NameNode; RestartNameNode replaces it.
	NameNode  *namenode.Server
	dataNodes []*DataNode
	nextID    int
}

// DataNode is one DataNode of the cluster and the links that reach it.
type DataNode struct {
	*datanode.Server
	// ToNameNode carries the DataNode's calls to the NameNode.
	ToNameNode *faultnet.Link
	// FromNameNode carries the NameNode's calls to the DataNode.
	FromNameNode *faultnet.Link
	// ToPeers carries the DataNode's calls to other DataNodes: the slots
	// it migrates away.
	ToPeers *faultnet.Link

	stopOnce sync.Once
}

// Isolate cuts the DataNode off from the NameNode in both directions, as a
// network partition would; clients still reach it.
func (d *DataNode) Isolate() {
	d.ToNameNode.Cut()
	d.FromNameNode.Cut()
}

// Heal restores the DataNode's links to the NameNode.
func (d *DataNode) Heal() {
	d.ToNameNode.Restore()
	d.FromNameNode.Restore()
}

// RESPAddr is the address clients reach the DataNode at.
func (d *DataNode) RESPAddr() string { return d.Addr().String() }

// Start brings up a NameNode and opts.DataNodes DataNodes and waits until
// every slot is served.
func Start(ctx context.Context, opts Options) (*Cluster, error) {
	if opts.DataNodes == 0 {
		opts.DataNodes = 3
	}
	if opts.HeartbeatInterval == 0 {
		opts.HeartbeatInterval = DefaultHeartbeatInterval
	}
	if opts.VNodes == 0 {
		opts.VNodes = namenode.DefaultVNodes
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	c := &Cluster{opts: opts}
	if err := c.startNameNode("127.0.0.1:0"); err != nil {
		return nil, err
	}
	for range opts.DataNodes {
		if _, err := c.AddDataNode(); err != nil {
			c.Stop()
			return nil, err
		}
	}
	err := c.WaitForTopology(ctx, func(t *topology.Topology) bool {
		return countUp(t) == opts.DataNodes && allServed(t)
	})
	if err == nil {
		err = c.WaitMigrated(ctx)
	}
	if err != nil {
		c.Stop()
		return nil, fmt.Errorf("localcluster: cluster did not form: %w", err)
	}
	return c, nil
}

// WaitMigrated waits until no slot is being migrated (every slot is owned
// by its ring target, so no node is joining) and every DataNode holds that
// version.
func (c *Cluster) WaitMigrated(ctx context.Context) error {
	err := c.WaitForTopology(ctx, func(t *topology.Topology) bool {
		return !t.Migrating() && allServed(t) && !slices.ContainsFunc(t.Nodes, func(n topology.Node) bool { return n.State == topology.Joining })
	})
	if err != nil {
		t := c.Topology()
		stuck := 0
		for s := range t.Owners {
			if t.Owners[s] != t.Target[s] {
				stuck++
			}
		}
		return fmt.Errorf("migration did not finish (%d slots left): %w", stuck, err)
	}
	return c.WaitConverged(ctx)
}

// Drain starts draining dn through the NameNode.
func (c *Cluster) Drain(dn *DataNode, force bool) error {
	_, err := c.nameNode().Drain(dn.ID(), force)
	return err
}

// WaitConverged waits until every DataNode the NameNode counts as up holds
// the NameNode's current topology version.
func (c *Cluster) WaitConverged(ctx context.Context) error {
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for {
		want := c.Topology()
		if c.converged(want) {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("DataNodes did not reach version %d: %w", want.Version, ctx.Err())
		case <-tick.C:
		}
	}
}

func (c *Cluster) converged(want *topology.Topology) bool {
	for _, dn := range c.DataNodes() {
		i := want.Index(dn.ID())
		if i < 0 || want.Nodes[i].State != topology.Up {
			continue
		}
		if topology.Compare(dn.Topology(), want) < 0 {
			return false
		}
	}
	return true
}

func countUp(t *topology.Topology) int {
	n := 0
	for _, node := range t.Nodes {
		if node.State == topology.Up {
			n++
		}
	}
	return n
}

func allServed(t *topology.Topology) bool {
	for s := range t.Owners {
		if t.Owners[s] == topology.Unowned {
			return false
		}
	}
	return true
}

// startNameNode starts a NameNode listening on addr.
func (c *Cluster) startNameNode(addr string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	cfg := namenode.DefaultConfig()
	cfg.ID = "namenode-1"
	cfg.Listener = ln
	cfg.HTTP = ""
	cfg.VNodes = c.opts.VNodes
	cfg.HeartbeatInterval = c.opts.HeartbeatInterval
	cfg.ClusterToken = c.opts.ClusterToken
	cfg.Logger = c.opts.Logger
	if c.opts.NameNodeConfig != nil {
		c.opts.NameNodeConfig(&cfg)
	}
	nn, err := namenode.New(cfg)
	if err != nil {
		ln.Close()
		return err
	}
	if err := nn.Start(); err != nil {
		return err
	}
	c.mu.Lock()
	c.NameNode = nn
	c.mu.Unlock()
	return nil
}

// RestartNameNode stops the NameNode and starts a fresh one, with no state,
// on the same address; it rebuilds the cluster from what the DataNodes
// report.
func (c *Cluster) RestartNameNode() error {
	addr := c.NameNodeAddr()
	c.nameNode().Stop()
	return c.startNameNode(addr)
}

func (c *Cluster) nameNode() *namenode.Server {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.NameNode
}

// NameNodeAddr is the NameNode's gRPC address.
func (c *Cluster) NameNodeAddr() string { return c.nameNode().Addr().String() }

// AddDataNode starts one more DataNode, which registers with the NameNode.
// It does not wait for the DataNode to receive slots.
func (c *Cluster) AddDataNode() (*DataNode, error) {
	c.mu.Lock()
	c.nextID++
	id := fmt.Sprintf("datanode-%d", c.nextID)
	c.mu.Unlock()
	resp, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	grpcLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		resp.Close()
		return nil, err
	}
	dn := &DataNode{ToNameNode: faultnet.NewLink(), FromNameNode: faultnet.NewLink(), ToPeers: faultnet.NewLink()}
	cfg := datanode.DefaultConfig()
	cfg.ID = id
	cfg.Listener = resp
	cfg.Listen = resp.Addr().String()
	cfg.GRPCListener = dn.FromNameNode.Listener(grpcLn)
	cfg.NameNodes = []string{c.NameNodeAddr()}
	cfg.ClusterToken = c.opts.ClusterToken
	cfg.Logger = c.opts.Logger
	cfg.GRPCDialOptions = []grpc.DialOption{grpc.WithContextDialer(dn.ToNameNode.Dialer())}
	cfg.PeerDialOptions = []grpc.DialOption{grpc.WithContextDialer(dn.ToPeers.Dialer())}
	if c.opts.DataNodeConfig != nil {
		c.opts.DataNodeConfig(&cfg)
	}
	if dn.Server, err = datanode.New(cfg); err != nil {
		resp.Close()
		grpcLn.Close()
		return nil, err
	}
	if err := dn.Start(); err != nil {
		return nil, err
	}
	c.mu.Lock()
	c.dataNodes = append(c.dataNodes, dn)
	c.mu.Unlock()
	return dn, nil
}

// DataNodes returns the DataNodes started so far, killed ones included.
func (c *Cluster) DataNodes() []*DataNode {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]*DataNode(nil), c.dataNodes...)
}

// Kill stops a DataNode at once: its listeners and connections close, as
// when its process dies.
func (c *Cluster) Kill(dn *DataNode) {
	dn.stopOnce.Do(dn.Stop)
}

// Stop stops every DataNode and the NameNode.
func (c *Cluster) Stop() {
	for _, dn := range c.DataNodes() {
		c.Kill(dn)
	}
	c.nameNode().Stop()
}

// Topology is the NameNode's current topology.
func (c *Cluster) Topology() *topology.Topology { return c.nameNode().Topology() }

// WaitForTopology polls the NameNode's topology until cond holds or ctx
// ends.
func (c *Cluster) WaitForTopology(ctx context.Context, cond func(*topology.Topology) bool) error {
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for {
		if cond(c.Topology()) {
			return nil
		}
		select {
		case <-ctx.Done():
			return errors.Join(ctx.Err(), fmt.Errorf("topology stayed at version %d", c.Topology().Version))
		case <-tick.C:
		}
	}
}

// NewClient returns an SDK client watching the cluster's NameNode.
func (c *Cluster) NewClient(ctx context.Context, opts ...client.Option) (*client.Client, error) {
	return client.New(ctx, client.Config{NameNodes: []string{c.NameNodeAddr()}, ClusterToken: c.opts.ClusterToken}, opts...)
}
