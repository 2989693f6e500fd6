package datanode

import (
	"fmt"
	"testing"
)

// largeSet returns a hashtable-encoded set of n members "member:i".
func largeSet(b *testing.B, n int) setValue {
	b.Helper()
	ms := make([][]byte, n)
	for i := range ms {
		ms[i] = []byte(fmt.Sprintf("member:%d", i))
	}
	s, ok := buildSet(nil, ms, setLimits{intsetEntries: 512})
	if !ok {
		b.Fatal("set too large")
	}
	return s
}

// BenchmarkSetContains100k is SISMEMBER's lookup in a 100k-member set: a
// binary search of the index.
func BenchmarkSetContains100k(b *testing.B) {
	s := largeSet(b, 100000)
	probe := []byte("member:77777")
	for b.Loop() {
		if !s.contains(probe) {
			b.Fatal("not found")
		}
	}
}

// BenchmarkSetAdd100k is SADD of one new member to a 100k-member set,
// which rebuilds the value.
func BenchmarkSetAdd100k(b *testing.B) {
	s := largeSet(b, 100000)
	dst := make([]byte, 0, len(s)+64)
	m := [][]byte{[]byte("newmember")}
	for b.Loop() {
		ns, added, ok := s.add(dst, m, setLimits{intsetEntries: 512})
		if added != 1 || !ok {
			b.Fatal("not added")
		}
		dst = ns[:0]
	}
}

// BenchmarkSetRemove100k is SREM of one member from a 100k-member set.
func BenchmarkSetRemove100k(b *testing.B) {
	s := largeSet(b, 100000)
	m := [][]byte{[]byte("member:5")}
	var dst []byte
	for b.Loop() {
		ns, removed := s.remove(dst, m)
		if removed != 1 {
			b.Fatal("not removed")
		}
		dst = ns[:0]
	}
}
