package drainport

import (
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/chkv/chkv/common/drainprogress"
)

// Defaults for Config's zero fields.
const (
	DefaultIdleTimeout         = 5 * time.Minute
	DefaultFirstCommandTimeout = 30 * time.Second
	DefaultProgressInterval    = 500 * time.Millisecond
	DefaultMaxLineBytes        = 1024
	DefaultMaxConns            = 16
	DefaultWriteTimeout        = 5 * time.Second
	DefaultStartTimeout        = 30 * time.Second
)

// maxLineBytesLimit bounds Config.MaxLineBytes: a line is a command typed by
// a person.
const maxLineBytesLimit = 64 << 10

// Drainer is what the server needs from the DataNode.
type Drainer interface {
	// StartDrain asks the cluster to drain this node. It returns once the
	// drain has been accepted (or failed to start), not when it ends, and
	// should return early when ctx is done. Calling it when a drain is
	// already under way is not an error.
	StartDrain(ctx context.Context) error
	// Progress describes the drain (or its absence) now. It must not block.
	Progress() Progress
}

// Progress is a snapshot of a node's drain, the type the SDK and chkvctl
// share.
type Progress = drainprogress.Progress

// Config configures a Server. Zero durations and sizes take the defaults
// above.
type Config struct {
	// Drainer is the DataNode; required.
	Drainer Drainer
	// Token, when non-empty, is accepted as "k <token>" from any peer;
	// "k" alone is accepted only from a loopback peer. It is required for a
	// non-loopback listener. The DataNode sets it to the cluster token.
	Token string
	// PID is printed in the final "drained" line.
	PID int
	// NodeID names the node in the greeting and the final line.
	NodeID string
	// Logger receives connection and drain events; nil discards them.
	Logger *slog.Logger
	// IdleTimeout closes a connection with no input for this long, except
	// while k streams progress.
	IdleTimeout time.Duration
	// FirstCommandTimeout closes a connection that has typed no command
	// for this long since it opened (at most IdleTimeout).
	FirstCommandTimeout time.Duration
	// ProgressInterval is the time between k's progress lines.
	ProgressInterval time.Duration
	// MaxLineBytes is the longest line accepted, terminator excluded.
	MaxLineBytes int
	// MaxConns is the most connections served at once. One more evicts
	// the connection that has waited longest for a command; when every
	// connection runs a command (k streaming progress), it gets
	// "ERR too many connections" and is closed.
	MaxConns int
	// WriteTimeout bounds every write, so a peer that does not read cannot
	// hold a goroutine.
	WriteTimeout time.Duration
	// StartTimeout bounds Drainer.StartDrain, retries included while no
	// NameNode is active.
	StartTimeout time.Duration
}

// DefaultConfig returns a Config with every default filled in and no
// Drainer.
func DefaultConfig() Config {
	return Config{
		IdleTimeout:         DefaultIdleTimeout,
		FirstCommandTimeout: DefaultFirstCommandTimeout,
		ProgressInterval:    DefaultProgressInterval,
		MaxLineBytes:        DefaultMaxLineBytes,
		MaxConns:            DefaultMaxConns,
		WriteTimeout:        DefaultWriteTimeout,
		StartTimeout:        DefaultStartTimeout,
	}
}

// Validate reports the first problem with c; zero fields are valid (they
// mean the default).
func (c Config) Validate() error {
	if c.Drainer == nil {
		return fmt.Errorf("%w: Drainer is nil", ErrInvalidConfig)
	}
	for _, f := range []struct {
		name string
		d    time.Duration
	}{
		{"IdleTimeout", c.IdleTimeout}, {"FirstCommandTimeout", c.FirstCommandTimeout}, {"ProgressInterval", c.ProgressInterval},
		{"WriteTimeout", c.WriteTimeout}, {"StartTimeout", c.StartTimeout},
	} {
		if f.d < 0 {
			return fmt.Errorf("%w: %s %v is negative", ErrInvalidConfig, f.name, f.d)
		}
	}
	if c.MaxConns < 0 {
		return fmt.Errorf("%w: MaxConns %d is negative", ErrInvalidConfig, c.MaxConns)
	}
	if c.MaxLineBytes < 0 || c.MaxLineBytes > maxLineBytesLimit {
		return fmt.Errorf("%w: MaxLineBytes %d is outside [0, %d]", ErrInvalidConfig, c.MaxLineBytes, maxLineBytesLimit)
	}
	maxLine := cmp.Or(c.MaxLineBytes, DefaultMaxLineBytes)
	for i := 0; i < len(c.Token); i++ {
		if b := c.Token[i]; b <= ' ' || b >= 0x7f {
			return fmt.Errorf("%w: Token must be printable ASCII without spaces (byte %d is %#x)", ErrInvalidConfig, i, b)
		}
	}
	if len("k ")+len(c.Token) > maxLine {
		return fmt.Errorf("%w: Token is too long for MaxLineBytes %d", ErrInvalidConfig, maxLine)
	}
	return nil
}

// withDefaults returns c with its zero fields set to the defaults.
func (c Config) withDefaults() Config {
	d := DefaultConfig()
	c.IdleTimeout = cmp.Or(c.IdleTimeout, d.IdleTimeout)
	c.FirstCommandTimeout = cmp.Or(c.FirstCommandTimeout, d.FirstCommandTimeout)
	c.ProgressInterval = cmp.Or(c.ProgressInterval, d.ProgressInterval)
	c.MaxLineBytes = cmp.Or(c.MaxLineBytes, d.MaxLineBytes)
	c.MaxConns = cmp.Or(c.MaxConns, d.MaxConns)
	c.WriteTimeout = cmp.Or(c.WriteTimeout, d.WriteTimeout)
	c.StartTimeout = cmp.Or(c.StartTimeout, d.StartTimeout)
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return c
}
