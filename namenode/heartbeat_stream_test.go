package namenode

import (
	"context"
	"errors"
	"io"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/chkv/chkv/proto/chkvpb"
)

// TestHeartbeatStreamAnswersInOrder pipelines requests on one stream and
// checks each gets its own reply, in order, meaning what the unary
// Heartbeat's would.
func TestHeartbeatStreamAnswersInOrder(t *testing.T) {
	nn := startNameNode(t, nil)
	c := nn.client(t, "")
	cur := register(t, c, startFakeDataNode(t, "a", "").node(), nil).GetTopology()
	register(t, c, startFakeDataNode(t, "b", "").node(), nil) // version 2; a holds 1
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	stream, err := c.HeartbeatStream(ctx)
	if err != nil {
		t.Fatal(err)
	}

	nn.clock.Advance(time.Second)
	reqs := []*chkvpb.HeartbeatRequest{
		{NodeId: "a", Epoch: cur.GetEpoch(), Version: cur.GetVersion()},      // stale: topology
		{NodeId: "a", Epoch: cur.GetEpoch(), Version: nn.Topology().Version}, // current: lease only
		{NodeId: "nobody"}, // unknown: rejoin
	}
	for _, req := range reqs {
		if err := stream.Send(req); err != nil {
			t.Fatal(err)
		}
	}
	check := func(i int, ok bool) {
		t.Helper()
		if !ok {
			t.Fatalf("reply %d out of order or wrong", i)
		}
	}
	for i := range reqs {
		resp, err := stream.Recv()
		if err != nil {
			t.Fatalf("reply %d: %v", i, err)
		}
		switch i {
		case 0:
			check(i, resp.GetLeaseMs() == LeaseHeartbeats*1000 && resp.GetTopology().GetVersion() == 2 && !resp.GetRejoin())
		case 1:
			check(i, resp.GetLeaseMs() == LeaseHeartbeats*1000 && resp.GetTopology() == nil && !resp.GetRejoin())
		case 2:
			check(i, resp.GetLeaseMs() == 0 && resp.GetRejoin())
		}
	}
	// The stream renewed a's liveness record at the (advanced) clock.
	for _, n := range nn.status().GetNodes() {
		if n.GetNode().GetId() == "a" && n.GetHeartbeatAgeMs() != 0 {
			t.Fatalf("a's heartbeat age %d ms after a streamed heartbeat", n.GetHeartbeatAgeMs())
		}
	}
	if err := stream.CloseSend(); err != nil {
		t.Fatal(err)
	}
	if _, err := stream.Recv(); !errors.Is(err, io.EOF) {
		t.Fatalf("after CloseSend: %v, want io.EOF", err)
	}
}

// TestHeartbeatStreamEndsWithError checks that an error the unary
// Heartbeat would return ends the stream with the same status.
func TestHeartbeatStreamEndsWithError(t *testing.T) {
	nn := startNameNode(t, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	stream, err := nn.client(t, "").HeartbeatStream(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// A node the NameNode does not know, holding a newer topology.
	if err := stream.Send(&chkvpb.HeartbeatRequest{NodeId: "stranger", Epoch: 1, Version: 1000}); err != nil {
		t.Fatal(err)
	}
	if _, err := stream.Recv(); status.Code(err) != codes.FailedPrecondition {
		t.Fatalf("got %v, want FailedPrecondition (register again, keep data)", err)
	}
}

// TestStopEndsHeartbeatStreams checks that Stop does not wait on a
// DataNode's open stream, and the DataNode sees the stream end.
func TestStopEndsHeartbeatStreams(t *testing.T) {
	nn := startNameNode(t, nil)
	c := nn.client(t, "")
	register(t, c, startFakeDataNode(t, "a", "").node(), nil)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	stream, err := c.HeartbeatStream(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := stream.Send(&chkvpb.HeartbeatRequest{NodeId: "a", Epoch: 1, Version: 1}); err != nil {
		t.Fatal(err)
	}
	if _, err := stream.Recv(); err != nil {
		t.Fatal(err)
	}
	stopped := make(chan struct{})
	go func() { nn.Stop(); close(stopped) }()
	select {
	case <-stopped:
	case <-time.After(5 * time.Second):
		t.Fatal("Stop hung on an open heartbeat stream")
	}
	if _, err := stream.Recv(); err == nil || errors.Is(err, io.EOF) {
		t.Fatalf("stream after Stop: %v, want an error", err)
	}
}
