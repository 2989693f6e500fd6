package resp

import (
	"bytes"
	"fmt"
	"io"
	"math/rand/v2"
	"reflect"
	"runtime"
	"strings"
	"testing"
)

type tcase struct {
	name string
	in   string
	lim  *Limits // nil: DefaultLimits
	want [][]string
	end  string // see outcome.end
}

func cmds(c ...[]string) [][]string { return c }
func args(a ...string) []string     { return a }

var empty = []string{}

// Error texts, spelled out again so that a typo in the package shows up.
const (
	eTooBigInline  = "Protocol error: too big inline request"
	eUnbalanced    = "Protocol error: unbalanced quotes in request"
	eTooBigMbulk   = "Protocol error: too big mbulk count string"
	eInvalidMbulk  = "Protocol error: invalid multibulk length"
	eUnauthMbulk   = "Protocol error: unauthenticated multibulk length"
	eTooBigBulk    = "Protocol error: too big bulk count string"
	eInvalidBulk   = "Protocol error: invalid bulk length"
	eUnauthBulk    = "Protocol error: unauthenticated bulk length"
	eBulkNoCRLF    = "Protocol error: expected CRLF after bulk data"
	eQueryBufLimit = "resp: client query buffer limit reached"
)

func eExpected(c string) string { return "Protocol error: expected '$', got '" + c + "'" }

var ping = cmd("PING")

// protocolTclCases ports the request-parsing tests of Redis 7.0's
// tests/unit/protocol.tcl. Each name is the Tcl test's name.
func protocolTclCases() []tcase {
	desync := strings.Repeat("payload", 10000) // the Tcl test writes the literal "payload" until closed
	var mset []string
	mset = append(mset, "mset")
	for range 10000 {
		mset = append(mset, "k", "v")
	}
	mset = append(mset, "{k}2", "v2")
	blpop := cmd("BLPOP", "nolist", "0")
	return []tcase{
		{name: "Handle an empty query", in: "\r\n" + ping, want: cmds(empty, args("PING"))},
		{name: "Negative multibulk length", in: "*-10\r\n" + ping, want: cmds(empty, args("PING"))},
		{name: "Out of range multibulk length", in: "*3000000000\r\n", end: eInvalidMbulk},
		{name: "Wrong multibulk payload header", in: "*3\r\n$3\r\nSET\r\n$1\r\nx\r\nfooz\r\n", end: eExpected("f")},
		{name: "Negative multibulk payload length", in: "*3\r\n$3\r\nSET\r\n$1\r\nx\r\n$-10\r\n", end: eInvalidBulk},
		{name: "Out of range multibulk payload length", in: "*3\r\n$3\r\nSET\r\n$1\r\nx\r\n$2000000000\r\n", end: eInvalidBulk},
		{name: "Non-number multibulk payload length", in: "*3\r\n$3\r\nSET\r\n$1\r\nx\r\n$blabla\r\n", end: eInvalidBulk},
		{name: "Multi bulk request not followed by bulk arguments", in: "*1\r\nfoo\r\n", end: eExpected("f")},
		// The arity error itself belongs to the command table; the reader
		// must deliver all four arguments.
		{name: "Generic wrong number of args", in: cmd("ping", "x", "y", "z"), want: cmds(args("ping", "x", "y", "z"))},
		{name: "Unbalanced number of quotes", in: "set \"\"\"test-key\"\"\" test-value\r\nping\r\n", end: eUnbalanced},
		{name: "Protocol desync regression test #1", in: "\x00" + desync, end: eTooBigInline},
		{name: "Protocol desync regression test #2", in: "*\x00" + desync, end: eTooBigMbulk},
		{name: "Protocol desync regression test #3", in: "$\x00" + desync, end: eTooBigInline},
		{name: "test large number of args", in: cmd(mset...), want: cmds(mset)},
		{name: "Regression for a crash with blocking ops and pipelining", in: blpop + blpop,
			want: cmds(args("BLPOP", "nolist", "0"), args("BLPOP", "nolist", "0"))},
	}
}

