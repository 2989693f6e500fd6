package datanode

import (
	"fmt"
	"testing"
)

// BenchmarkListHandlers measures, without the network, pushes and pops at
// both ends of lists of 10, 1,000 and 100,000 elements (each push is
// undone by a pop, so the length holds), and LRANGE of the first 100 and
// LINDEX of the middle element: pushes and pops cost the same whatever
// the length (see listenc.go).
func BenchmarkListHandlers(b *testing.B) {
	for _, n := range []int{10, 1000, 100000} {
		s := newIdleServer(b)
		c := &client{srv: s, out: make([]byte, 0, 1<<16)}
		key := fmt.Sprintf("l%d", n)
		for i := 0; i < n; i += 1000 {
			args := []string{"RPUSH", key}
			for j := i; j < min(i+1000, n); j++ {
				args = append(args, fmt.Sprintf("element:%012d", j))
			}
			s.execute(c, toArgs(args...))
		}
		for _, cmds := range [][][]string{
			{{"LPUSH", key, "xxx"}, {"LPOP", key}},
			{{"RPUSH", key, "xxx"}, {"RPOP", key}},
			{{"LRANGE", key, "0", "99"}},
			{{"LINDEX", key, fmt.Sprint(n / 2)}},
		} {
			argvs := make([][][]byte, len(cmds))
			for i, cmd := range cmds {
				argvs[i] = toArgs(cmd...)
			}
			b.Run(fmt.Sprintf("%s/elements=%d", cmds[0][0], n), func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					for _, argv := range argvs {
						c.out = c.out[:0]
						s.execute(c, argv)
					}
				}
			})
		}
	}
}
