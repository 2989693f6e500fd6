package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/chkv/chkv/client/clienttest"
	"github.com/chkv/chkv/common/cliconf"
	"github.com/chkv/chkv/common/clustertoken"
	"github.com/chkv/chkv/common/slot"
	"github.com/chkv/chkv/helper/fakenamenode"
	"github.com/chkv/chkv/helper/testutil"
	"github.com/chkv/chkv/proto/chkvpb"
)

// syncBuffer is a bytes.Buffer safe for the watch goroutine and the test.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// run runs chkvctl with args in-process and returns its output.
func run(ctx context.Context, args ...string) (string, string, error) {
	var out, errOut syncBuffer
	err := runApp(ctx, newApp(&out, &errOut), append([]string{"chkvctl"}, args...))
	return out.String(), errOut.String(), err
}

// fixture is a fake NameNode with a topology over three DataNodes.
type fixture struct {
	nn    *fakenamenode.NameNode
	addrs []string
}

func newFixture(t *testing.T, token string) *fixture {
	t.Helper()
	f := &fixture{nn: fakenamenode.New(t, clustertoken.ServerOptions(token)...)}
	for range 3 {
		f.addrs = append(f.addrs, clienttest.StartDataNode(t).Addr().String())
	}
	f.nn.Push(clienttest.Split(1, 7, f.addrs...))
	return f
}

func TestGetSetDel(t *testing.T) {
	f := newFixture(t, "")
	ctx := context.Background()
	nn := "--namenodes=" + f.nn.Addr()

	if out, _, err := run(ctx, nn, "set", "--ttl", "10s", "greeting", "hello world"); err != nil || out != "OK\n" {
		t.Fatalf("set: %q, %v", out, err)
	}
	if out, _, err := run(ctx, nn, "get", "greeting"); err != nil || out != "hello world\n" {
		t.Fatalf("get: %q, %v", out, err)
	}
	// The key is on its owner, with its TTL.
	owner := f.addrs[slot.OfString("greeting")*3/slot.Count]
	rc := redis.NewClient(&redis.Options{Addr: owner, Protocol: 2, DisableIdentity: true})
	defer rc.Close()
	if d, err := rc.TTL(ctx, "greeting").Result(); err != nil || d <= 0 || d > 10*time.Second {
		t.Fatalf("TTL on the owner = %v, %v", d, err)
	}
	if _, _, err := run(ctx, nn, "set", "--nx", "greeting", "again"); err == nil || !strings.Contains(err.Error(), "condition not met") {
		t.Fatalf("set --nx of an existing key: %v", err)
	}
	if out, _, err := run(ctx, nn, "--output", "json", "get", "greeting"); err != nil || !strings.Contains(out, `"value": "hello world"`) {
		t.Fatalf("get json: %q, %v", out, err)
	}
	if _, _, err := run(ctx, nn, "set", "other", "x"); err != nil {
		t.Fatal(err)
	}
	if out, _, err := run(ctx, nn, "del", "greeting", "other", "missing"); err != nil || out != "2\n" {
		t.Fatalf("del: %q, %v", out, err)
	}
	if _, _, err := run(ctx, nn, "get", "greeting"); err == nil || !strings.Contains(err.Error(), "not found") {
		t.Fatalf("get of a deleted key: %v", err)
	}
	if _, _, err := run(ctx, nn, "get"); err == nil {
		t.Fatal("get without a key succeeded")
	}
	if _, _, err := run(ctx, nn, "--output", "yaml", "get", "k"); err == nil {
		t.Fatal("--output yaml accepted")
	}
}

func TestClusterToken(t *testing.T) {
	f := newFixture(t, "s3cret")
	ctx := context.Background()
	if _, _, err := run(ctx, "--namenodes", f.nn.Addr(), "--cluster-token", "s3cret", "set", "k", "v"); err != nil {
		t.Fatalf("with the token: %v", err)
	}
	_, _, err := run(ctx, "--namenodes", f.nn.Addr(), "--timeout", "300ms", "get", "k")
	if err == nil || !strings.Contains(err.Error(), "Unauthenticated") {
		t.Fatalf("without the token: %v", err)
	}
}

