package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/chkv/chkv/common/clustertoken"
	"github.com/chkv/chkv/helper/fakenamenode"
	"github.com/chkv/chkv/helper/testutil"
	"github.com/chkv/chkv/proto/chkvpb"
)

// newFakeNameNode starts a fake NameNode whose DataNodes "dn-0",
// "dn-1"... own slots[i] each, at epoch 1 version 7, where each Status
// call moves step slots of every draining node, and stops it when the test
// ends.
func newFakeNameNode(t *testing.T, step uint32, slots []uint32, opts ...grpc.ServerOption) *fakenamenode.NameNode {
	t.Helper()
	f := fakenamenode.New(t, opts...)
	f.SetVersion(1, 7)
	f.SetStep(step)
	f.AddDataNodes(slots...)
	return f
}

// fastDrain makes drain poll every millisecond and print lines at most
// every line, until the test ends.
func fastDrain(t *testing.T, line time.Duration) {
	poll, lines := drainPollInterval, drainLineInterval
	drainPollInterval, drainLineInterval = time.Millisecond, line
	t.Cleanup(func() { drainPollInterval, drainLineInterval = poll, lines })
}

func TestDrainProgress(t *testing.T) {
	fastDrain(t, 0)
	f := newFakeNameNode(t, 2000, []uint32{5462, 5461, 5461})
	// Totals of an earlier migration are not this drain's.
	f.UpdateNodes(func(nodes []*chkvpb.NodeStatus) {
		nodes[2].Node.Load.KeysMoved, nodes[2].Node.Load.BytesMoved = 500, 1<<20
	})
	f.OnStatus(func(poll int, nodes []*chkvpb.NodeStatus) {
		nodes[2].Node.Load.StuckSlots = int64(poll / 3) // one stuck slot from the third poll on
	})
	out, _, err := run(context.Background(), "--namenodes", f.Addr(), "drain", "10.0.0.2:6379")
	if err != nil {
		t.Fatalf("drain: %v\n%s", err, out)
	}
	want := []string{
		"draining dn-2 [....................]   0.0%  0/5461 slots  0 keys  0B moved",
		"draining dn-2 [#######.............]  36.6%  2000/5461 slots  20000 keys  1.9MiB moved",
		"draining dn-2 [##############......]  73.2%  4000/5461 slots  40000 keys  3.8MiB moved  1 stuck",
		"draining dn-2 [####################] 100.0%  5461/5461 slots  54610 keys  5.2MiB moved  1 stuck",
		"dn-2 drained: owns no slots and can be stopped",
	}
	if got := strings.Split(strings.TrimSuffix(out, "\n"), "\n"); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("drain printed:\n%s\nwant:\n%s", out, strings.Join(want, "\n"))
	}
	drains, polls := f.Drains(), f.StatusCalls()
	if len(drains) != 1 || drains[0].Node != "10.0.0.2:6379" || drains[0].Force || polls != 5 {
		t.Fatalf("drains %v, %d polls", drains, polls)
	}
}

func TestDrainLinesAtMostEveryInterval(t *testing.T) {
	fastDrain(t, time.Hour)
	f := newFakeNameNode(t, 100, []uint32{8192, 8192})
	out, _, err := run(context.Background(), "--namenodes", f.Addr(), "drain", "dn-0")
	if err != nil {
		t.Fatal(err)
	}
	// The first line, then nothing within the hour but the last.
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 3 || !strings.Contains(lines[0], "  0.0%") || !strings.Contains(lines[1], "100.0%  8192/8192 slots") ||
		lines[2] != "dn-0 drained: owns no slots and can be stopped" || strings.Contains(out, "\r") {
		t.Fatalf("drain printed:\n%q", out)
	}
}

func TestDrainNoWait(t *testing.T) {
	f := newFakeNameNode(t, 100, []uint32{8192, 8192}, clustertoken.ServerOptions("s3cret")...)
	// The first NameNode is unreachable: the second answers.
	nns := "--namenodes=127.0.0.1:1," + f.Addr()
	out, _, err := run(context.Background(), nns, "--cluster-token=s3cret", "drain", "--no-wait", "dn-1")
	if err != nil || out != "dn-1 is draining: 8192 slots to move (epoch 1, version 8); follow it with chkvctl status\n" {
		t.Fatalf("drain --no-wait: %q, %v", out, err)
	}
	// As users type it: the command's flag after its argument, global flags after the command.
	out, _, err = run(context.Background(), "drain", "dn-1", "--no-wait", nns, "--output=json", "--cluster-token=s3cret")
	var started drainStarted
	if err != nil || json.Unmarshal([]byte(out), &started) != nil || started != (drainStarted{Node: "dn-1", Slots: 8192, Epoch: 1, Version: 8}) {
		t.Fatalf("drain --no-wait json: %q, %v", out, err)
	}
	if polls := f.StatusCalls(); polls != 0 {
		t.Fatalf("--no-wait polled the status %d times", polls)
	}
	if _, _, err := run(context.Background(), "--namenodes", f.Addr(), "--timeout=300ms", "drain", "--no-wait", "dn-1"); status.Code(err) != codes.Unauthenticated {
		t.Fatalf("drain without the token: %v", err)
	}
}

