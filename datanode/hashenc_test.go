package datanode

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// TestHashValueModel applies random sets and deletes, one at a time and
// many at once, to a packed hash and to a map, and requires the same
// fields and values, insertion order kept, a well-formed value, and the
// encoding turned to hashListpackFull exactly when a limit was passed.
func TestHashValueModel(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	lim := hashLimits{entries: 40, value: 12}
	h := emptyHash()
	model := map[string]string{}
	var order []string
	converted := false
	for step := range 20000 {
		n := 1 + rng.IntN(3)
		if rng.IntN(4) == 0 {
			n = 1 + rng.IntN(3*manyFields)
		}
		var args [][]byte
		del := rng.IntN(3) == 0
		for range n {
			f := fmt.Sprintf("f%d", rng.IntN(60))
			args = append(args, []byte(f))
			if !del {
				args = append(args, []byte(fmt.Sprintf("%0*d", rng.IntN(14), rng.IntN(100))))
			}
		}
		var dst []byte
		if del {
			var removed int
			if len(args) > manyFields {
				h, removed = h.delMany(dst, args)
			} else {
				for _, f := range args {
					var ok bool
					if h, ok = h.del(nil, f); ok {
						removed++
					}
				}
			}
			want := 0
			for _, f := range args {
				if _, ok := model[string(f)]; ok {
					want++
					delete(model, string(f))
					for i, o := range order {
						if o == string(f) {
							order = append(order[:i], order[i+1:]...)
							break
						}
					}
				}
			}
			if removed != want {
				t.Fatalf("step %d: removed %d, want %d", step, removed, want)
			}
		} else {
			var added int
			if len(args) > 2*manyFields {
				h, added = h.setMany(dst, args, lim)
			} else {
				for i := 0; i < len(args); i += 2 {
					var isNew bool
					if h, isNew = h.set(nil, args[i], args[i+1], lim); isNew {
						added++
					}
				}
			}
			want := 0
			for i := 0; i < len(args); i += 2 {
				f, v := string(args[i]), string(args[i+1])
				if _, ok := model[f]; !ok {
					want++
					order = append(order, f)
				}
				model[f] = v
				if len(f) > int(lim.value) || len(v) > int(lim.value) {
					converted = true
				}
			}
			if len(model) > int(lim.entries) {
				converted = true
			}
			if added != want {
				t.Fatalf("step %d: added %d, want %d", step, added, want)
			}
		}
		h = append(hashValue(nil), h...) // no aliasing between steps
		stored := h
		if h.encoding() == hashListpackFull {
			stored, _ = h.rebuildTable(nil, 0, 0) // as storeHash stores it
		}
		if !validHash(stored) || stored.len() != len(model) {
			t.Fatalf("step %d: malformed hash %x", step, stored)
		}
		if h.len() != len(model) {
			t.Fatalf("step %d: %d fields, model %d", step, h.len(), len(model))
		}
		if got := h.encoding() == hashListpackFull; got != converted {
			t.Fatalf("step %d: hashTable %v, want %v", step, got, converted)
		}
		i := 0
		h.each(func(f hashField) bool {
			if string(f.field) != order[i] || string(f.value) != model[order[i]] {
				t.Fatalf("step %d: field %d is %q=%q, want %q=%q", step, i, f.field, f.value, order[i], model[order[i]])
			}
			i++
			return true
		})
	}
}

func TestValidHashRefusesMalformed(t *testing.T) {
	good, _ := emptyHash().set(nil, []byte("f"), []byte("v"), hashLimits{entries: 10, value: 10})
	if !validHash(good) {
		t.Fatal("a well-formed hash refused")
	}
	for n := range len(good) {
		if validHash(good[:n]) {
			t.Errorf("truncated to %d bytes: accepted", n)
		}
	}
	for _, bad := range [][]byte{{2, 0}, {0, 1}, {0, 0, 0}, {0, 1, 5, 'f', 0}, append(append([]byte(nil), good...), 0)} {
		if validHash(bad) {
			t.Errorf("validHash(%x) accepted", bad)
		}
	}
}

func FuzzValidHash(f *testing.F) {
	good, _ := emptyHash().set(nil, []byte("f"), []byte("v"), hashLimits{entries: 10, value: 10})
	f.Add([]byte(good))
	table, _ := good.rebuildTable(nil, 0, 0)
	f.Add([]byte(table))
	f.Fuzz(func(t *testing.T, b []byte) {
		if !validHash(b) {
			return
		}
		h := hashValue(b)
		n := 0
		h.each(func(f hashField) bool {
			n++
			if v, ok := h.get(f.field); !ok || len(v) > len(b) {
				t.Fatalf("field %q not found again", f.field)
			}
			return true
		})
		if n != h.len() {
			t.Fatalf("%d fields walked, %d counted", n, h.len())
		}
		if h.encoding() == hashTable {
			// A table received from a peer is then written in place.
			h.tableSetMany([][]byte{[]byte("f"), []byte("value"), []byte("new"), []byte("v")})
			h.tableDel([]byte("f"))
			var added int
			if _, _, ok := h.grownWith([][]byte{[]byte("g"), []byte("w")}, &added); !ok {
				t.Fatal("could not grow a small table")
			}
		}
	})
}
