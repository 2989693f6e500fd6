package main

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/chkv/chkv/common/cliconf"
	"github.com/chkv/chkv/namenode"
)

// Flag names, which are also the YAML keys and, as CHKV_*, the environment
// variables.
const (
	flagID                = "id"
	flagListen            = "listen"
	flagHTTP              = "http"
	flagVNodes            = "vnodes"
	flagHeartbeatInterval = "heartbeat-interval"
	flagClusterToken      = "cluster-token"
	flagLogLevel          = "log-level"
	flagLogFormat         = "log-format"
	flagPeer              = "peer"
)

func flags() []cli.Flag {
	d := namenode.DefaultConfig()
	return []cli.Flag{
		cliconf.ConfigFlag(),
		cliconf.String(flagID, "", "NameNode ID in logs and status (default: derived from the listen address)"),
		cliconf.String(flagListen, d.Listen, "gRPC listen address for DataNodes, watchers and chkvctl, host:port"),
		cliconf.String(flagHTTP, d.HTTP, "HTTP address of /healthz and /status; empty disables it"),
		cliconf.String(flagPeer, "", "gRPC address of the other NameNode of the pair; empty runs a single NameNode"),
		cliconf.Int(flagVNodes, d.VNodes, "virtual nodes per unit of DataNode weight on the ring"),
		cliconf.String(flagHeartbeatInterval, d.HeartbeatInterval.String(), "how often DataNodes heartbeat (Go duration); the lease is 3 intervals"),
		cliconf.String(flagClusterToken, "", "shared secret required on every call between CHKV components; empty means none"),
		cliconf.String(flagLogLevel, "info", "log level: debug, info, warn, error"),
		cliconf.String(flagLogFormat, "text", "log format: text or json"),
	}
}

func newApp(ctx context.Context) *cli.App {
	fl := flags()
	return &cli.App{
		Name:   "namenode",
		Usage:  "CHKV NameNode: owns the hash ring and pushes the topology to DataNodes and clients",
		Flags:  fl,
		Before: cliconf.LoadFile(fl),
		Action: func(cc *cli.Context) error {
			cfg, err := configFromCLI(cc)
			if err != nil {
				return err
			}
			srv, err := namenode.New(cfg)
			if err != nil {
				return err
			}
			return srv.Run(ctx)
		},
	}
}

// configFromCLI fills a namenode.Config from the parsed flags.
func configFromCLI(cc *cli.Context) (namenode.Config, error) {
	cfg := namenode.DefaultConfig()
	cfg.ID = cc.String(flagID)
	cfg.Listen = cc.String(flagListen)
	cfg.HTTP = cc.String(flagHTTP)
	cfg.Peer = cc.String(flagPeer)
	cfg.VNodes = cc.Int(flagVNodes)
	cfg.ClusterToken = cc.String(flagClusterToken)
	var err error
	if cfg.HeartbeatInterval, err = time.ParseDuration(cc.String(flagHeartbeatInterval)); err != nil {
		return cfg, fmt.Errorf("--%s: %w", flagHeartbeatInterval, err)
	}
	if cfg.Logger, err = cliconf.NewLogger(os.Stderr, cc.String(flagLogLevel), cc.String(flagLogFormat)); err != nil {
		return cfg, err
	}
	return cfg, cfg.Validate()
}
