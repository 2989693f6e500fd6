package store

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	"github.com/chkv/chkv/common/slot"
)

// TestTypedValues checks that a value's Type is stored with it, survives
// every way an entry is rewritten (in place, moved, expiry added or
// removed, out of line, compaction) and that Set makes a key a string again.
func TestTypedValues(t *testing.T) {
	s := newTestStore(Config{})
	defer s.Close()
	k := []byte("{a}h")
	sl := s.Slot(slot.Of(k))
	sl.Lock()
	defer sl.Unlock()
	want := func(step string, v string, typ Type) {
		t.Helper()
		got, _, gt, ok := sl.PeekTyped(k, t0)
		if !ok || string(got) != v || gt != typ {
			t.Fatalf("%s: PeekTyped = %.20q %v %v, want %.20q %v", step, got, gt, ok, v, typ)
		}
		got, _, gt, ok = sl.GetTyped(k, t0)
		if !ok || string(got) != v || gt != typ {
			t.Fatalf("%s: GetTyped = %.20q %v %v", step, got, gt, ok)
		}
	}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(sl.SetTyped(k, []byte("hash1"), TypeHash, 0, t0))
	want("new", "hash1", TypeHash)
	must(sl.SetTyped(k, []byte("hash2"), TypeHash, 0, t0)) // same size: in place
	want("in place", "hash2", TypeHash)
	must(sl.Set(k, []byte("str22"), 0, t0)) // in place, type changes
	want("in place to string", "str22", TypeString)
	must(sl.SetTyped(k, []byte("longer hash"), TypeHash, 0, t0))
	want("moved", "longer hash", TypeHash)
	if _, err := sl.SetExpire(k, t0+1000, t0); err != nil {
		t.Fatal(err)
	}
	want("expiry added", "longer hash", TypeHash)
	if _, err := sl.SetExpire(k, 0, t0); err != nil {
		t.Fatal(err)
	}
	want("expiry removed", "longer hash", TypeHash)
	big := strings.Repeat("h", inlineMax+1)
	must(sl.SetTyped(k, []byte(big), TypeHash, 0, t0))
	want("out of line", big, TypeHash)
	for i := range 100 {
		must(sl.Set([]byte("{a}s"+strings.Repeat("x", i)), []byte("v"), 0, t0))
	}
	for i := range 100 {
		sl.Delete([]byte("{a}s" + strings.Repeat("x", i)))
	}
	want("after compaction", big, TypeHash)
	var seen Type = 255
	sl.ScanTyped(0, 10, t0, func(key, _ []byte, typ Type, _ int64) {
		if string(key) == string(k) {
			seen = typ
		}
	})
	if seen != TypeHash {
		t.Fatalf("ScanTyped type = %v", seen)
	}
	must(sl.Set(k, []byte("s"), 0, t0))
	want("overwritten by Set", "s", TypeString)
	mustCheck(t, s)
}

func TestTypeNames(t *testing.T) {
	for typ := TypeString; typ <= TypeZSet; typ++ {
		if got, ok := ParseType(typ.String()); !ok || got != typ {
			t.Fatalf("ParseType(%q) = %v %v", typ.String(), got, ok)
		}
	}
	if _, ok := ParseType("stream"); ok {
		t.Fatal("ParseType accepted stream")
	}
}

func TestModify(t *testing.T) {
	s := newTestStore(Config{})
	defer s.Close()
	for _, v := range []string{"small", strings.Repeat("b", inlineMax+10)} {
		k := []byte("{m}" + v[:1])
		sl := s.Slot(slot.Of(k))
		sl.Lock()
		if err := sl.SetTyped(k, []byte(v), TypeHash, 0, t0); err != nil {
			t.Fatal(err)
		}
		tr := NewTracker()
		sl.Track(tr)
		if !sl.Modify(k, t0, func(value []byte) { value[0] = 'X' }) {
			t.Fatal("Modify missed an existing key")
		}
		if _, dirty := tr.Dirty[string(k)]; !dirty {
			t.Fatal("Modify did not record the write")
		}
		sl.Track(nil)
		got, _, typ, _ := sl.PeekTyped(k, t0)
		if string(got) != "X"+v[1:] || typ != TypeHash {
			t.Fatalf("after Modify: %.10q %v", got, typ)
		}
		if sl.Modify([]byte("{m}missing"), t0, func([]byte) { t.Fatal("fn called for a missing key") }) {
			t.Fatal("Modify found a missing key")
		}
		sl.Unlock()
	}
	mustCheck(t, s)
}

// TestSetTypedFunc rebuilds a value from its old self, as a large
// collection's rebuild does: fill reads the old value while writing the
// new one, small or large, new key or overwrite, and the write is
// tracked.
func TestSetTypedFunc(t *testing.T) {
	s := newTestStore(Config{})
	defer s.Close()
	for _, size := range []int{10, inlineMax + 10, 3 * inlineMax} {
		k := []byte(fmt.Sprintf("{f}%d", size))
		sl := s.Slot(slot.Of(k))
		sl.Lock()
		first := bytes.Repeat([]byte("ab"), size/2)
		if err := sl.SetTypedFunc(k, len(first), TypeSet, 0, t0, func(v []byte) { copy(v, first) }); err != nil {
			t.Fatal(err)
		}
		old, _, _, _ := sl.PeekTyped(k, t0)
		tr := NewTracker()
		sl.Track(tr)
		err := sl.SetTypedFunc(k, 2*len(old), TypeSet, t0+1000, t0, func(v []byte) {
			n := copy(v, old) // the old value is still readable
			copy(v[n:], bytes.ToUpper(old))
		})
		if err != nil {
			t.Fatal(err)
		}
		if _, dirty := tr.Dirty[string(k)]; !dirty {
			t.Fatal("SetTypedFunc did not record the write")
		}
		sl.Track(nil)
		got, exp, typ, _ := sl.PeekTyped(k, t0)
		want := string(first) + strings.ToUpper(string(first))
		if string(got) != want || typ != TypeSet || exp != t0+1000 {
			t.Fatalf("size %d: got %.20q (%d bytes) %v %d", size, got, len(got), typ, exp)
		}
		sl.Unlock()
	}
	mustCheck(t, s)
}
