package main

import (
	"context"
	"fmt"
	"os"

	"github.com/urfave/cli/v2"

	"github.com/chkv/chkv/common/bytesize"
	"github.com/chkv/chkv/common/cliconf"
	"github.com/chkv/chkv/datanode"
	"github.com/chkv/chkv/datanode/store"
)

// Flag names, which are also the YAML keys and, as CHKV_*, the environment
// variables.
const (
	flagListen        = "listen"
	flagID            = "id"
	flagNameNodes     = "namenodes"
	flagGRPC          = "grpc"
	flagAdvertise     = "advertise"
	flagClusterToken  = "cluster-token"
	flagWeight        = "weight"
	flagRequirePass   = "requirepass"
	flagMaxClients    = "maxclients"
	flagMaxMemory     = "maxmemory"
	flagPolicy        = "maxmemory-policy"
	flagSamples       = "maxmemory-samples"
	flagProtoMaxBulk  = "proto-max-bulk-len"
	flagQueryBufLimit = "client-query-buffer-limit"
	flagProtectedMode = "protected-mode"
	flagTimeout       = "timeout"
	flagIOModel       = "io-model"
	flagEventLoops    = "event-loops"
	flagMigrationRate = "migration-rate"
	flagMigrationWork = "migration-workers"
	flagDrainListen   = "drain-listen"
	flagExitAfter     = "exit-after-drain"
	flagRejoin        = "rejoin"
	flagHTTP          = "http"
	flagHTTPAPI       = "http-api"
	flagHTTPAdvertise = "http-advertise"
	flagSave          = "save"
	flagDir           = "dir"
	flagDBFilename    = "dbfilename"
	flagProtectedCfg  = "enable-protected-configs"
	flagLogLevel      = "log-level"
	flagLogFormat     = "log-format"
)

func flags() []cli.Flag {
	d := datanode.DefaultConfig()
	return []cli.Flag{
		cliconf.ConfigFlag(),
		cliconf.String(flagListen, d.Listen, "RESP listen address, host:port"),
		cliconf.String(flagID, "", "stable node ID (default: derived from the listen address)"),
		cliconf.String(flagNameNodes, "", "comma-separated NameNode addresses; empty runs standalone, serving all 16384 slots"),
		cliconf.String(flagGRPC, d.GRPCListen, "gRPC address for NameNode control calls and migration (cluster mode)"),
		cliconf.String(flagAdvertise, "", "RESP address given to clients and other nodes (default: the listen address)"),
		cliconf.String(flagClusterToken, "", "shared secret every gRPC call between CHKV components must carry"),
		cliconf.Int(flagWeight, 1, "relative capacity on the hash ring"),
		cliconf.String(flagRequirePass, "", "password clients must AUTH with; empty means none"),
		cliconf.Int(flagMaxClients, d.Settings.MaxClients, "most simultaneous client connections"),
		cliconf.String(flagMaxMemory, "0", "memory limit for data, with units (100mb, 2gb); 0 means none"),
		cliconf.String(flagPolicy, d.Settings.MaxMemoryPolicy.String(), "what to do at maxmemory: noeviction, allkeys-lru, allkeys-lfu, allkeys-random, volatile-lru, volatile-lfu, volatile-random, volatile-ttl"),
		cliconf.Int(flagSamples, d.Settings.MaxMemorySamples, "keys sampled per eviction"),
		cliconf.String(flagProtoMaxBulk, bytesize.Format(d.Settings.ProtoMaxBulkLen), "largest bulk string a client may send"),
		cliconf.String(flagQueryBufLimit, bytesize.Format(d.Settings.ClientQueryBufferLimit), "largest unparsed request buffer per client"),
		cliconf.Bool(flagProtectedMode, d.Settings.ProtectedMode, "without a password, refuse clients that are not on loopback"),
		cliconf.Int(flagTimeout, 0, "close clients idle this many seconds; 0 means never"),
		cliconf.String(flagIOModel, d.IOModel, "how client connections are served: epoll (event loops, Linux only; the default there) or goroutine (one per connection; the default elsewhere)"),
		cliconf.Int(flagEventLoops, d.EventLoops, "event loops for --io-model epoll; 0 means one per CPU (GOMAXPROCS)"),
		cliconf.String(flagMigrationRate, "0", "bytes per second this node may send when moving slots away, with units (50mb); 0 means unlimited"),
		cliconf.Int(flagMigrationWork, d.MigrationWorkers, "slots this node moves at once"),
		cliconf.String(flagDrainListen, datanode.DefaultDrainListen, "drain port (telnet, then k); a non-loopback address requires --cluster-token as 'k <token>'; empty disables it (cluster mode)"),
		cliconf.Bool(flagExitAfter, false, "exit once a drain has finished"),
		cliconf.Bool(flagRejoin, false, "join again as a drained or draining node: take slots again (like chkvctl undrain)"),
		cliconf.String(flagHTTP, "", "HTTP address of /metrics (Prometheus) and /healthz, host:port; empty disables it"),
		cliconf.Bool(flagHTTPAPI, false, "also serve the key-value HTTP API (/v1/kv/{key}, /v1/keys) on --http"),
		cliconf.String(flagHTTPAdvertise, "", "HTTP API address given to other nodes, which redirect to it (default: the --http address)"),
		cliconf.String(flagSave, "", `RDB save rules, "<seconds> <changes> ..." as in redis.conf (Redis's own: "3600 1 300 100 60 10000"); empty turns automatic saving, and the save at exit, off`),
		cliconf.String(flagDir, d.Settings.Dir, "directory of the RDB file; a standalone node loads the file there at start"),
		cliconf.String(flagDBFilename, d.Settings.DBFilename, "name of the RDB file in --dir"),
		cliconf.Bool(flagProtectedCfg, false, "let CONFIG SET change dir and dbfilename (Redis 7 refuses by default)"),
		cliconf.String(flagLogLevel, "info", "log level: debug, info, warn, error"),
		cliconf.String(flagLogFormat, "text", "log format: text or json"),
	}
}

