package datanode

import (
	"bytes"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/chkv/chkv/datanode/store"
)

// testZset packs members m0..m(n-1) with scores i/2 (ties broken by member).
func testZset(n int) zsetValue {
	es := make([]zsetElem, n)
	for i := range es {
		es[i] = zsetElem{float64(i / 2), []byte(fmt.Sprintf("m%04d", i))}
	}
	return buildZset(nil, zsetListpack, es)
}

func TestZsetEncoding(t *testing.T) {
	for _, n := range []int{1, 2, 7, 300} {
		z := testZset(n)
		if !validZset(z) {
			t.Fatalf("n=%d: built value not valid", n)
		}
		if z.len() != n {
			t.Fatalf("len %d, want %d", z.len(), n)
		}
		for i := range n {
			m := []byte(fmt.Sprintf("m%04d", i))
			if r, ok := z.find(m); !ok || r != i || !bytes.Equal(z.member(r), m) || z.score(r) != float64(i/2) {
				t.Fatalf("n=%d: find(%s) = %d %v", n, m, r, ok)
			}
		}
		if _, ok := z.find([]byte("nosuch")); ok {
			t.Fatal("found a missing member")
		}
		for n := range len(z) {
			if validZset(z[:n]) {
				t.Fatalf("truncated to %d bytes: accepted", n)
			}
		}
	}
	// Out of order, repeated members, NaN and bad tables are refused.
	bad := [][]zsetElem{
		{{2, []byte("a")}, {1, []byte("b")}},
		{{1, []byte("a")}, {2, []byte("a")}},
		{{math.NaN(), []byte("a")}},
	}
	for _, es := range bad {
		if validZset(buildZset(nil, zsetListpack, es)) {
			t.Errorf("%v accepted", es)
		}
	}
	z := testZset(3)
	z[zsetHeader+12] ^= 1 // the first byHash entry
	if validZset(z) {
		t.Error("a corrupted byHash table was accepted")
	}
	if validZset(buildZset(nil, 2, []zsetElem{{1, []byte("a")}})) || validZset(buildZset(nil, zsetListpack, nil)) {
		t.Error("a bad encoding byte or an empty set was accepted")
	}
}

// TestZsetScores checks score parsing and formatting against C's strtod
// and printf rules, as Redis replies them.
func TestZsetScores(t *testing.T) {
	for in, want := range map[string]string{
		"1": "1", "1.5": "1.5", "-0": "-0", "0.1": "0.10000000000000001", "1e200": "9.9999999999999997e+199",
		"inf": "inf", "-Infinity": "-inf", "+5": "5", "0x10": "16", "0x1.8p1": "3", "1e-310": "9.9999999999999694e-311",
		"123456789012345678": "1.2345678901234568e+17", "1e16": "10000000000000000",
	} {
		v, ok := parseScore([]byte(in))
		if !ok {
			t.Errorf("parseScore(%q) refused", in)
			continue
		}
		if got := string(appendScore(nil, v)); got != want {
			t.Errorf("%q formats as %q, want %q", in, got, want)
		}
	}
	for _, in := range []string{"", " 1", "1 ", "nan", "1e400", "-1e400", "1e-400", "1_0", "0x", "abc", "1e", "--1"} {
		if _, ok := parseScore([]byte(in)); ok {
			t.Errorf("parseScore(%q) accepted", in)
		}
	}
	if got := string(appendListpackScore(nil, 1e17)); got != "100000000000000000" {
		t.Errorf("listpack 1e17 = %q", got)
	}
}

// FuzzValidZset checks that any value validZset accepts can be read
// whole without panicking and rebuilds to the same bytes.
func FuzzValidZset(f *testing.F) {
	f.Add([]byte(testZset(3)))
	f.Add([]byte(testZset(1)))
	f.Fuzz(func(t *testing.T, b []byte) {
		if !validZset(b) {
			return
		}
		z := zsetValue(b)
		es := z.elems()
		for i, e := range es {
			if r, ok := z.find(e.member); !ok || r != i {
				t.Fatalf("member %q not found at rank %d", e.member, i)
			}
		}
		if !slices.IsSortedFunc(es, zsetCompare) {
			t.Fatal("elements out of order")
		}
		if again := buildZset(nil, z.encoding(), es); !bytes.Equal(again, b) {
			t.Fatal("rebuilding changed the value")
		}
		z.scoreSpan(scoreRange{min: math.Inf(-1), max: 0})
		z.lexSpan(lexRange{lexBound{inf: -1}, lexBound{value: []byte("m")}}, true)
		z.scanRanks(uint64(rand.Uint32()), 3)
	})
}

// TestZsetValidValue checks that migration accepts a well-formed sorted
// set and refuses a malformed one or one of another type's layout.
func TestZsetValidValue(t *testing.T) {
	z := testZset(5)
	if !validValue(store.TypeZSet, z) {
		t.Fatal("a well-formed sorted set is refused")
	}
	if validValue(store.TypeZSet, z[:len(z)-1]) || validValue(store.TypeZSet, emptyHash()) || validValue(store.TypeHash, z) {
		t.Fatal("a malformed sorted set is accepted")
	}
}

