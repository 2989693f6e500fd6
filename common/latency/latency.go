// Package latency records durations in a log-linear histogram of bounded
// size (within 1/64 of the value, about 1.6%), for load generators that
// make millions of requests and report percentiles.
package latency

import (
	"math"
	"math/bits"
	"time"
)

// subBits sets the precision: each power of two is split into 2^subBits
// buckets.
const subBits = 6

const subCount = 1 << subBits

// numBuckets covers every non-negative int64 nanosecond count.
const numBuckets = (64 - subBits + 1) * subCount

// Histogram counts durations. The zero value is empty and ready; it is not
// safe for concurrent use: give each goroutine its own and Merge them.
type Histogram struct {
	counts [numBuckets]uint64
	n      uint64
	sum    time.Duration
	max    time.Duration
	min    time.Duration
}

// index returns the bucket of v ≥ 0.
func index(v uint64) int {
	if v < subCount {
		return int(v)
	}
	exp := bits.Len64(v) - subBits // ≥ 1
	return exp*subCount + int(v>>(exp-1)) - subCount
}

// lowest returns the smallest value of bucket i.
func lowest(i int) uint64 {
	if i < subCount {
		return uint64(i)
	}
	exp := i / subCount
	sub := uint64(i%subCount + subCount)
	return sub << (exp - 1)
}

// Record adds one duration; negative ones count as zero.
func (h *Histogram) Record(d time.Duration) {
	d = max(d, 0)
	h.counts[index(uint64(d))]++
	if h.n == 0 || d < h.min {
		h.min = d
	}
	h.n++
	h.sum += d
	h.max = max(h.max, d)
}

// Merge adds o's durations to h.
func (h *Histogram) Merge(o *Histogram) {
	if o.n == 0 {
		return
	}
	for i, c := range o.counts {
		h.counts[i] += c
	}
	if h.n == 0 || o.min < h.min {
		h.min = o.min
	}
	h.n += o.n
	h.sum += o.sum
	h.max = max(h.max, o.max)
}

// Count returns how many durations were recorded.
func (h *Histogram) Count() uint64 { return h.n }

// Max returns the largest duration recorded, exactly.
func (h *Histogram) Max() time.Duration { return h.max }

// Min returns the smallest duration recorded, exactly.
func (h *Histogram) Min() time.Duration { return h.min }

// Mean returns the mean duration, 0 when empty.
func (h *Histogram) Mean() time.Duration {
	if h.n == 0 {
		return 0
	}
	return h.sum / time.Duration(h.n)
}

// Quantile returns the duration below which a fraction q (0 to 1) of the
// recorded durations fall, within the histogram's precision and never
// above Max; 0 when empty.
func (h *Histogram) Quantile(q float64) time.Duration {
	if h.n == 0 {
		return 0
	}
	q = min(max(q, 0), 1)
	rank := uint64(math.Ceil(q * float64(h.n)))
	rank = max(rank, 1)
	var seen uint64
	for i, c := range h.counts {
		seen += c
		if seen >= rank {
			// The bucket's upper end, as HDR histograms report.
			upper := lowest(i+1) - 1
			if i+1 >= numBuckets {
				upper = math.MaxInt64
			}
			return min(time.Duration(upper), h.max)
		}
	}
	return h.max
}
