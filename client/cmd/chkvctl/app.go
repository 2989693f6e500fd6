package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/chkv/chkv/client"
	"github.com/chkv/chkv/common/cliconf"
)

// defaultNameNodes is the pair `make run` starts.
const defaultNameNodes = client.DefaultNameNode + ",127.0.0.1:10102"

// Flag names, which are also the YAML keys and, as CHKV_*, the environment
// variables.
const (
	flagNameNodes    = "namenodes"
	flagClusterToken = "cluster-token"
	flagPassword     = "password"
	flagTimeout      = "timeout"
	flagOutput       = "output"
	flagTTL          = "ttl"
	flagNX           = "nx"
	flagXX           = "xx"
	flagForce        = "force"
	flagNoWait       = "no-wait"
)

// Output formats.
const (
	outputTable = "table"
	outputJSON  = "json"
)

func flags() []cli.Flag {
	return []cli.Flag{
		cliconf.ConfigFlag(),
		cliconf.String(flagNameNodes, defaultNameNodes, "comma-separated NameNode gRPC addresses: both of the pair; any one answers reads, the active one changes"),
		cliconf.String(flagClusterToken, "", "cluster token sent to the NameNodes"),
		cliconf.String(flagPassword, "", "DataNode password (AUTH)"),
		cliconf.String(flagTimeout, "5s", "time limit of each command (watch: of the first topology; drain: of each call, of waiting for an active NameNode, and of the NameNode staying unreachable)"),
		cliconf.String(flagOutput, outputTable, "output format: table or json"),
	}
}

// newApp returns the CLI, writing results to stdout and diagnostics to
// stderr.
func newApp(stdout, stderr io.Writer) *cli.App {
	fl := flags()
	return &cli.App{
		Name:      "chkvctl",
		Usage:     "administer and query a CHKV cluster",
		Flags:     fl,
		Before:    cliconf.LoadFile(fl),
		Writer:    stdout,
		ErrWriter: stderr,
		Commands: append([]*cli.Command{
			{Name: "status", Usage: "table of the DataNodes as the NameNode sees them", Action: cmdStatus},
			{Name: "ring", Usage: "slots per DataNode and the ring's balance", Action: cmdRing},
			{Name: "watch", Usage: "print each topology version as it arrives, until interrupted", Action: cmdWatch},
			{Name: "get", Usage: "print the value of KEY", ArgsUsage: "KEY", Action: cmdGet},
			{
				Name: "set", Usage: "write VALUE at KEY", ArgsUsage: "KEY VALUE", Action: cmdSet,
				Flags: []cli.Flag{
					&cli.DurationFlag{Name: flagTTL, Usage: "expire the key after this long (e.g. 10s)"},
					&cli.BoolFlag{Name: flagNX, Usage: "only if KEY does not exist"},
					&cli.BoolFlag{Name: flagXX, Usage: "only if KEY exists"},
				},
			},
			{
				Name:   "bench",
				Usage:  "load the cluster with GETs and SETs through the SDK and report throughput and latency percentiles",
				Flags:  benchFlags(),
				Action: cmdBench,
			},
			{Name: "del", Usage: "delete KEYs and print how many existed", ArgsUsage: "KEY...", Action: cmdDel},
			{
				Name:      "drain",
				Usage:     "move every slot of a DataNode to the others and show the progress until it can be stopped",
				ArgsUsage: "NODE (ID, RESP address or gRPC address)",
				Action:    cmdDrain,
				Flags: []cli.Flag{
					&cli.BoolFlag{Name: flagForce, Usage: "drain even the last DataNode holding data, discarding its data"},
					&cli.BoolFlag{Name: flagNoWait, Usage: "start the drain and return without waiting for it"},
				},
			},
			drainPortCommand(),
		}, lifecycleCommands()...),
	}
}

// runApp runs app (newApp's) on args (os.Args: the program, then what the
// user typed), taking the flags where users type them (see normalizeArgs).
func runApp(ctx context.Context, app *cli.App, args []string) error {
	args, err := normalizeArgs(app, args)
	if err != nil {
		return err
	}
	return app.RunContext(ctx, args)
}

// noArgs fails when a command that takes no arguments was given some.
func noArgs(cc *cli.Context) error {
	if cc.NArg() != 0 {
		return fmt.Errorf("%s takes no arguments, got %q", cc.Command.Name, cc.Args().Slice())
	}
	return nil
}

// settings are the global flags, parsed.
type settings struct {
	cfg     client.Config
	timeout time.Duration
	json    bool
}

func settingsFrom(cc *cli.Context) (settings, error) {
	var s settings
	s.cfg = client.Config{
		NameNodes:    cliconf.SplitList(cc.String(flagNameNodes)),
		ClusterToken: cc.String(flagClusterToken),
		Password:     cc.String(flagPassword),
	}
	if err := s.cfg.Validate(); err != nil {
		return s, err
	}
	var err error
	if s.timeout, err = time.ParseDuration(cc.String(flagTimeout)); err != nil || s.timeout <= 0 {
		return s, fmt.Errorf("--%s %q: want a positive duration such as 5s", flagTimeout, cc.String(flagTimeout))
	}
	switch out := cc.String(flagOutput); out {
	case outputTable:
	case outputJSON:
		s.json = true
	default:
		return s, fmt.Errorf("--%s %q: want %s or %s", flagOutput, out, outputTable, outputJSON)
	}
	return s, nil
}

// connect parses the global flags and returns a Client, and a context
// bounded by --timeout for the command's calls.
func connect(cc *cli.Context, opts ...client.Option) (*client.Client, context.Context, context.CancelFunc, settings, error) {
	s, err := settingsFrom(cc)
	if err != nil {
		return nil, nil, nil, s, err
	}
	ctx, cancel := context.WithTimeout(cc.Context, s.timeout)
	c, err := client.New(ctx, s.cfg, opts...)
	if err != nil {
		cancel()
		return nil, nil, nil, s, err
	}
	return c, ctx, cancel, s, nil
}

// writeJSON writes v as indented JSON.
func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
