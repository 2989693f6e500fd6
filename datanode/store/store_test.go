package store

import (
	"bytes"
	"fmt"
	"runtime"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/chkv/chkv/common/slot"
)

const t0 = int64(1_700_000_000_000) // a Unix ms clock reading

func TestSetGetOverwrite(t *testing.T) {
	s := newTestStore(Config{})
	defer s.Close()
	set(s, "a", "1", 0, t0)
	if v, exp, ok := get(s, "a", t0); !ok || v != "1" || exp != 0 {
		t.Fatalf("get a = %q %d %v", v, exp, ok)
	}
	if _, _, ok := get(s, "b", t0); ok {
		t.Fatal("get b found a missing key")
	}
	// Larger, smaller, same size, empty.
	for _, v := range []string{"22", strings.Repeat("x", 300), "333", "444", "", "5"} {
		set(s, "a", v, 0, t0)
		if got, _, ok := get(s, "a", t0); !ok || got != v {
			t.Fatalf("after set %q: got %q %v", v, got, ok)
		}
		mustCheck(t, s)
	}
	if s.Len() != 1 || s.Slot(slot.OfString("a")).Len() != 1 {
		t.Fatalf("Len = %d, slot Len = %d", s.Len(), s.Slot(slot.OfString("a")).Len())
	}
}

func TestEmptyAndBinaryKeys(t *testing.T) {
	s := newTestStore(Config{})
	defer s.Close()
	keys := []string{"", "\x00", "\x00\x00", "\xff\xfe", "a\x00b", strings.Repeat("\x80", 200), strings.Repeat("k", 70000)}
	for i, k := range keys {
		set(s, k, fmt.Sprint(i), 0, t0)
	}
	for i, k := range keys {
		if v, _, ok := get(s, k, t0); !ok || v != fmt.Sprint(i) {
			t.Fatalf("key %q: got %q %v", k[:min(len(k), 10)], v, ok)
		}
	}
	set(s, "", "", 0, t0)
	if v, _, ok := get(s, "", t0); !ok || v != "" {
		t.Fatalf("empty key: %q %v", v, ok)
	}
	if s.Len() != len(keys) {
		t.Fatalf("Len = %d, want %d", s.Len(), len(keys))
	}
	mustCheck(t, s)
	for _, k := range keys {
		if !del(s, k) {
			t.Fatalf("delete %q failed", k[:min(len(k), 10)])
		}
	}
	mustCheck(t, s)
	if s.Len() != 0 || s.UsedBytes() != 0 {
		t.Fatalf("after deletes: Len %d UsedBytes %d", s.Len(), s.UsedBytes())
	}
}

func TestOutOfLineValues(t *testing.T) {
	s := newTestStore(Config{})
	defer s.Close()
	sizes := []int{inlineMax - 1, inlineMax, inlineMax + 1, 3 * inlineMax, 1 << 20, 1<<20 + 1, 3<<20 + 5, 100, 0, 20000, 20000}
	for i, n := range sizes {
		v := bytesOf(n, byte(i))
		set(s, "big", string(v), 0, t0)
		set(s, fmt.Sprintf("big%d", i), string(v), 0, t0)
		mustCheck(t, s)
		got, _, ok := get(s, "big", t0)
		if !ok || got != string(v) {
			t.Fatalf("size %d: got %d bytes, ok %v", n, len(got), ok)
		}
	}
	for i, n := range sizes {
		got, _, ok := get(s, fmt.Sprintf("big%d", i), t0)
		if !ok || got != string(bytesOf(n, byte(i))) {
			t.Fatalf("big%d: wrong value", i)
		}
	}
	if u := s.UsedBytes(); u < 5<<20 {
		t.Fatalf("UsedBytes %d does not count the large values", u)
	}
	s.Flush()
	mustCheck(t, s)
	if s.UsedBytes() != 0 || s.Len() != 0 {
		t.Fatalf("after Flush: UsedBytes %d, Len %d", s.UsedBytes(), s.Len())
	}
}

