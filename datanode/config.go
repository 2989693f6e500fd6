package datanode

import (
	"fmt"
	"log/slog"
	"math"
	"net"
	"path/filepath"
	"strings"

	"google.golang.org/grpc"

	"github.com/chkv/chkv/datanode/store"
)

// Defaults for Config, as Redis's where Redis has the setting.
const (
	DefaultListen                 = "127.0.0.1:10100"
	DefaultGRPCListen             = "127.0.0.1:10110"
	DefaultMaxClients             = 10000
	DefaultProtoMaxBulkLen        = 512 << 20
	DefaultClientQueryBufferLimit = 1 << 30
	DefaultMaxMemorySamples       = store.DefaultEvictionSamples
	// DefaultHashMaxListpackEntries is Redis 7.0's hash-max-listpack-entries.
	DefaultHashMaxListpackEntries = 512
	// DefaultHashMaxListpackValue is Redis's hash-max-listpack-value.
	DefaultHashMaxListpackValue = 64
	// DefaultListMaxListpackSize is Redis's list-max-listpack-size: -2,
	// quicklist nodes of up to 8 KiB.
	DefaultListMaxListpackSize = -2
	// DefaultZsetMaxListpackEntries and DefaultZsetMaxListpackValue are
	// Redis's zset-max-listpack-entries and zset-max-listpack-value.
	DefaultZsetMaxListpackEntries = 128
	DefaultZsetMaxListpackValue   = 64
	// DefaultSetMaxIntsetEntries is Redis's set-max-intset-entries.
	DefaultSetMaxIntsetEntries = 512
)

// DefaultDBFilename is Redis's dbfilename.
const DefaultDBFilename = "dump.rdb"

// IO models, the values of Config.IOModel.
const (
	// IOModelGoroutine serves each client connection from its own
	// goroutine, over Go's network poller.
	IOModelGoroutine = "goroutine"
	// IOModelEpoll serves client connections from Config.EventLoops event
	// loops, each one OS thread with its own epoll instance, as Redis does
	// (Linux only).
	IOModelEpoll = "epoll"
)

// DefaultIOModel is Config.IOModel's default: IOModelEpoll on Linux, and
// IOModelGoroutine elsewhere. The measurements behind it are in README
// (Performance) and docs/DESIGN.md section 4.
const DefaultIOModel = defaultIOModel

// DefaultEventLoops is Config.EventLoops's default: 0, one event loop per
// core (GOMAXPROCS), so that the server uses every core it is given.
const DefaultEventLoops = 0

// Config configures a DataNode.
type Config struct {
	// Listen is the RESP address, host:port.
	Listen string
	// Listener, when set, is used instead of listening on Listen (tests pass
	// a listener on port 0).
	Listener net.Listener
	// ID is the node's stable identity; empty derives it from Listen.
	ID string
	// NameNodes are the NameNode addresses; empty runs the node standalone,
	// serving every slot itself.
	NameNodes []string
	// Advertise is the RESP address other parties are given (MOVED, CLUSTER
	// SLOTS); empty means the listen address.
	Advertise string
	// GRPCListen is the control and migration address (cluster mode).
	GRPCListen string
	// GRPCListener, when set, is used instead of listening on GRPCListen.
	GRPCListener net.Listener
	// ClusterToken, when set, must accompany every gRPC call between
	// components.
	ClusterToken string
	// Weight is the node's relative capacity on the ring; 0 counts as 1.
	Weight uint32
	// GRPCDialOptions are added when dialling NameNodes (tests inject
	// fault-injecting dialers here).
	GRPCDialOptions []grpc.DialOption
	// Settings are the values CONFIG GET and CONFIG SET expose.
	Settings Settings
	// Logger receives the node's logs; nil discards them.
	Logger *slog.Logger
	// Seed seeds random choices (eviction, RANDOMKEY); tests fix it.
	Seed uint64
	// IOModel is how client connections are served: IOModelGoroutine or
	// IOModelEpoll; empty means DefaultIOModel.
	IOModel string
	// EventLoops is the number of event loops under IOModelEpoll; 0 means
	// one per core (GOMAXPROCS).
	EventLoops int
	// MigrationRate bounds the bytes per second this node sends when it
	// moves slots to other DataNodes; 0 means unlimited.
	MigrationRate int64
	// MigrationWorkers is how many slots this node moves at once; 0 means
	// DefaultMigrationWorkers.
	MigrationWorkers int
	// PeerDialOptions are added when dialling other DataNodes (tests
	// inject fault-injecting dialers here).
	PeerDialOptions []grpc.DialOption
	// DrainListen is the address of the drain port (cluster mode); empty
	// disables it.
	DrainListen string
	// DrainListener, when set, is used instead of listening on DrainListen.
	DrainListener net.Listener
	// HTTP is the address of /metrics (Prometheus) and /healthz; empty
	// turns HTTP off unless HTTPListener is set.
	HTTP string
	// HTTPListener, when set, is used instead of listening on HTTP.
	HTTPListener net.Listener
	// HTTPAPI adds the key-value HTTP API (package httpkv, under /v1) to
	// the HTTP listener.
	HTTPAPI bool
	// HTTPAdvertise is the HTTP API's address given to other nodes, which
	// redirect requests for this node's keys there; empty means the HTTP
	// listener's address, with the host of the RESP advertise address
	// when the listener's host is unspecified (0.0.0.0).
	HTTPAdvertise string
	// ExitAfterDrain makes Run return once a drain has finished.
	ExitAfterDrain bool
	// Rejoin makes the node's first registration ask to join again: a node
	// the NameNodes list as drained or draining becomes joining.
	Rejoin bool
	// Hook, when set, is called at each step of a slot's migration on the
	// source ("begin", "snapshot", "chunk" after each chunk of a large
	// value but the last, "cutover", "handoff") and may block:
	// tests use it to inject faults at an exact point.
	Hook func(step string, slot int)
}

