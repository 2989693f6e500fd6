package linearize

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"strings"
	"sync"
	"testing"
	"time"
)

// newFake returns a Recorder whose clock ticks by one on every reading, so
// that operations built one after another never overlap.
func newFake(maxOps int) *Recorder {
	r := NewRecorder(maxOps)
	var t int64
	r.now = func() int64 { t++; return t }
	return r
}

func begin(t *testing.T, r *Recorder, client int, kind Kind, key, value string) *Pending {
	t.Helper()
	p, ok := r.Begin(client, kind, key, value)
	if !ok {
		t.Fatal("Begin refused")
	}
	return p
}

// set records an acknowledged Set that does not overlap anything.
func set(t *testing.T, r *Recorder, key, value string) {
	t.Helper()
	begin(t, r, 0, Set, key, value).Ok()
}

// get records a Get that does not overlap anything.
func get(t *testing.T, r *Recorder, key, value string, found bool) {
	t.Helper()
	begin(t, r, 0, Get, key, "").OkGet(value, found)
}

// del records a Del that does not overlap anything.
func del(t *testing.T, r *Recorder, key string, deleted int64) {
	t.Helper()
	begin(t, r, 0, Del, key, "").OkDel(deleted)
}

func mustPass(t *testing.T, r *Recorder) {
	t.Helper()
	if err := r.Check(10 * time.Second); err != nil {
		t.Fatalf("Check: %v", err)
	}
}

// mustFail checks that Check reports exactly the keys bad and wrote its
// visualization, which it then removes.
func mustFail(t *testing.T, r *Recorder, bad ...string) {
	t.Helper()
	err := r.Check(10 * time.Second)
	if !errors.Is(err, ErrNotLinearizable) {
		t.Fatalf("Check = %v, want ErrNotLinearizable", err)
	}
	msg := err.Error()
	want := make([]string, len(bad))
	for i, k := range bad {
		want[i] = fmt.Sprintf("%q", k)
	}
	if !strings.Contains(msg, "keys "+strings.Join(want, ", ")+";") {
		t.Errorf("Check = %q, want keys %v", msg, want)
	}
	_, path, ok := strings.Cut(msg, "visualization: ")
	if !ok {
		t.Fatalf("Check = %q, no visualization", msg)
	}
	if fi, err := os.Stat(path); err != nil || fi.Size() == 0 {
		t.Errorf("visualization %s: %v", path, err)
	}
	os.Remove(path)
}

func TestLinearizableConcurrent(t *testing.T) {
	r := newFake(100)
	// A Get overlapping a Set may see either value.
	set(t, r, "x", "a")
	w := begin(t, r, 0, Set, "x", "b")
	g1 := begin(t, r, 1, Get, "x", "")
	g2 := begin(t, r, 2, Get, "x", "")
	g1.OkGet("b", true)
	g2.OkGet("a", true)
	w.Ok()
	get(t, r, "x", "b", true)
	// Concurrent Dels: exactly one removes the key.
	d1 := begin(t, r, 1, Del, "x", "")
	d2 := begin(t, r, 2, Del, "x", "")
	d2.OkDel(1)
	d1.OkDel(0)
	get(t, r, "x", "", false)
	// An unrelated key in sequence.
	get(t, r, "y", "", false)
	set(t, r, "y", "1")
	del(t, r, "y", 1)
	del(t, r, "y", 0)
	mustPass(t, r)
}

func TestStaleRead(t *testing.T) {
	r := newFake(100)
	set(t, r, "good", "1")
	set(t, r, "x", "a")
	set(t, r, "x", "b")
	get(t, r, "good", "1", true)
	get(t, r, "x", "a", true) // b was acknowledged before this Get began
	mustFail(t, r, "x")
}

func TestLostWrite(t *testing.T) {
	r := newFake(100)
	set(t, r, "k1", "a")
	get(t, r, "k1", "", false)
	set(t, r, "k2", "a")
	get(t, r, "k2", "a", true)
	mustFail(t, r, "k1")
}

func TestWrongDelCount(t *testing.T) {
	r := newFake(100)
	del(t, r, "k", 1) // nothing to delete
	set(t, r, "j", "a")
	del(t, r, "j", 0) // j was present
	mustFail(t, r, "j", "k")
}

