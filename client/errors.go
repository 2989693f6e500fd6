package client

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"

	"github.com/redis/go-redis/v9"
)

// Errors returned by the client. Check them with errors.Is: most are
// wrapped with the cause (the DataNode's reply, a network error, the
// context's error).
var (
	// ErrNotFound is returned by Get, TTL and their pipeline forms when
	// the key does not exist.
	ErrNotFound = errors.New("client: key not found")
	// ErrNotSet is returned by Set with NX or XX when the condition did
	// not hold, so nothing was written.
	ErrNotSet = errors.New("client: set condition not met")
	// ErrClosed is returned by every call on a closed Client.
	ErrClosed = errors.New("client: closed")
	// ErrNoTopology is returned by New when no topology arrived before its
	// context ended.
	ErrNoTopology = errors.New("client: no topology")
	// ErrClusterDown is returned when a key's slot has no live owner
	// (CLUSTERDOWN, or unowned in the topology) for as long as the call
	// may wait.
	ErrClusterDown = errors.New("client: cluster down")
	// ErrTryAgain is returned when a key's slot stayed in cutover
	// (TRYAGAIN) for as long as the call may wait.
	ErrTryAgain = errors.New("client: slot busy")
	// ErrTooManyRedirects is returned when a command was redirected
	// (MOVED) more times than WithMaxRedirects allows.
	ErrTooManyRedirects = errors.New("client: too many redirects")
	// ErrUnavailable is returned when the DataNode serving a key could not
	// be reached for as long as the call may wait.
	ErrUnavailable = errors.New("client: datanode unavailable")
	// ErrUncertain is returned when a command that is not idempotent
	// (INCR, INCRBY, SET NX/XX) failed after it may have been sent: the
	// DataNode may or may not have applied it, and the client did not
	// retry it.
	ErrUncertain = errors.New("client: outcome unknown")
	// ErrCrossSlot is returned when a DataNode refused a command whose keys
	// are in different slots (CROSSSLOT).
	ErrCrossSlot = errors.New("client: keys in different slots")
	// ErrInvalid is returned for arguments the client refuses before
	// sending anything.
	ErrInvalid = errors.New("client: invalid argument")
)

// ServerError is an error reply of a DataNode that has no sentinel of its
// own, such as WRONGTYPE or "ERR value is not an integer or out of range".
type ServerError struct {
	// Msg is the reply without the leading '-', e.g. "WRONGTYPE Operation
	// against a key holding the wrong kind of value".
	Msg string
}

// Error returns the reply as the DataNode sent it.
func (e *ServerError) Error() string { return e.Msg }

// Prefix returns the reply's first word, its error code (ERR, WRONGTYPE...).
func (e *ServerError) Prefix() string {
	if i := strings.IndexByte(e.Msg, ' '); i >= 0 {
		return e.Msg[:i]
	}
	return e.Msg
}

// class is what the retry loop does with a failed attempt.
type class uint8

const (
	// classFinal: return the (translated) error to the caller.
	classFinal class = iota
	// classMoved: the slot lives elsewhere; follow the redirect.
	classMoved
	// classTryAgain: the slot is in cutover; back off and retry.
	classTryAgain
	// classClusterDown: the slot has no owner; back off and retry.
	classClusterDown
	// classNotSent: the connection failed before the command was written.
	classNotSent
	// classMaybeSent: the connection failed after the command may have
	// been written.
	classMaybeSent
)

// failure is a classified error of one attempt.
type failure struct {
	class class
	err   error  // the translated error
	addr  string // MOVED target
}

// dialError marks a failure to open a connection: nothing was sent on it.
type dialError struct{ err error }

func (e *dialError) Error() string { return "dial: " + e.err.Error() }
func (e *dialError) Unwrap() error { return e.err }

// poolTimeout is go-redis's error when no pooled connection became free
// in time; go-redis does not export it.
const poolTimeout = "redis: connection pool timeout"

// classify translates err, an error of one attempt against the DataNode at
// from, and says what to do about it. err must not be nil.
func classify(err error, from string) failure {
	if err == redis.Nil {
		return failure{class: classFinal, err: ErrNotFound}
	}
	var re redis.Error
	if errors.As(err, &re) {
		msg := re.Error()
		code, rest, _ := strings.Cut(msg, " ")
		switch code {
		case "MOVED":
			if addr, ok := parseMoved(rest, from); ok {
				return failure{class: classMoved, err: &ServerError{Msg: msg}, addr: addr}
			}
		case "TRYAGAIN":
			return failure{class: classTryAgain, err: fmt.Errorf("%w: %w", ErrTryAgain, &ServerError{Msg: msg})}
		case "CLUSTERDOWN":
			return failure{class: classClusterDown, err: fmt.Errorf("%w: %w", ErrClusterDown, &ServerError{Msg: msg})}
		case "CROSSSLOT":
			return failure{class: classFinal, err: fmt.Errorf("%w: %w", ErrCrossSlot, &ServerError{Msg: msg})}
		}
		return failure{class: classFinal, err: &ServerError{Msg: msg}}
	}
	// A failed dial comes first: it never sent the command, whatever the
	// cause, and a dial that timed out also matches DeadlineExceeded.
	var de *dialError
	if errors.As(err, &de) || errors.Is(err, redis.ErrClosed) {
		// No connection, or a retired pool: the command was not written.
		return failure{class: classNotSent, err: fmt.Errorf("%w: %s: %w", ErrUnavailable, from, err)}
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return failure{class: classFinal, err: err}
	}
	if err.Error() == poolTimeout {
		// Every connection to the node is busy: retrying adds load.
		return failure{class: classFinal, err: err}
	}
	return failure{class: classMaybeSent, err: fmt.Errorf("%w: %s: %w", ErrUnavailable, from, err)}
}

// parseMoved parses the "<slot> <host:port>" of a MOVED reply. An empty
// host (":port", as Redis 7 may send) means the host of from.
func parseMoved(rest, from string) (string, bool) {
	slotText, addr, ok := strings.Cut(rest, " ")
	if !ok {
		return "", false
	}
	if _, err := strconv.Atoi(slotText); err != nil {
		return "", false
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil || port == "" {
		return "", false
	}
	if host == "" {
		fromHost, _, err := net.SplitHostPort(from)
		if err != nil {
			return "", false
		}
		addr = net.JoinHostPort(fromHost, port)
	}
	return addr, true
}
