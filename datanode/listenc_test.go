package datanode

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/chkv/chkv/datanode/store"
)

// listElems returns l's elements walked from the head, and checks that the
// walk from the tail and index agree with it.
func listElems(t testing.TB, l listValue) [][]byte {
	t.Helper()
	var fwd, back [][]byte
	l.each(func(i int, e []byte, _, _ int) bool {
		fwd = append(fwd, e)
		return true
	})
	l.eachBack(func(i int, e []byte, _, _ int) bool {
		back = append(back, e)
		return true
	})
	slices.Reverse(back)
	if len(fwd) != l.len() || !slices.EqualFunc(fwd, back, bytes.Equal) {
		t.Fatalf("forward walk %q, backward walk %q, len %d", fwd, back, l.len())
	}
	for i, e := range fwd {
		if !bytes.Equal(l.index(i), e) {
			t.Fatalf("index(%d) = %q, walk says %q", i, l.index(i), e)
		}
	}
	return fwd
}

// TestListValueModel applies random pushes, pops, trims, rebuilds and
// relayouts, in place when there is room as the commands do, to a packed
// list and to a slice, and requires the same elements, a well-formed
// value, and room that stays within bounds.
func TestListValueModel(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	var model [][]byte
	elem := func() []byte {
		n := rng.IntN(20)
		if rng.IntN(20) == 0 {
			n = 100 + rng.IntN(300) // two-byte lengths
		}
		return bytes.Repeat([]byte{byte('a' + rng.IntN(26))}, n)
	}
	l := newList([][]byte{[]byte("first")}, 0)
	model = append(model, []byte("first"))
	for step := range 30000 {
		switch op := rng.IntN(8); {
		case op <= 2: // push
			atFront := rng.IntN(2) == 0
			var elems [][]byte
			for range 1 + rng.IntN(4) {
				elems = append(elems, elem())
			}
			front, back := l.spare()
			need := pushSize(elems)
			if (atFront && need > front) || (!atFront && need > back) {
				l = l.grown(need, atFront)
			}
			if atFront {
				l.pushFront(elems)
				for _, e := range elems {
					model = append([][]byte{e}, model...)
				}
			} else {
				l.pushBack(elems)
				model = append(model, elems...)
			}
		case op <= 4: // pop
			n := rng.IntN(4)
			var got [][]byte
			collect := func(e []byte) { got = append(got, slices.Clone(e)) }
			want := min(n, len(model))
			var exp [][]byte
			if op == 3 {
				l.popFront(n, collect)
				exp, model = slices.Clone(model[:want]), model[want:]
			} else {
				l.popBack(n, collect)
				for i := range want {
					exp = append(exp, model[len(model)-1-i])
				}
				model = model[:len(model)-want]
			}
			if !slices.EqualFunc(got, exp, bytes.Equal) {
				t.Fatalf("step %d: popped %q, want %q", step, got, exp)
			}
		case op == 5 && len(model) > 0: // trim
			from := rng.IntN(len(model))
			to := from + rng.IntN(len(model)-from)
			l.keepRange(from, to)
			model = slices.Clone(model[from : to+1])
		case op == 6: // rebuild: drop one, double another
			drop, dup := rng.IntN(len(model)+1), rng.IntN(len(model)+1)
			l = l.rebuilt(func(i int, e []byte) [][]byte {
				switch i {
				case drop:
					return nil
				case dup:
					return [][]byte{e, e}
				}
				return [][]byte{e}
			})
			var next [][]byte
			for i, e := range model {
				switch i {
				case drop:
				case dup:
					next = append(next, e, e)
				default:
					next = append(next, e)
				}
			}
			model = next
		}
		if l.len() > 0 && l.sparse() {
			l = l.compacted()
		}
		if len(model) == 0 {
			model = [][]byte{[]byte("again")}
			l = newList(model, rng.IntN(8))
		}
		if !validList(l) {
			t.Fatalf("step %d: malformed list %x", step, []byte(l))
		}
		if got := listElems(t, l); !slices.EqualFunc(got, model, bytes.Equal) {
			t.Fatalf("step %d: list %q, model %q", step, got, model)
		}
		front, back := l.spare()
		if live := l.tail() - l.head(); front+back > 3*live+2*listMinSpare {
			t.Fatalf("step %d: %d+%d spare bytes for %d bytes of elements", step, front, back, live)
		}
	}
}