func TestSetFromStoreMemory(t *testing.T) {
	// Values and keys returned by the store may be passed back to Set,
	// even when the Set moves the slab they point into.
	s := newTestStore(Config{})
	defer s.Close()
	id := slot.OfString("{t}")
	sl := s.Slot(id)
	sl.Lock()
	defer sl.Unlock()
	for _, n := range []int{10, 5000, inlineMax + 10, 1 << 20} {
		want := bytesOf(n, byte(n))
		sl.Set([]byte("{t}src"), want, 0, t0)
		for i := range 200 {
			v, _, _ := sl.Get([]byte("{t}src"), t0)
			sl.Set([]byte(fmt.Sprintf("{t}dst%d", i)), v, 0, t0) // slab grows
		}
		for i := range 200 {
			v, _, ok := sl.Get([]byte(fmt.Sprintf("{t}dst%d", i)), t0)
			if !ok || !bytes.Equal(v, want) {
				t.Fatalf("size %d: copy %d differs", n, i)
			}
		}
		// Overwrite a key with its own value, resized, with a TTL change.
		v, _, _ := sl.Get([]byte("{t}src"), t0)
		sl.Set([]byte("{t}src"), v, t0+1000, t0)
		v, _, _ = sl.Get([]byte("{t}src"), t0)
		sl.Set([]byte("{t}src"), v[:len(v)/2], 0, t0)
		if v, _, _ := sl.Get([]byte("{t}src"), t0); !bytes.Equal(v, want[:len(want)/2]) {
			t.Fatalf("size %d: self overwrite differs", n)
		}
		// A key read from the slab can name the key to set.
		sl.Scan(0, 1, t0, func(key []byte, _ int64) {})
		var k []byte
		sl.ForEach(t0, func(key, _ []byte, _ int64) bool { k = key; return false })
		sl.Set(k, want[:7], 0, t0)
		if v, _, _ := sl.Get(k, t0); !bytes.Equal(v, want[:7]) {
			t.Fatalf("set through a stored key failed")
		}
		for i := range 200 {
			sl.Delete([]byte(fmt.Sprintf("{t}dst%d", i)))
		}
	}
	if err := sl.check(); err != nil {
		t.Fatal(err)
	}
}

func TestReadsKeepEarlierResults(t *testing.T) {
	// A Get that drops an expired key must not move or free other values.
	s := newTestStore(Config{})
	defer s.Close()
	sl := s.Slot(slot.OfString("{r}"))
	sl.Lock()
	defer sl.Unlock()
	for i := range 100 {
		sl.Set([]byte(fmt.Sprintf("{r}k%d", i)), bytesOf(40, byte(i)), t0+10, t0)
	}
	sl.Set([]byte("{r}keep"), []byte("kept value"), 0, t0)
	sl.Set([]byte("{r}big"), bytesOf(inlineMax+1, 9), 0, t0)
	v1, _, _ := sl.Get([]byte("{r}keep"), t0+100)
	v2, _, _ := sl.Peek([]byte("{r}big"), t0+100)
	for i := range 100 {
		if _, _, ok := sl.Get([]byte(fmt.Sprintf("{r}k%d", i)), t0+100); ok {
			t.Fatal("expired key returned")
		}
	}
	if string(v1) != "kept value" || !bytes.Equal(v2, bytesOf(inlineMax+1, 9)) {
		t.Fatal("an earlier result changed under reads")
	}
	if sl.Len() != 2 {
		t.Fatalf("slot Len = %d, want 2", sl.Len())
	}
}

func TestExpiryLazy(t *testing.T) {
	s := newTestStore(Config{})
	defer s.Close()
	set(s, "k", "v", t0+100, t0)
	set(s, "p", "v", 0, t0)
	if _, exp, ok := get(s, "k", t0+99); !ok || exp != t0+100 {
		t.Fatalf("live key: exp %d ok %v", exp, ok)
	}
	if _, _, ok := peek(s, "k", t0+100); ok {
		t.Fatal("Peek returned a key at its expiry time")
	}
	if s.Len() != 1 || s.Stats().ExpiredKeys != 1 {
		t.Fatalf("Len %d, expired %d", s.Len(), s.Stats().ExpiredKeys)
	}
	set(s, "k2", "v", t0+100, t0)
	if _, _, ok := get(s, "k2", t0+200); ok {
		t.Fatal("Get returned an expired key")
	}
	if s.Stats().ExpiredKeys != 2 {
		t.Fatalf("expired %d, want 2", s.Stats().ExpiredKeys)
	}
	// Delete removes an expired key and reports it present.
	set(s, "k3", "v", t0+100, t0)
	if !del(s, "k3") {
		t.Fatal("Delete of an expired, unread key reported absent")
	}
	// Set over an expired key revives it with the new expiry.
	set(s, "k4", "old", t0+100, t0)
	set(s, "k4", "new", 0, t0+200)
	if v, exp, ok := get(s, "k4", t0+300); !ok || v != "new" || exp != 0 {
		t.Fatalf("k4 = %q %d %v", v, exp, ok)
	}
	mustCheck(t, s)
}