func TestStatus(t *testing.T) {
	f := newFixture(t, "")
	f.nn.SetStatus(&chkvpb.StatusResponse{
		NamenodeId: "nn-a", Epoch: 1, Version: 7, Watchers: 2,
		Role: chkvpb.NameNodeRole_NAMENODE_ROLE_ACTIVE, Quorum: true,
		Peer: &chkvpb.PeerStatus{Id: "nn-b", Version: 5, LagVersions: 2, AgeMs: 300},
		Nodes: []*chkvpb.NodeStatus{
			{Node: &chkvpb.Node{Id: "dn-0", RespAddr: f.addrs[0], State: chkvpb.NodeState_NODE_STATE_UP,
				Load: &chkvpb.Load{Keys: 42, UsedMemoryBytes: 3 << 20, OpsPerSec: 100}}, Slots: 5462, HeartbeatAgeMs: 250},
			{Node: &chkvpb.Node{Id: "dn-1", RespAddr: f.addrs[1], State: chkvpb.NodeState_NODE_STATE_DRAINING,
				Load: &chkvpb.Load{Keys: 7, UsedMemoryBytes: 512}}, Slots: 0, HeartbeatAgeMs: 1500},
		},
	})
	out, _, err := run(context.Background(), "--namenodes", f.nn.Addr(), "status")
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	// The pair: a header and one row per NameNode, then a blank line.
	if len(lines) != 8 || !strings.Contains(lines[3], "NameNode nn-a  epoch 1  version 7  watchers 2") {
		t.Fatalf("status:\n%s", out)
	}
	if got, want := strings.Join(strings.Fields(lines[1]), " "), "nn-a "+f.nn.Addr()+" active 1 7 standby lag 2 versions, acked 300ms ago"; got != want {
		t.Errorf("namenode row = %q, want %q", got, want)
	}
	for _, want := range [][]string{
		{"ID", "ADDRESS", "STATE", "SLOTS", "IN", "OUT", "KEYS", "MEMORY", "OPS/S", "LAST", "HEARTBEAT", "MIGRATION"},
		{"dn-0", f.addrs[0], "up", "5462", "0", "0", "42", "3.0MiB", "100", "250ms", "ago"},
		{"dn-1", f.addrs[1], "draining", "0", "0", "0", "7", "512B", "0", "1.5s", "ago"},
	} {
		found := false
		for _, l := range lines {
			if strings.Join(strings.Fields(l), " ") == strings.Join(want, " ") {
				found = true
			}
		}
		if !found {
			t.Errorf("no row %v in:\n%s", want, out)
		}
	}
	out, _, err = run(context.Background(), "--namenodes", f.nn.Addr(), "--output", "json", "status")
	if err != nil {
		t.Fatal(err)
	}
	var st clusterStatus
	if err := json.Unmarshal([]byte(out), &st); err != nil || len(st.Nodes) != 2 || st.Nodes[0].UsedMemoryBytes != 3<<20 {
		t.Fatalf("status json %+v, %v:\n%s", st, err, out)
	}
}

func TestStatusMigration(t *testing.T) {
	f := newFixture(t, "")
	f.nn.SetStatus(&chkvpb.StatusResponse{
		NamenodeId: "nn-a", Epoch: 1, Version: 9,
		Nodes: []*chkvpb.NodeStatus{
			{Node: &chkvpb.Node{Id: "dn-0", RespAddr: f.addrs[0], State: chkvpb.NodeState_NODE_STATE_DRAINING,
				Load: &chkvpb.Load{Keys: 10, MigratingSlots: 8, StuckSlots: 2, SlotsMoved: 4000, KeysMoved: 40000, BytesMoved: 5 << 20}},
				Slots: 1461, SlotsOut: 1461, HeartbeatAgeMs: 100},
			{Node: &chkvpb.Node{Id: "dn-1", RespAddr: f.addrs[1], State: chkvpb.NodeState_NODE_STATE_UP,
				Load: &chkvpb.Load{Keys: 20, StuckSlots: 1}}, Slots: 7000, SlotsIn: 700, HeartbeatAgeMs: 100},
			{Node: &chkvpb.Node{Id: "dn-2", RespAddr: f.addrs[2], State: chkvpb.NodeState_NODE_STATE_UP,
				Load: &chkvpb.Load{Keys: 30}}, Slots: 7923, SlotsIn: 761, HeartbeatAgeMs: 100},
		},
	})
	out, _, err := run(context.Background(), "--namenodes", f.nn.Addr(), "status")
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")[3:] // after the pair
	if len(lines) != 8 || lines[7] != "migrating: 1461 slots (3 stuck)" || lines[6] != "" {
		t.Fatalf("status:\n%s", out)
	}
	for i, want := range []string{
		"dn-0 " + f.addrs[0] + " draining 1461 0 1461 10 0B 0 100ms ago 8 moving, 2 stuck",
		"dn-1 " + f.addrs[1] + " up 7000 700 0 20 0B 0 100ms ago 1 stuck",
		"dn-2 " + f.addrs[2] + " up 7923 761 0 30 0B 0 100ms ago",
	} {
		if got := strings.Join(strings.Fields(lines[3+i]), " "); got != want {
			t.Errorf("row %d = %q, want %q", i, got, want)
		}
		if strings.HasSuffix(lines[3+i], " ") {
			t.Errorf("row %d ends in spaces: %q", i, lines[3+i])
		}
	}
	out, _, err = run(context.Background(), "--namenodes", f.nn.Addr(), "--output", "json", "status")
	if err != nil {
		t.Fatal(err)
	}
	var st clusterStatus
	if err := json.Unmarshal([]byte(out), &st); err != nil {
		t.Fatal(err)
	}
	want := nodeStatus{ID: "dn-0", Address: f.addrs[0], State: "draining", Slots: 1461, Keys: 10, HeartbeatAgeMS: 100,
		SlotsOut: 1461, MigratingSlots: 8, StuckSlots: 2, SlotsMoved: 4000, KeysMoved: 40000, BytesMoved: 5 << 20}
	if st.MigratingSlots != 1461 || st.StuckSlots != 3 || st.Nodes[0] != want || st.Nodes[1].SlotsIn != 700 {
		t.Fatalf("status json %+v:\n%s", st, out)
	}
}

