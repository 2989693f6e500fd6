package datanode

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"testing"

	"github.com/chkv/chkv/datanode/store"
)

// checkSetModel requires s to be well formed and to hold exactly the
// members of model, in its encoding's order, intset-encoded when intset is.
func checkSetModel(t *testing.T, step int, s setValue, model map[string]bool, intset bool) {
	t.Helper()
	if len(model) == 0 {
		if len(s) != 0 {
			t.Fatalf("step %d: empty set stored as %x", step, s)
		}
		return
	}
	if !validSet(s) {
		t.Fatalf("step %d: malformed set %x", step, s)
	}
	if s.len() != len(model) {
		t.Fatalf("step %d: %d members, model %d", step, s.len(), len(model))
	}
	if got := s.encoding() == setIntset; got != intset {
		t.Fatalf("step %d: intset %v, want %v", step, got, intset)
	}
	var prev []byte
	i := 0
	s.each(func(m []byte) bool {
		if !model[string(m)] || !s.contains(m) {
			t.Fatalf("step %d: member %q not in the model or not found", step, m)
		}
		if i > 0 {
			if intset {
				a, _ := strconv.ParseInt(string(prev), 10, 64)
				b, _ := strconv.ParseInt(string(m), 10, 64)
				if a >= b {
					t.Fatalf("step %d: intset order %s before %s", step, prev, m)
				}
			} else if compareEntries(setEntry{memberHash(prev), prev}, setEntry{memberHash(m), m}) >= 0 {
				t.Fatalf("step %d: hashtable order %q before %q", step, prev, m)
			}
		}
		prev = append(prev[:0], m...)
		i++
		return true
	})
}

// TestSetEncodingModel applies random additions and removals to a packed
// set and to a Go map, and requires them to agree after every step: the
// members, their order, and the encoding by set-max-intset-entries.
func TestSetEncodingModel(t *testing.T) {
	for _, seed := range []uint64{1, 2, 3} {
		rng := rand.New(rand.NewPCG(seed, 7))
		lim := setLimits{intsetEntries: int64(5 + rng.IntN(40))}
		model := map[string]bool{}
		intset := true
		var s setValue
		member := func() []byte {
			if rng.IntN(20) == 0 {
				return []byte(fmt.Sprintf("m%d", rng.IntN(60)))
			}
			return []byte(strconv.Itoa(rng.IntN(120) - 60))
		}
		for step := range 3000 {
			ms := make([][]byte, 1+rng.IntN(12))
			for i := range ms {
				ms[i] = member()
			}
			if rng.IntN(3) > 0 {
				want := 0
				for _, m := range ms {
					if !model[string(m)] {
						want++
						model[string(m)] = true
					}
					if _, ok := parseInt(m); !ok {
						intset = false
					}
				}
				if int64(len(model)) > lim.intsetEntries {
					intset = false
				}
				var added int
				var ok bool
				if len(s) == 0 {
					s, ok = buildSet(nil, ms, lim)
					added = s.len()
				} else {
					s, added, ok = s.add(nil, ms, lim)
				}
				if !ok || added != want {
					t.Fatalf("seed %d step %d: added %d (%v), want %d", seed, step, added, ok, want)
				}
			} else if len(s) > 0 {
				want := 0
				for _, m := range ms {
					if model[string(m)] {
						want++
						delete(model, string(m))
					}
				}
				var removed int
				s, removed = s.remove(nil, ms)
				if removed != want {
					t.Fatalf("seed %d step %d: removed %d, want %d", seed, step, removed, want)
				}
				if len(model) == 0 {
					intset = true // the key is gone: the next set starts anew
				}
			}
			s = bytes.Clone(s) // no aliasing between steps
			checkSetModel(t, step, s, model, intset)
		}
	}
}

