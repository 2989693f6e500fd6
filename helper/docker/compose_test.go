// Package docker holds the container files of CHKV (compose.yml; the
// Dockerfile is at the repository's top) and the test that runs them: it
// builds the image, brings the compose cluster up, uses it through
// redis-cli, the SDK and chkvctl, and tears it down.
package docker

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/chkv/chkv/client"
	"github.com/chkv/chkv/common/clustertoken"
	"github.com/chkv/chkv/common/slot"
	"github.com/chkv/chkv/helper/testutil"
	"github.com/chkv/chkv/proto/chkvpb"
)

const token = "chkv-compose-test"

// composeCmd returns the compose command: "docker compose" or
// "docker-compose", whichever works; nil when neither does.
func composeCmd(ctx context.Context) []string {
	if exec.CommandContext(ctx, "docker", "compose", "version").Run() == nil {
		return []string{"docker", "compose"}
	}
	if exec.CommandContext(ctx, "docker-compose", "version").Run() == nil {
		return []string{"docker-compose"}
	}
	return nil
}

// cluster is a compose project under test.
type cluster struct {
	t       *testing.T
	compose []string
	env     []string
	prefix  string // network prefix, e.g. 172.29.123
	base    string // published port prefix, e.g. 41 for 41001
	project string // compose project name
}

// run runs a command with the project's environment within timeout and
// returns its combined output.
func (c *cluster) run(timeout time.Duration, name string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env = append(os.Environ(), c.env...)
	out, err := cmd.CombinedOutput()
	if ctx.Err() != nil {
		err = errors.Join(err, fmt.Errorf("%s %s: timed out after %v", name, strings.Join(args, " "), timeout))
	}
	return string(out), err
}

// composeRun runs a compose subcommand.
func (c *cluster) composeRun(timeout time.Duration, args ...string) (string, error) {
	full := append(append(c.compose[1:], "-f", "compose.yml"), args...)
	return c.run(timeout, c.compose[0], full...)
}

// status asks a NameNode, by its published port, for Status.
func (c *cluster) status(ctx context.Context, addr string) (*chkvpb.StatusResponse, error) {
	conn, err := grpc.NewClient(addr, append([]grpc.DialOption{grpc.WithTransportCredentials(insecure.NewCredentials())},
		clustertoken.DialOptions(token)...)...)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	cctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	return chkvpb.NewNameNodeClient(conn).Status(cctx, &chkvpb.StatusRequest{})
}

// waitStatus polls a NameNode's Status until cond holds or timeout passes.
func (c *cluster) waitStatus(addr string, timeout time.Duration, what string, cond func(*chkvpb.StatusResponse) bool) *chkvpb.StatusResponse {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	var last *chkvpb.StatusResponse
	var lastErr error
	for {
		st, err := c.status(ctx, addr)
		if err == nil && cond(st) {
			return st
		}
		last, lastErr = st, err
		select {
		case <-ctx.Done():
			logs, _ := c.composeRun(30*time.Second, "logs", "--tail", "30")
			c.t.Fatalf("%s: not within %v (last status %v, error %v)\nlogs:\n%s", what, timeout, last, lastErr, logs)
		case <-time.After(250 * time.Millisecond):
		}
	}
}

func converged(want int) func(*chkvpb.StatusResponse) bool {
	return func(st *chkvpb.StatusResponse) bool {
		up, total := 0, uint32(0)
		for _, ns := range st.GetNodes() {
			if ns.GetNode().GetState() == chkvpb.NodeState_NODE_STATE_UP && ns.GetSlotsIn() == 0 && ns.GetSlotsOut() == 0 {
				up++
			}
			total += ns.GetSlots()
		}
		return up == want && total == slot.Count
	}
}