func TestUnknownWrites(t *testing.T) {
	t.Run("applied late", func(t *testing.T) {
		r := newFake(100)
		set(t, r, "x", "a")
		begin(t, r, 0, Set, "x", "b").Unknown()
		get(t, r, "x", "a", true)
		get(t, r, "x", "b", true)
		get(t, r, "x", "b", true)
		mustPass(t, r)
	})
	t.Run("never applied", func(t *testing.T) {
		r := newFake(100)
		set(t, r, "x", "a")
		begin(t, r, 0, Set, "x", "b").Unknown()
		begin(t, r, 1, Del, "x", "").Unknown()
		get(t, r, "x", "a", true)
		get(t, r, "x", "a", true)
		mustPass(t, r)
	})
	t.Run("del applied", func(t *testing.T) {
		r := newFake(100)
		set(t, r, "x", "a")
		begin(t, r, 0, Del, "x", "").Unknown()
		get(t, r, "x", "a", true)
		get(t, r, "x", "", false)
		mustPass(t, r)
	})
	t.Run("open ops are unknown", func(t *testing.T) {
		r := newFake(100)
		begin(t, r, 0, Set, "x", "a") // never completed
		begin(t, r, 1, Get, "x", "")  // never completed
		get(t, r, "x", "a", true)
		mustPass(t, r)
	})
	t.Run("not before the call", func(t *testing.T) {
		r := newFake(100)
		get(t, r, "x", "b", true)
		begin(t, r, 0, Set, "x", "b").Unknown()
		mustFail(t, r, "x")
	})
	t.Run("applied at most once", func(t *testing.T) {
		r := newFake(100)
		begin(t, r, 0, Set, "x", "b").Unknown()
		get(t, r, "x", "b", true)
		set(t, r, "x", "c")
		get(t, r, "x", "c", true)
		get(t, r, "x", "b", true)
		mustFail(t, r, "x")
	})
}

func TestFailAndUnknownGetIgnored(t *testing.T) {
	r := newFake(100)
	set(t, r, "x", "a")
	begin(t, r, 0, Set, "x", "b").Fail()
	begin(t, r, 0, Del, "x", "").Fail()
	begin(t, r, 1, Get, "x", "").Fail()
	begin(t, r, 1, Get, "x", "").Unknown()
	get(t, r, "x", "a", true)
	mustPass(t, r)
	if got := r.Len(); got != 6 {
		t.Errorf("Len = %d, want 6", got)
	}
}

func TestMaxOps(t *testing.T) {
	r := newFake(3)
	for i := 0; i < 3; i++ {
		if r.Full() {
			t.Fatalf("Full after %d of 3 operations", i)
		}
		set(t, r, "x", fmt.Sprint(i))
	}
	if !r.Full() {
		t.Error("not Full after maxOps operations")
	}
	if p, ok := r.Begin(0, Get, "x", ""); ok || p != nil {
		t.Fatalf("Begin past maxOps = %v, %v; want nil, false", p, ok)
	}
	if got := r.Len(); got != 3 {
		t.Errorf("Len = %d, want 3", got)
	}
	mustPass(t, r)
}

func TestMisusePanics(t *testing.T) {
	for name, f := range map[string]func(r *Recorder){
		"twice":      func(r *Recorder) { p, _ := r.Begin(0, Set, "x", "a"); p.Ok(); p.Fail() },
		"wrong kind": func(r *Recorder) { p, _ := r.Begin(0, Get, "x", ""); p.Ok() },
	} {
		t.Run(name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Error("no panic")
				}
			}()
			f(newFake(10))
		})
	}
}

func TestEmpty(t *testing.T) {
	mustPass(t, NewRecorder(10))
}

// TestTimeout builds a history that has no linearization but that porcupine
// can only refute by trying every subset of n concurrent Sets (about n*2^n
// states), and checks that running out of time is an error.
func TestTimeout(t *testing.T) {
	const n = 24
	r := newFake(n + 1)
	ps := make([]*Pending, n)
	for i := range ps {
		ps[i] = begin(t, r, i, Set, "x", fmt.Sprint(i))
	}
	g := begin(t, r, n, Get, "x", "")
	for _, p := range ps {
		p.Ok()
	}
	g.OkGet("never written", true)

	start := time.Now()
	err := r.Check(20 * time.Millisecond)
	if !errors.Is(err, ErrTimeout) {
		t.Fatalf("Check = %v, want ErrTimeout", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("Check took %v after a 20ms timeout", d)
	}
}

// TestConcurrentSmoke runs clients against a mutex-protected map, which is
// linearizable, including writes whose replies are lost.
func TestConcurrentSmoke(t *testing.T) {
	const clients, maxOps = 8, 2000
	keys := []string{"a", "b", "c", "d"}
	r := NewRecorder(maxOps)
	var mu sync.Mutex
	m := make(map[string]string)

	var wg sync.WaitGroup
	for c := 0; c < clients; c++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(1, uint64(c)))
			for i := 0; ; i++ {
				kind, key := Kind(rng.IntN(3)), keys[rng.IntN(len(keys))]
				value := fmt.Sprintf("%d-%d", c, i)
				p, ok := r.Begin(c, kind, key, value)
				if !ok {
					return
				}
				x := rng.IntN(100)
				if x < 3 { // failed before sending
					p.Fail()
					continue
				}
				lost := x < 6 // timed out after sending: applied or not
				mu.Lock()
				v, found := m[key]
				if !lost || rng.IntN(2) == 0 {
					switch kind {
					case Set:
						m[key] = value
					case Del:
						delete(m, key)
					}
				}
				mu.Unlock()
				if lost {
					p.Unknown()
					continue
				}
				switch kind {
				case Get:
					p.OkGet(v, found)
				case Set:
					p.Ok()
				case Del:
					var n int64
					if found {
						n = 1
					}
					p.OkDel(n)
				}
			}
		}()
	}
	wg.Wait()
	if got := r.Len(); got != maxOps {
		t.Fatalf("Len = %d, want %d", got, maxOps)
	}
	mustPass(t, r)
}
