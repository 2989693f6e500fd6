package datanode

import "errors"

// ErrStopped is returned by Start on a server that was already stopped.
var ErrStopped = errors.New("datanode: server stopped")

// Redis error replies, with Redis's exact text. Each is written after '-'.
const (
	errSyntax          = "ERR syntax error"
	errNotInteger      = "ERR value is not an integer or out of range"
	errNotFloat        = "ERR value is not a valid float"
	errOverflow        = "ERR increment or decrement would overflow"
	errNoAuth          = "NOAUTH Authentication required."
	errWrongPass       = "WRONGPASS invalid username-password pair or user is disabled."
	errNoPassword      = "ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?"
	errOOM             = "OOM command not allowed when used memory > 'maxmemory'."
	errMaxClients      = "ERR max number of clients reached"
	errDBIndex         = "ERR DB index is out of range"
	errNoSuchKey       = "ERR no such key"
	errInvalidExpire   = "ERR invalid expire time in '%s' command"
	errWrongType       = "WRONGTYPE Operation against a key holding the wrong kind of value"
	errStringTooLong   = "ERR string exceeds maximum allowed size (proto-max-bulk-len)"
	errOffsetRange     = "ERR offset is out of range"
	errDecrOverflow    = "ERR decrement would overflow"
	errIncrNaN         = "ERR increment would produce NaN or Infinity"
	errInvalidCursor   = "ERR invalid cursor"
	errExpireNXCombo   = "ERR NX and XX, GT or LT options at the same time are not compatible"
	errExpireGTLT      = "ERR GT and LT options at the same time are not compatible"
	errNoProto         = "NOPROTO unsupported protocol version"
	errSlotFull        = "OOM command not allowed: the key's hash slot holds the most one slot can (2 GiB of keys and values)"
	errProtectedDenied = "DENIED Redis is running in protected mode because protected mode is enabled and no password is set for the default user. In this mode connections are only accepted from the loopback interface. If you want to connect from external computers to Redis you may adopt one of the following solutions: 1) Just disable protected mode sending the command 'CONFIG SET protected-mode no' from the loopback interface by connecting to Redis from the same host the server is running, however MAKE SURE Redis is not publicly accessible from internet if you do so. Use CONFIG REWRITE to make this change permanent. 2) Alternatively you can just disable the protected mode by editing the Redis configuration file, and setting the protected mode option to 'no', and then restarting the server. 3) If you started the server manually just for testing, restart it with the '--protected-mode no' option. 4) Set up an authentication password for the default user. NOTE: You only need to do one of the above things in order for the server to start accepting connections from the outside."
)
