package datanode

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// TestHashTableModel applies random sets and deletes to a table-encoded
// hash the way the hash commands do (in place while it fits, rebuilt with
// room when not, compacted when wasteful) and to a map, and requires after
// every step a well-formed table with the map's fields and values, found
// by lookup, walked in hash order, and covered by a scan in random steps.
func TestHashTableModel(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	model := map[string]string{}
	h, _ := emptyHash().set(nil, []byte("seed"), []byte("v"), hashLimits{entries: 10, value: 10})
	h, _ = h.rebuildTable(nil, 0, 0)
	model["seed"] = "v"
	rebuilds := 0
	for step := range 6000 {
		keys := 50 + step/10 // a growing key space, so the table grows
		n := 1 + rng.IntN(4)
		if rng.IntN(3) == 0 {
			var fields [][]byte
			for range n {
				fields = append(fields, []byte(fmt.Sprintf("f%d", rng.IntN(keys))))
			}
			removed, want := 0, 0
			for _, f := range fields {
				if h.tableDel(f) {
					removed++
				}
				if _, ok := model[string(f)]; ok {
					want++
					delete(model, string(f))
				}
			}
			if removed != want {
				t.Fatalf("step %d: removed %d, want %d", step, removed, want)
			}
			if len(model) == 0 {
				h, _ = emptyHash().set(nil, []byte("seed"), []byte("v"), hashLimits{})
				h, _ = h.rebuildTable(nil, 0, 0)
				model["seed"] = "v"
			} else if h.wasteful() {
				h, _ = h.rebuildTable(nil, 0, 0)
				rebuilds++
			}
		} else {
			var pairs [][]byte
			for range n {
				pairs = append(pairs, []byte(fmt.Sprintf("f%d", rng.IntN(keys))), []byte(fmt.Sprintf("%0*d", rng.IntN(20), rng.IntN(1000))))
			}
			want := 0
			for i := 0; i < len(pairs); i += 2 {
				if _, ok := model[string(pairs[i])]; !ok {
					want++
				}
				model[string(pairs[i])] = string(pairs[i+1])
			}
			added, done := h.tableSetMany(pairs)
			if done < len(pairs) {
				var more int
				size, fill, _ := h.grownWith(pairs[done:], &more)
				t := make(hashValue, size)
				for i := range t {
					t[i] = 0xee // fill must not rely on zeroed memory
				}
				fill(t)
				h = t
				added += more
				rebuilds++
			}
			if added != want {
				t.Fatalf("step %d: added %d, want %d", step, added, want)
			}
		}
		h = append(hashValue(nil), h...) // no aliasing between steps
		checkTable(t, step, h, model, rng)
	}
	if rebuilds < 10 {
		t.Fatalf("only %d rebuilds: the test does not grow and compact the table", rebuilds)
	}
}

func checkTable(t *testing.T, step int, h hashValue, model map[string]string, rng *rand.Rand) {
	t.Helper()
	if !validHash(h) || h.encoding() != hashTable {
		t.Fatalf("step %d: malformed table %x", step, h)
	}
	if h.len() != len(model) {
		t.Fatalf("step %d: %d fields, model %d", step, h.len(), len(model))
	}
	for f, v := range model {
		if got, ok := h.get([]byte(f)); !ok || string(got) != v {
			t.Fatalf("step %d: %s = %q %v, want %q", step, f, got, ok, v)
		}
	}
	last, n := uint32(0), 0
	h.each(func(f hashField) bool {
		if x := fieldHash(f.field); x < last {
			t.Fatalf("step %d: walk out of hash order", step)
		} else {
			last = x
		}
		n++
		return true
	})
	if n != len(model) {
		t.Fatalf("step %d: walked %d fields, want %d", step, n, len(model))
	}
	seen := map[string]bool{}
	for cursor, calls := uint64(0), 0; ; calls++ {
		fs, next := h.scanFields(cursor, 1+rng.IntN(20))
		for _, f := range fs {
			seen[string(f.field)] = true
		}
		if next == 0 {
			break
		}
		if next <= cursor || calls > len(model) {
			t.Fatalf("step %d: scan cursor %d after %d", step, next, cursor)
		}
		cursor = next
	}
	if len(seen) != len(model) {
		t.Fatalf("step %d: scan saw %d fields, want %d", step, len(seen), len(model))
	}
	if _, ok := model[string(h.randomField().field)]; !ok {
		t.Fatalf("step %d: a random field not in the hash", step)
	}
}

// TestValidTableRefusesMalformed corrupts each byte of a table's header
// and index in turn: validHash must refuse what a lookup or an in-place
// write would misread.
func TestValidTableRefusesMalformed(t *testing.T) {
	var pairs [][]byte
	for i := range 20 {
		pairs = append(pairs, []byte(fmt.Sprintf("field%d", i)), []byte(fmt.Sprintf("value%d", i)))
	}
	h, _ := emptyHash().setMany(nil, pairs, hashLimits{entries: 10, value: 64})
	good, _ := h.rebuildTable(nil, 0, 0)
	if !validHash(good) {
		t.Fatal("a well-formed table refused")
	}
	indexEnd := htHeader + 8*good.u32(htSlots)
	for i := range indexEnd {
		bad := append(hashValue(nil), good...)
		bad[i] ^= 0x5a
		if validHash(bad) {
			t.Errorf("byte %d changed: accepted", i)
		}
	}
	for n := range len(good) {
		if n >= good.u32(htUsed) {
			break
		}
		if validHash(good[:n]) {
			t.Errorf("truncated to %d bytes: accepted", n)
		}
	}
}
