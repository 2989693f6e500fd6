package store

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/chkv/chkv/common/slot"
)

// model is the reference semantics of the store: a map, with expired keys
// treated as absent.
type model map[string]modelEntry

type modelEntry struct {
	value    string
	expireAt int64
}

func (m model) live(key string, now int64) (modelEntry, bool) {
	e, ok := m[key]
	if !ok || expired(e.expireAt, now) {
		return modelEntry{}, false
	}
	return e, true
}

func (m model) liveKeys(now int64, id int) []string {
	var keys []string
	for k, e := range m {
		if !expired(e.expireAt, now) && (id < 0 || slot.OfString(k) == id) {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	return keys
}

// TestModel applies a seeded random sequence of operations to the store and
// to the model and compares every result, with the store's invariants
// checked along the way. Keys crowd into a few slots so that slabs and
// indexes grow, compact and shrink many times.
func TestModel(t *testing.T) {
	for seed := range uint64(4) {
		t.Run(fmt.Sprint("seed", seed), func(t *testing.T) { runModel(t, seed, 20000) })
	}
}

func runModel(t *testing.T, seed uint64, steps int) {
	rng := rand.New(rand.NewPCG(seed, 42))
	s := newTestStore(Config{Seed: seed})
	defer s.Close()
	m := model{}
	now := t0
	keyPool := make([]string, 600)
	for i := range keyPool {
		switch i % 4 {
		case 0:
			keyPool[i] = fmt.Sprintf("{a}%d", i)
		case 1:
			keyPool[i] = fmt.Sprintf("{b}%x", i*7919)
		case 2:
			keyPool[i] = fmt.Sprintf("k%d", i) // spread over slots
		default:
			keyPool[i] = string(bytesOf(i%40, byte(i))) // binary, some empty
		}
	}
	randKey := func() string {
		// A shifting hot set, so that some phases grow and others shrink.
		span := 50 + (len(keyPool)-50)*((rng.IntN(4)+(len(m)/100))%4)/3
		return keyPool[rng.IntN(span)]
	}
	randValue := func() string {
		switch r := rng.IntN(1000); {
		case r < 600:
			return string(bytesOf(rng.IntN(40), byte(r)))
		case r < 900:
			return string(bytesOf(rng.IntN(600), byte(r)))
		case r < 990:
			return string(bytesOf(inlineMax-20+rng.IntN(40), byte(r)))
		case r < 998:
			return string(bytesOf(rng.IntN(3*inlineMax), byte(r)))
		default: // past the page heap: a mapping of its own
			return string(bytesOf(maxRunPages*pageSize+rng.IntN(2*pageSize), byte(r)))
		}
	}
	randExpire := func() int64 {
		if rng.IntN(3) == 0 {
			return now + 1 + rng.Int64N(300)
		}
		return 0
	}
	for step := range steps {
		op := rng.IntN(100)
		key := randKey()
		sl := s.Slot(slot.OfString(key))
		desc := fmt.Sprintf("step %d op %d key %q", step, op, key)
		switch {
		case op < 35: // Set
			v, exp := randValue(), randExpire()
			sl.Lock()
			sl.Set([]byte(key), []byte(v), exp, now)
			sl.Unlock()
			m[key] = modelEntry{v, exp}
		case op < 55, op < 62: // Get, Peek
			sl.Lock()
			var v []byte
			var exp int64
			var ok bool
			if op < 55 {
				v, exp, ok = sl.Get([]byte(key), now)
			} else {
				v, exp, ok = sl.Peek([]byte(key), now)
			}
			got := modelEntry{string(v), exp}
			sl.Unlock()
			want, wok := m.live(key, now)
			if ok != wok || got != want {
				t.Fatalf("%s: got %d bytes exp %d ok %v; want %d bytes exp %d ok %v", desc, len(got.value), got.expireAt, ok, len(want.value), want.expireAt, wok)
			}
			if !wok {
				delete(m, key)
			}
		case op < 72: // Delete
			sl.Lock()
			ok := sl.Delete([]byte(key))
			sl.Unlock()
			// A live key must be found and a missing one not; an expired
			// one may have gone to ExpireCycle already.
			_, live := m.live(key, now)
			_, present := m[key]
			if live && !ok || !present && ok {
				t.Fatalf("%s: Delete = %v, model live %v present %v", desc, ok, live, present)
			}
			delete(m, key)
		case op < 80: // SetExpire
			exp := randExpire()
			sl.Lock()
			ok, err := sl.SetExpire([]byte(key), exp, now)
			if err != nil {
				t.Fatal(err)
			}
			sl.Unlock()
			e, wok := m.live(key, now)
			if ok != wok {
				t.Fatalf("%s: SetExpire = %v, want %v", desc, ok, wok)
			}
			if wok {
				e.expireAt = exp
				m[key] = e
			} else {
				delete(m, key)
			}
		case op < 88: // time passes
			now += rng.Int64N(40)
		case op < 91: // ExpireCycle, partial or complete
			work := []int{1, 10, 1e9}[rng.IntN(3)]
			s.ExpireCycle(now, work)
			if work == 1e9 {
				for k, e := range m {
					if expired(e.expireAt, now) {
						delete(m, k)
					}
				}
				if s.Len() != len(m) {
					t.Fatalf("%s: Len %d after a full ExpireCycle, model %d", desc, s.Len(), len(m))
				}
			}
		case op < 95: // Scan the key's slot
			var got []string
			var cursor uint32
			count := 1 + rng.IntN(50)
			for {
				sl.Lock()
				next, done := sl.Scan(cursor, count, now, func(k []byte, _ int64) { got = append(got, string(k)) })
				sl.Unlock()
				if done {
					break
				}
				cursor = next
			}
			slices.Sort(got)
			if want := m.liveKeys(now, slot.OfString(key)); !slices.Equal(got, want) {
				t.Fatalf("%s: Scan found %d keys, model %d", desc, len(got), len(want))
			}
		case op < 97: // Evict
			policy := Policy(1 + rng.IntN(7))
			before := s.Len()
			ok := s.Evict(policy, 0, now)
			if ok != (s.Len() == before-1) {
				t.Fatalf("%s: Evict(%v) = %v, Len %d -> %d", desc, policy, ok, before, s.Len())
			}
			for k, e := range m {
				if !exists(s, k, now) {
					if policy.Volatile() && e.expireAt == 0 {
						t.Fatalf("%s: %v evicted persistent key %q", desc, policy, k)
					}
					delete(m, k)
				}
			}
		case op < 98:
			id := slot.OfString(key)
			s.DropSlot(id)
			for k := range m {
				if slot.OfString(k) == id {
					delete(m, k)
				}
			}
		default: // compare the key's slot
			got := map[string]modelEntry{}
			sl.Lock()
			sl.ForEach(now, func(k, v []byte, exp int64) bool {
				got[string(k)] = modelEntry{string(v), exp}
				return true
			})
			err := sl.check()
			sl.Unlock()
			if err != nil {
				t.Fatalf("%s: %v", desc, err)
			}
			want := m.liveKeys(now, slot.OfString(key))
			if len(got) != len(want) {
				t.Fatalf("%s: slot has %d live keys, model %d", desc, len(got), len(want))
			}
			for _, k := range want {
				if got[k] != m[k] {
					t.Fatalf("%s: key %q differs", desc, k)
				}
			}
		}
		if step%2000 == 0 {
			compareModel(t, desc, s, m, now)
		}
	}
	compareModel(t, "end", s, m, now)
	s.Flush()
	mustCheck(t, s)
	if s.UsedBytes() != 0 || s.Memory().Allocated != 0 {
		t.Fatalf("after Flush: %+v", s.Memory())
	}
}

func compareModel(t *testing.T, desc string, s *Store, m model, now int64) {
	t.Helper()
	mustCheck(t, s)
	got := map[string]modelEntry{}
	for w := range s.nonEmpty {
		word := s.nonEmpty[w].Load()
		if word == 0 {
			continue
		}
		for id := w * 64; id < w*64+64; id++ {
			if word&(1<<(id&63)) == 0 {
				continue
			}
			sl := s.Slot(id)
			sl.Lock()
			sl.ForEach(now, func(k, v []byte, exp int64) bool {
				got[string(k)] = modelEntry{string(v), exp}
				return true
			})
			sl.Unlock()
		}
	}
	live := m.liveKeys(now, -1)
	if len(got) != len(live) {
		t.Fatalf("%s: store has %d live keys, model %d", desc, len(got), len(live))
	}
	for _, k := range live {
		if got[k] != m[k] {
			t.Fatalf("%s: key %q differs", desc, k)
		}
	}
	if s.Len() < len(live) || s.Len() > len(m) {
		t.Fatalf("%s: Len %d outside [%d, %d]", desc, s.Len(), len(live), len(m))
	}
}