func TestDrainRefused(t *testing.T) {
	fastDrain(t, 0)
	f := newFakeNameNode(t, 20000, []uint32{16384, 0})
	f.UpdateNodes(func(nodes []*chkvpb.NodeStatus) { nodes[1].Node.State = chkvpb.NodeState_NODE_STATE_DOWN })
	nn := "--namenodes=" + f.Addr()

	out, _, err := run(context.Background(), nn, "drain", "dn-0")
	if status.Code(err) != codes.FailedPrecondition || out != "" ||
		!strings.Contains(err.Error(), `drain dn-0 refused: NameNode `+f.Addr()+`: namenode: the last datanode holding data cannot be drained without force: "dn-0" (FailedPrecondition)`) {
		t.Fatalf("drain of the last node: %q, %v", out, err)
	}
	if _, _, err := run(context.Background(), nn, "drain", "dn-1"); status.Code(err) != codes.FailedPrecondition || !strings.Contains(err.Error(), "datanode is down") {
		t.Fatalf("drain of a down node: %v", err)
	}
	_, _, err = run(context.Background(), nn, "drain", "dn-9")
	if status.Code(err) != codes.NotFound || !strings.Contains(err.Error(), "drain dn-9: no such DataNode (give its ID, RESP address or gRPC address") {
		t.Fatalf("drain of an unknown node: %v", err)
	}
	if _, _, err := run(context.Background(), nn, "drain"); err == nil {
		t.Fatal("drain without a node succeeded")
	}
	out, _, err = run(context.Background(), nn, "drain", "--force", "10.0.0.0:7379")
	if err != nil || !strings.HasSuffix(out, "100.0%  16384/16384 slots  163840 keys  15.6MiB moved\ndn-0 drained: owns no slots and can be stopped\n") {
		t.Fatalf("drain --force: %q, %v", out, err)
	}
	if drains := f.Drains(); !drains[len(drains)-1].Force {
		t.Fatal("--force not sent")
	}
}

func TestDrainJSON(t *testing.T) {
	fastDrain(t, 0)
	f := newFakeNameNode(t, 3000, []uint32{8192, 8192})
	out, _, err := run(context.Background(), "--namenodes", f.Addr(), "--output", "json", "drain", "dn-1")
	if err != nil {
		t.Fatal(err)
	}
	var got []drainProgress
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		var p drainProgress
		if err := json.Unmarshal([]byte(l), &p); err != nil {
			t.Fatalf("line %q: %v", l, err)
		}
		got = append(got, p)
	}
	want := []drainProgress{
		{Node: "dn-1", InitialSlots: 8192, Slots: 8192, MigratingSlots: 0},
		{Node: "dn-1", InitialSlots: 8192, Slots: 5192, SlotsMoved: 3000, Percent: 100 * 3000.0 / 8192, KeysMoved: 30000, BytesMoved: 3000000, MigratingSlots: 8},
		{Node: "dn-1", InitialSlots: 8192, Slots: 2192, SlotsMoved: 6000, Percent: 100 * 6000.0 / 8192, KeysMoved: 60000, BytesMoved: 6000000, MigratingSlots: 8},
		{Node: "dn-1", InitialSlots: 8192, SlotsMoved: 8192, Percent: 100, KeysMoved: 81920, BytesMoved: 8192000},
		// After the node's next heartbeat.
		{Node: "dn-1", InitialSlots: 8192, SlotsMoved: 8192, Percent: 100, KeysMoved: 81920, BytesMoved: 8192000, Done: true},
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("drain json:\n%s\nwant %v", out, want)
	}
}

