// Package proccluster runs a CHKV cluster of real processes — the built
// namenode and datanode binaries — for tests that kill them (SIGKILL),
// pause them (SIGSTOP) and cut the links between them. Every link from a
// DataNode to a NameNode, and between the two NameNodes, goes through a
// faultnet proxy the test controls.
package proccluster

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/chkv/chkv/client"
	"github.com/chkv/chkv/helper/faultnet"
	"github.com/chkv/chkv/proto/chkvpb"
)

// Build compiles the namenode, datanode and chkvctl binaries into dir.
func Build(dir string) error {
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return fmt.Errorf("go env GOMOD: %w", err)
	}
	root := filepath.Dir(strings.TrimSpace(string(out)))
	cmd := exec.Command("go", "build", "-o", dir+string(filepath.Separator), "./namenode/cmd/namenode", "./datanode/cmd/datanode",
		"./client/cmd/chkvctl")
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go build: %w\n%s", err, out)
	}
	return nil
}

// Options configure a Cluster.
type Options struct {
	// BinDir holds the binaries built by Build.
	BinDir string
	// LogDir receives one log file per process.
	LogDir string
	// DataNodes is the number of DataNodes (default 3).
	DataNodes int
	// HeartbeatInterval is the NameNodes' --heartbeat-interval (default 1s,
	// the production setting).
	HeartbeatInterval time.Duration
	// DataNodeArgs are added to every DataNode's flags.
	DataNodeArgs []string
}

// Process is one running (or stopped) binary.
type Process struct {
	Name string
	// Addr is the gRPC address of a NameNode, the RESP address of a
	// DataNode.
	Addr string
	// GRPC is a DataNode's gRPC address.
	GRPC string
	bin  string
	args []string
	log  string

	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan struct{} // closed when cmd has exited
}

// start runs the process; it must not be running.
func (p *Process) start(extra ...string) error {
	f, err := os.OpenFile(p.log, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	cmd := exec.Command(p.bin, append(slices.Clip(p.args), extra...)...)
	cmd.Stdout, cmd.Stderr = f, f
	if err := cmd.Start(); err != nil {
		f.Close()
		return fmt.Errorf("start %s: %w", p.Name, err)
	}
	done := make(chan struct{})
	go func() {
		cmd.Wait()
		f.Close()
		close(done)
	}()
	p.mu.Lock()
	p.cmd, p.done = cmd, done
	p.mu.Unlock()
	return nil
}

// signal sends sig to the running process.
func (p *Process) signal(sig syscall.Signal) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd == nil {
		return fmt.Errorf("%s is not running", p.Name)
	}
	return p.cmd.Process.Signal(sig)
}

// Kill kills the process with SIGKILL and waits for it to exit.
func (p *Process) Kill() error {
	p.mu.Lock()
	cmd, done := p.cmd, p.done
	p.cmd = nil
	p.mu.Unlock()
	if cmd == nil {
		return nil
	}
	cmd.Process.Signal(syscall.SIGCONT) // a paused process dies as well
	if err := cmd.Process.Kill(); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return err
	}
	select {
	case <-done:
		return nil
	case <-time.After(10 * time.Second):
		return fmt.Errorf("%s did not exit after SIGKILL", p.Name)
	}
}

// Pause stops the process with SIGSTOP; Resume continues it.
func (p *Process) Pause() error  { return p.signal(syscall.SIGSTOP) }
func (p *Process) Resume() error { return p.signal(syscall.SIGCONT) }

// Restart starts the process again with the same arguments after a Kill.
func (p *Process) Restart() error { return p.start() }

// RestartWith starts the process again after a Kill with extra arguments
// added for this run only (e.g. a DataNode's --rejoin).
func (p *Process) RestartWith(extra ...string) error { return p.start(extra...) }

// Log returns what the process has logged so far.
func (p *Process) Log() string {
	b, _ := os.ReadFile(p.log)
	return string(b)
}

