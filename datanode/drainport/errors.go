package drainport

import "errors"

// ErrInvalidConfig is wrapped by the errors New returns for a bad Config.
var ErrInvalidConfig = errors.New("drainport: invalid config")

// ErrClosed is returned by Serve when it is called after Close.
var ErrClosed = errors.New("drainport: server closed")

// ErrTokenRequired is returned by Serve when Config.Token is empty and the
// listener is not on a loopback address: anyone who can reach the port could
// otherwise drain the node.
var ErrTokenRequired = errors.New("drainport: a token is required to serve on a non-loopback address")

// ErrNoActiveNameNode is wrapped by a Drainer's StartDrain error when no
// NameNode could take the drain because none is active right now (a
// failover is under way, or the active has lost its majority). The session
// then retries, telling the operator it is waiting, until StartTimeout.
var ErrNoActiveNameNode = errors.New("drainport: no active namenode")

// Input errors; each ends the connection after an ERR line.
var (
	errLineTooLong = errors.New("line too long")
	errBinaryInput = errors.New("binary input")
)