func TestDrainWaitsForFinalTotals(t *testing.T) {
	fastDrain(t, 0)
	// The node's totals come with its heartbeats: when the NameNode shows
	// it owning nothing, they can be a heartbeat old.
	stale := func(upTo int) func(int, []*chkvpb.NodeStatus) {
		return func(poll int, nodes []*chkvpb.NodeStatus) {
			switch {
			case poll == 1:
			case poll <= upTo:
				nodes[1].HeartbeatAgeMs, nodes[1].Node.Load.KeysMoved = 60000, 40000
			default:
				nodes[1].HeartbeatAgeMs, nodes[1].Node.Load.KeysMoved = 0, 81920
			}
		}
	}
	f := newFakeNameNode(t, 8192, []uint32{8192, 8192})
	f.OnStatus(stale(3))
	out, _, err := run(context.Background(), "--namenodes", f.Addr(), "drain", "dn-1")
	if err != nil || !strings.HasSuffix(out, "100.0%  8192/8192 slots  40000 keys  7.8MiB moved\n"+
		"draining dn-1 [####################] 100.0%  8192/8192 slots  81920 keys  7.8MiB moved\n"+
		"dn-1 drained: owns no slots and can be stopped\n") {
		t.Fatalf("drain: %v\n%s", err, out)
	}

	// No fresh heartbeat within the timeout: the figures stay as they were.
	f = newFakeNameNode(t, 8192, []uint32{8192, 8192})
	f.OnStatus(stale(1 << 30))
	out, _, err = run(context.Background(), "--namenodes", f.Addr(), "--timeout", "100ms", "drain", "dn-1")
	if err != nil || !strings.HasSuffix(out, "100.0%  8192/8192 slots  40000 keys  7.8MiB moved\n"+
		"dn-1 drained: owns no slots and can be stopped\n") {
		t.Fatalf("drain without a fresh heartbeat: %v\n%s", err, out)
	}

	// The node stops as soon as it is drained (--exit-after-drain).
	f = newFakeNameNode(t, 8192, []uint32{8192, 8192})
	f.OnStatus(func(poll int, nodes []*chkvpb.NodeStatus) {
		if poll == 3 {
			nodes[1].Node.State = chkvpb.NodeState_NODE_STATE_DOWN
		}
	})
	out, _, err = run(context.Background(), "--namenodes", f.Addr(), "drain", "dn-1")
	if err != nil || !strings.HasSuffix(out, "dn-1 drained: owns no slots and can be stopped\n") {
		t.Fatalf("drain of a node that exits when drained: %v\n%s", err, out)
	}
}

func TestDrainNodeDown(t *testing.T) {
	fastDrain(t, 0)
	f := newFakeNameNode(t, 1000, []uint32{8192, 8192})
	f.OnStatus(func(poll int, nodes []*chkvpb.NodeStatus) {
		if poll == 3 {
			nodes[1].Node.State, nodes[1].Slots, nodes[1].SlotsOut = chkvpb.NodeState_NODE_STATE_DOWN, 0, 0
		}
	})
	out, _, err := run(context.Background(), "--namenodes", f.Addr(), "drain", "dn-1")
	if err == nil || err.Error() != "dn-1 went down during the drain, with 7192 of its 8192 slots not moved" {
		t.Fatalf("drain of a node that went down: %v\n%s", err, out)
	}
	if strings.Contains(out, "drained") {
		t.Fatalf("drained printed:\n%s", out)
	}
}

func TestDrainNameNodeUnreachable(t *testing.T) {
	fastDrain(t, 0)
	f := newFakeNameNode(t, 1, []uint32{8192, 8192})
	f.OnStatus(func(poll int, _ []*chkvpb.NodeStatus) {
		if poll == 3 {
			go f.Stop()
		}
	})
	start := time.Now()
	_, _, err := run(context.Background(), "--namenodes", f.Addr(), "--timeout", "300ms", "drain", "dn-1")
	if err == nil || !strings.HasPrefix(err.Error(), "NameNode unreachable for ") ||
		!strings.Contains(err.Error(), "longer than --timeout; the drain of dn-1 may go on: NameNode "+f.Addr()) {
		t.Fatalf("drain with the NameNode gone: %v", err)
	}
	if d := time.Since(start); d < 300*time.Millisecond || d > 5*time.Second {
		t.Fatalf("gave up after %v, want just over the 300ms timeout", d)
	}
}

func TestDrainInterrupted(t *testing.T) {
	fastDrain(t, 0)
	f := newFakeNameNode(t, 0, []uint32{8192, 8192}) // the drain never progresses
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var out syncBuffer
	done := make(chan error, 1)
	go func() {
		done <- newApp(&out, &out).RunContext(ctx, []string{"chkvctl", "--namenodes", f.Addr(), "drain", "dn-0"})
	}()
	testutil.Eventually(t, 5*time.Second, "progress printed", func() bool { return strings.Contains(out.String(), "draining dn-0") })
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, errStoppedWaiting) ||
			err.Error() != "stopped waiting; the drain of dn-0 goes on: follow it with chkvctl status, or chkvctl drain dn-0 again" {
			t.Fatalf("interrupted drain: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("drain did not stop when its context ended")
	}
}