func TestRing(t *testing.T) {
	f := newFixture(t, "")
	out, _, err := run(context.Background(), "--namenodes", f.nn.Addr(), "ring")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"epoch 1  version 7",
		"dn-0", "5462", "33.34%", "+0.01%",
		"dn-2", "5461", "33.33%", "-0.01%",
		"16384/16384 slots owned, 0 unowned, 0 migrating; mean 5461.3 slots per serving node, largest deviation 0.01%",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("ring output lacks %q:\n%s", want, out)
		}
	}
	// Half the slots on dn-0, a quarter each on the others, some unowned.
	f.nn.Push(clienttest.Assign(1, 8, f.addrs, func(s int) int {
		switch {
		case s < 8192:
			return 0
		case s < 12288:
			return 1
		case s < 16000:
			return 2
		}
		return -1
	}))
	out, _, err = run(context.Background(), "--namenodes", f.nn.Addr(), "--output", "json", "ring")
	if err != nil {
		t.Fatal(err)
	}
	var r ringReport
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatal(err)
	}
	if r.Version != 8 || r.Unowned != 384 || r.Nodes[0].Slots != 8192 || r.Nodes[0].Share != 50 ||
		r.Nodes[2].Slots != 3712 || r.Nodes[0].Ranges != 1 {
		t.Fatalf("ring json: %+v", r)
	}
	mean := 16000.0 / 3
	if want := 100 * (8192 - mean) / mean; abs(r.MaxDeviation-want) > 1e-9 {
		t.Fatalf("max deviation %v, want %v", r.MaxDeviation, want)
	}
	// The same slots with dn-0 of weight 2: its share is half of them, and
	// the deviation is measured from each node's weighted share.
	weighted := clienttest.Assign(1, 9, f.addrs, func(s int) int {
		switch {
		case s < 8192:
			return 0
		case s < 12288:
			return 1
		case s < 16000:
			return 2
		}
		return -1
	})
	weighted.Nodes[0].Weight = 2
	f.nn.Push(weighted)
	out, _, err = run(context.Background(), "--namenodes", f.nn.Addr(), "--output", "json", "ring")
	if err != nil {
		t.Fatal(err)
	}
	r = ringReport{}
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatal(err)
	}
	if r.Version != 9 || r.Nodes[0].Fair != 8000 || r.Nodes[1].Fair != 4000 {
		t.Fatalf("weighted ring json: %+v", r)
	}
	if want := 100 * (8192.0 - 8000) / 8000; abs(r.Nodes[0].Deviation-want) > 1e-9 || abs(r.MaxDeviation-100*(4000-3712.0)/4000) > 1e-9 {
		t.Fatalf("weighted deviations %+v, max %v", r.Nodes, r.MaxDeviation)
	}
}

func TestWatch(t *testing.T) {
	f := newFixture(t, "")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var out syncBuffer
	done := make(chan error, 1)
	go func() {
		done <- newApp(&out, &out).RunContext(ctx, []string{"chkvctl", "--namenodes", f.nn.Addr(), "watch"})
	}()
	testutil.Eventually(t, 5*time.Second, "version 7 printed", func() bool { return strings.Contains(out.String(), "version=7") })
	f.nn.Push(clienttest.Split(1, 8, f.addrs[:2]...))
	f.nn.Push(clienttest.Split(1, 6, f.addrs...)) // older: not printed
	f.nn.Push(clienttest.Split(1, 9, f.addrs[0]))
	testutil.Eventually(t, 5*time.Second, "version 9 printed", func() bool { return strings.Contains(out.String(), "version=9") })
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("watch: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("watch did not stop when its context ended")
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 3 {
		t.Fatalf("watch printed:\n%s", out.String())
	}
	for i, want := range []string{
		"epoch=1 version=7 nodes=3 owned=16384 migrating=0 dn-0=5462 dn-1=5461 dn-2=5461",
		"epoch=1 version=8 nodes=2 owned=16384 migrating=0 dn-0=8192 dn-1=8192",
		"epoch=1 version=9 nodes=1 owned=16384 migrating=0 dn-0=16384",
	} {
		if !strings.HasSuffix(lines[i], want) {
			t.Errorf("line %d = %q, want suffix %q", i, lines[i], want)
		}
	}
}

// Every global flag can come from the environment and the --config file,
// and the example configuration documents every one.
func TestEveryGlobalFlagFromEnvAndFileAndDocumented(t *testing.T) {
	if bad := cliconf.Unmanaged(flags()); len(bad) > 0 {
		t.Errorf("flags not settable from CHKV_* and --config: %v", bad)
	}
	example, err := os.ReadFile("../../../configs/chkvctl.yaml")
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range cliconf.Names(flags()) {
		if !regexp.MustCompile(`(?m)^#? ?` + regexp.QuoteMeta(name) + `:`).Match(example) {
			t.Errorf("configs/chkvctl.yaml does not document %s", name)
		}
	}
}
