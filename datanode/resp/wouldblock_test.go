package resp

import (
	"fmt"
	"io"
	"math/rand/v2"
	"strings"
	"testing"
)

// blockingChunkReader is a chunkReader over a non-blocking source: it
// answers ErrWouldBlock between chunks, sometimes together with bytes.
type blockingChunkReader struct {
	chunkReader
	rng     *rand.Rand
	blocked int
}

func (b *blockingChunkReader) Read(p []byte) (int, error) {
	switch b.rng.IntN(3) {
	case 0:
		b.blocked++
		return 0, ErrWouldBlock
	case 1:
		n, err := b.chunkReader.Read(p)
		if err == nil && n > 0 {
			b.blocked++
			return n, ErrWouldBlock
		}
		return n, err
	}
	return b.chunkReader.Read(p)
}

// runNonBlocking drives r as the event loop does: ErrWouldBlock from Fill
// means "wait and Fill again".
func runNonBlocking(t *testing.T, src io.Reader, lim *Limits, size int) outcome {
	t.Helper()
	var o outcome
	r := NewReader(src, size)
	for steps := 0; steps < 10_000_000; steps++ {
		args, err := r.Parse(lim)
		if err == ErrIncomplete {
			switch err := r.Fill(lim); err {
			case nil, ErrWouldBlock:
				continue
			case io.EOF:
				if n := r.Buffered(); n > 0 {
					o.end = fmt.Sprintf("incomplete %d", n)
				}
				return o
			default:
				o.end = err.Error()
				return o
			}
		}
		if err != nil {
			o.end = err.Error()
			return o
		}
		cmd := make([]string, len(args))
		for i, a := range args {
			cmd[i] = string(a)
		}
		o.cmds = append(o.cmds, cmd)
	}
	t.Fatal("no termination")
	return o
}

// TestFillWouldBlockIsNotSticky checks that a non-blocking source that
// often has nothing to offer yields exactly the commands and ending of a
// blocking one.
func TestFillWouldBlockIsNotSticky(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	var in strings.Builder
	for i := range 300 {
		in.WriteString(cmd("SET", "key"+strings.Repeat("k", i%7), strings.Repeat("v", rng.IntN(3000))))
		if i%5 == 0 {
			in.WriteString("PING inline\r\n")
		}
	}
	in.WriteString("*2\r\n$3\r\nGET\r\n$x\r\n") // ends in a protocol error
	data := []byte(in.String())
	want := run(t, wholeReader(data), nil, 64)
	if !strings.Contains(want.end, "invalid bulk length") {
		t.Fatalf("reference run ended with %q", want.end)
	}
	for _, size := range []int{16, 64, DefaultBufferSize} {
		src := &blockingChunkReader{
			chunkReader: chunkReader{data: data, sizes: randomSizes(rng, 97, 700)},
			rng:         rng,
		}
		got := runNonBlocking(t, src, nil, size)
		if got.String() != want.String() {
			t.Fatalf("size %d: non-blocking run differs:\n%s\nwant\n%s", size, got, want)
		}
		if src.blocked < 100 {
			t.Fatalf("size %d: only %d would-block reads; the test exercises nothing", size, src.blocked)
		}
	}
}

// TestFillWouldBlockThenEOF checks that a read error after ErrWouldBlock is
// still reported, and sticky.
func TestFillWouldBlockThenEOF(t *testing.T) {
	calls := 0
	r := NewReader(readerFunc(func(p []byte) (int, error) {
		calls++
		switch calls {
		case 1:
			return 0, ErrWouldBlock
		case 2:
			return copy(p, "*1\r\n$4\r\nPI"), ErrWouldBlock
		}
		return 0, io.EOF
	}), 0)
	if err := r.Fill(nil); err != ErrWouldBlock {
		t.Fatalf("first Fill = %v, want ErrWouldBlock", err)
	}
	if err := r.Fill(nil); err != nil {
		t.Fatalf("second Fill = %v, want nil (bytes came with ErrWouldBlock)", err)
	}
	if _, err := r.Parse(nil); err != ErrIncomplete {
		t.Fatalf("Parse = %v, want ErrIncomplete", err)
	}
	for range 2 {
		if err := r.Fill(nil); err != io.EOF {
			t.Fatalf("Fill = %v, want sticky io.EOF", err)
		}
	}
	if r.Buffered() != 10 {
		t.Fatalf("Buffered = %d, want 10", r.Buffered())
	}
}
