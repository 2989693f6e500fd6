package resp

import (
	"bytes"
	"errors"
	"io"
	"math"
)

// DefaultBufferSize is the initial and resting size of a Reader's buffer,
// Redis's PROTO_IOBUF_LEN (16 KiB).
const DefaultBufferSize = 16 * 1024

// Default limits, as in Redis 7.0.
const (
	// DefaultMaxBulkLen is Redis's default proto-max-bulk-len (512 MiB).
	DefaultMaxBulkLen = 512 * 1024 * 1024
	// DefaultMaxQueryBuffer is Redis's default client-query-buffer-limit
	// (1 GiB).
	DefaultMaxQueryBuffer = 1024 * 1024 * 1024
	// DefaultMaxMultibulkLen is the largest accepted argument count, the
	// INT_MAX bound Redis checks.
	DefaultMaxMultibulkLen = math.MaxInt32
	// DefaultMaxInline is Redis's PROTO_INLINE_MAX_SIZE (64 KiB): the
	// longest inline request line and the longest "*" or "$" header line.
	DefaultMaxInline = 64 * 1024
)

// Limits applied to unauthenticated clients, as Redis hardcodes them.
const (
	// UnauthMaxMultibulkLen is the largest argument count accepted while
	// Limits.Unauthenticated is set.
	UnauthMaxMultibulkLen = 10
	// UnauthMaxBulkLen is the largest bulk length accepted while
	// Limits.Unauthenticated is set.
	UnauthMaxBulkLen = 16384
)

// Limits bounds what a client may send. Parse and Fill take a pointer to
// it on every call, so the server may change a field (typically
// Unauthenticated after a successful AUTH) between commands. A field that is
// zero or negative means its default; a nil *Limits means DefaultLimits().
type Limits struct {
	// MaxBulkLen is the largest accepted bulk length in bytes
	// (proto-max-bulk-len). A larger "$<len>" is "invalid bulk length".
	MaxBulkLen int64
	// MaxQueryBuffer is the largest encoded size of a single command
	// (client-query-buffer-limit): once an incomplete command occupies
	// that many bytes, Fill returns ErrQueryBufferLimit.
	MaxQueryBuffer int
	// MaxMultibulkLen is the largest accepted argument count. A larger
	// "*<count>" is "invalid multibulk length".
	MaxMultibulkLen int64
	// MaxInline bounds lines: the bytes of an inline request before its
	// '\n' (a '\r' before the '\n' counts), and the bytes of a "*" or
	// "$" header line before its '\r' (the '*' or '$' counts). Longer lines
	// are "too big inline request", "too big mbulk count string" or "too
	// big bulk count string".
	MaxInline int
	// Unauthenticated applies Redis's limits for clients that still have
	// to AUTH: multibulk requests of at most UnauthMaxMultibulkLen
	// arguments, each at most UnauthMaxBulkLen bytes. As in Redis, inline
	// requests are not further limited.
	Unauthenticated bool
}

// DefaultLimits returns Redis 7.0's default limits for an authenticated
// client.
func DefaultLimits() Limits {
	return Limits{
		MaxBulkLen:      DefaultMaxBulkLen,
		MaxQueryBuffer:  DefaultMaxQueryBuffer,
		MaxMultibulkLen: DefaultMaxMultibulkLen,
		MaxInline:       DefaultMaxInline,
	}
}

// effective returns l with defaults substituted for unset fields.
func (l *Limits) effective() Limits {
	if l == nil {
		return DefaultLimits()
	}
	e := *l
	if e.MaxBulkLen <= 0 {
		e.MaxBulkLen = DefaultMaxBulkLen
	}
	if e.MaxQueryBuffer <= 0 {
		e.MaxQueryBuffer = DefaultMaxQueryBuffer
	}
	if e.MaxMultibulkLen <= 0 {
		e.MaxMultibulkLen = DefaultMaxMultibulkLen
	}
	if e.MaxInline <= 0 {
		e.MaxInline = DefaultMaxInline
	}
	return e
}

// ErrIncomplete is returned by Parse when the buffered bytes do not hold a
// whole command yet: call Fill, then Parse again. The part already parsed is
// kept, so Parse does not start over.
var ErrIncomplete = errors.New("resp: incomplete command")

// ErrQueryBufferLimit is returned by Fill, without reading, when an
// incomplete command already occupies Limits.MaxQueryBuffer bytes. Redis
// closes such a connection without a reply. It is sticky: later Parse and
// Fill calls return it too.
var ErrQueryBufferLimit = errors.New("resp: client query buffer limit reached")