// Cluster is a NameNode pair and DataNodes as processes.
type Cluster struct {
	NameNodes [2]*Process
	DataNodes []*Process
	// PeerLink carries both directions between the NameNodes.
	PeerLink *faultnet.Link
	// ToNameNode[i] carries every DataNode's calls to NameNode i.
	ToNameNode [2]*faultnet.Link
	// NameNodeAddrs are the NameNodes' addresses as clients use them.
	NameNodeAddrs []string

	opts    Options
	proxies []*faultnet.Proxy

	connMu sync.Mutex
	conns  []*grpc.ClientConn
}

// Start starts the NameNode pair and the DataNodes and waits until a
// NameNode is active with every DataNode up. Close stops it all.
func Start(ctx context.Context, opts Options) (c *Cluster, err error) {
	if opts.DataNodes == 0 {
		opts.DataNodes = 3
	}
	if opts.HeartbeatInterval == 0 {
		opts.HeartbeatInterval = time.Second
	}
	c = &Cluster{opts: opts, PeerLink: faultnet.NewLink()}
	defer func() {
		if err != nil {
			c.Close()
		}
	}()
	var nnAddrs [2]string
	for i := range nnAddrs {
		if nnAddrs[i], err = freeAddr(); err != nil {
			return nil, err
		}
		c.ToNameNode[i] = faultnet.NewLink()
	}
	c.NameNodeAddrs = nnAddrs[:]
	for i := range c.NameNodes {
		peer, err := c.proxy(nnAddrs[1-i], c.PeerLink)
		if err != nil {
			return nil, err
		}
		name := fmt.Sprintf("namenode-%d", i+1)
		c.NameNodes[i] = &Process{
			Name: name, Addr: nnAddrs[i], bin: filepath.Join(opts.BinDir, "namenode"),
			log: filepath.Join(opts.LogDir, name+".log"),
			args: []string{"--id", name, "--listen", nnAddrs[i], "--http", "", "--peer", peer,
				"--heartbeat-interval", opts.HeartbeatInterval.String(), "--log-level", "debug"},
		}
		if err := c.NameNodes[i].start(); err != nil {
			return nil, err
		}
	}
	for i := range opts.DataNodes {
		if _, err := c.AddDataNode(); err != nil {
			return nil, fmt.Errorf("datanode %d: %w", i+1, err)
		}
	}
	return c, c.WaitReady(ctx)
}

// AddDataNode starts one more DataNode.
func (c *Cluster) AddDataNode() (*Process, error) {
	var via []string
	for i, addr := range c.NameNodeAddrs {
		p, err := c.proxy(addr, c.ToNameNode[i])
		if err != nil {
			return nil, err
		}
		via = append(via, p)
	}
	resp, err := freeAddr()
	if err != nil {
		return nil, err
	}
	grpcAddr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	name := fmt.Sprintf("datanode-%d", len(c.DataNodes)+1)
	p := &Process{
		Name: name, Addr: resp, GRPC: grpcAddr, bin: filepath.Join(c.opts.BinDir, "datanode"),
		log: filepath.Join(c.opts.LogDir, name+".log"),
		args: []string{"--id", name, "--listen", resp, "--grpc", grpcAddr, "--namenodes", strings.Join(via, ","),
			"--drain-listen", "", "--log-level", "debug"},
	}
	p.args = append(p.args, c.opts.DataNodeArgs...)
	if err := p.start(); err != nil {
		return nil, err
	}
	c.DataNodes = append(c.DataNodes, p)
	return p, nil
}

func (c *Cluster) proxy(target string, link *faultnet.Link) (string, error) {
	p, err := faultnet.NewProxy(target, link)
	if err != nil {
		return "", err
	}
	c.proxies = append(c.proxies, p)
	return p.Addr(), nil
}

