package group

import (
	"context"
	"sync/atomic"
	"testing"
)

func TestStopWaitsForGoroutines(t *testing.T) {
	g := New(context.Background())
	var done atomic.Int32
	for range 10 {
		g.Go(func(ctx context.Context) {
			<-ctx.Done()
			done.Add(1)
		})
	}
	g.Stop()
	if got := done.Load(); got != 10 {
		t.Fatalf("Stop returned with %d of 10 goroutines finished", got)
	}
	g.Stop() // a second Stop is harmless
}

func TestGoAfterStopIsRefused(t *testing.T) {
	g := New(context.Background())
	g.Stop()
	if g.Go(func(context.Context) { t.Error("goroutine ran after Stop") }) {
		t.Fatal("Go after Stop reported success")
	}
}
