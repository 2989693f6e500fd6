package main

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"testing"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/chkv/chkv/common/cliconf"
	"github.com/chkv/chkv/namenode"
)

// parse runs the app's flag handling on args and returns the Config it
// would start a NameNode with.
func parse(t *testing.T, args ...string) (namenode.Config, error) {
	t.Helper()
	app := newApp(context.Background())
	var cfg namenode.Config
	var cfgErr error
	app.Action = func(cc *cli.Context) error {
		cfg, cfgErr = configFromCLI(cc)
		return nil
	}
	if err := app.Run(append([]string{"namenode"}, args...)); err != nil {
		return cfg, err
	}
	return cfg, cfgErr
}

func TestDefaults(t *testing.T) {
	cfg, err := parse(t)
	if err != nil {
		t.Fatal(err)
	}
	d := namenode.DefaultConfig()
	if cfg.Listen != d.Listen || cfg.HTTP != d.HTTP || cfg.VNodes != d.VNodes ||
		cfg.HeartbeatInterval != d.HeartbeatInterval || cfg.Epoch != d.Epoch || cfg.ClusterToken != "" || cfg.ID != "" {
		t.Fatalf("defaults: got %+v, want %+v", cfg, d)
	}
}

func TestPrecedenceFlagOverEnvOverFileOverDefault(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "namenode.yaml")
	yaml := "listen: 127.0.0.1:7101\nvnodes: 64\nheartbeat-interval: 2s\ncluster-token: fromfile\nid: nn-file\n"
	if err := os.WriteFile(file, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("CHKV_VNODES", "128")
	t.Setenv("CHKV_CLUSTER_TOKEN", "fromenv")
	t.Setenv("CHKV_HTTP", "")
	cfg, err := parse(t, "--config", file, "--cluster-token", "fromflag", "--heartbeat-interval", "250ms")
	if err != nil {
		t.Fatal(err)
	}
	checks := []struct {
		name      string
		got, want any
	}{
		{"listen from file", cfg.Listen, "127.0.0.1:7101"},
		{"id from file", cfg.ID, "nn-file"},
		{"vnodes from env over file", cfg.VNodes, 128},
		{"cluster-token from flag over env and file", cfg.ClusterToken, "fromflag"},
		{"heartbeat-interval from flag over file", cfg.HeartbeatInterval, 250 * time.Millisecond},
		{"http from env (empty disables)", cfg.HTTP, ""},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s: got %v, want %v", c.name, c.got, c.want)
		}
	}
}

func TestBadValuesAreRejected(t *testing.T) {
	for _, args := range [][]string{
		{"--heartbeat-interval", "often"},
		{"--heartbeat-interval", "1ms"},
		{"--vnodes", "0"},
		{"--log-level", "loud"},
		{"--log-format", "xml"},
		{"--listen", "nohostport"},
		{"--http", "nohostport"},
		{"--config", "/nonexistent/chkv.yaml"},
	} {
		if _, err := parse(t, args...); err == nil {
			t.Errorf("%v accepted", args)
		}
	}
}

// Every flag can come from the environment and the --config file, and the
// example configuration documents every one.
func TestEveryFlagFromEnvAndFileAndDocumented(t *testing.T) {
	if bad := cliconf.Unmanaged(flags()); len(bad) > 0 {
		t.Errorf("flags not settable from CHKV_* and --config: %v", bad)
	}
	example, err := os.ReadFile("../../../configs/namenode.yaml")
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range cliconf.Names(flags()) {
		if !regexp.MustCompile(`(?m)^#? ?` + regexp.QuoteMeta(name) + `:`).Match(example) {
			t.Errorf("configs/namenode.yaml does not document %s", name)
		}
	}
}
