package localcluster

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/chkv/chkv/helper/workload"
)

// A hash of 150,000 fields (several MiB, so it moves in chunks) and small
// string keys survive the drain of their DataNode while fields are still
// being added: every field written before or acknowledged during the drain
// is on the new owner, with its value, and the hash is still a hash.
func TestDrainMovesLargeHash(t *testing.T) {
	c := startCluster(t, Options{DataNodes: 3})
	cl := newClient(t, c)
	want := workload.Preload(t, cl, "pre", 2000)
	const key = "{lh}hash"
	const fields = 150000
	dn := ownerOf(c, key)
	rdb := direct(t, dn)
	ctx := ctxFor(t, 180*time.Second)
	field := func(i int) string { return fmt.Sprintf("field:%07d", i) }
	value := func(i int) string { return fmt.Sprintf("value-%d", i*7) }
	for i := 0; i < fields; i += 1000 {
		args := []any{}
		for j := i; j < i+1000; j++ {
			args = append(args, field(j), value(j))
		}
		if err := rdb.HSet(ctx, key, args...).Err(); err != nil {
			t.Fatal(err)
		}
	}
	if n := rdb.HLen(ctx, key).Val(); n != fields {
		t.Fatalf("HLEN before the drain = %d", n)
	}

	// A writer adds fields through whichever node owns the key, retrying
	// while the slot moves; it reports how many were acknowledged.
	wctx, stop := context.WithCancel(ctx)
	acked := make(chan int, 1)
	go func() {
		n := fields
		defer func() { acked <- n }()
		for wctx.Err() == nil {
			err := direct(t, ownerOf(c, key)).HSet(wctx, key, field(n), value(n)).Err()
			if err != nil {
				time.Sleep(10 * time.Millisecond)
				continue
			}
			n++
		}
	}()
	time.Sleep(200 * time.Millisecond)
	if err := c.Drain(dn, false); err != nil {
		t.Fatal(err)
	}
	select {
	case <-dn.Drained():
	case <-ctx.Done():
		t.Fatalf("not drained; migration %+v", dn.MigrationLoad())
	}
	time.Sleep(200 * time.Millisecond) // a few writes to the new owner
	stop()
	total := <-acked
	if total == fields {
		t.Fatal("no field was written during the drain")
	}

	owner := ownerOf(c, key)
	if owner == dn {
		t.Fatal("the drained node still owns the hash")
	}
	got := direct(t, owner)
	if typ := got.Type(ctx, key).Val(); typ != "hash" {
		t.Fatalf("TYPE after the drain = %q", typ)
	}
	all, err := got.HGetAll(ctx, key).Result()
	if err != nil {
		t.Fatal(err)
	}
	// The last write may have landed without its acknowledgement.
	if len(all) != total && len(all) != total+1 {
		t.Fatalf("%d fields after the drain, %d acknowledged", len(all), total)
	}
	for i := range total {
		if v, ok := all[field(i)]; !ok || v != value(i) {
			t.Fatalf("field %s = %q %v after the drain", field(i), v, ok)
		}
	}
	workload.Verify(t, cl, want)
	if n := dn.Keys(); n != 0 {
		t.Fatalf("drained node still holds %d keys", n)
	}
}
