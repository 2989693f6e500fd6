package clustertoken

import (
	"context"
	"net"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	"github.com/chkv/chkv/proto/chkvpb"
)

type probeServer struct {
	chkvpb.UnimplementedDataNodeServer
}

func (probeServer) Probe(context.Context, *chkvpb.ProbeRequest) (*chkvpb.ProbeResponse, error) {
	return &chkvpb.ProbeResponse{NodeId: "dn"}, nil
}

func serve(t *testing.T, token string) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer(ServerOptions(token)...)
	chkvpb.RegisterDataNodeServer(srv, probeServer{})
	go srv.Serve(ln)
	t.Cleanup(srv.Stop)
	return ln.Addr().String()
}

func probe(t *testing.T, addr, token string) error {
	t.Helper()
	opts := append([]grpc.DialOption{grpc.WithTransportCredentials(insecure.NewCredentials())}, DialOptions(token)...)
	conn, err := grpc.NewClient(addr, opts...)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, err = chkvpb.NewDataNodeClient(conn).Probe(ctx, &chkvpb.ProbeRequest{})
	return err
}

func TestToken(t *testing.T) {
	guarded := serve(t, "s3cret")
	for _, tc := range []struct {
		name, token string
		want        codes.Code
	}{
		{"right token", "s3cret", codes.OK},
		{"wrong token", "guess", codes.Unauthenticated},
		{"no token", "", codes.Unauthenticated},
	} {
		if got := status.Code(probe(t, guarded, tc.token)); got != tc.want {
			t.Errorf("%s: code %v, want %v", tc.name, got, tc.want)
		}
	}
	if err := probe(t, serve(t, ""), ""); err != nil {
		t.Errorf("unguarded server refused a call: %v", err)
	}
}
