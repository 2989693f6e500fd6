package datanode

import (
	"bytes"
	"fmt"
	"math/rand/v2"
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
			} else if memberHash(prev) > memberHash(m) {
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
				switch {
				case len(s) == 0:
					s, ok = buildSet(nil, ms, lim)
					added = s.len()
				case s.encoding() == setTable:
					s, added, ok = tableAdd(s, ms), 0, true
					added = s.len() - (len(model) - want)
				default:
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
				if s.encoding() == setTable {
					before := s.len()
					s = tableRemove(s, ms)
					removed = before - s.lenOrZero()
				} else {
					s, removed = s.remove(nil, ms)
				}
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

// tableAdd adds ms to a hashtable set as SADD does: in place while it
// fits, else rebuilt larger.
func tableAdd(s setValue, ms [][]byte) setValue {
	var pairs [][]byte
	for _, m := range ms {
		pairs = append(pairs, m, nil)
	}
	h := hashValue(bytes.Clone(s))
	if _, done := h.tableSetMany(pairs); done < len(pairs) {
		var more int
		size, fill, _ := h.grownWith(pairs[done:], &more)
		t := make([]byte, size)
		fill(t)
		return setValue(t)
	}
	return setValue(h)
}

// tableRemove removes ms from a hashtable set as SREM does: in place,
// compacted when wasteful, nil when empty.
func tableRemove(s setValue, ms [][]byte) setValue {
	h := hashValue(bytes.Clone(s))
	for _, m := range ms {
		h.tableDel(m)
	}
	switch {
	case h.len() == 0:
		return nil
	case h.wasteful():
		t, _ := h.rebuildTable(nil, 0, 0)
		return setValue(t)
	}
	return setValue(h)
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
			if good[0] == setTable && n >= hashValue(good).u32(htUsed) {
				break // only the spare bytes are cut
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
	for i := range htHeader + 8*hashValue(table).u32(htSlots) {
		bad := bytes.Clone(table)
		bad[i] ^= 0x5a
		if validSet(bad) {
			t.Errorf("table with byte %d changed: accepted", i)
		}
	}
	hash, _ := emptyHash().setMany(nil, [][]byte{[]byte("a"), []byte("value")}, hashLimits{})
	hashTable, _ := hash.rebuildTable(nil, 0, 0)
	for _, bad := range [][]byte{{}, {2}, {setIntset}, {setTable, 0, 0, 0, 0}, {setTable, 1, 0, 0, 0}, swapped, hashTable} {
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
			// A set received from a peer is then written in place.
			tableRemove(tableAdd(s, [][]byte{[]byte("x"), []byte("a")}), [][]byte{[]byte("a")})
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
	}
	if validValue(store.TypeSet, []byte("garbage")) || validValue(store.TypeSet, emptyHash()) {
		t.Error("garbage accepted as a set")
	}
}
