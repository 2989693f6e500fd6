package namenode

import (
	"fmt"
	"log/slog"
	"net"
	"time"

	"google.golang.org/grpc"

	"github.com/chkv/chkv/common/ring"
	"github.com/chkv/chkv/common/timing"
)

// Defaults for Config.
const (
	DefaultListen            = "127.0.0.1:10101"
	DefaultHTTP              = "127.0.0.1:10180"
	DefaultVNodes            = ring.DefaultVNodes
	DefaultHeartbeatInterval = time.Second
	DefaultEpoch             = 1
)

// Failure-detection constants (DESIGN.md §7).
const (
	// LeaseHeartbeats is the lease in heartbeat intervals: a DataNode serves
	// for LeaseHeartbeats×interval after it sent a heartbeat that was
	// answered. Its relation to the vote hold and the election is in
	// common/timing.
	LeaseHeartbeats = timing.LeaseHeartbeats
	// MissedHeartbeats is how many intervals without a heartbeat make a
	// DataNode suspect, so that the NameNode probes it.
	MissedHeartbeats = 3
	// ProbeAttempts is how many probes a suspect gets before it is down.
	ProbeAttempts = 3
	// MarginHeartbeats is the safety margin, in intervals, added to a lease
	// before a down node's slots are reassigned (clock-rate differences).
	MarginHeartbeats = timing.MarginHeartbeats
)

// MaxWeight is the largest capacity weight a DataNode may announce; the
// ring gives it weight×VNodes virtual nodes.
const MaxWeight = 64

// Limits checked by Validate.
const (
	minHeartbeatInterval = 10 * time.Millisecond
	maxVNodes            = 1 << 14
)

// Config configures a NameNode.
type Config struct {
	// ID names the NameNode in logs and Status; empty derives it from the
	// gRPC listen address.
	ID string
	// Listen is the gRPC address, host:port.
	Listen string
	// Listener, when set, is used instead of listening on Listen (tests
	// pass a listener on port 0).
	Listener net.Listener
	// HTTP is the address of /healthz and /status; empty disables HTTP
	// unless HTTPListener is set.
	HTTP string
	// HTTPListener, when set, is used instead of listening on HTTP.
	HTTPListener net.Listener
	// Peer is the gRPC address of the other NameNode of the pair; empty
	// runs this NameNode alone.
	Peer string
	// VNodes is the number of virtual nodes per unit of DataNode weight.
	VNodes int
	// HeartbeatInterval is how often DataNodes heartbeat; leases and
	// failure detection are multiples of it.
	HeartbeatInterval time.Duration
	// ClusterToken, when set, is required on every call to the NameNode and
	// sent on every call to a DataNode.
	ClusterToken string
	// Logger receives the NameNode's logs; nil discards them. Every line
	// names the node.
	Logger *slog.Logger
	// DialOptions are added to those used to dial DataNodes (tests pass a
	// context dialer that can cut or delay links).
	DialOptions []grpc.DialOption
	// Epoch is the term this NameNode starts in. A topology adopted from a
	// DataNode with a higher epoch raises it.
	Epoch uint64

	// Test hooks; zero values mean production behaviour.
	now            func() time.Time // the clock; nil is time.Now
	manualDetect   bool             // no detector loop: tests call detectOnce
	manualElection bool             // no election loop: tests call campaign
	probeTimeout   time.Duration    // per probe; 0 is HeartbeatInterval
	pushTimeout    time.Duration    // per push; 0 is max(2 intervals, 2s)
}

// DefaultConfig returns a configuration with every default filled in.
func DefaultConfig() Config {
	return Config{
		Listen:            DefaultListen,
		HTTP:              DefaultHTTP,
		VNodes:            DefaultVNodes,
		HeartbeatInterval: DefaultHeartbeatInterval,
		Epoch:             DefaultEpoch,
	}
}

// Validate reports the first setting that cannot work.
func (c *Config) Validate() error {
	if c.Listener == nil {
		if _, _, err := net.SplitHostPort(c.Listen); err != nil {
			return fmt.Errorf("namenode: listen address %q: %w", c.Listen, err)
		}
	}
	if c.Peer != "" {
		if _, _, err := net.SplitHostPort(c.Peer); err != nil {
			return fmt.Errorf("namenode: peer address %q: %w", c.Peer, err)
		}
	}
	if c.HTTPListener == nil && c.HTTP != "" {
		if _, _, err := net.SplitHostPort(c.HTTP); err != nil {
			return fmt.Errorf("namenode: http address %q: %w", c.HTTP, err)
		}
	}
	switch {
	case c.VNodes < 1 || c.VNodes > maxVNodes:
		return fmt.Errorf("namenode: vnodes must be between 1 and %d", maxVNodes)
	case c.HeartbeatInterval < minHeartbeatInterval:
		return fmt.Errorf("namenode: heartbeat interval must be at least %v", minHeartbeatInterval)
	case c.Epoch < 1:
		return fmt.Errorf("namenode: epoch must be at least 1")
	}
	if err := timing.For(c.HeartbeatInterval).Validate(); err != nil {
		return fmt.Errorf("namenode: heartbeat interval %v: %w", c.HeartbeatInterval, err)
	}
	return nil
}

// lease is the lease granted with each reply.
func (c *Config) lease() time.Duration { return c.timing().Lease }

// timing is the cluster's timing (common/timing), which Validate checked.
func (c *Config) timing() timing.Timing { return timing.For(c.HeartbeatInterval) }

func (c *Config) probeTimeoutOrDefault() time.Duration {
	if c.probeTimeout > 0 {
		return c.probeTimeout
	}
	return c.HeartbeatInterval
}

func (c *Config) pushTimeoutOrDefault() time.Duration {
	if c.pushTimeout > 0 {
		return c.pushTimeout
	}
	return max(2*c.HeartbeatInterval, 2*time.Second)
}
