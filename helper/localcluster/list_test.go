package localcluster

import (
	"context"
	"fmt"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chkv/chkv/helper/testutil"
	"github.com/chkv/chkv/helper/workload"
)

// A list of 150,000 elements (several MiB, so it moves in chunks) and small
// string keys survive the drain of their DataNode while elements are still
// being pushed: every element pushed before or acknowledged during the
// drain is on the new owner, in order, and the list is still a list. The
// pushes write inside the list's value (its spare room), which migration
// must track as it tracks any write.
func TestDrainMovesLargeList(t *testing.T) {
	c := startCluster(t, Options{DataNodes: 3})
	cl := newClient(t, c)
	want := workload.Preload(t, cl, "pre", 2000)
	const key = "{ll}list"
	const elems = 150000
	dn := ownerOf(c, key)
	rdb := direct(t, dn)
	ctx := ctxFor(t, 180*time.Second)
	elem := func(i int) string { return fmt.Sprintf("element:%07d", i) }
	for i := 0; i < elems; i += 1000 {
		args := []any{}
		for j := i; j < i+1000; j++ {
			args = append(args, elem(j))
		}
		if err := rdb.RPush(ctx, key, args...).Err(); err != nil {
			t.Fatal(err)
		}
	}
	if n := rdb.LLen(ctx, key).Val(); n != elems {
		t.Fatalf("LLEN before the drain = %d", n)
	}

	// A writer pushes elements through whichever node owns the key,
	// retrying while the slot moves; it reports how many were acknowledged.
	wctx, stop := context.WithCancel(ctx)
	acked := make(chan int, 1)
	var pushed atomic.Int64 // elements acknowledged so far
	pushed.Store(elems)
	go func() {
		n := elems
		defer func() { acked <- n }()
		for wctx.Err() == nil {
			err := direct(t, ownerOf(c, key)).RPush(wctx, key, elem(n)).Err()
			if err != nil {
				time.Sleep(10 * time.Millisecond)
				continue
			}
			n++
			pushed.Store(int64(n))
		}
	}()
	// moreThan waits for more acknowledged pushes than the given count.
	moreThan := func(than int64) func() bool { return func() bool { return pushed.Load() > than } }
	testutil.Eventually(t, 30*time.Second, "pushes before the drain", moreThan(elems))
	if err := c.Drain(dn, false); err != nil {
		t.Fatal(err)
	}
	select {
	case <-dn.Drained():
	case <-ctx.Done():
		t.Fatalf("not drained; migration %+v", dn.MigrationLoad())
	}
	testutil.Eventually(t, 30*time.Second, "pushes to the new owner", moreThan(pushed.Load()))
	stop()
	total := <-acked
	if total == elems {
		t.Fatal("no element was pushed during the drain")
	}

	owner := ownerOf(c, key)
	if owner == dn {
		t.Fatal("the drained node still owns the list")
	}
	got := direct(t, owner)
	if typ := got.Type(ctx, key).Val(); typ != "list" {
		t.Fatalf("TYPE after the drain = %q", typ)
	}
	all, err := got.LRange(ctx, key, 0, -1).Result()
	if err != nil {
		t.Fatal(err)
	}
	// A push whose acknowledgement was lost is retried, which repeats its
	// element; the last push may have landed unacknowledged.
	all = slices.Compact(all)
	if len(all) != total && len(all) != total+1 {
		t.Fatalf("%d elements after the drain, %d acknowledged", len(all), total)
	}
	for i := range total {
		if all[i] != elem(i) {
			t.Fatalf("element %d = %q after the drain, want %q", i, all[i], elem(i))
		}
	}
	workload.Verify(t, cl, want)
	if n := dn.Keys(); n != 0 {
		t.Fatalf("drained node still holds %d keys", n)
	}
}

// A large list written in place between two chunks of its move (elements
// popped and pushed at its tail, inside its spare room, so its length in
// bytes is unchanged) is sent again whole, never assembled from chunks read
// before and after the writes: the move does not fail, and the new owner
// holds the list as written.
func TestLargeListWrittenInPlaceBetweenChunks(t *testing.T) {
	tr := newTrap(func(step string, _ int) bool { return step == "chunk" })
	c := startTrapped(t, tr, 3, 0)
	const key = "{lc}list"
	dn := ownerOf(c, key)
	rdb := direct(t, dn)
	ctx := ctxFor(t, 120*time.Second)
	var want []string
	for i := 0; i < 250000; i += 1000 {
		args := make([]any, 0, 1000)
		for j := i; j < i+1000; j++ {
			e := fmt.Sprintf("element:%07d", j)
			args = append(args, e)
			want = append(want, e)
		}
		if err := rdb.RPush(ctx, key, args...).Err(); err != nil {
			t.Fatal(err)
		}
	}
	failedBefore := dn.MigrationFailures()

	tr.armed.Store(true)
	if err := c.Drain(dn, false); err != nil {
		t.Fatal(err)
	}
	tr.wait(t) // the first chunk is sent
	if err := rdb.RPopCount(ctx, key, 100).Err(); err != nil {
		t.Fatal(err)
	}
	want = want[:len(want)-100]
	for i := range 100 {
		e := fmt.Sprintf("e%d", i) // other lengths: the elements' boundaries move
		if err := rdb.RPush(ctx, key, e).Err(); err != nil {
			t.Fatal(err)
		}
		want = append(want, e)
	}
	close(tr.release)
	select {
	case <-dn.Drained():
	case <-ctx.Done():
		t.Fatalf("not drained; migration %+v", dn.MigrationLoad())
	}
	if n := dn.MigrationFailures() - failedBefore; n != 0 {
		t.Fatalf("%d slot moves failed", n)
	}
	got, err := direct(t, ownerOf(c, key)).LRange(ctx, key, 0, -1).Result()
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got, want) {
		t.Fatalf("the list arrived with %d elements, want %d (or other elements)", len(got), len(want))
	}
}