func TestProgressOnTerminal(t *testing.T) {
	var b bytes.Buffer
	pw := &progressWriter{w: &b, mode: modeTerminal}
	p := drainProgress{Node: "dn-2", InitialSlots: 5461, Slots: 2993, SlotsMoved: 2468, Percent: 45.19,
		KeysMoved: 123456, BytesMoved: 12900000, StuckSlots: 3}
	pw.update(p, time.Now())
	pw.update(p, time.Now()) // unchanged: not redrawn
	p.StuckSlots = 0
	pw.update(p, time.Now())
	p.Slots, p.SlotsMoved, p.Percent, p.Done = 0, 5461, 100, true
	if err := pw.finish(p); err != nil {
		t.Fatal(err)
	}
	l1 := "draining dn-2 [#########...........]  45.2%  2468/5461 slots  123456 keys  12.3MiB moved  3 stuck"
	l2 := "draining dn-2 [#########...........]  45.2%  2468/5461 slots  123456 keys  12.3MiB moved"
	l3 := "draining dn-2 [####################] 100.0%  5461/5461 slots  123456 keys  12.3MiB moved"
	want := "\r" + l1 + "\r" + l2 + "         " + "\r" + l3 + "\n" + // l2 blanks the end of l1
		"dn-2 drained: owns no slots and can be stopped\n"
	if b.String() != want {
		t.Fatalf("terminal output\n%q\nwant\n%q", b.String(), want)
	}

	b.Reset()
	pw = &progressWriter{w: &b, mode: modeTerminal}
	pw.update(p, time.Now())
	pw.abort()
	if !strings.HasPrefix(b.String(), "\r") || !strings.HasSuffix(b.String(), "\n") {
		t.Fatalf("aborted terminal output %q", b.String())
	}
}

func TestIsTerminal(t *testing.T) {
	f, err := os.Create(filepath.Join(t.TempDir(), "out"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if isTerminal(f) || isTerminal(&bytes.Buffer{}) {
		t.Fatal("a file or a buffer taken for a terminal")
	}
}

// With only the standby in --namenodes, drain follows it to the active.
func TestDrainFollowsTheActiveTheStandbyNames(t *testing.T) {
	fastDrain(t, 0)
	active := newFakeNameNode(t, 20000, []uint32{8192, 8192})
	standby := newFakeNameNode(t, 20000, []uint32{8192, 8192})
	active.SetID("nn-active")
	standby.StandbyOf(active)
	out, errOut, err := run(context.Background(), "--namenodes", standby.Addr(), "drain", "dn-1")
	if err != nil || !strings.HasSuffix(out, "dn-1 drained: owns no slots and can be stopped\n") {
		t.Fatalf("drain through the standby: %q, %v", out, err)
	}
	if drains := active.Drains(); len(drains) != 1 || drains[0].Node != "dn-1" {
		t.Fatalf("the active got drains %v", drains)
	}
	if errOut != "" {
		t.Fatalf("stderr %q: drain waited although the standby named the active", errOut)
	}
}

// Between actives (the standby knows none yet, the active has no
// majority), drain waits, says so, and goes on once one takes it.
func TestDrainWaitsForAnActiveNameNode(t *testing.T) {
	fastDrain(t, 0)
	fastActiveRetry(t)
	f := newFakeNameNode(t, 20000, []uint32{8192, 8192})
	f.Refuse(3)
	out, errOut, err := run(context.Background(), "--namenodes", f.Addr(), "drain", "dn-1")
	if err != nil || !strings.HasSuffix(out, "dn-1 drained: owns no slots and can be stopped\n") {
		t.Fatalf("drain during an election: %q, %v", out, err)
	}
	if errOut != waitingNote+"\n" {
		t.Fatalf("stderr %q, want %q once", errOut, waitingNote)
	}
	if drains := f.Drains(); len(drains) != 4 {
		t.Fatalf("%d drain calls, want 4", len(drains))
	}
}

func TestDrainGivesUpWithoutAnActiveNameNode(t *testing.T) {
	fastActiveRetry(t)
	f := newFakeNameNode(t, 20000, []uint32{8192, 8192})
	f.StandbyOf(nil)
	start := time.Now()
	_, errOut, err := run(context.Background(), "--namenodes", f.Addr(), "--timeout", "300ms", "drain", "dn-1")
	if status.Code(err) != codes.Unavailable || !strings.Contains(err.Error(), "drain dn-1: no active NameNode within --timeout 300ms: NameNode "+f.Addr()+": namenode: not the active namenode") {
		t.Fatalf("drain with no active: %v", err)
	}
	if errOut != waitingNote+"\n" {
		t.Fatalf("stderr %q", errOut)
	}
	if d := time.Since(start); d < 250*time.Millisecond || d > 5*time.Second {
		t.Fatalf("gave up after %v, want about the 300ms timeout", d)
	}
}

// fastActiveRetry makes waiting for an active NameNode (nnset.CallActive)
// retry every 10ms until the test ends.
func fastActiveRetry(t *testing.T) {
	retry := activeRetry
	activeRetry = 10 * time.Millisecond
	t.Cleanup(func() { activeRetry = retry })
}
