package grpcdial

import (
	"context"
	"net"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"

	"github.com/chkv/chkv/common/clustertoken"
	"github.com/chkv/chkv/proto/chkvpb"
)

// tokenServer records the cluster token of the last Status call.
type tokenServer struct {
	chkvpb.UnimplementedNameNodeServer
	got chan string
}

func (s *tokenServer) Status(ctx context.Context, _ *chkvpb.StatusRequest) (*chkvpb.StatusResponse, error) {
	md, _ := metadata.FromIncomingContext(ctx)
	s.got <- first(md.Get(clustertoken.MetadataKey))
	return &chkvpb.StatusResponse{}, nil
}

func first(v []string) string {
	if len(v) == 0 {
		return ""
	}
	return v[0]
}

// A connection made with Options reaches a plaintext server and sends the
// cluster token with every call.
func TestOptionsSendTheToken(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer()
	ts := &tokenServer{got: make(chan string, 1)}
	chkvpb.RegisterNameNodeServer(srv, ts)
	go srv.Serve(ln)
	defer srv.Stop()
	cc, err := grpc.NewClient(ln.Addr().String(), Options(Config{Token: "s3cret", MinConnectTimeout: time.Second})...)
	if err != nil {
		t.Fatal(err)
	}
	defer cc.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := chkvpb.NewNameNodeClient(cc).Status(ctx, &chkvpb.StatusRequest{}); err != nil {
		t.Fatal(err)
	}
	if got := <-ts.got; got != "s3cret" {
		t.Fatalf("token %q, want s3cret", got)
	}
}

func TestOptionsAppendExtra(t *testing.T) {
	if n, m := len(Options(Config{})), len(Options(Config{}, grpc.WithUserAgent("x"))); m != n+1 {
		t.Fatalf("%d options with one extra, %d without", m, n)
	}
	if n, m := len(Options(Config{})), len(Options(Config{Token: "t"})); m <= n {
		t.Fatalf("a token adds no option: %d vs %d", m, n)
	}
}

func TestOptionsBackoffOnlyWhenAsked(t *testing.T) {
	if n, m := len(Options(Config{})), len(Options(Config{BackoffMax: time.Second})); m != n+1 {
		t.Fatalf("a backoff adds %d options, want 1", m-n)
	}
}