func TestSetExpire(t *testing.T) {
	s := newTestStore(Config{})
	defer s.Close()
	if setExpire(s, "missing", t0+10, t0) {
		t.Fatal("SetExpire on a missing key")
	}
	set(s, "k", "value", 0, t0)
	set(s, "big", string(bytesOf(inlineMax+1, 3)), 0, t0)
	for _, k := range []string{"k", "big"} {
		want, _, _ := get(s, k, t0)
		for _, exp := range []int64{t0 + 1000, t0 + 2000, 0, 0, t0 + 500} {
			if !setExpire(s, k, exp, t0) {
				t.Fatalf("SetExpire(%s, %d) failed", k, exp)
			}
			if v, got, ok := get(s, k, t0); !ok || got != exp || v != want {
				t.Fatalf("after SetExpire(%s, %d): exp %d ok %v", k, exp, got, ok)
			}
			mustCheck(t, s)
		}
		if setExpire(s, k, 0, t0+500) {
			t.Fatal("SetExpire on an expired key")
		}
	}
	if s.Len() != 0 {
		t.Fatalf("Len %d", s.Len())
	}
}

func TestDeleteAndCompaction(t *testing.T) {
	s := newTestStore(Config{})
	defer s.Close()
	const n = 5000
	for i := range n {
		set(s, fmt.Sprintf("{c}%d", i), strings.Repeat("v", i%50), 0, t0)
	}
	full := s.UsedBytes()
	for i := range n {
		if i%8 != 0 && !del(s, fmt.Sprintf("{c}%d", i)) {
			t.Fatalf("delete %d failed", i)
		}
	}
	if del(s, "{c}1") {
		t.Fatal("second delete reported present")
	}
	mustCheck(t, s)
	if used := s.UsedBytes(); used > full/4 {
		t.Fatalf("UsedBytes %d after deleting 7/8 of %d", used, full)
	}
	if a := s.Memory().Allocated; a > full/4 {
		t.Fatalf("Allocated %d after deleting 7/8 of %d: no compaction", a, full)
	}
	for i := 0; i < n; i += 8 {
		if v, _, ok := get(s, fmt.Sprintf("{c}%d", i), t0); !ok || v != strings.Repeat("v", i%50) {
			t.Fatalf("key %d lost", i)
		}
	}
}

func TestDropSlotAndFlushFreeMemory(t *testing.T) {
	s := newTestStore(Config{})
	defer s.Close()
	for i := range 20000 {
		set(s, fmt.Sprintf("key:%d", i), strings.Repeat("v", i%100), int64(i%2)*(t0+1e6), t0)
	}
	set(s, "{x}big", string(bytesOf(2<<20, 1)), 0, t0)
	set(s, "{x}mid", string(bytesOf(50000, 1)), 0, t0)
	id := slot.OfString("{x}")
	before, n := s.UsedBytes(), s.Len()
	slotKeys := s.Slot(id).Len()
	s.DropSlot(id)
	if s.Slot(id).Len() != 0 || s.Len() != n-slotKeys || s.UsedBytes() >= before-2<<20 {
		t.Fatalf("DropSlot: slot Len %d, Len %d, UsedBytes %d -> %d", s.Slot(id).Len(), s.Len(), before, s.UsedBytes())
	}
	mustCheck(t, s)
	s.Flush()
	mustCheck(t, s)
	if s.Len() != 0 || s.UsedBytes() != 0 || s.Memory().Allocated != 0 {
		t.Fatalf("after Flush: Len %d, %+v", s.Len(), s.Memory())
	}
	// The store is usable after Flush.
	set(s, "a", "b", 0, t0)
	if v, _, _ := get(s, "a", t0); v != "b" {
		t.Fatal("store unusable after Flush")
	}
}