func ownCases() []tcase {
	small := &Limits{MaxInline: 10}
	unauth := &Limits{Unauthenticated: true}
	big := strings.Repeat("x", 100_000)
	return []tcase{
		// Framing.
		{name: "pipeline", in: cmd("SET", "foo", "bar") + cmd("GET", "foo") + "PING\r\n" + cmd("DEL", "foo"),
			want: cmds(args("SET", "foo", "bar"), args("GET", "foo"), args("PING"), args("DEL", "foo"))},
		{name: "binary safe bulks", in: cmd("SET", "k\r\nx", "\r\n$3\r\n*1\r\n\x00\xff"),
			want: cmds(args("SET", "k\r\nx", "\r\n$3\r\n*1\r\n\x00\xff"))},
		{name: "empty bulk", in: "*2\r\n$3\r\nGET\r\n$0\r\n\r\n", want: cmds(args("GET", ""))},
		{name: "*0 is empty", in: "*0\r\n" + ping, want: cmds(empty, args("PING"))},
		{name: "*-1 is empty", in: "*-1\r\n", want: cmds(empty)},
		{name: "min int64 count is empty", in: "*-9223372036854775808\r\n", want: cmds(empty)},
		{name: "big bulk", in: cmd("SET", "k", big), want: cmds(args("SET", "k", big))},
		{name: "incomplete at EOF", in: "*2\r\n$3\r\nGET\r\n", end: "incomplete 13"},
		{name: "incomplete bulk at EOF", in: "PING\r\n*1\r\n$4\r\nPI", want: cmds(args("PING")), end: "incomplete 10"},
		{name: "incomplete inline at EOF", in: "PING", end: "incomplete 4"},

		// Counts.
		{name: "count leading zero", in: "*01\r\n$1\r\nx\r\n", end: eInvalidMbulk},
		{name: "count plus sign", in: "*+1\r\n", end: eInvalidMbulk},
		{name: "count space", in: "* 1\r\n", end: eInvalidMbulk},
		{name: "count empty", in: "*\r\n", end: eInvalidMbulk},
		{name: "count minus zero", in: "*-0\r\n", end: eInvalidMbulk},
		{name: "count minus only", in: "*-\r\n", end: eInvalidMbulk},
		{name: "count INT_MAX accepted", in: "*2147483647\r\n", end: "incomplete 13"},
		{name: "count INT_MAX+1", in: "*2147483648\r\n", end: eInvalidMbulk},
		{name: "count below int64", in: "*-9223372036854775809\r\n", end: eInvalidMbulk},
		{name: "count above uint64", in: "*99999999999999999999\r\n", end: eInvalidMbulk},
		{name: "count CR without LF", in: "*1\rX$1\r\nx\r\n", end: eInvalidMbulk},
		{name: "count CR waits for next byte", in: "*1\r", end: "incomplete 3"},
		{name: "MaxMultibulkLen at limit", in: cmd("a", "b", "c"), lim: &Limits{MaxMultibulkLen: 3}, want: cmds(args("a", "b", "c"))},
		{name: "MaxMultibulkLen over limit", in: cmd("a", "b", "c", "d"), lim: &Limits{MaxMultibulkLen: 3}, end: eInvalidMbulk},
		{name: "too big mbulk count string", in: "*" + strings.Repeat("1", 65536) + "X", end: eTooBigMbulk},
		{name: "mbulk count line at MaxInline", in: "*" + strings.Repeat("1", 65535) + "\r\n", end: eInvalidMbulk},
		{name: "mbulk count line over MaxInline", in: "*" + strings.Repeat("1", 65536) + "\r\n", end: eTooBigMbulk},
		{name: "mbulk count line at MaxInline waits", in: "*" + strings.Repeat("1", 65535), end: "incomplete 65536"},

		// Bulk headers and data.
		{name: "bulk leading zero", in: "*1\r\n$03\r\nfoo\r\n", end: eInvalidBulk},
		{name: "bulk minus zero", in: "*1\r\n$-0\r\n", end: eInvalidBulk},
		{name: "bulk plus", in: "*1\r\n$+3\r\nfoo\r\n", end: eInvalidBulk},
		{name: "bulk empty length", in: "*1\r\n$\r\n", end: eInvalidBulk},
		{name: "bulk CR without LF", in: "*1\r\n$3\rXfoo\r\n", end: eInvalidBulk},
		{name: "bulk data not followed by CRLF", in: "*1\r\n$3\r\nfooXY", end: eBulkNoCRLF},
		{name: "bulk data followed by CR only", in: "*1\r\n$3\r\nfoo\rX", end: eBulkNoCRLF},
		{name: "bulk data shorter than declared", in: "*2\r\n$4\r\nfoo\r\n$1\r\nx\r\n", end: eBulkNoCRLF},
		{name: "expected $ got colon", in: "*1\r\n:1\r\n", end: eExpected(":")},
		{name: "expected $ got CR shown as space", in: "*1\r\n\r\n", end: eExpected(" ")},
		{name: "expected $ got LF shown as space", in: "*1\r\n\n\r\n", end: eExpected(" ")},
		{name: "expected $ only once the line is complete", in: "*1\r\nfoo", end: "incomplete 7"},
		{name: "too big bulk count string", in: "*1\r\n$" + strings.Repeat("1", 70000), end: eTooBigBulk},
		{name: "too big bulk count string without $", in: "*1\r\n" + strings.Repeat("x", 70000), end: eTooBigBulk},
		{name: "MaxBulkLen at limit", in: cmd("hello"), lim: &Limits{MaxBulkLen: 5}, want: cmds(args("hello"))},
		{name: "MaxBulkLen over limit", in: cmd("hello!"), lim: &Limits{MaxBulkLen: 5}, end: eInvalidBulk},
		{name: "huge declared count waits", in: "*2000000000\r\n$1\r\nx\r\n", end: "incomplete 20"},
		{name: "huge declared bulk waits", in: "*1\r\n$400000000\r\nabc", end: "incomplete 19"},
		{name: "default MaxBulkLen", in: "*1\r\n$536870913\r\n", end: eInvalidBulk},

		// Unauthenticated clients.
		{name: "unauth 10 args", in: cmd("1", "2", "3", "4", "5", "6", "7", "8", "9", "10"), lim: unauth,
			want: cmds(args("1", "2", "3", "4", "5", "6", "7", "8", "9", "10"))},
		{name: "unauth 11 args", in: "*11\r\n", lim: unauth, end: eUnauthMbulk},
		{name: "unauth count out of range is invalid first", in: "*3000000000\r\n", lim: unauth, end: eInvalidMbulk},
		{name: "unauth negative count", in: "*-5\r\n" + ping, lim: unauth, want: cmds(empty, args("PING"))},
		{name: "unauth bulk 16384", in: cmd("AUTH", strings.Repeat("p", 16384)), lim: unauth,
			want: cmds(args("AUTH", strings.Repeat("p", 16384)))},
		{name: "unauth bulk 16385", in: "*2\r\n$4\r\nAUTH\r\n$16385\r\n", lim: unauth, end: eUnauthBulk},
		{name: "unauth bulk over MaxBulkLen is invalid first", in: "*1\r\n$600000000\r\n", lim: unauth, end: eInvalidBulk},
		{name: "unauth inline is not limited", in: "a b c d e f g h i j k l\r\n", lim: unauth,
			want: cmds(args("a", "b", "c", "d", "e", "f", "g", "h", "i", "j", "k", "l"))},

		// Query buffer limit: a command of exactly MaxQueryBuffer bytes
		// passes, one byte more does not.
		{name: "query buffer at limit", in: cmd("SET", "k", strings.Repeat("v", 73)) + cmd("GET", "k"), lim: &Limits{MaxQueryBuffer: 100},
			want: cmds(args("SET", "k", strings.Repeat("v", 73)), args("GET", "k"))},
		{name: "query buffer over limit", in: cmd("SET", "k", strings.Repeat("v", 74)), lim: &Limits{MaxQueryBuffer: 100}, end: eQueryBufLimit},
		{name: "query buffer limit is per command", in: strings.Repeat(cmd("SET", "k", strings.Repeat("v", 73)), 20), lim: &Limits{MaxQueryBuffer: 100},
			want: func() [][]string {
				var c [][]string
				for range 20 {
					c = append(c, args("SET", "k", strings.Repeat("v", 73)))
				}
				return c
			}()},
		{name: "query buffer over limit after commands", in: ping + cmd("SET", "k", strings.Repeat("v", 74)), lim: &Limits{MaxQueryBuffer: 100},
			want: cmds(args("PING")), end: eQueryBufLimit},
		{name: "query buffer limit on unfinished inline", in: strings.Repeat("x", 200), lim: &Limits{MaxQueryBuffer: 100, MaxInline: 1000}, end: eQueryBufLimit},

		// Inline requests.
		{name: "inline LF", in: "PING\n", want: cmds(args("PING"))},
		{name: "inline CRLF", in: "SET foo bar\r\n", want: cmds(args("SET", "foo", "bar"))},
		{name: "inline blank lines", in: "\n\r\n   \r\n\t\n", want: cmds(empty, empty, empty, empty)},
		{name: "inline separators", in: "  a\tb  c \v d\x0be\r\n", want: cmds(args("a", "b", "c", "d\x0be"))},
		{name: "inline CR inside line separates", in: "a\rb\n", want: cmds(args("a", "b"))},
		{name: "inline double quotes", in: "SET \"a b\" c\r\n", want: cmds(args("SET", "a b", "c"))},
		{name: "inline escapes", in: `SET "\x41\x4a\n\r\t\b\a\\\"\q\xZZ\x4" x` + "\r\n",
			want: cmds(args("SET", "AJ\n\r\t\b\a\\\"qxZZx4", "x"))},
		{name: "inline hex escape upper case", in: `"\xfF\x00"` + "\n", want: cmds(args("\xff\x00"))},
		{name: "inline single quotes", in: `SET 'it\'s' 'a\nb' '"'` + "\n", want: cmds(args("SET", "it's", `a\nb`, `"`))},
		{name: "inline empty quoted args", in: `SET "" ''` + "\n", want: cmds(args("SET", "", ""))},
		{name: "inline quote inside token", in: `foo"bar baz" x` + "\n", want: cmds(args("foobar baz", "x"))},
		{name: "inline closing quote then CR", in: "SET \"a\"\r\r\n", want: cmds(args("SET", "a"))},
		{name: "inline closing quote then tab", in: "\"a\"\tb\n", want: cmds(args("a", "b"))},
		{name: "inline closing quote then vertical tab", in: "\"a\"\vb\n", want: cmds(args("a", "b"))},
		{name: "inline text after closing quote", in: `"foo"bar` + "\n", end: eUnbalanced},
		{name: "inline text after closing single quote", in: `'foo'bar` + "\n", end: eUnbalanced},
		{name: "inline unterminated double quote", in: `SET "foo` + "\n", end: eUnbalanced},
		{name: "inline unterminated single quote", in: `SET 'foo` + "\n", end: eUnbalanced},
		{name: "inline backslash before end", in: `"foo\` + "\n", end: eUnbalanced},
		{name: "inline hex escape cut by end of line", in: `"\x4` + "\n", end: eUnbalanced},
		{name: "inline escaped quote does not close", in: `"foo\"` + "\n", end: eUnbalanced},
		{name: "inline NUL is an ordinary byte", in: "a\x00b c\n", want: cmds(args("a\x00b", "c"))},
		{name: "inline then multibulk", in: "GET a\r\n" + cmd("GET", "b") + "GET c\n",
			want: cmds(args("GET", "a"), args("GET", "b"), args("GET", "c"))},
		{name: "inline line at MaxInline (LF)", in: "0123456789\n", lim: small, want: cmds(args("0123456789"))},
		{name: "inline line at MaxInline (CRLF)", in: "012345678\r\n", lim: small, want: cmds(args("012345678"))},
		{name: "inline line over MaxInline (LF)", in: "0123456789A\n", lim: small, end: eTooBigInline},
		{name: "inline line over MaxInline (CRLF)", in: "0123456789\r\n", lim: small, end: eTooBigInline},
		{name: "inline unterminated at MaxInline waits", in: "0123456789", lim: small, end: "incomplete 10"},
		{name: "inline unterminated over MaxInline", in: "0123456789A", lim: small, end: eTooBigInline},
		{name: "inline default MaxInline", in: strings.Repeat("a", 65536) + "\n" + strings.Repeat("b", 65537) + "\n",
			want: cmds(args(strings.Repeat("a", 65536))), end: eTooBigInline},
		{name: "header lines use MaxInline", in: "*1\r\n$3\r\nfoo\r\n*12345678901\r\n", lim: small, want: cmds(args("foo")), end: eTooBigMbulk},
		{name: "bulk header line uses MaxInline", in: "*1\r\n$00000000001\r\n", lim: small, end: eTooBigBulk},
	}
}

// readers returns named ways of delivering data.
func readers(data []byte, seed uint64) map[string]io.Reader {
	rng := rand.New(rand.NewPCG(seed, 1))
	m := map[string]io.Reader{
		"whole":         wholeReader(data),
		"whole+EOF":     &chunkReader{data: data, sizes: []int{1 << 62}, eofWithLen: true},
		"1 byte":        oneByteReader(data),
		"1 byte+EOF":    &chunkReader{data: data, sizes: []int{1}, eofWithLen: true},
		"random 1..7":   &chunkReader{data: data, sizes: randomSizes(rng, 97, 7)},
		"random 1..300": &chunkReader{data: data, sizes: randomSizes(rng, 101, 300), eofWithLen: true},
	}
	return m
}

func TestProtocolTcl(t *testing.T) { runCases(t, protocolTclCases()) }

func TestCases(t *testing.T) { runCases(t, ownCases()) }

func runCases(t *testing.T, cases []tcase) {
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			want := outcome{cmds: tc.want, end: tc.end}
			if want.cmds == nil {
				want.cmds = [][]string{}
			}
			for _, size := range []int{0, 16} {
				for name, rd := range readers([]byte(tc.in), 1) {
					if len(tc.in) > 50_000 && strings.HasPrefix(name, "1 byte") && size == 16 {
						continue // covered with the default size; keeps -race fast
					}
					got := run(t, rd, tc.lim, size)
					if got.cmds == nil {
						got.cmds = [][]string{}
					}
					if !reflect.DeepEqual(got, want) {
						t.Fatalf("size %d, %s reads:\ngot  %.2000s\nwant %.2000s", size, name, got, want)
					}
				}
			}
		})
	}
}