// ErrWouldBlock is returned by an underlying reader over a non-blocking
// file descriptor that has no bytes to offer yet. Fill passes it through
// without making it sticky: the caller waits for readability and calls Fill
// again. Bytes returned together with it are kept and Fill returns nil.
var ErrWouldBlock = errors.New("resp: read would block")

// ProtocolError is a malformed or over-limit request. Its Error text is the
// message Redis replies with after "ERR ", e.g. "Protocol error: invalid bulk
// length"; it never contains '\r' or '\n'. The server should reply and close
// the connection.
type ProtocolError struct {
	msg string
}

// Error returns the Redis error message, without the "ERR " prefix.
func (e *ProtocolError) Error() string { return e.msg }

// The protocol errors with a fixed text.
var (
	errTooBigInline      = &ProtocolError{"Protocol error: too big inline request"}
	errUnbalancedQuotes  = &ProtocolError{"Protocol error: unbalanced quotes in request"}
	errTooBigMbulkCount  = &ProtocolError{"Protocol error: too big mbulk count string"}
	errInvalidMbulkLen   = &ProtocolError{"Protocol error: invalid multibulk length"}
	errUnauthMbulkLen    = &ProtocolError{"Protocol error: unauthenticated multibulk length"}
	errTooBigBulkCount   = &ProtocolError{"Protocol error: too big bulk count string"}
	errInvalidBulkLen    = &ProtocolError{"Protocol error: invalid bulk length"}
	errUnauthBulkLen     = &ProtocolError{"Protocol error: unauthenticated bulk length"}
	errBulkNotTerminated = &ProtocolError{"Protocol error: expected CRLF after bulk data"}
)

// errExpectedDollar is Redis's "expected '$', got '%c'", with '\r' and '\n'
// shown as a space as Redis's addReplyErrorFormat does.
func errExpectedDollar(c byte) *ProtocolError {
	if c == '\r' || c == '\n' {
		c = ' '
	}
	return &ProtocolError{"Protocol error: expected '$', got '" + string([]byte{c}) + "'"}
}

// Parser states.
const (
	stIdle   = iota // between commands
	stInline        // looking for the end of an inline line
	stCount         // looking for the end of the "*<count>" line
	stBulks         // reading the bulks of a multibulk command
)

// minFreeMax is the most free space Fill insists on before a Read; less
// is accepted when the pending bulk needs less.
const minFreeMax = 512

// keepArgs is the largest argument vector capacity kept across reads.
const keepArgs = 1024

// span locates a parsed bulk, relative to the start of its command.
type span struct{ off, n int }

// Reader parses RESP requests from an io.Reader. It is not safe for
// concurrent use.
type Reader struct {
	rd   io.Reader
	buf  []byte // len(buf) is the capacity in use; bytes are buf[start:w]
	size int    // resting buffer size
	free int    // free space wanted before a Read

	start int // first byte of the current command (not yet returned)
	w     int // end of the buffered bytes
	pos   int // parse position inside the current command
	scan  int // where the search for the current line's terminator resumes

	state     int
	remaining int64 // bulks still to parse (stBulks)
	bulkLen   int64 // length of the bulk being read, or -1 before its header
	spans     []span
	args      [][]byte

	err  error // sticky protocol or query buffer error
	rerr error // read error to report on the next Fill

	// Work counters, for tests of linear complexity.
	scanned int // bytes examined while searching line terminators
	copied  int // bytes copied when compacting or resizing the buffer
}

// NewReader returns a Reader of rd whose buffer rests at size bytes
// (DefaultBufferSize if size <= 0). The buffer grows while a command larger
// than that arrives and shrinks back once it is consumed.
func NewReader(rd io.Reader, size int) *Reader {
	if size <= 0 {
		size = DefaultBufferSize
	}
	free := min(minFreeMax, size/2)
	if free < 1 {
		free = 1
	}
	return &Reader{rd: rd, buf: make([]byte, size), size: size, free: free, bulkLen: -1}
}

// Buffered returns the number of bytes received but not yet returned as part
// of a command: the bytes of the command being received plus any pipelined
// commands after it (CLIENT LIST's qbuf).
func (r *Reader) Buffered() int { return r.w - r.start }

