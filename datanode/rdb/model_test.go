package rdb

import (
	"bytes"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"testing"
)

// randomElem returns a random element: often an integer in some encoding's
// range, else a string of random length.
func randomElem(rng *rand.Rand) []byte {
	switch rng.IntN(4) {
	case 0:
		bits := []int{7, 13, 16, 24, 32, 64}[rng.IntN(6)]
		return strconv.AppendInt(nil, rng.Int64()>>(64-bits), 10)
	case 1:
		return bytes.Repeat([]byte{byte('a' + rng.IntN(26))}, rng.IntN(5000))
	}
	return fmt.Appendf(nil, "e%d", rng.IntN(1000))
}

// TestRandomRoundTrips encodes seeded random values of every kind and
// encoding, and checks that decoding gives the model (the inputs) back.
func TestRandomRoundTrips(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	eq := func(a, b [][]byte) bool { return slices.EqualFunc(a, b, bytes.Equal) }
	for i := range 120 {
		n := 1 + rng.IntN(1+rng.IntN(1000))
		elems := make([][]byte, n)
		for j := range elems {
			elems[j] = randomElem(rng)
		}
		var enc []byte
		var want Value
		switch kind := i % 6; kind {
		case 0:
			enc, want = AppendString(nil, elems[0]), Value{Kind: KindString, Elems: elems[:1]}
		case 1:
			enc, want = AppendList(nil, elems), Value{Kind: KindList, Elems: elems}
		case 2:
			enc, want = AppendSet(nil, elems), Value{Kind: KindSet, Elems: elems}
		case 3:
			vals := make([]int64, n)
			for j := range vals {
				vals[j] = rng.Int64() >> rng.IntN(64)
			}
			slices.Sort(vals)
			vals = slices.Compact(vals)
			want = Value{Kind: KindSet}
			for _, v := range vals {
				want.Elems = append(want.Elems, strconv.AppendInt(nil, v, 10))
			}
			enc = AppendIntset(nil, vals)
		case 4:
			pairs := elems[:n/2*2]
			if len(pairs) == 0 {
				pairs = [][]byte{[]byte("f"), []byte("v")}
			}
			enc, want = AppendHash(nil, pairs, rng.IntN(2) == 0), Value{Kind: KindHash, Elems: pairs}
		case 5:
			scores := make([]float64, n)
			for j := range scores {
				scores[j] = []float64{rng.NormFloat64() * 1e6, float64(rng.IntN(100)), math.Inf(1), -math.MaxFloat64, 5e-324}[rng.IntN(5)]
			}
			lp := rng.IntN(2) == 0
			enc = AppendZSet(nil, elems, scores, lp)
			want = Value{Kind: KindZSet, Elems: elems, Scores: scores}
			if !lp { // written from the tail
				want.Elems, want.Scores = slices.Clone(elems), slices.Clone(scores)
				slices.Reverse(want.Elems)
				slices.Reverse(want.Scores)
			}
		}
		got, err := DecodeDump(AppendFooter(enc, 0))
		if err != nil || got.Kind != want.Kind || !eq(got.Elems, want.Elems) || !slices.Equal(got.Scores, want.Scores) {
			t.Fatalf("case %d (kind %d, %d elems): err %v", i, want.Kind, n, err)
		}
	}
}
