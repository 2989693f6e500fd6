package client

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// BenchmarkSDKvsGoRedis runs the same parallel GET and SET load through the
// SDK against three DataNodes (routed by a fake NameNode's topology) and
// through a plain go-redis Client against one of them, with the same pool
// size, so routing's cost shows as the difference.
//
// sdk/* and goredis/* run one after the other; paired/* alternates SDK and
// go-redis operations in the same goroutines, so both see the same machine
// load, and reports each one's mean latency and sdk/goredis, the SDK's
// throughput as a fraction of go-redis's (1 = no cost).
func BenchmarkSDKvsGoRedis(b *testing.B) {
	cl := newCluster(b, 3)
	sdk := newClient(b, []string{cl.nn.Addr()})
	rc := redis.NewClient(&redis.Options{Addr: cl.addrs[0], Protocol: 2, DisableIdentity: true, MaxRetries: -1})
	defer rc.Close()
	ctx := context.Background()

	const nkeys = 1024
	keys := make([]string, nkeys)
	for i := range keys {
		keys[i] = fmt.Sprintf("bench:%d", i)
	}
	value := string(make([]byte, 64))
	for _, k := range keys {
		if err := sdk.Set(ctx, k, value); err != nil {
			b.Fatal(err)
		}
		if err := rc.Set(ctx, k, value, 0).Err(); err != nil {
			b.Fatal(err)
		}
	}

	run := func(b *testing.B, op func(key string) error) {
		var next atomic.Int64
		b.ReportAllocs()
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			i := int(next.Add(1)) * 7919
			for pb.Next() {
				i++
				if err := op(keys[i%nkeys]); err != nil {
					b.Error(err)
					return
				}
			}
		})
	}
	paired := func(b *testing.B, sdkOp, grOp func(key string) error) {
		var next, sdkNs, sdkN, grNs, grN atomic.Int64
		b.ReportAllocs()
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			i := int(next.Add(1)) * 7919
			var sNs, sN, gNs, gN int64
			for pb.Next() {
				i++
				op, ns, n := sdkOp, &sNs, &sN
				if i%2 == 1 {
					op, ns, n = grOp, &gNs, &gN
				}
				start := time.Now()
				if err := op(keys[i%nkeys]); err != nil {
					b.Error(err)
					return
				}
				*ns += int64(time.Since(start))
				*n++
			}
			sdkNs.Add(sNs)
			sdkN.Add(sN)
			grNs.Add(gNs)
			grN.Add(gN)
		})
		if sdkN.Load() == 0 || grN.Load() == 0 {
			return
		}
		sdkMean := float64(sdkNs.Load()) / float64(sdkN.Load())
		grMean := float64(grNs.Load()) / float64(grN.Load())
		b.ReportMetric(sdkMean, "sdk-ns/op")
		b.ReportMetric(grMean, "goredis-ns/op")
		b.ReportMetric(grMean/sdkMean, "sdk/goredis")
	}
	b.Run("paired/get", func(b *testing.B) {
		paired(b, func(k string) error { _, err := sdk.Get(ctx, k); return err },
			func(k string) error { return rc.Get(ctx, k).Err() })
	})
	b.Run("paired/set", func(b *testing.B) {
		paired(b, func(k string) error { return sdk.Set(ctx, k, value) },
			func(k string) error { return rc.Set(ctx, k, value, 0).Err() })
	})
	b.Run("sdk/get", func(b *testing.B) {
		run(b, func(k string) error { _, err := sdk.Get(ctx, k); return err })
	})
	b.Run("goredis/get", func(b *testing.B) {
		run(b, func(k string) error { return rc.Get(ctx, k).Err() })
	})
	b.Run("sdk/set", func(b *testing.B) {
		run(b, func(k string) error { return sdk.Set(ctx, k, value) })
	})
	b.Run("goredis/set", func(b *testing.B) {
		run(b, func(k string) error { return rc.Set(ctx, k, value, 0).Err() })
	})
}