// Parse returns the next command from the buffered bytes without doing any
// I/O. It returns:
//
//   - args, nil: a command. len(args) == 0 is an empty command (a blank
//     inline line, "*0\r\n", "*-1\r\n"), which Redis silently ignores.
//     Multibulk arguments alias the Reader's buffer; inline arguments are
//     freshly allocated. The slice and, for multibulk commands, the bytes
//     it refers to are valid only until the next call to Parse or Fill.
//     Each argument's capacity is its length, so appending to one copies.
//   - nil, ErrIncomplete: more bytes are needed; call Fill. The state of a
//     partially parsed command is kept, so a command arriving over many
//     reads is parsed in time linear in its size.
//   - nil, *ProtocolError: the request is malformed or exceeds limits;
//     the same error is returned by every later call.
//   - nil, ErrQueryBufferLimit: a previous Fill reported it.
//
// Args are never returned together with an error.
func (r *Reader) Parse(limits *Limits) ([][]byte, error) {
	if r.err != nil {
		return nil, r.err
	}
	lim := limits.effective()
	if r.state == stIdle {
		if r.start == r.w {
			return nil, ErrIncomplete
		}
		r.pos, r.scan = r.start, r.start
		if r.buf[r.start] == '*' {
			r.state = stCount
		} else {
			r.state = stInline
		}
	}
	switch r.state {
	case stInline:
		return r.parseInline(&lim)
	case stCount:
		args, err := r.parseCount(&lim)
		if err != nil || r.state == stIdle {
			return args, err
		}
	}
	return r.parseBulks(&lim)
}

// fail records a sticky protocol error.
func (r *Reader) fail(err *ProtocolError) ([][]byte, error) {
	r.err = err
	return nil, err
}

// findLine searches the terminator c of the line starting at from, resuming
// at r.scan. It returns the terminator's index, or -1 with a nil error if
// more bytes are needed, or -1 and tooBig if the line is longer than max
// bytes (the terminator would be at offset max+1 or later).
func (r *Reader) findLine(c byte, from, max int, tooBig *ProtocolError) (int, *ProtocolError) {
	end := r.w
	if max < end-from { // from+max+1 <= end, without overflow
		end = from + max + 1
	}
	if r.scan < end {
		if i := bytes.IndexByte(r.buf[r.scan:end], c); i >= 0 {
			r.scanned += i + 1
			r.scan += i
			return r.scan, nil
		}
		r.scanned += end - r.scan
		r.scan = end
	}
	if r.w-from > max {
		return -1, tooBig
	}
	return -1, nil
}

// parseInline parses an inline command starting at r.start.
func (r *Reader) parseInline(lim *Limits) ([][]byte, error) {
	nl, perr := r.findLine('\n', r.start, lim.MaxInline, errTooBigInline)
	if perr != nil {
		return r.fail(perr)
	}
	if nl < 0 {
		return nil, ErrIncomplete
	}
	line := r.buf[r.start:nl]
	if len(line) > 0 && line[len(line)-1] == '\r' {
		line = line[:len(line)-1]
	}
	args, ok := splitArgs(line, r.args[:0])
	if !ok {
		return r.fail(errUnbalancedQuotes)
	}
	r.args = args
	r.finish(nl + 1)
	return args, nil
}

// parseCount parses the "*<count>\r\n" line of a multibulk command. It
// leaves r.state at stBulks, or at stIdle for an empty command.
func (r *Reader) parseCount(lim *Limits) ([][]byte, error) {
	if n, next, ok := r.quickHeader('*', r.start, lim.MaxInline); ok {
		return r.startBulks(n, next, lim)
	}
	cr, perr := r.findLine('\r', r.start, lim.MaxInline, errTooBigMbulkCount)
	if perr != nil {
		return r.fail(perr)
	}
	if cr < 0 || cr+1 >= r.w {
		return nil, ErrIncomplete
	}
	if r.buf[cr+1] != '\n' {
		return r.fail(errInvalidMbulkLen)
	}
	n, ok := parseInt(r.buf[r.start+1 : cr])
	if !ok {
		return r.fail(errInvalidMbulkLen)
	}
	return r.startBulks(n, cr+2, lim)
}

// startBulks checks the count n of a multibulk command whose bulks start at
// next.
func (r *Reader) startBulks(n int64, next int, lim *Limits) ([][]byte, error) {
	if n > lim.MaxMultibulkLen {
		return r.fail(errInvalidMbulkLen)
	}
	if n > UnauthMaxMultibulkLen && lim.Unauthenticated {
		return r.fail(errUnauthMbulkLen)
	}
	if n <= 0 {
		r.finish(next)
		return r.args[:0], nil
	}
	r.pos, r.scan = next, next
	r.remaining, r.bulkLen = n, -1
	r.spans = r.spans[:0]
	r.state = stBulks
	return nil, nil
}