// TestEveryBoundary splits a mixed pipeline in two at every byte.
func TestEveryBoundary(t *testing.T) {
	in := []byte(cmd("SET", "foo", "b\r\nr") + "GET \"a b\" 'c'\r\n" + "*0\r\n" + cmd("MGET", "", "x") + "\n" + "PING\n")
	want := run(t, wholeReader(in), nil, 0)
	if len(want.cmds) != 6 || want.end != "" {
		t.Fatalf("unexpected reference outcome %v", want)
	}
	for k := 1; k < len(in); k++ {
		for _, size := range []int{0, 8} {
			got := run(t, &chunkReader{data: in, sizes: []int{k, 1 << 62}}, nil, size)
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("split at %d, size %d:\ngot  %v\nwant %v", k, size, got, want)
			}
		}
	}
}

// TestRandomChunkings feeds random pipelines in random chunks.
func TestRandomChunkings(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 7))
	for iter := range 200 {
		var b bytes.Buffer
		var want [][]string
		for range 1 + rng.IntN(30) {
			n := 1 + rng.IntN(5)
			a := make([]string, n)
			for i := range a {
				v := make([]byte, rng.IntN(40))
				for j := range v {
					v[j] = byte(rng.IntN(256))
				}
				a[i] = string(v)
			}
			b.WriteString(cmd(a...))
			want = append(want, a)
		}
		for name, rd := range readers(b.Bytes(), uint64(iter)) {
			got := run(t, rd, nil, 1+rng.IntN(64))
			if !reflect.DeepEqual(got.cmds, want) || got.end != "" {
				t.Fatalf("iteration %d, %s: got %v", iter, name, got)
			}
		}
	}
}

