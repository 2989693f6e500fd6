package drainport

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
)

// readAll returns the lines lr reads from in, and the error that ended them.
func readAll(in string, max int) ([]string, error) {
	lr := lineReader{r: strings.NewReader(in), p: newLineParser(max)}
	var lines []string
	for {
		l, err := lr.readLine()
		if err != nil {
			return lines, err
		}
		lines = append(lines, l)
	}
}

func TestLineReader(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		want     []string
		err      error
	}{
		{"line ends", "a\nb\r\nc\r\x00d", []string{"a", "b", "c", "d"}, io.EOF},
		{"bare CR dropped", "st\ratus\n", []string{"status"}, io.EOF},
		{"empty lines", "\n\r\n\n", []string{"", "", ""}, io.EOF},
		{"tab kept", "k\tx\n", []string{"k\tx"}, io.EOF},
		{"telnet options", "\xff\xfb\x01\xff\xfd\x03k\xff\xfe\x22\n", []string{"k"}, io.EOF},
		{"telnet subnegotiation", "\xff\xfa\x18\x01\xff\xff\n\xff\xf0ok\n", []string{"ok"}, io.EOF},
		{"telnet two-byte commands", "a\xff\xf1b\xff\xf6\n", []string{"ab"}, io.EOF},
		{"escaped 0xff", "a\xff\xffb\n", nil, errBinaryInput},
		{"control byte", "ok\nx\x07\n", []string{"ok"}, errBinaryInput},
		{"high byte", "caf\xc3\xa9\n", nil, errBinaryInput},
		{"at limit", "12345678\n", []string{"12345678"}, io.EOF},
		{"over limit", "123456789\n", nil, errLineTooLong},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := readAll(tc.in, 8)
			if !errors.Is(err, tc.err) || strings.Join(got, "|") != strings.Join(tc.want, "|") {
				t.Fatalf("got %q, %v; want %q, %v", got, err, tc.want, tc.err)
			}
		})
	}
}

func TestLineParserMemoryBounded(t *testing.T) {
	p := newLineParser(16)
	var err error
	for i := 0; i < 1<<20 && err == nil; i++ {
		_, err = p.feed('a')
	}
	if !errors.Is(err, errLineTooLong) || cap(p.line) != 16 {
		t.Fatalf("err %v, buffer cap %d; want errLineTooLong, 16", err, cap(p.line))
	}
}

// FuzzLine checks that any input yields only bounded lines of printable
// ASCII and tabs, never panics and never grows the line buffer.
func FuzzLine(f *testing.F) {
	for _, s := range []string{
		"k\r\n", "k s3cret\n", "status\r\x00help\n", "quit\n",
		"\xff\xfd\x01\xff\xfb\x1f\xff\xfa\x1f\x00\x50\xff\xf0status\r\n",
		"\x16\x03\x01\x02\x00", strings.Repeat("x", 40) + "\n", "\r\r\n\xff",
	} {
		f.Add([]byte(s))
	}
	const max = 32
	f.Fuzz(func(t *testing.T, in []byte) {
		lr := lineReader{r: bytes.NewReader(in), p: newLineParser(max)}
		for {
			l, err := lr.readLine()
			if err != nil {
				if err != io.EOF && err != errLineTooLong && err != errBinaryInput {
					t.Fatalf("unexpected error %v", err)
				}
				break
			}
			if len(l) > max {
				t.Fatalf("line of %d bytes, max %d", len(l), max)
			}
			for i := 0; i < len(l); i++ {
				if c := l[i]; c != '\t' && (c < ' ' || c >= 0x7f) {
					t.Fatalf("line %q has byte %#x", l, c)
				}
			}
		}
		if cap(lr.p.line) != max {
			t.Fatalf("line buffer grew to %d", cap(lr.p.line))
		}
	})
}
