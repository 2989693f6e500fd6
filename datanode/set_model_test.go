package datanode

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// setModel is the Go model of a keyspace of sets.
type setModel map[string]map[string]bool

// members returns key's members, sorted.
func (m setModel) members(key string) []string {
	var out []string
	for x := range m[key] {
		out = append(out, x)
	}
	slices.Sort(out)
	return out
}

// store replaces key by ms, deleting it when ms is empty.
func (m setModel) store(key string, ms map[string]bool) {
	if len(ms) == 0 {
		delete(m, key)
		return
	}
	m[key] = ms
}

// bulkStrings decodes an array reply of bulk strings, sorted.
func bulkStrings(t *testing.T, v any) []string {
	t.Helper()
	arr, ok := v.([]any)
	if !ok {
		t.Fatalf("not an array: %s", formatReply(v))
	}
	out := make([]string, len(arr))
	for i, x := range arr {
		out[i] = string(x.([]byte))
	}
	slices.Sort(out)
	return out
}

// TestSetRandomModel runs seeded random set commands on a DataNode, on
// sets large enough to be hashtables and keys in different slots, and
// checks every reply against a Go model.
func TestSetRandomModel(t *testing.T) {
	const seed = 1
	rng := rand.New(rand.NewPCG(seed, 11))
	c := startServer(t, nil).dial(t)
	model := setModel{}
	keys := []string{"a", "b", "{a}c", "d"}
	key := func() string { return keys[rng.IntN(len(keys))] }
	member := func() string {
		if rng.IntN(4) == 0 {
			return fmt.Sprintf("m%d", rng.IntN(900))
		}
		return strconv.Itoa(rng.IntN(900))
	}
	intReply := func(args []string, want int) {
		t.Helper()
		if got := c.do(args...); got != fmt.Sprintf("(integer) %d", want) {
			t.Fatalf("seed %d: %v = %s, want %d", seed, args, got, want)
		}
	}
	for step := range 4000 {
		switch op := rng.IntN(10); op {
		case 0, 1, 2:
			k := key()
			args := []string{"SADD", k}
			if model[k] == nil {
				model[k] = map[string]bool{}
			}
			added := 0
			for range 1 + rng.IntN(60) {
				m := member()
				args = append(args, m)
				if !model[k][m] {
					model[k][m] = true
					added++
				}
			}
			intReply(args, added)
		case 3:
			k := key()
			args := []string{"SREM", k}
			removed := 0
			for range 1 + rng.IntN(30) {
				m := member()
				args = append(args, m)
				if model[k][m] {
					delete(model[k], m)
					removed++
				}
			}
			model.store(k, model[k])
			intReply(args, removed)
		case 4:
			k := key()
			got := bulkStrings(t, c.doAny("SMEMBERS", k))
			if want := model.members(k); !slices.Equal(got, want) {
				t.Fatalf("seed %d step %d: SMEMBERS %s = %v, want %v", seed, step, k, got, want)
			}
		case 5:
			k, m := key(), member()
			intReply([]string{"SISMEMBER", k, m}, int(boolInt(model[k][m])))
			intReply([]string{"SCARD", k}, len(model[k]))
		case 6:
			k := key()
			n := rng.IntN(20)
			got := bulkStrings(t, c.doAny("SPOP", k, strconv.Itoa(n)))
			if len(got) != min(n, len(model[k])) {
				t.Fatalf("seed %d step %d: SPOP %s %d popped %d of %d", seed, step, k, n, len(got), len(model[k]))
			}
			for _, m := range got {
				if !model[k][m] {
					t.Fatalf("seed %d step %d: SPOP returned %q, not a member", seed, step, m)
				}
				delete(model[k], m)
			}
			model.store(k, model[k])
		case 7:
			src, dst, m := key(), key(), member()
			moved := model[src][m]
			if moved && src != dst {
				delete(model[src], m)
				model.store(src, model[src])
				if model[dst] == nil {
					model[dst] = map[string]bool{}
				}
				model[dst][m] = true
			}
			intReply([]string{"SMOVE", src, dst, m}, int(boolInt(moved)))
		case 8:
			op := []string{"SINTER", "SUNION", "SDIFF"}[rng.IntN(3)]
			a, b := key(), key()
			res := map[string]bool{}
			for m := range model[a] {
				in := model[b][m]
				if (op == "SINTER" && in) || (op == "SDIFF" && !in) || op == "SUNION" {
					res[m] = true
				}
			}
			if op == "SUNION" {
				for m := range model[b] {
					res[m] = true
				}
			}
			if rng.IntN(2) == 0 {
				d := key()
				intReply([]string{op + "STORE", d, a, b}, len(res))
				model.store(d, res)
				break
			}
			got := bulkStrings(t, c.doAny(op, a, b))
			tmp := setModel{"r": res}
			if want := tmp.members("r"); !slices.Equal(got, want) {
				t.Fatalf("seed %d step %d: %s %s %s = %v, want %v", seed, step, op, a, b, got, want)
			}
		case 9:
			a, b := key(), key()
			n := 0
			for m := range model[a] {
				if model[b][m] {
					n++
				}
			}
			if a == b {
				n = len(model[a])
			}
			intReply([]string{"SINTERCARD", "2", a, b}, n)
		}
	}
	for _, k := range keys {
		enc := c.do("OBJECT", "ENCODING", k)
		if len(model[k]) > 512 && enc != `"hashtable"` {
			t.Fatalf("%s with %d members is %s", k, len(model[k]), enc)
		}
		if got := bulkStrings(t, c.doAny("SMEMBERS", k)); !slices.Equal(got, model.members(k)) {
			t.Fatalf("seed %d: final %s differs: %s", seed, k, strings.Join(got, " "))
		}
	}
}