// TestListPushAmortized checks that a long run of pushes at one end
// rebuilds the list only a logarithmic number of times.
func TestListPushAmortized(t *testing.T) {
	for _, atFront := range []bool{true, false} {
		l := newList([][]byte{[]byte("x")}, 0)
		rebuilds := 0
		for i := range 100000 {
			e := [][]byte{[]byte(fmt.Sprint(i))}
			front, back := l.spare()
			if need := pushSize(e); (atFront && need > front) || (!atFront && need > back) {
				l = l.grown(need, atFront)
				rebuilds++
			}
			if atFront {
				l.pushFront(e)
			} else {
				l.pushBack(e)
			}
		}
		if rebuilds > 40 {
			t.Errorf("front %v: %d rebuilds for 100000 pushes", atFront, rebuilds)
		}
		if l.len() != 100001 || !validList(l) {
			t.Fatalf("front %v: %d elements, valid %v", atFront, l.len(), validList(l))
		}
	}
}

// TestValidList checks that validList accepts lists as the commands build
// them and rejects truncated or altered ones, and that validValue, which
// migration calls, takes lists.
func TestValidList(t *testing.T) {
	good := newList([][]byte{[]byte("a"), bytes.Repeat([]byte("b"), 200), nil}, 5)
	good = good.grown(10, true)
	if !validList(good) || !validValue(store.TypeList, good) {
		t.Fatal("a well-formed list is refused")
	}
	if validValue(store.TypeList, emptyHash()) || validValue(store.TypeHash, good) {
		t.Fatal("a value of another type is accepted")
	}
	for n := range good.tail() { // what follows the tail is spare room
		if validList(good[:n]) {
			t.Errorf("truncated to %d bytes: accepted", n)
		}
	}
	alter := func(fn func(l listValue)) listValue {
		l := slices.Clone(good)
		fn(l)
		return l
	}
	for name, bad := range map[string]listValue{
		"encoding":   alter(func(l listValue) { l[0] = 1 }),
		"count+1":    alter(func(l listValue) { l.setHeader(l.len()+1, l.head(), l.tail()) }),
		"count-1":    alter(func(l listValue) { l.setHeader(l.len()-1, l.head(), l.tail()) }),
		"empty":      alter(func(l listValue) { l.setHeader(0, l.head(), l.head()) }),
		"head":       alter(func(l listValue) { l.setHeader(l.len(), l.head()+1, l.tail()) }),
		"tail":       alter(func(l listValue) { l.setHeader(l.len(), l.head(), len(l)+1) }),
		"backlen":    alter(func(l listValue) { l[l.head()+2] = 7 }),
		"header":     alter(func(l listValue) { l.setHeader(l.len(), 3, l.tail()) }),
		"length":     alter(func(l listValue) { l[l.head()] = 100 }),
		"huge count": alter(func(l listValue) { l.setHeader(1<<62, l.head(), l.tail()) }),
		"overlong length": func() listValue {
			l := make(listValue, listHeaderSize+5)
			l.setHeader(1, listHeaderSize, len(l))
			copy(l[listHeaderSize:], []byte{0x81, 0x00, 'x', 0x00, 0x81}) // 1 as two bytes, mirrored
			return l
		}(),
	} {
		if validList(bad) {
			t.Errorf("%s: accepted", name)
		}
	}
}

func FuzzValidList(f *testing.F) {
	f.Add([]byte(newList([][]byte{[]byte("a"), []byte("bc")}, 3)))
	f.Add([]byte(newList([][]byte{bytes.Repeat([]byte("x"), 300)}, 0).grown(4, true)))
	f.Fuzz(func(t *testing.T, b []byte) {
		if !validList(b) {
			return
		}
		l := listValue(b)
		elems := listElems(t, l)
		for _, e := range elems {
			if len(e) > len(b) {
				t.Fatalf("element of %d bytes in a %d-byte value", len(e), len(b))
			}
		}
		// The commands' edits keep it well-formed.
		l = l.grown(pushSize([][]byte{[]byte("z")}), true)
		l.pushFront([][]byte{[]byte("z")})
		l.popBack(1, func([]byte) {})
		if !validList(l.compacted()) {
			t.Fatal("edited list is malformed")
		}
	})
}