func TestUsedBytesTracksKeys(t *testing.T) {
	s := newTestStore(Config{})
	defer s.Close()
	if s.UsedBytes() != 0 {
		t.Fatal("empty store uses memory")
	}
	for i := range 10000 {
		set(s, fmt.Sprintf("key:%012d", i), strings.Repeat("v", 32), 0, t0)
	}
	per := float64(s.UsedBytes()) / 10000
	if per < 55 || per > 200 {
		t.Fatalf("%.1f bytes per 16+32-byte key", per)
	}
	u := s.UsedBytes()
	del(s, "key:000000000001")
	if s.UsedBytes() >= u {
		t.Fatal("Delete did not lower UsedBytes")
	}
}

func TestExpireCycle(t *testing.T) {
	s := newTestStore(Config{})
	defer s.Close()
	const n = 3000
	for i := range n {
		set(s, fmt.Sprintf("v%d", i), "x", t0+100, t0)
		set(s, fmt.Sprintf("p%d", i), "x", 0, t0)
		set(s, fmt.Sprintf("{one}v%d", i), "x", t0+100, t0) // one big slot
	}
	set(s, "late", "x", t0+1e6, t0)
	if got := s.ExpireCycle(t0+50, 1e9); got != 0 {
		t.Fatalf("removed %d keys before their expiry", got)
	}
	total, calls := 0, 0
	for s.Len() > n+1 {
		got := s.ExpireCycle(t0+100, 100)
		if got > 100 {
			t.Fatalf("a cycle with maxWork 100 removed %d keys", got)
		}
		total += got
		if calls++; calls > 1000 {
			t.Fatalf("ExpireCycle made no progress: %d keys left", s.Len())
		}
	}
	if total != 2*n || s.Stats().ExpiredKeys != 2*n {
		t.Fatalf("removed %d, stats %d, want %d", total, s.Stats().ExpiredKeys, 2*n)
	}
	if !exists(s, "late", t0+100) || !exists(s, "p7", t0+100) {
		t.Fatal("ExpireCycle removed a live key")
	}
	mustCheck(t, s)
	// Lazy expiry leaves garbage that ExpireCycle reclaims.
	for i := range n {
		set(s, fmt.Sprintf("{g}%d", i), strings.Repeat("y", 100), t0+200, t0)
	}
	for i := range n {
		get(s, fmt.Sprintf("{g}%d", i), t0+300)
	}
	if s.Memory().Garbage == 0 {
		t.Fatal("lazy expiry left no garbage")
	}
	s.ExpireCycle(t0+300, 1e9)
	if g := s.Memory().Garbage; g != 0 {
		t.Fatalf("garbage %d left after ExpireCycle", g)
	}
	mustCheck(t, s)
}

// scanAll runs a full Scan of sl with the given count and checks its order
// and cursors; it calls between after every call, unlocked.
func scanAll(t *testing.T, sl *Slot, count int, now int64, between func()) []string {
	t.Helper()
	var keys []string
	var cursor uint32
	for calls := 0; ; calls++ {
		sl.Lock()
		var hashes []uint32
		next, done := sl.Scan(cursor, count, now, func(key []byte, _ int64) {
			h := hashKey(key)
			if h < cursor {
				t.Fatalf("key hash %08x below cursor %08x", h, cursor)
			}
			hashes = append(hashes, h)
			keys = append(keys, string(key))
		})
		sl.Unlock()
		if !sort.SliceIsSorted(hashes, func(i, j int) bool { return hashes[i] < hashes[j] }) {
			t.Fatal("Scan returned keys out of hash order")
		}
		if done {
			return keys
		}
		if len(hashes) < count {
			t.Fatalf("Scan returned %d < %d keys without finishing", len(hashes), count)
		}
		if next <= hashes[len(hashes)-1] {
			t.Fatalf("next cursor %08x does not pass the last hash %08x", next, hashes[len(hashes)-1])
		}
		cursor = next
		if between != nil {
			between()
		}
	}
}

