package store

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/chkv/chkv/common/slot"
)

// TestConcurrentOwnKeys runs goroutines that share slots but each own their
// keys, so each can check every result against its own model while the
// others grow, compact and shrink the same slabs and indexes.
func TestConcurrentOwnKeys(t *testing.T) {
	s := newTestStore(Config{})
	defer s.Close()
	const workers, steps = 8, 4000
	tags := []string{"{a}", "{b}", "{c}", ""}
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for w := range workers {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(w), 1))
			own := map[string][]byte{}
			for step := range steps {
				key := fmt.Sprintf("%sw%d-%d", tags[rng.IntN(len(tags))], w, rng.IntN(200))
				sl := s.Slot(slot.OfString(key))
				sl.Lock()
				switch op := rng.IntN(10); {
				case op < 4:
					v := bytesOf([]int{5, 50, 500, inlineMax + 100}[rng.IntN(4)], byte(step))
					sl.Set([]byte(key), v, 0, t0)
					own[key] = v
				case op < 7:
					v, _, ok := sl.Get([]byte(key), t0)
					if want, wok := own[key]; ok != wok || !bytes.Equal(v, want) {
						errs <- fmt.Errorf("worker %d step %d: Get(%q) = %d bytes %v, want %d bytes %v", w, step, key, len(v), ok, len(want), wok)
					}
				case op < 9:
					ok := sl.Delete([]byte(key))
					if _, wok := own[key]; ok != wok {
						errs <- fmt.Errorf("worker %d: Delete(%q) = %v", w, key, ok)
					}
					delete(own, key)
				default:
					sl.Scan(0, 10, t0, func([]byte, int64) {})
				}
				sl.Unlock()
				if len(errs) > 0 {
					return
				}
			}
			for key := range own {
				if !del(s, key) {
					errs <- fmt.Errorf("worker %d: key %q lost", w, key)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	mustCheck(t, s)
	if m := s.Memory(); s.Len() != 0 || m.Used != 0 || m.Allocated != m.Idle {
		t.Fatalf("after deleting everything: Len %d, %+v", s.Len(), m)
	}
	s.Flush()
	if m := s.Memory(); m.Allocated != 0 || m.Idle != 0 {
		t.Fatalf("after Flush: %+v", m)
	}
}

// TestConcurrentChaos mixes every operation, eviction, expiry and slot drops
// included, on overlapping keys; values carry their key so that reads can
// check they see a value written for that key.
func TestConcurrentChaos(t *testing.T) {
	s := newTestStore(Config{Seed: 3})
	defer s.Close()
	const workers, steps = 8, 3000
	var now atomic.Int64
	now.Store(t0)
	var wg sync.WaitGroup
	errs := make(chan error, workers+2)
	stop := make(chan struct{})
	var bg sync.WaitGroup
	bg.Go(func() { // background maintenance, as the server's timers
		for {
			select {
			case <-stop:
				return
			default:
			}
			s.ExpireCycle(now.Load(), 50)
			s.Evict(Policy(1+rand.IntN(7)), 0, now.Load())
			if k, ok := s.RandomKey(now.Load()); ok && (len(k) < 5 || k[0] != '{' || k[2] != '}') {
				errs <- fmt.Errorf("RandomKey returned %q", k)
			}
			_ = s.UsedBytes() + int64(s.Len())
		}
	})
	for w := range workers {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(w), 2))
			for range steps {
				key := []byte(fmt.Sprintf("{%d}k%d", rng.IntN(3), rng.IntN(300)))
				id := slot.Of(key)
				sl := s.Slot(id)
				ts := now.Add(rng.Int64N(3))
				switch op := rng.IntN(100); {
				case op < 40:
					var exp int64
					if rng.IntN(2) == 0 {
						exp = ts + rng.Int64N(100)
					}
					v := valueFor(key, rng.IntN(3*inlineMax/2))
					sl.Lock()
					sl.Set(key, v, exp, ts)
					sl.Unlock()
				case op < 70:
					sl.Lock()
					v, _, ok := sl.Get(key, ts)
					if ok && !bytes.HasPrefix(v, append(key, '=')) {
						errs <- fmt.Errorf("Get(%q) returned a value of another key", key)
					}
					sl.Unlock()
				case op < 85:
					sl.Lock()
					sl.Delete(key)
					sl.Unlock()
				case op < 92:
					sl.Lock()
					sl.SetExpire(key, ts+rng.Int64N(50), ts)
					sl.Unlock()
				case op < 98:
					other := []byte(fmt.Sprintf("{%d}k%d", rng.IntN(3), rng.IntN(300)))
					ids := []int{id, slot.Of(other)}
					unlock := s.LockSlots(ids)
					if v, _, ok := s.Slot(slot.Of(key)).Get(key, ts); ok {
						s.Slot(slot.Of(other)).Set(other, valueFor(other, len(v)), 0, ts)
					}
					unlock()
				default:
					if rng.IntN(10) == 0 {
						s.DropSlot(id)
					}
				}
				if len(errs) > 0 {
					return
				}
			}
		})
	}
	wg.Wait()
	close(stop)
	bg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	mustCheck(t, s)
	s.Flush()
	if s.Len() != 0 || s.Memory().Allocated != 0 {
		t.Fatalf("after Flush: Len %d, %+v", s.Len(), s.Memory())
	}
}

// valueFor returns a value of about n bytes that starts with key=.
func valueFor(key []byte, n int) []byte {
	v := append(append([]byte(nil), key...), '=')
	for len(v) < n {
		v = append(v, byte(len(v)))
	}
	return v
}
