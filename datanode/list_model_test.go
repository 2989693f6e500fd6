package datanode

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
)

// listModel is the Go model of one list: its elements in order.
type listModel []string

// reply formats elems as the harness formats an array of bulk strings.
func (m listModel) reply() string {
	items := make([]any, len(m))
	for i, e := range m {
		items[i] = []byte(e)
	}
	return formatReply(items)
}

// TestListModel runs seeded random list commands on a DataNode and on
// slices, two lists and moves between them included, and requires the
// replies and whole lists to agree. It needs no redis-server.
func TestListModel(t *testing.T) {
	s := startServer(t, nil)
	c := s.dial(t)
	rng := rand.New(rand.NewPCG(9, 10))
	models := map[string]listModel{}
	keys := []string{"{m}a", "{m}b"}
	elem := func() string {
		if rng.IntN(40) == 0 {
			return fmt.Sprintf("%0*d", 150+rng.IntN(300), rng.IntN(10))
		}
		return fmt.Sprint(rng.IntN(50))
	}
	check := func(step int, args []string, want string) {
		t.Helper()
		if got := c.do(args...); got != want {
			t.Fatalf("step %d: %v = %s, want %s", step, args, got, want)
		}
	}
	for step := range 8000 {
		key := keys[rng.IntN(2)]
		m := models[key]
		switch op := rng.IntN(10); op {
		case 0, 1, 2, 3: // pushes dominate, so lists grow long
			var elems []string
			for range 1 + rng.IntN(5) {
				elems = append(elems, elem())
			}
			if op%2 == 0 {
				for _, e := range elems {
					m = append(listModel{e}, m...)
				}
				check(step, append([]string{"LPUSH", key}, elems...), fmt.Sprintf("(integer) %d", len(m)))
			} else {
				m = append(m, elems...)
				check(step, append([]string{"RPUSH", key}, elems...), fmt.Sprintf("(integer) %d", len(m)))
			}
		case 4, 5:
			n := rng.IntN(5)
			if len(m) == 0 {
				check(step, []string{"LPOP", key, fmt.Sprint(n)}, "(nil)")
				break
			}
			k := min(n, len(m))
			var popped listModel
			if op == 4 {
				popped, m = slices.Clone(m[:k]), m[k:]
				check(step, []string{"LPOP", key, fmt.Sprint(n)}, popped.reply())
			} else {
				for i := range k {
					popped = append(popped, m[len(m)-1-i])
				}
				m = m[:len(m)-k]
				check(step, []string{"RPOP", key, fmt.Sprint(n)}, popped.reply())
			}
		case 6:
			if len(m) == 0 {
				break
			}
			i := rng.IntN(len(m))
			e := elem()
			m[i] = e
			check(step, []string{"LSET", key, fmt.Sprint(i - len(m)*rng.IntN(2)), e}, "OK")
		case 7:
			other := keys[1-slices.Index(keys, key)]
			if len(m) == 0 {
				check(step, []string{"LMOVE", key, other, "RIGHT", "LEFT"}, "(nil)")
				break
			}
			e := m[len(m)-1]
			m = m[:len(m)-1]
			models[key] = m
			models[other] = append(listModel{e}, models[other]...)
			check(step, []string{"LMOVE", key, other, "RIGHT", "LEFT"}, formatReply([]byte(e)))
			m = models[key]
		case 8:
			if len(m) > 3 && rng.IntN(4) == 0 {
				m = slices.Clone(m[1 : len(m)-1])
				check(step, []string{"LTRIM", key, "1", "-2"}, "OK")
			}
		case 9:
			if len(m) > 0 {
				i := rng.IntN(len(m))
				check(step, []string{"LINDEX", key, fmt.Sprint(i)}, formatReply([]byte(m[i])))
			}
		}
		if len(m) == 0 {
			m = nil
		}
		models[key] = m
		if step%97 == 0 {
			for _, k := range keys {
				check(step, []string{"LRANGE", k, "0", "-1"}, models[k].reply())
			}
		}
	}
	for _, k := range keys {
		check(-1, []string{"LRANGE", k, "0", "-1"}, models[k].reply())
		check(-1, []string{"LLEN", k}, fmt.Sprintf("(integer) %d", len(models[k])))
	}
}
