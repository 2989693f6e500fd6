package resp

import (
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
)

// FuzzReader checks that the reader never panics, never returns arguments
// with an error, and that what it returns does not depend on how the input
// is split across reads or on the buffer size, with default and with tiny
// limits.
func FuzzReader(f *testing.F) {
	seeds := []string{
		"*3\r\n$3\r\nSET\r\n$3\r\nfoo\r\n$3\r\nbar\r\n",
		"SET \"a b\" c\r\n",
		"SET 'it\\'s' \"\\x41\\n\" x\n",
		cmd("SET", "foo", "bar") + cmd("GET", "foo") + "PING\r\n" + cmd("MGET", "a", "", "c"),
		setPipeline(),
		getPipeline(),
		"\r\n*0\r\n*-1\r\n\n",
		"*3000000000\r\n",
		"*2000000000\r\n$1\r\nx\r\n",
		"*1\r\n$400000000\r\nabc",
		"*3\r\n$3\r\nSET\r\n$1\r\nx\r\nfooz\r\n",
		"*3\r\n$3\r\nSET\r\n$1\r\nx\r\n$-10\r\n",
		"*3\r\n$3\r\nSET\r\n$1\r\nx\r\n$blabla\r\n",
		"*1\r\nfoo\r\n",
		"*1\r\n$3\r\nfooXY",
		"*1\rX",
		"set \"\"\"test-key\"\"\" test-value\r\nping\r\n",
		"\x00payloadpayload",
		"*\x00payload",
		"$\x00payload",
		"*11\r\n" + strings.Repeat("$1\r\nx\r\n", 11),
		"*2\r\n$4\r\nAUTH\r\n$16385\r\n",
		cmd("SET", "k", strings.Repeat("v", 300)),
		strings.Repeat("x", 70) + "\n",
	}
	for i, s := range seeds {
		f.Add([]byte(s), uint64(i), i%3 == 0)
	}
	limits := []Limits{
		DefaultLimits(),
		{MaxBulkLen: 100, MaxQueryBuffer: 200, MaxMultibulkLen: 20, MaxInline: 40},
	}
	f.Fuzz(func(t *testing.T, data []byte, seed uint64, unauth bool) {
		rng := rand.New(rand.NewPCG(seed, seed>>32))
		for _, lim := range limits {
			lim.Unauthenticated = unauth
			want := run(t, wholeReader(data), &lim, 0)
			variants := []*chunkReader{
				{data: data, sizes: []int{1}},
				{data: data, sizes: randomSizes(rng, 1+rng.IntN(20), 1+rng.IntN(64)), eofWithLen: true},
				{data: data, sizes: randomSizes(rng, 1+rng.IntN(20), 1+rng.IntN(1000))},
			}
			for i, rd := range variants {
				size := 1 + rng.IntN(100)
				if i == 2 {
					size = 0
				}
				got := run(t, rd, &lim, size)
				if !reflect.DeepEqual(got, want) {
					t.Fatalf("limits %+v, variant %d, size %d:\ngot  %.3000s\nwant %.3000s", lim, i, size, got, want)
				}
			}
		}
	})
}
