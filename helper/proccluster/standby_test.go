package proccluster

import (
	"context"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/chkv/chkv/helper/testutil"
	"github.com/chkv/chkv/proto/chkvpb"
)

// TestStandbyStatusNamesTheActive checks what chkvctl relies on to follow
// a standby to the active: the standby's status gives the active's ID as
// its peer's, with an address that reaches the active.
func TestStandbyStatusNamesTheActive(t *testing.T) {
	c := startCluster(t, Options{})
	active, _ := waitActive(t, c)
	var st *chkvpb.StatusResponse
	testutil.Eventually(t, 10*time.Second, "the standby to name the active", func() bool {
		var err error
		st, err = c.Status(context.Background(), 1-active)
		return err == nil && st.GetActiveId() != "" && st.GetActiveId() == st.GetPeer().GetId()
	})
	if st.GetRole() != chkvpb.NameNodeRole_NAMENODE_ROLE_STANDBY || st.GetPeer().GetAddr() == "" {
		t.Fatalf("standby status: %v", st)
	}
	cc, err := grpc.NewClient(st.GetPeer().GetAddr(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer cc.Close()
	got, err := chkvpb.NewNameNodeClient(cc).Status(ctxFor(t, 5*time.Second), &chkvpb.StatusRequest{})
	if err != nil {
		t.Fatalf("the address the standby gives: %v", err)
	}
	if got.GetRole() != chkvpb.NameNodeRole_NAMENODE_ROLE_ACTIVE || got.GetNamenodeId() != st.GetActiveId() {
		t.Fatalf("%s answers as %s (%v), not the active %s", st.GetPeer().GetAddr(), got.GetNamenodeId(), got.GetRole(), st.GetActiveId())
	}
}