// DefaultMigrationWorkers is Config.MigrationWorkers's default.
const DefaultMigrationWorkers = 2

// DefaultDrainListen is the drain port's default address.
const DefaultDrainListen = "127.0.0.1:6666"

// Settings are the runtime-adjustable parameters, named as in redis.conf.
type Settings struct {
	RequirePass             string       // requirepass: empty means no AUTH
	MaxClients              int          // maxclients
	MaxMemory               int64        // maxmemory in bytes, 0 = unlimited
	MaxMemoryPolicy         store.Policy // maxmemory-policy
	MaxMemorySamples        int          // maxmemory-samples
	ProtoMaxBulkLen         int64        // proto-max-bulk-len
	ClientQueryBufferLimit  int64        // client-query-buffer-limit
	HashMaxListpackEntries  int64        // hash-max-listpack-entries
	HashMaxListpackValue    int64        // hash-max-listpack-value
	ListMaxListpackSize     int64        // list-max-listpack-size: accepted; every list is a quicklist, as in Redis 7.0
	ListCompressDepth       int64        // list-compress-depth: accepted; lists are not compressed
	ZsetMaxListpackEntries  int64        // zset-max-listpack-entries
	ZsetMaxListpackValue    int64        // zset-max-listpack-value
	SetMaxIntsetEntries     int64        // set-max-intset-entries
	ProtectedMode           bool         // protected-mode
	Timeout                 int64        // timeout: idle seconds before a client is closed, 0 = never
	BusyReplyThreshold      int64        // busy-reply-threshold (lua-time-limit) in ms
	SlowlogLogSlowerThan    int64        // slowlog-log-slower-than in µs, -1 = off
	SlowlogMaxLen           int64        // slowlog-max-len
	LatencyMonitorThreshold int64        // latency-monitor-threshold in ms, 0 = off

	// Save are the save rules (save <seconds> <changes> ...): a BGSAVE
	// starts when one of them is met; none turns automatic saving off.
	Save []SaveRule
	// Dir is the directory of the RDB file (dir); empty is the working
	// directory.
	Dir string
	// DBFilename is the RDB file's name in Dir (dbfilename).
	DBFilename string
	// StopWritesOnBgsaveError refuses writes with MISCONF while save
	// rules are set and the last BGSAVE failed
	// (stop-writes-on-bgsave-error).
	StopWritesOnBgsaveError bool
	// EnableProtectedConfigs lets CONFIG SET change dir and dbfilename
	// (enable-protected-configs yes; Redis 7 refuses by default).
	EnableProtectedConfigs bool

	OutputBufferLimits OutputBufferLimits // client-output-buffer-limit
}

// DefaultConfig returns a standalone configuration with Redis's defaults.
func DefaultConfig() Config {
	return Config{
		Listen:           DefaultListen,
		GRPCListen:       DefaultGRPCListen,
		IOModel:          DefaultIOModel,
		EventLoops:       DefaultEventLoops,
		MigrationWorkers: DefaultMigrationWorkers,
		Settings: Settings{
			MaxClients:              DefaultMaxClients,
			MaxMemoryPolicy:         store.NoEviction,
			MaxMemorySamples:        DefaultMaxMemorySamples,
			ProtoMaxBulkLen:         DefaultProtoMaxBulkLen,
			ClientQueryBufferLimit:  DefaultClientQueryBufferLimit,
			HashMaxListpackEntries:  DefaultHashMaxListpackEntries,
			HashMaxListpackValue:    DefaultHashMaxListpackValue,
			ListMaxListpackSize:     DefaultListMaxListpackSize,
			ZsetMaxListpackEntries:  DefaultZsetMaxListpackEntries,
			ZsetMaxListpackValue:    DefaultZsetMaxListpackValue,
			SetMaxIntsetEntries:     DefaultSetMaxIntsetEntries,
			ProtectedMode:           true,
			BusyReplyThreshold:      5000,
			SlowlogLogSlowerThan:    DefaultSlowlogLogSlowerThan,
			SlowlogMaxLen:           DefaultSlowlogMaxLen,
			Dir:                     ".",
			DBFilename:              DefaultDBFilename,
			StopWritesOnBgsaveError: true,

			OutputBufferLimits: DefaultOutputBufferLimits,
		},
	}
}