func TestScan(t *testing.T) {
	s := newTestStore(Config{})
	defer s.Close()
	id := slot.OfString("{s}")
	sl := s.Slot(id)
	want := map[string]bool{}
	for i := range 2000 {
		k := fmt.Sprintf("{s}%d", i)
		set(s, k, "v", 0, t0)
		want[k] = true
	}
	set(s, "{s}expired", "v", t0+1, t0)
	for _, count := range []int{1, 3, 10, 100, 5000} {
		got := scanAll(t, sl, count, t0+10, nil)
		if len(got) != len(want) {
			t.Fatalf("count %d: %d keys, want %d", count, len(got), len(want))
		}
		for _, k := range got {
			if !want[k] {
				t.Fatalf("count %d: unexpected key %q", count, k)
			}
		}
	}
	// An empty slot scans as done.
	empty := s.Slot(slot.OfString("nothing-here"))
	empty.Lock()
	if _, done := empty.Scan(0, 10, t0, func([]byte, int64) { t.Fatal("key in empty slot") }); !done {
		t.Fatal("empty slot scan not done")
	}
	empty.Unlock()
}

func TestScanKeepsEqualHashesTogether(t *testing.T) {
	// Find keys of one slot whose 32-bit hashes collide.
	byHash := map[uint32]string{}
	var pairs [][2]string
	for i := 0; len(pairs) < 3; i++ {
		k := fmt.Sprintf("{h}%d", i)
		h := hashKey([]byte(k))
		if o, ok := byHash[h]; ok {
			pairs = append(pairs, [2]string{o, k})
		}
		byHash[h] = k
	}
	s := newTestStore(Config{})
	defer s.Close()
	sl := s.Slot(slot.OfString("{h}"))
	for i := range 300 {
		set(s, fmt.Sprintf("{h}x%d", i), "v", 0, t0)
	}
	for _, p := range pairs {
		set(s, p[0], "v", 0, t0)
		set(s, p[1], "v", 0, t0)
	}
	mustCheck(t, s)
	for _, p := range pairs {
		h := hashKey([]byte(p[0]))
		sl.Lock()
		var got []string
		next, done := sl.Scan(h, 1, t0, func(key []byte, _ int64) { got = append(got, string(key)) })
		sl.Unlock()
		slices.Sort(got)
		want := []string{p[0], p[1]}
		slices.Sort(want)
		if !slices.Equal(got, want) || done || next == h {
			t.Fatalf("Scan(%08x, 1) = %q, next %08x, done %v; want the colliding pair", h, got, next, done)
		}
		if !del(s, p[0]) || !exists(s, p[1], t0) {
			t.Fatal("deleting one of a colliding pair lost the other")
		}
	}
	mustCheck(t, s)
}

func TestScanWhileModified(t *testing.T) {
	// Keys present throughout a scan are returned, though keys are added
	// and removed between calls and the index grows and shrinks.
	s := newTestStore(Config{})
	defer s.Close()
	sl := s.Slot(slot.OfString("{m}"))
	stable := map[string]bool{}
	for i := range 500 {
		k := fmt.Sprintf("{m}stable%d", i)
		set(s, k, "v", 0, t0)
		stable[k] = true
	}
	extra := 0
	for round := range 4 {
		calls := 0
		between := func() {
			sl.Lock()
			defer sl.Unlock()
			if calls++; calls > 10 {
				return
			}
			for range 300 {
				if round%2 == 0 { // grow
					sl.Set([]byte(fmt.Sprintf("{m}extra%d", extra)), []byte("v"), 0, t0)
					extra++
				} else if extra > 0 { // shrink
					extra--
					sl.Delete([]byte(fmt.Sprintf("{m}extra%d", extra)))
				}
			}
		}
		got := map[string]bool{}
		for _, k := range scanAll(t, sl, 20, t0, between) {
			got[k] = true
		}
		for k := range stable {
			if !got[k] {
				t.Fatalf("round %d: stable key %q not returned", round, k)
			}
		}
		if err := sl.check(); err != nil {
			t.Fatal(err)
		}
	}
}

func TestForEach(t *testing.T) {
	s := newTestStore(Config{})
	defer s.Close()
	sl := s.Slot(slot.OfString("{f}"))
	want := map[string]string{}
	for i := range 100 {
		k, v := fmt.Sprintf("{f}%d", i), fmt.Sprint(i*i)
		set(s, k, v, 0, t0)
		want[k] = v
	}
	set(s, "{f}big", string(bytesOf(inlineMax*2, 5)), t0+1000, t0)
	want["{f}big"] = string(bytesOf(inlineMax*2, 5))
	set(s, "{f}gone", "v", t0+1, t0)
	got := map[string]string{}
	sl.Lock()
	sl.ForEach(t0+10, func(key, value []byte, exp int64) bool {
		if (string(key) == "{f}big") != (exp != 0) {
			t.Errorf("key %q expireAt %d", key, exp)
		}
		got[string(key)] = string(value)
		return true
	})
	n := 0
	sl.ForEach(t0+10, func(key, value []byte, exp int64) bool { n++; return n < 5 })
	sl.Unlock()
	if len(got) != len(want) {
		t.Fatalf("ForEach visited %d keys, want %d", len(got), len(want))
	}
	for k, v := range want {
		if got[k] != v {
			t.Fatalf("ForEach: %q = %q, want %q", k, got[k], v)
		}
	}
	if n != 5 {
		t.Fatalf("ForEach went on after false: %d calls", n)
	}
}

