// Package cliconf gives CHKV's binaries one way to take settings: command-
// line flags, CHKV_* environment variables and a YAML file named by
// --config, with the precedence flag > environment > file > default.
package cliconf

import (
	"fmt"
	"io"
	"log/slog"
	"strings"

	"github.com/urfave/cli/v2"
	"github.com/urfave/cli/v2/altsrc"
)

// ConfigFlagName is the flag that names the YAML configuration file.
const ConfigFlagName = "config"

// EnvVar returns the environment variable that sets a flag: CHKV_ followed
// by the flag name in upper case with '-' as '_', e.g. CHKV_MAXMEMORY_POLICY.
func EnvVar(flag string) string {
	return "CHKV_" + strings.ToUpper(strings.ReplaceAll(flag, "-", "_"))
}

// ConfigFlag is the --config flag.
func ConfigFlag() cli.Flag {
	return &cli.StringFlag{
		Name:    ConfigFlagName,
		Usage:   "YAML file of settings, keyed by flag name (flags and CHKV_* variables override it)",
		EnvVars: []string{EnvVar(ConfigFlagName)},
	}
}

// String returns a string flag settable from the environment and the file.
func String(name, value, usage string) cli.Flag {
	return altsrc.NewStringFlag(&cli.StringFlag{Name: name, Value: value, Usage: usage, EnvVars: []string{EnvVar(name)}})
}

// Int returns an int flag settable from the environment and the file.
func Int(name string, value int, usage string) cli.Flag {
	return altsrc.NewIntFlag(&cli.IntFlag{Name: name, Value: value, Usage: usage, EnvVars: []string{EnvVar(name)}})
}

// Bool returns a bool flag settable from the environment and the file.
func Bool(name string, value bool, usage string) cli.Flag {
	return altsrc.NewBoolFlag(&cli.BoolFlag{Name: name, Value: value, Usage: usage, EnvVars: []string{EnvVar(name)}})
}

// LoadFile returns the Before hook that applies the --config file to the
// flags not set on the command line or in the environment.
func LoadFile(flags []cli.Flag) cli.BeforeFunc {
	return altsrc.InitInputSourceWithContext(flags, altsrc.NewYamlSourceFromFlagFunc(ConfigFlagName))
}

// NewLogger returns a slog logger writing to w at the named level (debug,
// info, warn, error) in the named format (text or json).
func NewLogger(w io.Writer, level, format string) (*slog.Logger, error) {
	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("log level %q: want debug, info, warn or error", level)
	}
	opts := &slog.HandlerOptions{Level: lvl}
	switch format {
	case "text", "":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	default:
		return nil, fmt.Errorf("log format %q: want text or json", format)
	}
}

// SplitList splits a comma-separated list, dropping blanks.
func SplitList(s string) []string {
	var out []string
	for _, part := range strings.Split(s, ",") {
		if part = strings.TrimSpace(part); part != "" {
			out = append(out, part)
		}
	}
	return out
}

// Unmanaged returns the names of the flags among flags that cannot also
// be set from a CHKV_* variable and the --config file (flags not made by
// String, Int or Bool). Tests of each binary require it to be empty.
func Unmanaged(flags []cli.Flag) []string {
	var out []string
	for _, f := range flags {
		name := f.Names()[0]
		var env []string
		switch f := f.(type) {
		case *altsrc.StringFlag:
			env = f.EnvVars
		case *altsrc.IntFlag:
			env = f.EnvVars
		case *altsrc.BoolFlag:
			env = f.EnvVars
		case *cli.StringFlag:
			if name == ConfigFlagName {
				continue
			}
		}
		if len(env) != 1 || env[0] != EnvVar(name) {
			out = append(out, name)
		}
	}
	return out
}

// Names returns the names of flags, --config excluded: the keys a YAML
// file may hold.
func Names(flags []cli.Flag) []string {
	var out []string
	for _, f := range flags {
		if name := f.Names()[0]; name != ConfigFlagName {
			out = append(out, name)
		}
	}
	return out
}
