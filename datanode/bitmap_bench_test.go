package datanode

import (
	"fmt"
	"testing"
)

// BenchmarkBitmapHandlers measures, without the network, SETBIT and
// GETBIT inside bitmaps of 1 KiB and 1 MiB (edited in place: the cost
// does not grow with the value), and BITCOUNT and BITPOS over the whole
// value.
func BenchmarkBitmapHandlers(b *testing.B) {
	for _, size := range []int{1 << 10, 1 << 20} {
		s := newIdleServer(b)
		c := &client{srv: s, out: make([]byte, 0, 1<<16)}
		key := fmt.Sprintf("bm%d", size)
		last := fmt.Sprint(size*8 - 1)
		s.execute(c, toArgs("SETBIT", key, last, "1"))
		for _, cmd := range [][]string{
			{"SETBIT", key, fmt.Sprint(size * 4), "1"},
			{"GETBIT", key, fmt.Sprint(size * 4)},
			{"BITCOUNT", key},
			{"BITPOS", key, "1"},
		} {
			argv := toArgs(cmd...)
			b.Run(fmt.Sprintf("%s/bytes=%d", cmd[0], size), func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					c.out = c.out[:0]
					s.execute(c, argv)
				}
			})
		}
	}
}