func TestRandomKey(t *testing.T) {
	s := newTestStore(Config{Seed: 1})
	defer s.Close()
	if _, ok := s.RandomKey(t0); ok {
		t.Fatal("RandomKey on an empty store")
	}
	set(s, "only", "v", 0, t0)
	if k, ok := s.RandomKey(t0); !ok || string(k) != "only" {
		t.Fatalf("RandomKey = %q %v", k, ok)
	}
	set(s, "dead", "v", t0+1, t0)
	del(s, "only")
	if _, ok := s.RandomKey(t0 + 10); ok {
		t.Fatal("RandomKey returned an expired key")
	}
	seen := map[string]int{}
	for i := range 100 {
		set(s, fmt.Sprint(i), "v", 0, t0)
	}
	for range 2000 {
		k, ok := s.RandomKey(t0 + 10)
		if !ok {
			t.Fatal("RandomKey found nothing")
		}
		seen[string(k)]++
	}
	if len(seen) < 80 {
		t.Fatalf("RandomKey returned only %d distinct keys of 100", len(seen))
	}
}

func TestLockSlots(t *testing.T) {
	s := newTestStore(Config{})
	defer s.Close()
	ids := []int{5, 3, 5, 9000, 3}
	unlock := s.LockSlots(ids)
	if !slices.Equal(ids[:3], []int{3, 5, 9000}) {
		t.Fatalf("ids = %v", ids)
	}
	for _, id := range []int{3, 5, 9000} {
		if s.Slot(id).mu.TryLock() {
			t.Fatalf("slot %d not locked", id)
		}
	}
	unlock()
	for _, id := range []int{3, 5, 9000} {
		if !s.Slot(id).mu.TryLock() {
			t.Fatalf("slot %d still locked", id)
		}
		s.Slot(id).mu.Unlock()
	}
}

func TestCloseReleasesMemory(t *testing.T) {
	s := newTestStore(Config{})
	for i := range 10000 {
		set(s, fmt.Sprint(i), "v", 0, t0)
	}
	set(s, "huge", string(bytesOf(3<<20, 1)), 0, t0)
	if s.Memory().Mapped == 0 {
		t.Fatal("no memory mapped")
	}
	s.Close()
	if m := s.Memory(); m.Mapped != 0 || m.Allocated != 0 {
		t.Fatalf("after Close: %+v", m)
	}
}

func TestPolicyNames(t *testing.T) {
	for p := NoEviction; p <= VolatileTTL; p++ {
		q, err := ParsePolicy(p.String())
		if err != nil || q != p {
			t.Fatalf("ParsePolicy(%q) = %v, %v", p.String(), q, err)
		}
	}
	if _, err := ParsePolicy("bogus"); err == nil {
		t.Fatal("ParsePolicy accepted a bogus name")
	}
	if !VolatileLFU.Volatile() || AllKeysLRU.Volatile() {
		t.Fatal("Volatile() wrong")
	}
	if Policy(42).String() != "Policy(42)" {
		t.Fatal(Policy(42).String())
	}
}

func TestScanConcurrentWriters(t *testing.T) {
	// As TestScanWhileModified, with the changes made by other goroutines
	// while the scan runs.
	s := newTestStore(Config{})
	defer s.Close()
	sl := s.Slot(slot.OfString("{w}"))
	stable := map[string]bool{}
	for i := range 300 {
		k := fmt.Sprintf("{w}stable%d", i)
		set(s, k, "v", 0, t0)
		stable[k] = true
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for w := range 2 {
		wg.Go(func() {
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				k := []byte(fmt.Sprintf("{w}extra%d-%d", w, i%2000))
				sl.Lock()
				if i%4000 < 2000 {
					sl.Set(k, []byte("v"), 0, t0)
				} else {
					sl.Delete(k)
				}
				sl.Unlock()
			}
		})
	}
	for range 20 {
		got := map[string]bool{}
		for _, k := range scanAll(t, sl, 5, t0, runtime.Gosched) {
			got[k] = true
		}
		for k := range stable {
			if !got[k] {
				close(stop)
				wg.Wait()
				t.Fatalf("stable key %q not returned", k)
			}
		}
	}
	close(stop)
	wg.Wait()
	mustCheck(t, s)
}

