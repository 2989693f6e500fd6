package main

import (
	"context"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"testing"

	"github.com/urfave/cli/v2"

	"github.com/chkv/chkv/common/cliconf"
	"github.com/chkv/chkv/datanode"
	"github.com/chkv/chkv/datanode/store"
)

// parse runs the app's flag handling on args and returns the Config it
// would start a DataNode with.
func parse(t *testing.T, args ...string) (datanode.Config, error) {
	t.Helper()
	app := newApp(context.Background())
	var cfg datanode.Config
	var cfgErr error
	app.Action = func(cc *cli.Context) error {
		cfg, cfgErr = configFromCLI(cc)
		return nil
	}
	if err := app.Run(append([]string{"datanode"}, args...)); err != nil {
		return cfg, err
	}
	return cfg, cfgErr
}

func TestDefaults(t *testing.T) {
	cfg, err := parse(t)
	if err != nil {
		t.Fatal(err)
	}
	d := datanode.DefaultConfig()
	if cfg.Listen != d.Listen || !reflect.DeepEqual(cfg.Settings, d.Settings) || len(cfg.NameNodes) != 0 || cfg.IOModel != d.IOModel || cfg.EventLoops != d.EventLoops {
		t.Fatalf("defaults: got %+v, want %+v", cfg, d)
	}
}

func TestPrecedenceFlagOverEnvOverFileOverDefault(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "datanode.yaml")
	yaml := "listen: 127.0.0.1:7001\nmaxclients: 11\nmaxmemory: 1mb\nmaxmemory-policy: allkeys-lru\nrequirepass: fromfile\n"
	if err := os.WriteFile(file, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("CHKV_MAXCLIENTS", "22")
	t.Setenv("CHKV_REQUIREPASS", "fromenv")
	t.Setenv("CHKV_IO_MODEL", datanode.IOModelGoroutine) // not the default on Linux
	cfg, err := parse(t, "--config", file, "--requirepass", "fromflag", "--namenodes", "a:1, b:2")
	if err != nil {
		t.Fatal(err)
	}
	checks := []struct {
		name      string
		got, want any
	}{
		{"listen from file", cfg.Listen, "127.0.0.1:7001"},
		{"maxclients from env over file", cfg.Settings.MaxClients, 22},
		{"requirepass from flag over env and file", cfg.Settings.RequirePass, "fromflag"},
		{"maxmemory from file with units", cfg.Settings.MaxMemory, int64(1 << 20)},
		{"policy from file", cfg.Settings.MaxMemoryPolicy, store.AllKeysLRU},
		{"namenodes split", len(cfg.NameNodes), 2},
		{"io-model from env", cfg.IOModel, datanode.IOModelGoroutine},
		{"proto-max-bulk-len default", cfg.Settings.ProtoMaxBulkLen, int64(datanode.DefaultProtoMaxBulkLen)},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s: got %v, want %v", c.name, c.got, c.want)
		}
	}
}

func TestBadValuesAreRejected(t *testing.T) {
	for _, args := range [][]string{
		{"--maxmemory", "lots"},
		{"--maxmemory-policy", "sometimes"},
		{"--maxclients", "0"},
		{"--log-level", "loud"},
		{"--listen", "nohostport"},
		{"--io-model", "threads"},
		{"--event-loops", "-1"},
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
	example, err := os.ReadFile("../../../configs/datanode.yaml")
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range cliconf.Names(flags()) {
		if !regexp.MustCompile(`(?m)^#? ?` + regexp.QuoteMeta(name) + `:`).Match(example) {
			t.Errorf("configs/datanode.yaml does not document %s", name)
		}
	}
}