// TestSetTableScan checks scanTable's cursor: a whole scan returns every
// member once, in hash order.
func TestSetTableScan(t *testing.T) {
	var ms [][]byte
	for i := range 1000 {
		ms = append(ms, []byte(fmt.Sprintf("member:%d", i)))
	}
	s, _ := buildSet(nil, ms, setLimits{intsetEntries: 512})
	seen := map[string]int{}
	cursor := uint64(0)
	for calls := 0; ; calls++ {
		out, next := s.scanTable(cursor, 7)
		for _, m := range out {
			seen[string(m)]++
		}
		if next == 0 {
			break
		}
		if next <= cursor || calls > 1000 {
			t.Fatalf("cursor %d after %d", next, cursor)
		}
		cursor = next
	}
	if len(seen) != 1000 {
		t.Fatalf("scan returned %d members", len(seen))
	}
	for m, n := range seen {
		if n != 1 {
			t.Fatalf("%s returned %d times", m, n)
		}
	}
}

func TestValidSetRefusesMalformed(t *testing.T) {
	table, _ := buildSet(nil, [][]byte{[]byte("a"), []byte("bb"), []byte("")}, setLimits{intsetEntries: 512})
	ints, _ := buildSet(nil, [][]byte{[]byte("1"), []byte("-2")}, setLimits{intsetEntries: 512})
	for _, good := range []setValue{table, ints} {
		if !validSet(good) {
			t.Fatalf("a well-formed set refused: %x", good)
		}
		for n := range len(good) {
			if good[0] == setIntset && n > 1 && (n-1)%8 == 0 {
				continue // a shorter intset, well formed
			}
			if validSet(good[:n]) {
				t.Errorf("%x truncated to %d bytes: accepted", good, n)
			}
		}
		if validSet(append(bytes.Clone(good), 0)) && good[0] == setIntset {
			t.Errorf("%x with a trailing byte accepted", good)
		}
	}
	swapped := bytes.Clone(ints)
	copy(swapped[1:9], ints[9:17])
	copy(swapped[9:17], ints[1:9])
	badHash := bytes.Clone(table)
	badHash[setTableHeader] ^= 1
	badOffset := bytes.Clone(table)
	badOffset[setTableHeader+setIndexEntry+4] = 200
	for _, bad := range [][]byte{{}, {2}, {setIntset}, {setTable, 0, 0, 0, 0}, {setTable, 1, 0, 0, 0}, swapped, badHash, badOffset} {
		if validSet(bad) {
			t.Errorf("validSet(%x) accepted", bad)
		}
	}
}

// FuzzValidSet requires validSet to refuse garbage without panicking, and
// every set it accepts to be usable: each member found again, the count
// right.
func FuzzValidSet(f *testing.F) {
	table, _ := buildSet(nil, [][]byte{[]byte("a"), []byte("bb"), []byte("")}, setLimits{intsetEntries: 512})
	ints, _ := buildSet(nil, [][]byte{[]byte("1"), []byte("-2")}, setLimits{intsetEntries: 512})
	f.Add([]byte(table))
	f.Add([]byte(ints))
	f.Fuzz(func(t *testing.T, b []byte) {
		if !validSet(b) {
			return
		}
		s := setValue(b)
		n := 0
		s.each(func(m []byte) bool {
			n++
			if !s.contains(m) {
				t.Fatalf("member %q not found again", m)
			}
			return true
		})
		if n != s.len() {
			t.Fatalf("%d members walked, %d counted", n, s.len())
		}
		if s.encoding() == setTable {
			all := s.members()
			if !slices.IsSortedFunc(s.tableEntries(), compareEntries) || len(all) != n {
				t.Fatal("hashtable out of order")
			}
		}
	})
}

// TestValidValueSets checks that migration accepts well-formed sets of
// either encoding, as their type, and nothing else under TypeSet.
func TestValidValueSets(t *testing.T) {
	table, _ := buildSet(nil, [][]byte{[]byte("a"), []byte("b")}, setLimits{intsetEntries: 512})
	ints, _ := buildSet(nil, [][]byte{[]byte("1"), []byte("2")}, setLimits{intsetEntries: 512})
	for _, v := range []setValue{table, ints} {
		if !validValue(store.TypeSet, v) {
			t.Errorf("set %x refused", v)
		}
		if validValue(store.TypeHash, v) && v[0] == setTable {
			t.Errorf("set %x accepted as a hash", v)
		}
	}
	if validValue(store.TypeSet, []byte("garbage")) || validValue(store.TypeSet, emptyHash()) {
		t.Error("garbage accepted as a set")
	}
}
