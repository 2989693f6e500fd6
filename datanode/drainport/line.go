package drainport

import "io"

// Telnet command bytes (RFC 854).
const (
	telnetSE   = 240 // end of subnegotiation
	telnetSB   = 250 // start of subnegotiation
	telnetWILL = 251 // WILL, WONT, DO and DONT (251-254) take one option byte
	telnetIAC  = 255 // interpret as command
)

// parseState is where a lineParser is within the telnet byte stream.
type parseState uint8

const (
	inData   parseState = iota
	afterCR             // a CR: \n or \0 next ends the line
	afterIAC            // an IAC: a command byte next
	inOption            // IAC WILL/WONT/DO/DONT: an option byte next
	inSub               // IAC SB ...: skipped up to IAC SE
	inSubIAC            // an IAC inside a subnegotiation
)

// lineParser splits a telnet byte stream into lines. It strips telnet IAC
// sequences, ends lines at \n, \r\n or \r\0, drops other CRs, and holds at
// most max bytes of a line: its buffer never grows.
type lineParser struct {
	state parseState
	line  []byte
}

func newLineParser(max int) lineParser {
	return lineParser{line: make([]byte, 0, max)}
}

// feed consumes one byte. done reports that b ended a line, which take
// returns. After an error (errLineTooLong, errBinaryInput) the parser must
// not be used.
func (p *lineParser) feed(b byte) (done bool, err error) {
	switch p.state {
	case afterIAC:
		switch {
		case b == telnetIAC: // an escaped 0xFF data byte
			return false, errBinaryInput
		case b >= telnetWILL:
			p.state = inOption
		case b == telnetSB:
			p.state = inSub
		default: // a two-byte command: NOP, GA, AYT, ...
			p.state = inData
		}
		return false, nil
	case inOption:
		p.state = inData
		return false, nil
	case inSub:
		if b == telnetIAC {
			p.state = inSubIAC
		}
		return false, nil
	case inSubIAC:
		p.state = inSub
		if b == telnetSE {
			p.state = inData
		}
		return false, nil
	case afterCR:
		p.state = inData
		if b == '\n' || b == 0 {
			return true, nil
		}
	}
	switch {
	case b == telnetIAC:
		p.state = afterIAC
	case b == '\r':
		p.state = afterCR
	case b == '\n':
		return true, nil
	case b == '\t' || (b >= ' ' && b < 0x7f):
		if len(p.line) == cap(p.line) {
			return false, errLineTooLong
		}
		p.line = append(p.line, b)
	default:
		return false, errBinaryInput
	}
	return false, nil
}

// take returns the line gathered so far and starts the next one.
func (p *lineParser) take() string {
	s := string(p.line)
	p.line = p.line[:0]
	return s
}

// lineReader reads lines from r through a lineParser and a fixed buffer.
type lineReader struct {
	r    io.Reader
	p    lineParser
	buf  [512]byte
	i, n int // buf[i:n] is read but not yet fed
}

// readLine returns the next line, without its terminator. Read errors,
// deadlines included, keep a partial line for the next call; at EOF a
// partial line is returned as a line first.
func (lr *lineReader) readLine() (string, error) {
	for {
		for lr.i < lr.n {
			b := lr.buf[lr.i]
			lr.i++
			done, err := lr.p.feed(b)
			if err != nil {
				return "", err
			}
			if done {
				return lr.p.take(), nil
			}
		}
		n, err := lr.r.Read(lr.buf[:])
		lr.i, lr.n = 0, n
		if n > 0 {
			continue
		}
		if err == io.EOF && len(lr.p.line) > 0 {
			return lr.p.take(), nil
		}
		if err == nil {
			err = io.ErrNoProgress
		}
		return "", err
	}
}
