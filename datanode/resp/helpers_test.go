package resp

import (
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"
)

// outcome is everything a connection observes from a byte stream: the
// commands in order, then how the stream ended.
type outcome struct {
	cmds [][]string
	// end is "" for EOF with nothing buffered, "incomplete N" for EOF with
	// N bytes of an unfinished command, or the error text.
	end string
}

func (o outcome) String() string {
	var b strings.Builder
	for _, c := range o.cmds {
		b.WriteString(strconv.Quote(strings.Join(c, "\x1f")))
		b.WriteByte('\n')
	}
	b.WriteString("end: " + strconv.Quote(o.end))
	return b.String()
}

// run drives a Reader over src like the server's connection loop does and
// checks the API contract on the way.
func run(t testing.TB, src io.Reader, lim *Limits, size int) outcome {
	t.Helper()
	r := NewReader(src, size)
	var o outcome
	for steps := 0; ; steps++ {
		if steps > 50_000_000 {
			t.Fatalf("no termination")
		}
		args, err := r.Parse(lim)
		if err == ErrIncomplete {
			if args != nil {
				t.Fatalf("args returned with ErrIncomplete")
			}
			if err := r.Fill(lim); err != nil {
				if err == io.EOF {
					if n := r.Buffered(); n > 0 {
						o.end = fmt.Sprintf("incomplete %d", n)
					}
				} else {
					o.end = err.Error()
				}
				if err2 := r.Fill(lim); err2 != err {
					t.Fatalf("Fill error not sticky: %v then %v", err, err2)
				}
				return o
			}
			continue
		}
		if err != nil {
			if args != nil {
				t.Fatalf("args %q returned with error %v", args, err)
			}
			var perr *ProtocolError
			if !errors.As(err, &perr) && err != ErrQueryBufferLimit {
				t.Fatalf("unexpected error type %T %v", err, err)
			}
			if strings.ContainsAny(err.Error(), "\r\n") {
				t.Fatalf("error text contains CR/LF: %q", err.Error())
			}
			if _, err2 := r.Parse(lim); err2 != err {
				t.Fatalf("Parse error not sticky: %v then %v", err, err2)
			}
			o.end = err.Error()
			return o
		}
		cmd := make([]string, len(args))
		for i, a := range args {
			if cap(a) != len(a) {
				t.Fatalf("arg %d has spare capacity", i)
			}
			cmd[i] = string(a)
		}
		o.cmds = append(o.cmds, cmd)
	}
}

// chunkReader returns the data in reads of the given sizes (cycled), and
// optionally returns io.EOF together with the last bytes.
type chunkReader struct {
	data       []byte
	sizes      []int
	i          int
	eofWithLen bool
}

func (c *chunkReader) Read(p []byte) (int, error) {
	if len(c.data) == 0 {
		return 0, io.EOF
	}
	n := c.sizes[c.i%len(c.sizes)]
	c.i++
	n = min(n, len(p), len(c.data))
	copy(p, c.data[:n])
	c.data = c.data[n:]
	if c.eofWithLen && len(c.data) == 0 {
		return n, io.EOF
	}
	return n, nil
}

// randomSizes returns n read sizes in [1,max].
func randomSizes(rng *rand.Rand, n, max int) []int {
	s := make([]int, n)
	for i := range s {
		s[i] = 1 + rng.IntN(max)
	}
	return s
}

// wholeReader returns as much as asked, then io.EOF.
func wholeReader(data []byte) io.Reader {
	return &chunkReader{data: data, sizes: []int{1 << 62}}
}

// oneByteReader returns one byte per Read.
func oneByteReader(data []byte) io.Reader {
	return &chunkReader{data: data, sizes: []int{1}}
}

// cmd encodes args as a RESP multibulk command.
func cmd(args ...string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "*%d\r\n", len(args))
	for _, a := range args {
		fmt.Fprintf(&b, "$%d\r\n%s\r\n", len(a), a)
	}
	return b.String()
}

// cyclicReader returns data over and over, endlessly.
type cyclicReader struct {
	data []byte
	off  int
}

func (c *cyclicReader) Read(p []byte) (int, error) {
	n := copy(p, c.data[c.off:])
	c.off = (c.off + n) % len(c.data)
	return n, nil
}
