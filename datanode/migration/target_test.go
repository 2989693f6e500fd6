package migration

import (
	"context"
	"io"
	"log/slog"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/chkv/chkv/common/slot"
	"github.com/chkv/chkv/datanode/migrate"
	"github.com/chkv/chkv/datanode/ownership"
	"github.com/chkv/chkv/datanode/store"
	"github.com/chkv/chkv/proto/chkvpb"
)

// TestTargetAcceptsAHandoff drives the receiving side without a network:
// a slot is begun, filled and handed off; the handoff is recorded in the
// ownership table, reported through the Accepted callback, and confirmed
// by HandoffStatus.
func TestTargetAcceptsAHandoff(t *testing.T) {
	st := store.New(store.Config{})
	own := ownership.New(ownership.Config{SelfID: "b", Store: st,
		Log: slog.New(slog.NewTextHandler(io.Discard, nil)), LeaseValid: func() bool { return true }})
	var accepted []string
	tg := NewTarget(Config{Store: st, Own: own, MaxValue: func() int { return 1 << 20 },
		Accepted: func(s int, from string) { accepted = append(accepted, from) }})

	key := []byte("somekey")
	s := slot.Of(key)
	const session = 7
	if err := tg.beginIncoming(s, session); err != nil {
		t.Fatal(err)
	}
	in := &incomingSlot{session: session, from: "a", asm: migrate.Assembler{MaxValue: 1 << 20}}
	records := migrate.Append(nil, &migrate.Record{Key: key, Total: 5, Chunk: []byte("value")})
	if err := tg.applyRecords(s, in, records); err != nil {
		t.Fatal(err)
	}
	if err := tg.acceptHandoff(s, session, "a"); err != nil {
		t.Fatal(err)
	}
	if own.In(s) == nil || len(accepted) != 1 || accepted[0] != "a" {
		t.Fatalf("handoff not recorded: in %v, reported %v", own.In(s), accepted)
	}
	if n := st.Slot(s).Len(); n != 1 {
		t.Fatalf("slot %d holds %d keys after the handoff, want 1", s, n)
	}
	if slots, recs, _ := tg.Received(); slots != 1 || recs != 1 {
		t.Fatalf("Received = %d slots, %d records; want 1, 1", slots, recs)
	}
	resp, err := tg.HandoffStatus(context.Background(), &chkvpb.HandoffStatusRequest{Slot: uint32(s), Session: session})
	if err != nil || !resp.GetHandedOff() {
		t.Fatalf("HandoffStatus = %v, %v; want handed off", resp, err)
	}
	if _, err := tg.HandoffStatus(context.Background(), &chkvpb.HandoffStatusRequest{Slot: slot.Count, Session: 1}); status.Code(err) != codes.InvalidArgument {
		t.Fatalf("HandoffStatus of slot %d: %v, want InvalidArgument", slot.Count, err)
	}
	if err := tg.beginIncoming(s, session+1); err == nil {
		t.Fatal("began receiving a slot the node serves")
	}
}
