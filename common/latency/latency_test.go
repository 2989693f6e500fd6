package latency

import (
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

func TestBucketsAreContiguous(t *testing.T) {
	for _, v := range []uint64{0, 1, 63, 64, 65, 127, 128, 1000, 1 << 20, 1<<40 + 12345, 1<<63 - 1} {
		i := index(v)
		if lo, hi := lowest(i), lowest(i+1); v < lo || (i+1 < numBuckets && v >= hi) {
			t.Errorf("%d in bucket %d = [%d, %d)", v, i, lo, hi)
		}
	}
	for i := 1; i < numBuckets-1; i++ {
		if lowest(i) <= lowest(i-1) {
			t.Fatalf("bucket %d starts at %d, not after %d", i, lowest(i), lowest(i-1))
		}
		if index(lowest(i)) != i || index(lowest(i+1)-1) != i {
			t.Fatalf("bucket %d bounds do not map back", i)
		}
	}
}

func TestQuantilesAgainstSorted(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	var h, a, b Histogram
	var all []time.Duration
	for i := range 100000 {
		d := time.Duration(rng.ExpFloat64() * float64(time.Millisecond))
		all = append(all, d)
		if i%2 == 0 {
			a.Record(d)
		} else {
			b.Record(d)
		}
	}
	h.Merge(&a)
	h.Merge(&b)
	slices.Sort(all)
	if h.Count() != uint64(len(all)) || h.Max() != all[len(all)-1] || h.Min() != all[0] {
		t.Fatalf("count %d max %v min %v", h.Count(), h.Max(), h.Min())
	}
	for _, q := range []float64{0.5, 0.9, 0.99, 0.999, 1} {
		exact := all[max(int(q*float64(len(all)))-1, 0)]
		got := h.Quantile(q)
		if got < exact || float64(got-exact) > float64(exact)/50+1 {
			t.Errorf("q%v = %v, exact %v", q, got, exact)
		}
	}
}

func TestEmptyAndNegative(t *testing.T) {
	var h Histogram
	if h.Quantile(0.5) != 0 || h.Mean() != 0 || h.Max() != 0 {
		t.Fatal("empty histogram reports durations")
	}
	h.Record(-time.Second)
	if h.Quantile(0.99) != 0 || h.Count() != 1 {
		t.Fatalf("negative duration: q99 %v count %d", h.Quantile(0.99), h.Count())
	}
}