// parseBulks parses the bulks of a multibulk command, resuming where the
// previous call stopped.
func (r *Reader) parseBulks(lim *Limits) ([][]byte, error) {
	maxBulk := lim.MaxBulkLen
	for r.remaining > 0 {
		if r.bulkLen < 0 {
			if n, next, ok := r.quickHeader('$', r.pos, lim.MaxInline); ok {
				if n > maxBulk {
					return r.fail(errInvalidBulkLen)
				}
				if n > UnauthMaxBulkLen && lim.Unauthenticated {
					return r.fail(errUnauthBulkLen)
				}
				r.bulkLen = n
				r.pos = next
				goto data
			}
			cr, perr := r.findLine('\r', r.pos, lim.MaxInline, errTooBigBulkCount)
			if perr != nil {
				return r.fail(perr)
			}
			if cr < 0 || cr+1 >= r.w {
				return nil, ErrIncomplete
			}
			if r.buf[r.pos] != '$' {
				return r.fail(errExpectedDollar(r.buf[r.pos]))
			}
			if r.buf[cr+1] != '\n' {
				return r.fail(errInvalidBulkLen)
			}
			n, ok := parseInt(r.buf[r.pos+1 : cr])
			if !ok || n < 0 || n > maxBulk {
				return r.fail(errInvalidBulkLen)
			}
			if n > UnauthMaxBulkLen && lim.Unauthenticated {
				return r.fail(errUnauthBulkLen)
			}
			r.bulkLen = n
			r.pos = cr + 2
		}
	data:
		if int64(r.w-r.pos-2) < r.bulkLen {
			return nil, ErrIncomplete
		}
		end := r.pos + int(r.bulkLen)
		if r.buf[end] != '\r' || r.buf[end+1] != '\n' {
			return r.fail(errBulkNotTerminated)
		}
		r.spans = append(r.spans, span{r.pos - r.start, int(r.bulkLen)})
		r.pos = end + 2
		r.scan = r.pos
		r.bulkLen = -1
		r.remaining--
	}
	args := r.args[:0]
	for _, s := range r.spans {
		i, j := r.start+s.off, r.start+s.off+s.n
		args = append(args, r.buf[i:j:j])
	}
	r.args = args
	r.finish(r.pos)
	return args, nil
}

// finish ends the current command at next, the first byte of the next one.
func (r *Reader) finish(next int) {
	r.start, r.pos, r.scan = next, next, next
	r.state = stIdle
	r.bulkLen = -1
}

// Fill reads once from the underlying reader into the buffer, after making
// room: it compacts the buffer, grows it geometrically (to at most twice the
// bytes actually received for the pending command, and never beyond what the
// bulk being received still needs) or, when at most half of the resting size
// is pending, shrinks it back to the resting size. Call it only after Parse
// returned ErrIncomplete; it invalidates the arguments returned before.
//
// Fill returns:
//
//   - nil: zero or more bytes were added (Read returned data, possibly
//     together with an error, which is then returned by the next Fill).
//   - ErrQueryBufferLimit, without reading: the incomplete command already
//     occupies limits.MaxQueryBuffer bytes. Fill never reads past that
//     bound, so exactly the commands longer than MaxQueryBuffer bytes are
//     refused, however the bytes are split across reads.
//   - the error of the underlying Read (io.EOF when the peer closed, even in
//     the middle of a command); io.ErrNoProgress after 100 consecutive
//     empty reads without error.
//   - ErrWouldBlock, when the underlying Read returned it with no bytes;
//     unlike the other errors it is not sticky, and Fill may be called
//     again once more bytes can be read.
//
// After Parse returned a protocol error, Fill returns it without reading.
// Errors are sticky: later Fill calls return the same error.
func (r *Reader) Fill(limits *Limits) error {
	if r.err != nil {
		return r.err
	}
	lim := limits.effective()
	pending := r.w - r.start
	if pending >= lim.MaxQueryBuffer {
		// Checked before reporting a pending read error, so that the
		// outcome does not depend on whether the last bytes came with it.
		r.err = ErrQueryBufferLimit
		return r.err
	}
	if r.rerr != nil {
		return r.rerr
	}
	need := 0 // total bytes the pending command needs, when known
	if r.state == stBulks && r.bulkLen >= 0 {
		need = r.pos - r.start + int(r.bulkLen) + 2
	}
	r.makeRoom(pending, need, lim.MaxQueryBuffer)
	// Do not keep the argument vectors of a command with many arguments.
	if cap(r.args) > keepArgs {
		r.args = nil
	}
	if cap(r.spans) > keepArgs && len(r.spans) <= keepArgs/4 {
		r.spans = append([]span(nil), r.spans...)
	}
	end := len(r.buf)
	if max := lim.MaxQueryBuffer - pending; end-r.w > max {
		end = r.w + max
	}
	for range 100 {
		n, err := r.rd.Read(r.buf[r.w:end])
		if n < 0 || n > end-r.w {
			r.rerr = errors.New("resp: reader returned invalid count")
			return r.rerr
		}
		r.w += n
		if err == ErrWouldBlock {
			if n > 0 {
				return nil
			}
			return err
		}
		if err != nil {
			r.rerr = err
			if n > 0 {
				return nil
			}
			return err
		}
		if n > 0 {
			return nil
		}
	}
	r.rerr = io.ErrNoProgress
	return r.rerr
}

