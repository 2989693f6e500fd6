package localcluster

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/chkv/chkv/helper/testutil"
	"github.com/chkv/chkv/helper/workload"
)

// largeCollection is a collection type for TestDrainMovesLargeCollection:
// add writes elements [from, to) of it, and read returns what the key
// holds as element index -> value ("" for a set).
type largeCollection struct {
	add   func(ctx context.Context, rdb *redis.Client, key string, from, to int) error
	read  func(ctx context.Context, rdb *redis.Client, key string) (map[string]string, error)
	count func(ctx context.Context, rdb *redis.Client, key string) int64
}

func elementName(i int) string  { return fmt.Sprintf("element:%07d", i) }
func elementValue(i int) string { return fmt.Sprintf("value-%d", i*7) }

var largeCollections = map[string]largeCollection{
	"hash": {
		add: func(ctx context.Context, rdb *redis.Client, key string, from, to int) error {
			args := []any{}
			for i := from; i < to; i++ {
				args = append(args, elementName(i), elementValue(i))
			}
			return rdb.HSet(ctx, key, args...).Err()
		},
		read: func(ctx context.Context, rdb *redis.Client, key string) (map[string]string, error) {
			return rdb.HGetAll(ctx, key).Result()
		},
		count: func(ctx context.Context, rdb *redis.Client, key string) int64 { return rdb.HLen(ctx, key).Val() },
	},
	"set": {
		add: func(ctx context.Context, rdb *redis.Client, key string, from, to int) error {
			args := []any{}
			for i := from; i < to; i++ {
				args = append(args, elementName(i))
			}
			return rdb.SAdd(ctx, key, args...).Err()
		},
		read: func(ctx context.Context, rdb *redis.Client, key string) (map[string]string, error) {
			ms, err := rdb.SMembers(ctx, key).Result()
			all := make(map[string]string, len(ms))
			for _, m := range ms {
				all[m] = ""
			}
			return all, err
		},
		count: func(ctx context.Context, rdb *redis.Client, key string) int64 { return rdb.SCard(ctx, key).Val() },
	},
}

// A hash or a set of 150,000 elements (several MiB, so it moves in chunks,
// and a hash table written in place, so the source must notice in-place
// writes between chunks) and small string keys survive the drain of their
// DataNode while elements are still being added: every element written
// before or acknowledged during the drain is on the new owner, with its
// value, and the key keeps its type.
func TestDrainMovesLargeCollection(t *testing.T) {
	for _, typ := range []string{"hash", "set"} {
		t.Run(typ, func(t *testing.T) { drainLargeCollection(t, typ) })
	}
}

func drainLargeCollection(t *testing.T, typ string) {
	coll := largeCollections[typ]
	c := startCluster(t, Options{DataNodes: 3})
	cl := newClient(t, c)
	want := workload.Preload(t, cl, "pre", 2000)
	key := "{lc}" + typ
	const elements = 150000
	dn := ownerOf(c, key)
	rdb := direct(t, dn)
	ctx := ctxFor(t, 180*time.Second)
	for i := 0; i < elements; i += 1000 {
		if err := coll.add(ctx, rdb, key, i, i+1000); err != nil {
			t.Fatal(err)
		}
	}

	// A writer adds elements through whichever node owns the key, retrying
	// while the slot moves; it reports how many were acknowledged.
	wctx, stop := context.WithCancel(ctx)
	acked := make(chan int, 1)
	go func() {
		n := elements
		defer func() { acked <- n }()
		for wctx.Err() == nil {
			if err := coll.add(wctx, direct(t, ownerOf(c, key)), key, n, n+1); err != nil {
				time.Sleep(10 * time.Millisecond)
				continue
			}
			n++
		}
	}()
	testutil.Eventually(t, 10*time.Second, "writes before the drain", func() bool { return coll.count(ctx, rdb, key) > elements })
	if err := c.Drain(dn, false); err != nil {
		t.Fatal(err)
	}
	select {
	case <-dn.Drained():
	case <-ctx.Done():
		t.Fatalf("not drained; migration %+v", dn.MigrationLoad())
	}
	owner := ownerOf(c, key)
	if owner == dn {
		t.Fatal("the drained node still owns the key")
	}
	got := direct(t, owner)
	moved := coll.count(ctx, got, key)
	testutil.Eventually(t, 10*time.Second, "writes to the new owner", func() bool { return coll.count(ctx, got, key) > moved })
	stop()
	total := <-acked
	if gotType := got.Type(ctx, key).Val(); gotType != typ {
		t.Fatalf("TYPE after the drain = %q", gotType)
	}
	all, err := coll.read(ctx, got, key)
	if err != nil {
		t.Fatal(err)
	}
	// The last write may have landed without its acknowledgement.
	if len(all) != total && len(all) != total+1 {
		t.Fatalf("%d elements after the drain, %d acknowledged", len(all), total)
	}
	for i := range total {
		want := elementValue(i)
		if typ == "set" {
			want = ""
		}
		if v, ok := all[elementName(i)]; !ok || v != want {
			t.Fatalf("element %s = %q %v after the drain", elementName(i), v, ok)
		}
	}
	workload.Verify(t, cl, want)
	if n := dn.Keys(); n != 0 {
		keys, _, err := rdb.Scan(ctx, 0, "*", 100).Result()
		t.Fatalf("drained node still holds %d keys: %q %v", n, keys, err)
	}
}
