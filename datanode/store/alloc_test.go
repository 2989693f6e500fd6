package store

import (
	"encoding/binary"
	"math/rand/v2"
	"sync"
	"testing"
)

func TestBlockSizes(t *testing.T) {
	for n := 1; n <= 3*maxRunPages*pageSize; n += 1 + n/50 {
		b := blockSize(n)
		if b < n || (n > maxSmall && b%pageSize != 0) {
			t.Fatalf("blockSize(%d) = %d", n, b)
		}
		if n <= maxSmall && b > n+n/4+16 {
			t.Fatalf("blockSize(%d) = %d wastes too much", n, b)
		}
	}
	var a arena
	a.init()
	for i := range a.classes {
		c := &a.classes[i]
		if c.blocks == 0 || c.pages*pageSize%c.size != 0 {
			t.Fatalf("class %d (%d bytes): %d blocks in %d pages", i, c.size, c.blocks, c.pages)
		}
	}
}

// TestArena allocates and frees blocks of all kinds from several goroutines,
// stamping each block and checking the stamp survives until it is freed.
func TestArena(t *testing.T) {
	var a arena
	a.init()
	a.poison = true
	defer a.close()
	type block struct {
		h uint64
		n int
	}
	stamp := func(b []byte, h uint64) {
		for i := 0; i+8 <= len(b); i += 512 {
			binary.LittleEndian.PutUint64(b[i:], h^uint64(i))
		}
		binary.LittleEndian.PutUint64(b[len(b)-8:], ^h)
	}
	verify := func(b []byte, h uint64) bool {
		for i := 0; i+8 <= len(b); i += 512 {
			if binary.LittleEndian.Uint64(b[i:]) != h^uint64(i) {
				return false
			}
		}
		return binary.LittleEndian.Uint64(b[len(b)-8:]) == ^h
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	var failures []string
	for w := range 4 {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(w), 3))
			var live []block
			for step := range 6000 {
				if len(live) > 0 && rng.IntN(2) == 0 {
					i := rng.IntN(len(live))
					blk := live[i]
					if !verify(a.bytes(blk.h, blk.n), blk.h) {
						mu.Lock()
						failures = append(failures, "block overwritten")
						mu.Unlock()
						return
					}
					a.free(blk.h)
					live[i] = live[len(live)-1]
					live = live[:len(live)-1]
					continue
				}
				var n int
				switch r := rng.IntN(100); {
				case r < 70:
					n = 8 + rng.IntN(maxSmall)
				case r < 98:
					n = maxSmall + rng.IntN(200*pageSize)
				default:
					n = maxRunPages*pageSize + rng.IntN(1<<21)
				}
				h, b := a.alloc(n)
				if len(b) != blockSize(n) {
					t.Errorf("step %d: alloc(%d) gave %d bytes, want %d", step, n, len(b), blockSize(n))
				}
				stamp(b, h)
				live = append(live, block{h, len(b)})
			}
			for _, blk := range live {
				if !verify(a.bytes(blk.h, blk.n), blk.h) {
					mu.Lock()
					failures = append(failures, "block overwritten")
					mu.Unlock()
				}
				a.free(blk.h)
			}
		})
	}
	wg.Wait()
	if len(failures) > 0 {
		t.Fatal(failures[0])
	}
	if a.inUse.Load() != 0 {
		t.Fatalf("%d bytes in use after freeing everything", a.inUse.Load())
	}
	// Every chunk has coalesced back to one free run, except pages of
	// the one empty span each class may keep.
	kept := 0
	for i := range a.classes {
		if c := &a.classes[i]; c.partial != 0 {
			kept += int(c.pages)
		}
	}
	free, runs := 0, 0
	for b := 1; b <= maxRunPages+1; b++ {
		for id := a.runs[b]; id != 0; id = a.meta(id).next {
			free += int(a.meta(id).n)
			runs++
		}
	}
	if total := int(a.nchunks) * chunkPages; free+kept != total {
		t.Fatalf("%d free + %d kept pages of %d", free, kept, total)
	}
	// Coalescing leaves at most one run more per kept span than chunks.
	if runs > int(a.nchunks)+numClasses {
		t.Fatalf("%d free runs in %d chunks: neighbours not merged", runs, a.nchunks)
	}
	if a.mapped.Load() != int64(a.nchunks)*chunkSize {
		t.Fatalf("huge blocks still mapped: %d bytes mapped", a.mapped.Load())
	}
}

func TestArenaReturnsPages(t *testing.T) {
	// Freed pages go back to the OS once enough are waiting.
	var a arena
	a.init()
	defer a.close()
	var hs []uint64
	for range 4000 {
		h, b := a.alloc(3 * pageSize)
		clear(b)
		hs = append(hs, h)
	}
	for _, h := range hs {
		a.free(h)
	}
	if a.dirtyPages > minDirtyPages {
		t.Fatalf("%d dirty pages kept, limit %d", a.dirtyPages, minDirtyPages)
	}
}
