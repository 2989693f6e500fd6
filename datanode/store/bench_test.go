package store

import (
	"fmt"
	"math/rand/v2"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chkv/chkv/common/slot"
)

// benchKey writes "key:%012d" into b, without allocating.
func benchKey(b []byte, i int) []byte {
	b = append(b[:0], "key:000000000000"...)
	for p := len(b) - 1; i > 0; p-- {
		b[p] = byte('0' + i%10)
		i /= 10
	}
	return b
}

var benchValue = []byte("0123456789abcdef0123456789abcdef") // 32 bytes

func loadKeys(s *Store, n int) {
	var buf [16]byte
	for i := range n {
		k := benchKey(buf[:], i)
		sl := s.Slot(slot.Of(k))
		sl.Lock()
		sl.Set(k, benchValue, 0, t0)
		sl.Unlock()
	}
}

func TestHotPathsDoNotAllocate(t *testing.T) {
	if testing.Short() {
		t.Skip("allocation counts are noisy under -short runs of other packages")
	}
	s := New(Config{})
	defer s.Close()
	loadKeys(s, 20000)
	var buf [16]byte
	i := 0
	next := func() (*Slot, []byte) {
		i = (i + 7919) % 40000
		k := benchKey(buf[:], i)
		return s.Slot(slot.Of(k)), k
	}
	ops := map[string]func(){
		"Get": func() {
			sl, k := next()
			sl.Lock()
			sl.Get(k, t0)
			sl.Unlock()
		},
		"Peek": func() {
			sl, k := next()
			sl.Lock()
			sl.Peek(k, t0)
			sl.Unlock()
		},
		"Set": func() { // overwrites and inserts
			sl, k := next()
			sl.Lock()
			sl.Set(k, benchValue, 0, t0)
			sl.Unlock()
		},
		"SetDelete": func() {
			sl, k := next()
			sl.Lock()
			sl.Set(k, benchValue[:i%32], int64(i%2)*(t0+1e6), t0)
			sl.Delete(k)
			sl.Unlock()
		},
	}
	for name, op := range ops {
		for range 50000 { // reach steady state: slabs and indexes sized
			op()
		}
		if n := testing.AllocsPerRun(10000, op); n > 0 {
			t.Errorf("%s allocates %.3f times per call", name, n)
		}
	}
}

const benchKeys = 1 << 20

// BenchmarkGet reads random keys of a store of 1k keys, which fits in the
// CPU caches, and of 1M keys, where each Get waits for memory.
func BenchmarkGet(b *testing.B) {
	for _, n := range []int{1 << 10, benchKeys} {
		b.Run(fmt.Sprintf("keys=%d", n), func(b *testing.B) {
			s := New(Config{})
			defer s.Close()
			loadKeys(s, n)
			b.ReportAllocs()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				var buf [16]byte
				r := rand.New(rand.NewPCG(rand.Uint64(), 0))
				for pb.Next() {
					k := benchKey(buf[:], r.IntN(n))
					sl := s.Slot(slot.Of(k))
					sl.Lock()
					if _, _, ok := sl.Get(k, t0); !ok {
						panic("missing key")
					}
					sl.Unlock()
				}
			})
		})
	}
}

func BenchmarkSet(b *testing.B) {
	b.Run("overwrite", func(b *testing.B) {
		s := New(Config{})
		defer s.Close()
		loadKeys(s, benchKeys)
		b.ReportAllocs()
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			var buf [16]byte
			r := rand.New(rand.NewPCG(rand.Uint64(), 0))
			for pb.Next() {
				k := benchKey(buf[:], r.IntN(benchKeys))
				sl := s.Slot(slot.Of(k))
				sl.Lock()
				sl.Set(k, benchValue, 0, t0)
				sl.Unlock()
			}
		})
	})
	b.Run("insert", func(b *testing.B) {
		s := New(Config{})
		defer s.Close()
		var counter atomic.Int64
		b.ReportAllocs()
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			var buf [16]byte
			for pb.Next() {
				k := benchKey(buf[:], int(counter.Add(1)))
				sl := s.Slot(slot.Of(k))
				sl.Lock()
				sl.Set(k, benchValue, 0, t0)
				sl.Unlock()
			}
		})
	})
	b.Run("resize", func(b *testing.B) { // values alternate sizes: no in-place overwrite
		s := New(Config{})
		defer s.Close()
		loadKeys(s, benchKeys)
		b.ReportAllocs()
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			var buf [16]byte
			r := rand.New(rand.NewPCG(rand.Uint64(), 0))
			for pb.Next() {
				n := r.IntN(benchKeys)
				k := benchKey(buf[:], n)
				sl := s.Slot(slot.Of(k))
				sl.Lock()
				sl.Set(k, benchValue[:16+n%17], 0, t0)
				sl.Unlock()
			}
		})
	})
}

func BenchmarkSetDelete(b *testing.B) {
	s := New(Config{})
	defer s.Close()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		var buf [16]byte
		r := rand.New(rand.NewPCG(rand.Uint64(), 0))
		for pb.Next() {
			k := benchKey(buf[:], r.IntN(benchKeys))
			sl := s.Slot(slot.Of(k))
			sl.Lock()
			sl.Set(k, benchValue, 0, t0)
			sl.Delete(k)
			sl.Unlock()
		}
	})
}

// BenchmarkMemory loads keys "key:%012d" with 32-byte values (3 million, or
// $CHKV_BENCH_KEYS) and reports the memory they cost per key, as UsedBytes
// counts it and as the process's resident size grows. Run it alone, once:
//
//	go test -run '^$' -bench Memory -benchtime 1x ./datanode/store/
func BenchmarkMemory(b *testing.B) {
	n := 3_000_000
	if v, err := strconv.Atoi(os.Getenv("CHKV_BENCH_KEYS")); err == nil && v > 0 {
		n = v
	}
	for range b.N {
		rss0 := settledRSS(b)
		var gc0 debug.GCStats
		debug.ReadGCStats(&gc0)
		s := New(Config{})
		start := time.Now()
		loadKeys(s, n)
		load := time.Since(start)
		var gc1 debug.GCStats
		debug.ReadGCStats(&gc1)
		rss1 := settledRSS(b)
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		b.ReportMetric(float64(ms.HeapInuse)/(1<<20), "goheap-MB")
		b.ReportMetric(float64(s.UsedBytes())/float64(n), "used-B/key")
		b.ReportMetric(float64(rss1-rss0)/float64(n), "rss-B/key")
		b.ReportMetric(float64(load.Nanoseconds())/float64(n), "load-ns/key")
		b.ReportMetric(float64(gc1.NumGC-gc0.NumGC), "GCs")
		if s.Len() != n {
			b.Fatalf("Len %d, want %d", s.Len(), n)
		}
		s.Close()
	}
}

// settledRSS returns the resident size after a garbage collection.
func settledRSS(tb testing.TB) int64 {
	runtime.GC()
	debug.FreeOSMemory()
	data, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		tb.Skip("no /proc/self/statm")
	}
	fields := strings.Fields(string(data)) // size resident shared ...
	resident, err := strconv.ParseInt(fields[1], 10, 64)
	if err != nil {
		tb.Fatal(err)
	}
	return resident * int64(os.Getpagesize())
}
