package datanode

import (
	"strconv"
	"strings"
	"sync"
	"testing"
)

// TestSortPatternsAtomic runs SORT BY/GET, whose pattern keys hash to many
// slots, while another client rewrites every weight at once with MSET: each
// SORT must see one MSET's weights or the next's, never a mix, which only
// holds if SORT reads all of them under its locks (its relocking, sortrun.go).
func TestSortPatternsAtomic(t *testing.T) {
	s := startServer(t, nil)
	setup := s.dial(t)
	const n = 20
	elems := []string{"RPUSH", "l"}
	mset := []string{"MSET"}
	for i := range n {
		elems = append(elems, strconv.Itoa(i))
		mset = append(mset, "w_"+strconv.Itoa(i), "0")
	}
	setup.do(elems...)
	setup.do(mset...)
	const rounds = 200
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		c := s.dial(t)
		for r := 1; r <= rounds; r++ {
			for i := 2; i < len(mset); i += 2 {
				mset[i] = strconv.Itoa(r)
			}
			if got := c.do(mset...); got != "OK" {
				t.Errorf("MSET = %s", got)
				return
			}
		}
	}()
	go func() {
		defer wg.Done()
		c := s.dial(t)
		for range rounds {
			got := c.do("SORT", "l", "BY", "w_*", "GET", "w_*", "STORE", "dst")
			if got != "(integer) "+strconv.Itoa(n) {
				t.Errorf("SORT STORE = %s", got)
				return
			}
			vals := strings.Fields(strings.Trim(c.do("LRANGE", "dst", "0", "-1"), "[]"))
			for _, v := range vals {
				if v != vals[0] {
					t.Errorf("SORT read weights of two MSETs: %v", vals)
					return
				}
			}
		}
	}()
	wg.Wait()
}