func TestFlushReturnsMemoryToOS(t *testing.T) {
	if runtime.GOOS != "linux" || raceEnabled {
		t.Skip("needs the Linux arena, and the race detector's own memory clouds RSS")
	}
	rss0 := settledRSS(t)
	s := New(Config{})
	defer s.Close()
	loadKeys(s, 300_000)
	rss1 := settledRSS(t)
	s.Flush()
	rss2 := settledRSS(t)
	t.Logf("RSS +%d KiB loaded, +%d KiB after Flush", (rss1-rss0)>>10, (rss2-rss0)>>10)
	if rss1-rss0 < 15<<20 {
		t.Fatalf("300k keys took only %d bytes of RSS: cannot measure", rss1-rss0)
	}
	if rss2-rss0 > 8<<20 {
		t.Fatalf("Flush left %d of %d bytes resident", rss2-rss0, rss1-rss0)
	}
}

func TestVolatileLen(t *testing.T) {
	s := newTestStore(Config{})
	defer s.Close()
	for i := range 100 {
		set(s, fmt.Sprint(i), "v", int64(i%2)*(t0+1000), t0)
	}
	if n := s.VolatileLen(); n != 50 {
		t.Fatalf("VolatileLen = %d, want 50", n)
	}
	setExpire(s, "0", t0+1000, t0) // gains a TTL
	setExpire(s, "1", 0, t0)       // loses it
	set(s, "3", "w", 0, t0)        // overwritten without one
	del(s, "5")
	if n := s.VolatileLen(); n != 48 {
		t.Fatalf("VolatileLen = %d, want 48", n)
	}
	s.ExpireCycle(t0+1000, 1e9)
	if n := s.VolatileLen(); n != 0 || s.Len() != 51 {
		t.Fatalf("after expiry: VolatileLen %d, Len %d", n, s.Len())
	}
}

func TestEmptiedSlotKeepsSmallBlocks(t *testing.T) {
	s := newTestStore(Config{})
	defer s.Close()
	set(s, "k", "v", 0, t0)
	allocated := s.Memory().Allocated
	del(s, "k")
	if m := s.Memory(); m.Used != 0 || m.Idle != allocated || m.Allocated != allocated {
		t.Fatalf("after deleting the only key: %+v, had %d allocated", m, allocated)
	}
	set(s, "k", "w", 0, t0) // reuses the blocks
	if m := s.Memory(); m.Idle != 0 || m.Allocated != allocated {
		t.Fatalf("after a new key: %+v", m)
	}
	mustCheck(t, s)
	// A slot that held many keys frees its blocks once empty.
	for i := range 1000 {
		set(s, fmt.Sprintf("{k}%d", i), strings.Repeat("v", 100), 0, t0)
	}
	for i := range 1000 {
		del(s, fmt.Sprintf("{k}%d", i))
	}
	if m := s.Memory(); m.Idle > 2*(keepSlab+keepIndex*8) {
		t.Fatalf("after emptying a big slot: %+v", m)
	}
	mustCheck(t, s)
	// So does one emptied at once by ExpireCycle.
	for i := range 1000 {
		set(s, fmt.Sprintf("{e}%d", i), strings.Repeat("v", 100), t0+10, t0)
	}
	s.ExpireCycle(t0+10, 1e9)
	if m := s.Memory(); m.Idle > 4*(keepSlab+keepIndex*8) {
		t.Fatalf("after expiring a big slot: %+v", m)
	}
	s.DropSlot(slot.OfString("k"))
	s.DropSlot(slot.OfString("{k}"))
	s.DropSlot(slot.OfString("{e}"))
	if m := s.Memory(); m.Allocated != 0 || m.Idle != 0 {
		t.Fatalf("after DropSlot: %+v", m)
	}
}
