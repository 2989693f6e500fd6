package localcluster

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/chkv/chkv/client"
	"github.com/chkv/chkv/common/slot"
	"github.com/chkv/chkv/datanode"
)

// BenchmarkDrainMillionKeys drains a DataNode holding about a million keys
// with 32-byte values into another while SDK clients read and write, and
// reports the migration's keys/s and MB/s, the p99 write pause at cutover,
// and the clients' p99 latency during the drain against the steady state
// just before it. Run it with -benchtime 1x (each iteration is a whole
// cluster):
//
//	go test -run '^$' -bench DrainMillionKeys -benchtime 1x ./helper/localcluster/
//
// The sub-benchmarks differ in --migration-rate: unlimited, the migration
// takes all the CPU it can, which on a small machine shared with the
// clients costs them latency; a rate trades drain time for latency.
func BenchmarkDrainMillionKeys(b *testing.B) {
	for _, rate := range []int64{0, 10 << 20} {
		name := "rate=unlimited"
		if rate > 0 {
			name = fmt.Sprintf("rate=%dMB/s", rate>>20)
		}
		b.Run(name, func(b *testing.B) {
			for range b.N {
				benchDrain(b, 2_000_000, rate)
			}
		})
	}
}

func benchDrain(b *testing.B, keys int, rate int64) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	c, err := Start(ctx, Options{DataNodes: 2, DataNodeConfig: func(cfg *datanode.Config) { cfg.MigrationRate = rate }})
	if err != nil {
		b.Fatal(err)
	}
	defer c.Stop()
	load(b, ctx, c, keys)
	dn := c.DataNodes()[0]
	held := dn.Keys()

	cl, err := c.NewClient(ctx)
	if err != nil {
		b.Fatal(err)
	}
	defer cl.Close()
	steady := measureClients(ctx, cl, keys, func() <-chan struct{} {
		done := make(chan struct{})
		time.AfterFunc(2*time.Second, func() { close(done) })
		return done
	}())
	start := time.Now()
	if err := c.Drain(dn, false); err != nil {
		b.Fatal(err)
	}
	during := measureClients(ctx, cl, keys, dn.Drained())
	elapsed := time.Since(start)
	if dn.Keys() != 0 {
		b.Fatalf("drained node holds %d keys", dn.Keys())
	}
	ml := dn.MigrationLoad()
	pauses := dn.CutoverPauses()
	b.ReportMetric(float64(held), "keys-drained")
	b.ReportMetric(float64(ml.KeysMoved)/elapsed.Seconds(), "keys/s")
	b.ReportMetric(float64(ml.BytesMoved)/elapsed.Seconds()/1e6, "MB/s")
	b.ReportMetric(elapsed.Seconds(), "drain-s")
	b.ReportMetric(ms(percentile(pauses, 0.99)), "pause-p99-ms")
	b.ReportMetric(ms(percentile(pauses, 1)), "pause-max-ms")
	b.ReportMetric(ms(percentile(steady.lat, 0.99)), "client-p99-steady-ms")
	b.ReportMetric(ms(percentile(during.lat, 0.99)), "client-p99-drain-ms")
	b.ReportMetric(percentile(during.lat, 0.99).Seconds()/percentile(steady.lat, 0.99).Seconds(), "p99-ratio")
	b.ReportMetric(float64(during.errs), "client-errors")
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func percentile(ds []time.Duration, q float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[min(int(q*float64(len(s))), len(s)-1)]
}

type latencies struct {
	lat  []time.Duration
	errs int
}

// measureClients runs four SDK clients doing GETs and SETs (4:1) of the
// loaded keys until done is closed, and returns their latencies.
func measureClients(ctx context.Context, cl *client.Client, keys int, done <-chan struct{}) latencies {
	var mu sync.Mutex
	var out latencies
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(w), 7))
			var lat []time.Duration
			errs := 0
			for {
				select {
				case <-done:
					mu.Lock()
					out.lat, out.errs = append(out.lat, lat...), out.errs+errs
					mu.Unlock()
					return
				case <-ctx.Done():
					return
				default:
				}
				key := fmt.Sprintf("key:%d", rng.IntN(keys))
				start := time.Now()
				var err error
				if rng.IntN(5) == 0 {
					err = cl.Set(ctx, key, "0123456789abcdef0123456789abcdef")
				} else {
					_, err = cl.Get(ctx, key)
				}
				lat = append(lat, time.Since(start))
				if err != nil {
					errs++
				}
			}
		}()
	}
	wg.Wait()
	return out
}

// load writes keys keys with 32-byte values, pipelined straight to their
// owners.
func load(b *testing.B, ctx context.Context, c *Cluster, keys int) {
	top := c.Topology()
	pipes := map[string]redis.Pipeliner{}
	counts := map[string]int{}
	for _, dn := range c.DataNodes() {
		rdb := redis.NewClient(&redis.Options{Addr: dn.RESPAddr()})
		defer rdb.Close()
		pipes[dn.ID()] = rdb.Pipeline()
	}
	value := "0123456789abcdef0123456789abcdef"
	for i := range keys {
		key := fmt.Sprintf("key:%d", i)
		id := top.Owner(slot.OfString(key)).ID
		pipes[id].Set(ctx, key, value, 0)
		if counts[id]++; counts[id]%1000 == 0 {
			if _, err := pipes[id].Exec(ctx); err != nil {
				b.Fatal(err)
			}
		}
	}
	for _, p := range pipes {
		if _, err := p.Exec(ctx); err != nil {
			b.Fatal(err)
		}
	}
}