// makeRoom prepares the buffer for a read. pending is r.w-r.start and need,
// if positive, the total size of the pending command.
func (r *Reader) makeRoom(pending, need, maxQuery int) {
	if len(r.buf) > r.size && pending <= r.size/2 {
		r.moveTo(make([]byte, r.size))
		return
	}
	if pending == 0 {
		r.moveTo(r.buf) // rewind, copying nothing
	}
	want := r.free
	if need > 0 && need-pending < want {
		want = max(need-pending, 1)
	}
	if len(r.buf)-r.w >= want {
		return
	}
	if r.start > 0 && pending+want <= len(r.buf) {
		r.moveTo(r.buf)
		return
	}
	size := max(2*len(r.buf), pending+want)
	if need > 0 && size > need {
		size = need
	}
	if size > maxQuery {
		size = maxQuery // > pending, checked by Fill
	}
	r.moveTo(make([]byte, size))
}

// moveTo moves the pending bytes to the start of nb and makes it the buffer.
func (r *Reader) moveTo(nb []byte) {
	shift := r.start
	n := copy(nb, r.buf[r.start:r.w])
	r.copied += n
	r.buf = nb
	r.start, r.w = 0, n
	r.pos -= shift
	r.scan -= shift
}

// quickHeader parses the common header line c<digits>\r\n at from, with
// 1 to 18 digits and no leading zero, entirely buffered and no longer than
// max. It reports false for anything else, which the general path handles;
// where it succeeds the general path would reach the same result.
func (r *Reader) quickHeader(c byte, from, max int) (n int64, next int, ok bool) {
	buf := r.buf[:r.w]
	if from >= len(buf) || buf[from] != c {
		return 0, 0, false
	}
	i := from + 1
	for ; i < len(buf) && i-from <= 18; i++ {
		d := buf[i]
		if d < '0' || d > '9' {
			break
		}
		n = n*10 + int64(d-'0')
	}
	digits := i - from - 1
	if digits == 0 || (digits > 1 && buf[from+1] == '0') || i-from > max ||
		i+1 >= len(buf) || buf[i] != '\r' || buf[i+1] != '\n' {
		return 0, 0, false
	}
	return n, i + 2, true
}

// parseInt parses b as Redis's string2ll does: an optional '-', no leading
// zeros (other than "0" itself), no '+' or spaces, within int64, and
// shorter than 21 bytes.
func parseInt(b []byte) (int64, bool) {
	n := len(b)
	if n == 0 || n >= 21 {
		return 0, false
	}
	if n == 1 && b[0] == '0' {
		return 0, true
	}
	i := 0
	neg := b[0] == '-'
	if neg {
		i = 1
		if n == 1 {
			return 0, false
		}
	}
	if b[i] < '1' || b[i] > '9' {
		return 0, false
	}
	v := uint64(b[i] - '0')
	for i++; i < n; i++ {
		c := b[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		if v > math.MaxUint64/10 {
			return 0, false
		}
		v *= 10
		d := uint64(c - '0')
		if v > math.MaxUint64-d {
			return 0, false
		}
		v += d
	}
	if neg {
		if v > 1<<63 {
			return 0, false
		}
		return int64(-v), true
	}
	if v > math.MaxInt64 {
		return 0, false
	}
	return int64(v), true
}