// Status asks NameNode i for its status, within a second.
func (c *Cluster) Status(ctx context.Context, i int) (*chkvpb.StatusResponse, error) {
	conn, err := c.nameNodeConn(i)
	if err != nil {
		return nil, err
	}
	cctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	return chkvpb.NewNameNodeClient(conn).Status(cctx, &chkvpb.StatusRequest{})
}

// NameNode returns a client of NameNode i.
func (c *Cluster) NameNode(i int) (chkvpb.NameNodeClient, error) {
	conn, err := c.nameNodeConn(i)
	if err != nil {
		return nil, err
	}
	return chkvpb.NewNameNodeClient(conn), nil
}

func (c *Cluster) nameNodeConn(i int) (*grpc.ClientConn, error) {
	c.connMu.Lock()
	defer c.connMu.Unlock()
	for len(c.conns) < len(c.NameNodeAddrs) {
		conn, err := grpc.NewClient(c.NameNodeAddrs[len(c.conns)], grpc.WithTransportCredentials(insecure.NewCredentials()))
		if err != nil {
			return nil, err
		}
		c.conns = append(c.conns, conn)
	}
	return c.conns[i], nil
}

// Active returns the index and status of the NameNode that reports itself
// active with a quorum, or -1 when neither does.
func (c *Cluster) Active(ctx context.Context) (int, *chkvpb.StatusResponse) {
	for i := range c.NameNodes {
		st, err := c.Status(ctx, i)
		if err == nil && st.GetRole() == chkvpb.NameNodeRole_NAMENODE_ROLE_ACTIVE && st.GetQuorum() {
			return i, st
		}
	}
	return -1, nil
}

// WaitActive waits until a NameNode is active with a quorum and returns
// its index and status.
func (c *Cluster) WaitActive(ctx context.Context) (int, *chkvpb.StatusResponse, error) {
	for {
		if i, st := c.Active(ctx); i >= 0 {
			return i, st, nil
		}
		select {
		case <-ctx.Done():
			return -1, nil, fmt.Errorf("no active namenode: %w", ctx.Err())
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// WaitReady waits until a NameNode is active and every DataNode is up and
// owns slots in its topology, with no migration in progress.
func (c *Cluster) WaitReady(ctx context.Context) error {
	for {
		if _, st := c.Active(ctx); st != nil && c.ready(st) {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("cluster not ready: %w\n%s", ctx.Err(), c.Logs())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func (c *Cluster) ready(st *chkvpb.StatusResponse) bool {
	up := 0
	for _, n := range st.GetNodes() {
		if n.GetNode().GetState() == chkvpb.NodeState_NODE_STATE_UP && n.GetSlots() > 0 && n.GetSlotsIn() == 0 && n.GetSlotsOut() == 0 {
			up++
		}
	}
	return up == len(c.DataNodes)
}

// NewClient returns an SDK client that knows both NameNodes.
func (c *Cluster) NewClient(ctx context.Context, opts ...client.Option) (*client.Client, error) {
	return client.New(ctx, client.Config{NameNodes: c.NameNodeAddrs}, opts...)
}

// Logs returns the tail of every process's log, for failure messages.
func (c *Cluster) Logs() string {
	var b bytes.Buffer
	for _, p := range append(c.NameNodes[:], c.DataNodes...) {
		if p == nil {
			continue
		}
		l := p.Log()
		if len(l) > 4000 {
			l = l[len(l)-4000:]
		}
		fmt.Fprintf(&b, "=== %s ===\n%s\n", p.Name, l)
	}
	return b.String()
}

// Close kills every process and closes the proxies.
func (c *Cluster) Close() {
	for _, p := range append(c.NameNodes[:], c.DataNodes...) {
		if p != nil {
			p.Kill()
		}
	}
	for _, p := range c.proxies {
		p.Close()
	}
	c.connMu.Lock()
	defer c.connMu.Unlock()
	for _, conn := range c.conns {
		conn.Close()
	}
}