// TestLinearWork checks that a command arriving in many small reads is not
// re-parsed from its start on every read: the bytes examined while looking
// for line ends and the bytes moved in the buffer stay proportional to the
// command's size.
func TestLinearWork(t *testing.T) {
	const n = 100_000
	a := make([]string, n)
	for i := range a {
		a[i] = fmt.Sprint(i % 1000)
	}
	in := []byte(cmd(a...))
	for _, chunk := range []int{1, 5, 4096} {
		r := NewReader(&chunkReader{data: in, sizes: []int{chunk}}, 0)
		var got [][]byte
		reads := 0
		for got == nil {
			args, err := r.Parse(nil)
			if err == ErrIncomplete {
				if err := r.Fill(nil); err != nil {
					t.Fatal(err)
				}
				reads++
				continue
			}
			if err != nil {
				t.Fatal(err)
			}
			got = args
		}
		if len(got) != n || string(got[n-1]) != a[n-1] {
			t.Fatalf("chunk %d: got %d args", chunk, len(got))
		}
		t.Logf("chunk %d: %d bytes, %d reads, scanned %d, copied %d", chunk, len(in), reads, r.scanned, r.copied)
		if r.scanned > len(in) {
			t.Errorf("chunk %d: scanned %d bytes for a %d-byte command", chunk, r.scanned, len(in))
		}
		if r.copied > 3*len(in) {
			t.Errorf("chunk %d: copied %d bytes for a %d-byte command", chunk, r.copied, len(in))
		}
	}
	// The argument vectors of the big command are not kept.
	r := NewReader(&chunkReader{data: append(in, ping...), sizes: []int{4096}}, 0)
	for i := 0; i < 2; {
		_, err := r.Parse(nil)
		if err == ErrIncomplete {
			if err := r.Fill(nil); err != nil {
				t.Fatal(err)
			}
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		i++
	}
	r.Parse(nil)
	r.Fill(nil)
	if cap(r.args) > keepArgs || cap(r.spans) > keepArgs || len(r.buf) != DefaultBufferSize {
		t.Errorf("kept args %d, spans %d, buffer %d", cap(r.args), cap(r.spans), len(r.buf))
	}

	// A long inline line and a long (invalid) header line, byte by byte.
	for _, in := range []string{strings.Repeat("a ", 30000) + "\n", "*" + strings.Repeat("1", 60000) + "\r\n"} {
		r := NewReader(oneByteReader([]byte(in)), 0)
		for {
			_, err := r.Parse(nil)
			if err != ErrIncomplete {
				break
			}
			if r.Fill(nil) != nil {
				break
			}
		}
		if r.scanned > len(in) {
			t.Errorf("scanned %d bytes for a %d-byte line", r.scanned, len(in))
		}
	}
}

// TestNoPreallocation checks that declared counts and lengths do not
// allocate before the data arrives, and that the buffer grows at most
// geometrically with the bytes received.
func TestNoPreallocation(t *testing.T) {
	for _, hdr := range []string{"*2000000000\r\n", "*1\r\n$400000000\r\n", "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$536870912\r\n"} {
		var ms0, ms1 runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&ms0)
		r := NewReader(strings.NewReader(hdr+"abc"), 0)
		for i := 0; i < 10; i++ {
			if _, err := r.Parse(nil); err != ErrIncomplete {
				t.Fatalf("%q: %v", hdr, err)
			}
			if err := r.Fill(nil); err == io.EOF {
				break
			}
		}
		runtime.ReadMemStats(&ms1)
		if d := ms1.TotalAlloc - ms0.TotalAlloc; d > 1<<20 {
			t.Errorf("%q: allocated %d bytes", hdr, d)
		}
		if len(r.buf) != DefaultBufferSize || cap(r.spans) > 8 {
			t.Errorf("%q: buffer %d, spans %d", hdr, len(r.buf), cap(r.spans))
		}
	}

	// A 3 MB bulk arriving in 1000-byte reads: the buffer never exceeds
	// twice what was received (plus the read slack), nor what the command
	// needs, and shrinks back once the command is consumed.
	val := strings.Repeat("v", 3<<20)
	in := cmd("SET", "k", val) + ping
	size := len(cmd("SET", "k", val))
	r := NewReader(&chunkReader{data: []byte(in), sizes: []int{1000}}, 0)
	peak, done := 0, false
	for {
		args, err := r.Parse(nil)
		if err == ErrIncomplete {
			if err := r.Fill(nil); err != nil {
				t.Fatal(err)
			}
			if l := len(r.buf); l > DefaultBufferSize && l > 2*(r.Buffered()+minFreeMax) {
				t.Fatalf("buffer %d with %d bytes buffered", l, r.Buffered())
			}
			peak = max(peak, len(r.buf))
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		if len(args) == 3 {
			if string(args[2]) != val {
				t.Fatal("bad value")
			}
			done = true
			continue
		}
		if !done || string(args[0]) != "PING" {
			t.Fatalf("unexpected %q", args)
		}
		if len(r.buf) != DefaultBufferSize {
			t.Fatalf("buffer not shrunk: %d", len(r.buf))
		}
		break
	}
	if peak > size+DefaultBufferSize {
		t.Errorf("peak buffer %d for a %d-byte command", peak, size)
	}
}

// TestShrinkWhenIdle checks that after a big command the buffer returns to
// its resting size before the next blocking read.
func TestShrinkWhenIdle(t *testing.T) {
	in := cmd("SET", "k", strings.Repeat("v", 1<<20))
	pr, pw := io.Pipe()
	go func() {
		pw.Write([]byte(in))
		pw.Close()
	}()
	r := NewReader(pr, 0)
	for {
		args, err := r.Parse(nil)
		if err == ErrIncomplete {
			if err := r.Fill(nil); err == io.EOF {
				break
			} else if err != nil {
				t.Fatal(err)
			}
			continue
		}
		if err != nil || len(args) != 3 {
			t.Fatal(err, len(args))
		}
	}
	if len(r.buf) != DefaultBufferSize {
		t.Errorf("buffer %d after the command was consumed", len(r.buf))
	}
}

// TestZeroAllocs checks that small multibulk commands parse without
// allocating.
func TestZeroAllocs(t *testing.T) {
	for _, p := range []string{setPipeline(), getPipeline()} {
		r := NewReader(&cyclicReader{data: []byte(p)}, 0)
		n := 0
		allocs := testing.AllocsPerRun(1000, func() {
			for range 16 {
				for {
					args, err := r.Parse(nil)
					if err == ErrIncomplete {
						if err := r.Fill(nil); err != nil {
							t.Fatal(err)
						}
						continue
					}
					if err != nil || len(args) < 2 {
						t.Fatal(err, args)
					}
					n++
					break
				}
			}
		})
		if allocs != 0 {
			t.Errorf("%.1f allocations per 16 commands", allocs)
		}
	}
}

func TestLimitsChangeBetweenCommands(t *testing.T) {
	lim := Limits{Unauthenticated: true}
	r := NewReader(strings.NewReader(cmd("AUTH", "pw")+cmd("MSET", "a", "1", "b", "2", "c", "3", "d", "4", "e", "5")), 0)
	var got []string
	for {
		args, err := r.Parse(&lim)
		if err == ErrIncomplete {
			if r.Fill(&lim) != nil {
				break
			}
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, string(args[0]))
		lim.Unauthenticated = false
	}
	if !reflect.DeepEqual(got, []string{"AUTH", "MSET"}) {
		t.Fatalf("got %v", got)
	}
}

func TestReadErrors(t *testing.T) {
	// Data delivered together with an error is parsed before the error is
	// reported.
	r := NewReader(&chunkReader{data: []byte(ping + ping), sizes: []int{100}, eofWithLen: true}, 0)
	if err := r.Fill(nil); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if args, err := r.Parse(nil); err != nil || string(args[0]) != "PING" {
			t.Fatal(args, err)
		}
	}
	if _, err := r.Parse(nil); err != ErrIncomplete {
		t.Fatal(err)
	}
	if err := r.Fill(nil); err != io.EOF {
		t.Fatal(err)
	}
	// A reader that never makes progress.
	r = NewReader(readerFunc(func([]byte) (int, error) { return 0, nil }), 0)
	if err := r.Fill(nil); err != io.ErrNoProgress {
		t.Fatal(err)
	}
	// Buffered counts unconsumed bytes.
	r = NewReader(strings.NewReader(ping+"*2\r\n$3\r\nGET"), 0)
	r.Fill(nil)
	if r.Buffered() != len(ping)+11 {
		t.Fatal(r.Buffered())
	}
	r.Parse(nil)
	if r.Buffered() != 11 {
		t.Fatal(r.Buffered())
	}
}

type readerFunc func([]byte) (int, error)

func (f readerFunc) Read(p []byte) (int, error) { return f(p) }

func TestDefaultLimits(t *testing.T) {
	l := DefaultLimits()
	want := Limits{MaxBulkLen: 512 << 20, MaxQueryBuffer: 1 << 30, MaxMultibulkLen: 1<<31 - 1, MaxInline: 64 << 10}
	if l != want {
		t.Fatalf("%+v", l)
	}
	var zero Limits
	if zero.effective() != want || (*Limits)(nil).effective() != want {
		t.Fatal("zero limits are not the defaults")
	}
}
