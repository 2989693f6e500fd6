// Package workload drives a CHKV cluster with SDK clients for tests: a
// read/write/delete workload recorded for a linearizability check, and
// bulk preloading and verification of keys.
package workload

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chkv/chkv/client"
	"github.com/chkv/chkv/common/slot"
	"github.com/chkv/chkv/helper/linearize"
	"github.com/chkv/chkv/helper/testutil"
)

// NewClient returns a new SDK client of the cluster under test.
type NewClient func(ctx context.Context) (*client.Client, error)

// Workload runs SDK clients that read, write and delete a small key space
// until stopped, recording every operation for a linearizability check.
type Workload struct {
	rec    *linearize.Recorder
	cancel context.CancelFunc
	wg     sync.WaitGroup
	ops    atomic.Int64
	errs   atomic.Int64

	mu       sync.Mutex
	firstErr error
}

// Tags is the number of hash tags of the workload's keys: its keys live in
// these few slots, which tests slow down on purpose while they migrate.
const Tags = 16

// Slots returns the slots of the workload's keys.
func Slots() map[int]bool {
	out := make(map[int]bool, Tags)
	for tag := range Tags {
		out[slot.OfString(fmt.Sprintf("{w%d}", tag))] = true
	}
	return out
}

// SlowSlots returns a migration hook that holds each workload slot for d
// after its snapshot, so that clients write to it between the snapshot and
// the cutover.
func SlowSlots(d time.Duration) func(string, int) {
	slots := Slots()
	return func(step string, s int) {
		if step == "snapshot" && slots[s] {
			time.Sleep(d)
		}
	}
}

// Start starts clients goroutines, each with its own SDK client, over keys
// keys in the Tags slots, recording up to maxOps operations. They stop
// when the history is full, at Stop or Check, or when t ends.
func Start(t testing.TB, newClient NewClient, clients, keys, maxOps int) *Workload {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	w := &Workload{rec: linearize.NewRecorder(maxOps), cancel: cancel}
	for id := range clients {
		cctx, ccancel := context.WithTimeout(context.Background(), 10*time.Second)
		cl, err := newClient(cctx)
		ccancel()
		if err != nil {
			t.Fatal(err)
		}
		w.wg.Add(1)
		go func() {
			defer w.wg.Done()
			defer cl.Close()
			w.run(ctx, cl, id, keys)
		}()
	}
	t.Cleanup(w.Stop)
	return w
}

func (w *Workload) run(ctx context.Context, cl *client.Client, id, keys int) {
	rng := rand.New(rand.NewPCG(uint64(id), 42))
	for n := 0; ctx.Err() == nil; n++ {
		k := rng.IntN(keys)
		key := fmt.Sprintf("{w%d}:%d", k%Tags, k)
		var kind linearize.Kind
		switch r := rng.IntN(10); {
		case r < 5:
			kind = linearize.Set
		case r < 9:
			kind = linearize.Get
		default:
			kind = linearize.Del
		}
		value := fmt.Sprintf("c%d-%d", id, n)
		p, ok := w.rec.Begin(id, kind, key, value)
		if !ok {
			return // the history is full
		}
		octx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		var err error
		switch kind {
		case linearize.Set:
			if err = cl.Set(octx, key, value); err == nil {
				p.Ok()
			}
		case linearize.Get:
			var v string
			v, err = cl.Get(octx, key)
			switch {
			case err == nil:
				p.OkGet(v, true)
			case errors.Is(err, client.ErrNotFound):
				p.OkGet("", false)
				err = nil
			}
		case linearize.Del:
			var d int64
			if d, err = cl.Del(octx, key); err == nil {
				p.OkDel(d)
			}
		}
		cancel()
		w.ops.Add(1)
		if err != nil {
			// An error is never taken as "did not happen": a write may
			// have applied.
			p.Unknown()
			w.errs.Add(1)
			w.mu.Lock()
			if w.firstErr == nil {
				w.firstErr = fmt.Errorf("%v %s: %w", kind, key, err)
			}
			w.mu.Unlock()
		}
	}
}

// RunMore waits until the clients have completed n more operations, so a
// test knows they ran on both sides of an event.
func (w *Workload) RunMore(t testing.TB, n int64) {
	t.Helper()
	target := w.ops.Load() + n
	testutil.Eventually(t, 30*time.Second, fmt.Sprintf("the clients to complete %d more operations", n), func() bool {
		if w.rec.Full() {
			t.Fatalf("the workload's history is full (%d operations): start it with a larger maxOps", w.rec.Len())
		}
		return w.ops.Load() >= target
	})
}

// Ops and Errs count the operations completed and those that failed.
func (w *Workload) Ops() int64  { return w.ops.Load() }
func (w *Workload) Errs() int64 { return w.errs.Load() }

// Stop stops the clients and waits for them.
func (w *Workload) Stop() {
	w.cancel()
	w.wg.Wait()
}

// Check stops the workload and fails t unless every operation succeeded
// and the history is linearizable.
func (w *Workload) Check(t testing.TB) {
	t.Helper()
	w.Stop()
	t.Logf("workload: %d operations, %d errors, %d recorded", w.ops.Load(), w.errs.Load(), w.rec.Len())
	if w.ops.Load() < 100 {
		t.Errorf("only %d operations ran", w.ops.Load())
	}
	if n := w.errs.Load(); n > 0 {
		t.Errorf("%d operations failed; first: %v", n, w.firstErr)
	}
	if err := w.rec.Check(60 * time.Second); err != nil {
		t.Fatal(err)
	}
}

// Preload writes n keys through cl and returns them with their values.
func Preload(t testing.TB, cl *client.Client, prefix string, n int) map[string]string {
	t.Helper()
	want := make(map[string]string, n)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	for i := range n {
		// A quarter in the workload's slots, so that they take a while to
		// copy.
		key := fmt.Sprintf("%s:%d", prefix, i)
		if i%4 == 0 {
			key = fmt.Sprintf("{w%d}:%s:%d", i%Tags, prefix, i)
		}
		want[key] = fmt.Sprintf("value-%d", i)
	}
	batch := make(map[string]string, 512)
	for k, v := range want {
		batch[k] = v
		if len(batch) == 512 {
			if err := cl.MSet(ctx, batch); err != nil {
				t.Fatal(err)
			}
			clear(batch)
		}
	}
	if err := cl.MSet(ctx, batch); err != nil {
		t.Fatal(err)
	}
	return want
}

// Verify fails t unless every key of want reads back with its value.
func Verify(t testing.TB, cl *client.Client, want map[string]string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	keys := make([]string, 0, len(want))
	for k := range want {
		keys = append(keys, k)
	}
	lost := 0
	for i := 0; i < len(keys); i += 512 {
		chunk := keys[i:min(i+512, len(keys))]
		got, err := cl.MGet(ctx, chunk...)
		if err != nil {
			t.Fatal(err)
		}
		for j, k := range chunk {
			if !got[j].Found || got[j].Val != want[k] {
				if lost++; lost <= 5 {
					t.Errorf("key %s: got %+v, want %q", k, got[j], want[k])
				}
			}
		}
	}
	if lost > 0 {
		t.Fatalf("%d of %d keys lost or wrong", lost, len(want))
	}
}
