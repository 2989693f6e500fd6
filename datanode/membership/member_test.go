package membership

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/chkv/chkv/common/nnset"
	"github.com/chkv/chkv/proto/chkvpb"
)

// scriptedStream is a heartbeat stream whose replies are given in advance.
type scriptedStream struct {
	chkvpb.NameNode_HeartbeatStreamClient
	replies []*chkvpb.HeartbeatResponse
}

func (s *scriptedStream) Recv() (*chkvpb.HeartbeatResponse, error) {
	if len(s.replies) == 0 {
		return nil, io.EOF
	}
	r := s.replies[0]
	s.replies = s.replies[1:]
	return r, nil
}

// TestHeartbeatRepliesLeaseFromTheirOwnRequests checks that each reply on
// a stream extends the lease from the send time of its own request, the
// oldest unanswered one, and that a reply to no request ends the stream.
func TestHeartbeatRepliesLeaseFromTheirOwnRequests(t *testing.T) {
	nns, err := nnset.New(nnset.Config{Addrs: []string{"127.0.0.1:1"}}) // never dialled
	if err != nil {
		t.Fatal(err)
	}
	defer nns.Close()
	m := &Member{log: slog.New(slog.DiscardHandler), base: time.Now(), nns: nns}
	ctx, cancel := context.WithCancel(context.Background())
	hs := &hbStream{ctx: ctx, cancel: cancel, stream: &scriptedStream{replies: []*chkvpb.HeartbeatResponse{
		{LeaseMs: 5000, Active: true, Epoch: 1}, // answers the request sent at 100 ms
		{LeaseMs: 1000, Active: true, Epoch: 1}, // answers the request sent at 200 ms
		{LeaseMs: 9000, Active: true, Epoch: 1}, // answers nothing
	}}}
	hs.push(100 * time.Millisecond)
	hs.push(200 * time.Millisecond)
	m.receive(hs)
	if got, want := time.Duration(m.leaseUntil.Load()), 5100*time.Millisecond; got != want {
		t.Fatalf("lease until %v, want %v (each reply counted from its own request)", got, want)
	}
	if hs.ctx.Err() == nil {
		t.Fatal("stream not torn down after an unsolicited reply")
	}
	if _, ok := hs.pop(); ok {
		t.Fatal("send times left after every request was answered")
	}
}