// ioModel is the I/O model the server runs: IOModel, or DefaultIOModel
// when it is empty.
func (c *Config) ioModel() string {
	if c.IOModel == "" {
		return DefaultIOModel
	}
	return c.IOModel
}

// Validate reports the first setting that cannot work.
func (c *Config) Validate() error {
	if c.Listener == nil {
		if _, _, err := net.SplitHostPort(c.Listen); err != nil {
			return fmt.Errorf("datanode: listen address %q: %w", c.Listen, err)
		}
	}
	for _, nn := range c.NameNodes {
		if strings.TrimSpace(nn) == "" {
			return fmt.Errorf("datanode: empty NameNode address")
		}
	}
	if len(c.NameNodes) > 0 && c.GRPCListener == nil {
		if _, _, err := net.SplitHostPort(c.GRPCListen); err != nil {
			return fmt.Errorf("datanode: grpc address %q: %w", c.GRPCListen, err)
		}
	}
	if c.Advertise != "" {
		if _, _, err := net.SplitHostPort(c.Advertise); err != nil {
			return fmt.Errorf("datanode: advertise address %q: %w", c.Advertise, err)
		}
	}
	if c.HTTPListener == nil && c.HTTP != "" {
		if _, _, err := net.SplitHostPort(c.HTTP); err != nil {
			return fmt.Errorf("datanode: http address %q: %w", c.HTTP, err)
		}
	}
	if c.HTTPAPI && c.HTTPListener == nil && c.HTTP == "" {
		return fmt.Errorf("datanode: the HTTP API needs an HTTP address")
	}
	if c.HTTPAdvertise != "" {
		if _, _, err := net.SplitHostPort(c.HTTPAdvertise); err != nil {
			return fmt.Errorf("datanode: http advertise address %q: %w", c.HTTPAdvertise, err)
		}
	}
	if c.EventLoops < 0 {
		return fmt.Errorf("datanode: event loops must not be negative")
	}
	switch c.IOModel {
	case "", IOModelGoroutine:
	case IOModelEpoll:
		if !epollSupported {
			return fmt.Errorf("datanode: io model %q is only available on Linux", c.IOModel)
		}
	default:
		return fmt.Errorf("datanode: unknown io model %q (want %q or %q)", c.IOModel, IOModelGoroutine, IOModelEpoll)
	}
	return c.Settings.Validate()
}

// Validate reports the first setting that is out of range.
func (s *Settings) Validate() error {
	switch {
	case s.MaxClients < 1:
		return fmt.Errorf("datanode: maxclients must be at least 1")
	case s.MaxMemory < 0:
		return fmt.Errorf("datanode: maxmemory must not be negative")
	case s.MaxMemorySamples < 1 || s.MaxMemorySamples > 64:
		return fmt.Errorf("datanode: maxmemory-samples must be between 1 and 64")
	case s.ProtoMaxBulkLen < 1<<20:
		return fmt.Errorf("datanode: proto-max-bulk-len must be at least 1mb")
	case s.ClientQueryBufferLimit < 1<<20:
		return fmt.Errorf("datanode: client-query-buffer-limit must be at least 1mb")
	case s.ClientQueryBufferLimit < s.ProtoMaxBulkLen:
		return fmt.Errorf("datanode: client-query-buffer-limit must not be below proto-max-bulk-len")
	case s.HashMaxListpackEntries < 0 || s.HashMaxListpackValue < 0:
		return fmt.Errorf("datanode: hash-max-listpack-entries and hash-max-listpack-value must not be negative")
	case s.ListMaxListpackSize < math.MinInt32 || s.ListMaxListpackSize > math.MaxInt32:
		return fmt.Errorf("datanode: list-max-listpack-size must be a 32-bit integer")
	case s.ListCompressDepth < 0 || s.ListCompressDepth > math.MaxInt32:
		return fmt.Errorf("datanode: list-compress-depth must be between 0 and 2147483647")
	case s.ZsetMaxListpackEntries < 0 || s.ZsetMaxListpackValue < 0:
		return fmt.Errorf("datanode: zset-max-listpack-entries and zset-max-listpack-value must not be negative")
	case s.SetMaxIntsetEntries < 0:
		return fmt.Errorf("datanode: set-max-intset-entries must not be negative")
	case s.Timeout < 0:
		return fmt.Errorf("datanode: timeout must not be negative")
	case s.DBFilename == "" || s.DBFilename != filepath.Base(s.DBFilename):
		return fmt.Errorf("datanode: dbfilename can't be a path, just a filename")
	case s.SlowlogLogSlowerThan < -1:
		return fmt.Errorf("datanode: slowlog-log-slower-than must be at least -1")
	case s.SlowlogMaxLen < 0:
		return fmt.Errorf("datanode: slowlog-max-len must not be negative")
	case s.LatencyMonitorThreshold < 0:
		return fmt.Errorf("datanode: latency-monitor-threshold must not be negative")
	}
	return nil
}