func TestComposeCluster(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: the compose cluster test builds an image")
	}
	probe, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if _, err := exec.LookPath("docker"); err != nil {
		t.Skip("docker not installed: the container image and compose file are not tested")
	}
	if out, err := exec.CommandContext(probe, "docker", "info").CombinedOutput(); err != nil {
		t.Skipf("docker daemon unreachable: %v\n%s", err, out)
	}
	compose := composeCmd(probe)
	if compose == nil {
		t.Skip("neither `docker compose` nor `docker-compose` works")
	}
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}

	rng := rand.New(rand.NewPCG(uint64(os.Getpid()), uint64(time.Now().UnixNano())))
	project := fmt.Sprintf("chkvtest%d", os.Getpid())
	image := "chkv:" + project
	c := &cluster{t: t, compose: compose, project: project,
		prefix: fmt.Sprintf("172.29.%d", 100+rng.IntN(150)),
		// Published ports 20xxx-31xxx: below Linux's ephemeral range
		// (32768 up), where tests running beside this one take ports.
		base: strconv.Itoa(20 + rng.IntN(12))}
	c.env = []string{"COMPOSE_PROJECT_NAME=" + project, "CHKV_IMAGE=" + image, "CHKV_CLUSTER_TOKEN=" + token,
		"CHKV_NET_PREFIX=" + c.prefix, "CHKV_PORT_BASE=" + c.base}

	// The image, as `make image` builds it.
	if out, err := c.run(5*time.Minute, "make", "-C", root, "image", "IMAGE="+image); err != nil {
		t.Fatalf("make image: %v\n%s", err, out)
	}
	t.Cleanup(func() {
		if out, err := c.run(20*time.Second, "docker", "rmi", "-f", image); err != nil {
			t.Logf("docker rmi: %v\n%s", err, out)
		}
	})
	t.Cleanup(func() {
		if out, err := c.composeRun(2*time.Minute, "down", "-v", "--remove-orphans", "--timeout", "5"); err != nil {
			t.Errorf("compose down: %v\n%s", err, out)
		}
	})

	services := []string{"nn1", "nn2"}
	// A published port can be taken by another program meanwhile ("address
	// already in use"): start over on other ports, a few times.
	for attempt := 1; ; attempt++ {
		out, err := c.composeRun(2*time.Minute, "up", "-d")
		if err == nil {
			break
		}
		if attempt == 3 || !strings.Contains(out, "already in use") {
			t.Fatalf("compose up: %v\n%s", err, out)
		}
		t.Logf("compose up failed (attempt %d), starting over on other ports: %s", attempt, out)
		if out, err := c.composeRun(2*time.Minute, "down", "-v", "--remove-orphans", "--timeout", "5"); err != nil {
			t.Fatalf("compose down: %v\n%s", err, out)
		}
		c.base = strconv.Itoa(20 + rng.IntN(12))
		c.env[len(c.env)-1] = "CHKV_PORT_BASE=" + c.base
	}
	nameNodes := []string{"127.0.0.1:" + c.base + "101", "127.0.0.1:" + c.base + "102"}
	ai := c.waitActive(nameNodes, 2*time.Minute, -1)
	active := nameNodes[ai]
	c.waitStatus(active, 2*time.Minute, "three DataNodes up owning every slot", converged(3))

	// redis-cli -c through a published port: MOVED names container
	// addresses, which the host reaches over the bridge.
	keys := make([]string, 30)
	for i := range keys {
		keys[i] = "compose:" + strconv.Itoa(i)
	}
	if cli, err := exec.LookPath("redis-cli"); err != nil {
		t.Log("redis-cli not installed: skipping its part")
	} else {
		for _, k := range keys {
			if out, err := c.run(10*time.Second, cli, "-c", "-p", c.base+"001", "set", k, "v-"+k); err != nil || strings.TrimSpace(out) != "OK" {
				t.Fatalf("redis-cli -c set %s: %q %v", k, out, err)
			}
		}
		for _, k := range keys {
			if out, err := c.run(10*time.Second, cli, "-c", "-p", c.base+"002", "get", k); err != nil || strings.TrimSpace(out) != "v-"+k {
				t.Fatalf("redis-cli -c get %s: %q %v", k, out, err)
			}
		}
	}

	// The SDK on the host: topology from the NameNode, commands straight
	// to the DataNodes' container addresses.
	ctx, cancelCtx := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancelCtx()
	sdk, err := client.New(ctx, client.Config{NameNodes: nameNodes, ClusterToken: token})
	if err != nil {
		t.Fatal(err)
	}
	defer sdk.Close()
	for i := range 200 {
		k := "sdk:" + strconv.Itoa(i)
		if err := sdk.Set(ctx, k, "s-"+k); err != nil {
			t.Fatalf("SDK set %s: %v", k, err)
		}
	}
	check := func(when string) {
		t.Helper()
		for i := range 200 {
			k := "sdk:" + strconv.Itoa(i)
			if v, err := sdk.Get(ctx, k); err != nil || v != "s-"+k {
				t.Fatalf("%s: SDK get %s = %q, %v", when, k, v, err)
			}
		}
		for _, k := range keys {
			if _, err := exec.LookPath("redis-cli"); err != nil {
				break
			}
			if v, err := sdk.Get(ctx, k); err != nil || v != "v-"+k {
				t.Fatalf("%s: SDK get %s = %q, %v", when, k, v, err)
			}
		}
	}
	check("before the drain")

	// chkvctl, from the image, drains dn3 and follows it to the end.
	nnInside := "nn1:10101,nn2:10101"
	out, err := c.composeRun(2*time.Minute, "exec", "-T", "nn1", "chkvctl", "--namenodes", nnInside,
		"--cluster-token", token, "drain", "dn3")
	if err != nil || !strings.Contains(out, "dn3 drained") {
		t.Fatalf("chkvctl drain dn3: %v\n%s", err, out)
	}
	c.waitStatus(active, time.Minute, "dn3 owning nothing", func(st *chkvpb.StatusResponse) bool {
		for _, ns := range st.GetNodes() {
			if ns.GetNode().GetId() == "dn3" {
				return ns.GetSlots() == 0 && ns.GetSlotsOut() == 0
			}
		}
		return false
	})
	check("after the drain")

	// chkvctl status from the image lists the pair and the drained node.
	out, err = c.composeRun(time.Minute, "exec", "-T", "nn1", "chkvctl", "--namenodes", nnInside,
		"--cluster-token", token, "status")
	if err != nil || !strings.Contains(out, "dn3") || !strings.Contains(out, "drained") || !strings.Contains(out, "active") || !strings.Contains(out, "standby") {
		t.Fatalf("chkvctl status: %v\n%s", err, out)
	}

	// A partition: the active NameNode's container leaves the network. The
	// standby, on another host, takes over, and clients go on.
	before := c.waitStatus(active, time.Minute, "the active", func(*chkvpb.StatusResponse) bool { return true })
	id, err := c.composeRun(time.Minute, "ps", "-q", services[ai])
	if err != nil {
		t.Fatalf("compose ps: %v\n%s", err, id)
	}
	id = strings.TrimSpace(id)
	network := c.project + "_chkv"
	if out, err := c.run(time.Minute, "docker", "network", "disconnect", network, id); err != nil {
		t.Fatalf("docker network disconnect: %v\n%s", err, out)
	}
	reconnected := false
	reconnect := func() {
		if !reconnected {
			reconnected = true
			ip := c.prefix + ".1" + strconv.Itoa(ai+1)
			if out, err := c.run(time.Minute, "docker", "network", "connect", "--ip", ip, network, id); err != nil {
				t.Errorf("docker network connect: %v\n%s", err, out)
			}
		}
	}
	defer reconnect()
	ni := c.waitActive(nameNodes, time.Minute, ai)
	// It reports active from its election on, and its new epoch from its
	// first commit.
	after := c.waitStatus(nameNodes[ni], time.Minute, "the new active at a newer epoch", func(st *chkvpb.StatusResponse) bool {
		return st.GetEpoch() > before.GetEpoch()
	})
	check("after the active namenode was cut off")
	reconnect()
	c.waitStatus(nameNodes[ai], time.Minute, "the old active following as a standby", func(st *chkvpb.StatusResponse) bool {
		return st.GetRole() == chkvpb.NameNodeRole_NAMENODE_ROLE_STANDBY && st.GetEpoch() >= after.GetEpoch()
	})
}

// waitActive waits until one of the NameNodes other than not (-1: any)
// is active with a majority of the DataNodes, and returns its index.
func (c *cluster) waitActive(addrs []string, timeout time.Duration, not int) int {
	c.t.Helper()
	active := -1
	testutil.Eventually(c.t, timeout, fmt.Sprintf("an active namenode (other than %d)", not), func() bool {
		for i, addr := range addrs {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			st, err := c.status(ctx, addr)
			cancel()
			if err == nil && i != not && st.GetRole() == chkvpb.NameNodeRole_NAMENODE_ROLE_ACTIVE && st.GetQuorum() {
				active = i
				return true
			}
		}
		return false
	})
	return active
}