func newApp(ctx context.Context) *cli.App {
	fl := flags()
	return &cli.App{
		Name:   "datanode",
		Usage:  "CHKV DataNode: an in-memory key-value server speaking the Redis protocol",
		Flags:  fl,
		Before: cliconf.LoadFile(fl),
		Action: func(cc *cli.Context) error {
			cfg, err := configFromCLI(cc)
			if err != nil {
				return err
			}
			srv, err := datanode.New(cfg)
			if err != nil {
				return err
			}
			return srv.Run(ctx)
		},
	}
}

// configFromCLI fills a datanode.Config from the parsed flags.
func configFromCLI(cc *cli.Context) (datanode.Config, error) {
	cfg := datanode.DefaultConfig()
	cfg.Listen = cc.String(flagListen)
	cfg.ID = cc.String(flagID)
	cfg.NameNodes = cliconf.SplitList(cc.String(flagNameNodes))
	cfg.GRPCListen = cc.String(flagGRPC)
	cfg.Advertise = cc.String(flagAdvertise)
	cfg.ClusterToken = cc.String(flagClusterToken)
	cfg.IOModel = cc.String(flagIOModel)
	cfg.EventLoops = cc.Int(flagEventLoops)
	cfg.MigrationWorkers = cc.Int(flagMigrationWork)
	cfg.DrainListen = cc.String(flagDrainListen)
	cfg.ExitAfterDrain = cc.Bool(flagExitAfter)
	cfg.Rejoin = cc.Bool(flagRejoin)
	cfg.HTTP = cc.String(flagHTTP)
	cfg.HTTPAPI = cc.Bool(flagHTTPAPI)
	cfg.HTTPAdvertise = cc.String(flagHTTPAdvertise)
	if cfg.MigrationWorkers < 1 {
		return cfg, fmt.Errorf("--%s must be at least 1", flagMigrationWork)
	}
	if w := cc.Int(flagWeight); w < 1 {
		return cfg, fmt.Errorf("--%s must be at least 1", flagWeight)
	} else {
		cfg.Weight = uint32(w)
	}
	st := &cfg.Settings
	st.RequirePass = cc.String(flagRequirePass)
	st.MaxClients = cc.Int(flagMaxClients)
	st.MaxMemorySamples = cc.Int(flagSamples)
	st.ProtectedMode = cc.Bool(flagProtectedMode)
	st.Timeout = int64(cc.Int(flagTimeout))
	st.Dir = cc.String(flagDir)
	st.DBFilename = cc.String(flagDBFilename)
	st.EnableProtectedConfigs = cc.Bool(flagProtectedCfg)
	var err error
	if st.Save, err = datanode.ParseSaveRules(cc.String(flagSave)); err != nil {
		return cfg, fmt.Errorf("--%s: %w", flagSave, err)
	}
	for _, size := range []struct {
		flag string
		dst  *int64
	}{
		{flagMaxMemory, &st.MaxMemory},
		{flagProtoMaxBulk, &st.ProtoMaxBulkLen},
		{flagQueryBufLimit, &st.ClientQueryBufferLimit},
		{flagMigrationRate, &cfg.MigrationRate},
	} {
		if *size.dst, err = bytesize.Parse(cc.String(size.flag)); err != nil {
			return cfg, fmt.Errorf("--%s: %w", size.flag, err)
		}
	}
	if st.MaxMemoryPolicy, err = store.ParsePolicy(cc.String(flagPolicy)); err != nil {
		return cfg, fmt.Errorf("--%s: %w", flagPolicy, err)
	}
	if cfg.Logger, err = cliconf.NewLogger(os.Stderr, cc.String(flagLogLevel), cc.String(flagLogFormat)); err != nil {
		return cfg, err
	}
	return cfg, cfg.Validate()
}