// hashCollision returns two members with the same memberHash.
func hashCollision() (string, string) {
	seen := map[uint32]string{}
	for i := 0; ; i++ {
		m := fmt.Sprintf("c%d", i)
		h := memberHash([]byte(m))
		if other, ok := seen[h]; ok {
			return other, m
		}
		seen[h] = m
	}
}

// TestZsetEdits checks insert, deleteRange and move, the edits of a
// write, against rebuilding the whole value: the bytes must be the same.
// The small pool holds two members of the same hash, whose order in the
// hash table follows their ranks.
func TestZsetEdits(t *testing.T) {
	c1, c2 := hashCollision()
	for _, pool := range []int{1000, 6} {
		testZsetEdits(t, pool, c1, c2)
	}
}

// testZsetEdits runs random edits on members m0..m(pool-1), c1 and c2.
func testZsetEdits(t *testing.T, pool int, c1, c2 string) {
	t.Helper()
	rng := rand.New(rand.NewPCG(5, uint64(pool)))
	var es []zsetElem
	var z zsetValue
	member := func() []byte {
		switch i := rng.IntN(pool + 2); i {
		case pool:
			return []byte(c1)
		case pool + 1:
			return []byte(c2)
		default:
			return []byte(fmt.Sprintf("m%d", i))
		}
	}
	for step := range 3000 {
		if len(es) > 0 && rng.IntN(3) == 0 {
			// A score change, in place.
			i := rng.IntN(len(es))
			e := zsetElem{float64(rng.IntN(20)) - 10, es[i].member}
			if rng.IntN(10) == 0 {
				e.score = math.Copysign(0, -1)
			}
			cp := append(zsetValue(nil), z...)
			cp.move(i, e)
			z = cp
			es = append(es[:i:i], es[i+1:]...)
			if e.score == 0 {
				e.score = 0
			}
			es = insertElem(es, e)
		} else if len(es) > 0 && rng.IntN(3) == 0 {
			lo := rng.IntN(len(es))
			hi := lo + 1 + rng.IntN(min(3, len(es)-lo))
			z = z.deleteRange(nil, lo, hi)
			es = append(es[:lo:lo], es[hi:]...)
		} else {
			e := zsetElem{float64(rng.IntN(20)) - 10, member()}
			if rng.IntN(10) == 0 {
				e.score = math.Copysign(0, -1)
			}
			if slices.ContainsFunc(es, func(x zsetElem) bool { return bytes.Equal(x.member, e.member) }) {
				continue
			}
			z = z.insert(nil, zsetListpack, e)
			if e.score == 0 {
				e.score = 0
			}
			es = insertElem(es, e)
		}
		want := buildZset(nil, zsetListpack, es)
		if len(es) == 0 {
			z = nil
			continue
		}
		if !bytes.Equal(z, want) || !validZset(z) {
			t.Fatalf("step %d: edited value differs from the rebuilt one", step)
		}
	}
}

// BenchmarkZsetMove measures a one-member score change (ZADD or ZINCRBY
// of an existing member) on sets of several sizes, done in place.
func BenchmarkZsetMove(b *testing.B) {
	for _, n := range []int{128, 10000, 100000} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			z := testZset(n)
			rng := rand.New(rand.NewPCG(1, 2))
			for range b.N {
				m := []byte(fmt.Sprintf("m%04d", rng.IntN(n)))
				r, _ := z.find(m)
				z.move(r, zsetElem{float64(rng.IntN(n / 2)), m})
			}
		})
	}
}

// BenchmarkZsetInsertDelete measures removing a member and adding it back
// (ZREM then ZADD) on sets of several sizes: each copies the packed value.
func BenchmarkZsetInsertDelete(b *testing.B) {
	for _, n := range []int{128, 10000, 100000} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			z := testZset(n)
			var a, c []byte
			m := []byte(fmt.Sprintf("m%04d", n/2))
			for i := range b.N {
				r, _ := z.find(m)
				a = z.deleteRange(a, r, r+1)
				c = zsetValue(a).insert(c, zsetListpack, zsetElem{float64(i % n), m})
				z, c = c, z[:0]
			}
		})
	}
}

// elems returns the set's elements in rank order, members pointing into z.
func (z zsetValue) elems() []zsetElem {
	out := make([]zsetElem, z.len())
	for i := range out {
		out[i] = z.at(i)
	}
	return out
}

// insertElem inserts e, whose member is not in es, at its place in the
// sorted es.
func insertElem(es []zsetElem, e zsetElem) []zsetElem {
	i, _ := slices.BinarySearchFunc(es, e, zsetCompare)
	return slices.Insert(es, i, e)
}
