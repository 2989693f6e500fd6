package resp

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
)

// setPipeline is 16 SET commands with 16-byte keys and 32-byte values.
func setPipeline() string {
	var b strings.Builder
	for i := range 16 {
		b.WriteString(cmd("SET", fmt.Sprintf("key:%012d", i), strings.Repeat("v", 32)))
	}
	return b.String()
}

// getPipeline is 16 GET commands with 16-byte keys.
func getPipeline() string {
	var b strings.Builder
	for i := range 16 {
		b.WriteString(cmd("GET", fmt.Sprintf("key:%012d", i)))
	}
	return b.String()
}

// benchPipeline parses one 16-command pipeline per op from an endless
// stream of them, the way the server's connection loop does.
func benchPipeline(b *testing.B, p string, nargs int) {
	r := NewReader(&cyclicReader{data: []byte(p)}, 0)
	lim := DefaultLimits()
	b.SetBytes(int64(len(p)))
	b.ReportAllocs()
	for b.Loop() {
		for range 16 {
			for {
				args, err := r.Parse(&lim)
				if err == ErrIncomplete {
					if err := r.Fill(&lim); err != nil {
						b.Fatal(err)
					}
					continue
				}
				if err != nil || len(args) != nargs {
					b.Fatal(err, len(args))
				}
				break
			}
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*16), "ns/cmd")
}

func BenchmarkPipelineSET16(b *testing.B) { benchPipeline(b, setPipeline(), 3) }

func BenchmarkPipelineGET16(b *testing.B) { benchPipeline(b, getPipeline(), 2) }

// BenchmarkInlinePING16 parses 16 inline PINGs per op, for comparison.
func BenchmarkInlinePING16(b *testing.B) { benchPipeline(b, strings.Repeat("PING\r\n", 16), 1) }

// BenchmarkBigArgs parses one command with 100k arguments arriving in
// 1 KiB reads; ns/op should grow linearly with the argument count.
func BenchmarkBigArgs(b *testing.B) {
	for _, n := range []int{25_000, 100_000} {
		a := make([]string, n)
		for i := range a {
			a[i] = "arg"
		}
		in := []byte(cmd(a...))
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			b.SetBytes(int64(len(in)))
			b.ReportAllocs()
			for b.Loop() {
				r := NewReader(&chunkReader{data: in, sizes: []int{1024}}, 0)
				for {
					args, err := r.Parse(nil)
					if errors.Is(err, ErrIncomplete) {
						if err := r.Fill(nil); err != nil && err != io.EOF {
							b.Fatal(err)
						}
						continue
					}
					if err != nil || len(args) != n {
						b.Fatal(err, len(args))
					}
					break
				}
			}
		})
	}
}
