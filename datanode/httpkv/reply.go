package httpkv

import (
	"bytes"
	"errors"
	"strconv"
)

// reply is one parsed RESP2 reply of the commands the API sends.
type reply struct {
	kind  byte   // '+', '-', ':', '$', '*'
	str   []byte // status, error or bulk text
	n     int64  // integer
	null  bool   // null bulk or null array
	elems []reply
}

// errBadReply means the backend answered with something that is not RESP;
// it is a bug in the server, answered with 500.
var errBadReply = errors.New("httpkv: malformed reply from the command layer")

// parseReply parses the one reply in b.
func parseReply(b []byte) (reply, error) {
	r, rest, err := parseOne(b, 0)
	if err != nil {
		return reply{}, err
	}
	if len(rest) != 0 {
		return reply{}, errBadReply
	}
	return r, nil
}

// maxDepth bounds nesting; the API's commands reply at most one level deep
// (SCAN), so anything deeper is malformed.
const maxDepth = 4

func parseOne(b []byte, depth int) (reply, []byte, error) {
	if depth > maxDepth || len(b) == 0 {
		return reply{}, nil, errBadReply
	}
	end := bytes.Index(b, []byte("\r\n"))
	if end < 1 {
		return reply{}, nil, errBadReply
	}
	kind, line, rest := b[0], b[1:end], b[end+2:]
	switch kind {
	case '+', '-':
		return reply{kind: kind, str: line}, rest, nil
	case ':':
		n, err := strconv.ParseInt(string(line), 10, 64)
		if err != nil {
			return reply{}, nil, errBadReply
		}
		return reply{kind: kind, n: n}, rest, nil
	case '$':
		n, err := strconv.Atoi(string(line))
		switch {
		case err != nil || n < -1:
			return reply{}, nil, errBadReply
		case n == -1:
			return reply{kind: kind, null: true}, rest, nil
		case len(rest) < n+2 || rest[n] != '\r' || rest[n+1] != '\n':
			return reply{}, nil, errBadReply
		}
		return reply{kind: kind, str: rest[:n]}, rest[n+2:], nil
	case '*':
		n, err := strconv.Atoi(string(line))
		switch {
		case err != nil || n < -1 || n > len(rest):
			return reply{}, nil, errBadReply
		case n == -1:
			return reply{kind: kind, null: true}, rest, nil
		}
		r := reply{kind: kind, elems: make([]reply, n)}
		for i := range r.elems {
			if r.elems[i], rest, err = parseOne(rest, depth+1); err != nil {
				return reply{}, nil, err
			}
		}
		return r, rest, nil
	}
	return reply{}, nil, errBadReply
}
