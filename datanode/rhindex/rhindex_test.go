package rhindex

import (
	"math/rand/v2"
	"slices"
	"testing"
)

// TestTableModel inserts and deletes random entries in a Words table and
// a Bytes table of the same size, with many equal hashes, and requires
// after every step: the same contents in both, every entry found, a walk
// from any cursor in hash order returning exactly the entries at or
// above it, and misses reported as misses.
func TestTableModel(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	const n = 64
	words := make(Words, n)
	bytes := make(Bytes, 8*n)
	model := map[uint64]bool{}
	next := uint64(1)
	for step := range 20000 {
		if len(model) < 3*n/4 && (len(model) == 0 || rng.IntN(2) == 0) {
			// Hashes from a small range collide and wrap around the end.
			h := uint64(rng.Uint32()>>28) << 28
			if rng.IntN(4) == 0 {
				h = uint64(rng.Uint32())
			}
			e := h<<32 | next
			next++
			Insert(words, e)
			Insert(bytes, e)
			model[e] = true
		} else {
			var e uint64
			for e = range model {
				break
			}
			delete(model, e)
			for _, tab := range []Table{words, bytes} {
				q := Find(tab, Hash(e), func(x uint64) bool { return x == e })
				if q < 0 {
					t.Fatalf("step %d: %x not found for deletion", step, e)
				}
				Delete(tab, q)
			}
		}
		for q := range n {
			if words.At(q) != bytes.At(q) {
				t.Fatalf("step %d: position %d differs: %x, %x", step, q, words.At(q), bytes.At(q))
			}
		}
		for e := range model {
			if Find(words, Hash(e), func(x uint64) bool { return x == e }) < 0 {
				t.Fatalf("step %d: %x not found", step, e)
			}
		}
		if Find(words, rng.Uint32(), func(uint64) bool { return false }) >= 0 {
			t.Fatalf("step %d: a miss found", step)
		}
		c := rng.Uint32()
		var want, got []uint64
		for e := range model {
			if Hash(e) >= c {
				want = append(want, e)
			}
		}
		slices.Sort(want)
		it := Seek(words, c)
		for q := Next(words, &it); q >= 0; q = Next(words, &it) {
			got = append(got, words.At(q))
		}
		if !slices.IsSortedFunc(got, func(a, b uint64) int { return int(Hash(a)>>1) - int(Hash(b)>>1) }) {
			t.Fatalf("step %d: walk out of hash order", step)
		}
		slices.Sort(got)
		if !slices.Equal(got, want) {
			t.Fatalf("step %d: walk from %x returned %d entries, want %d", step, c, len(got), len(want))
		}
	}
}
