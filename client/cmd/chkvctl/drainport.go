package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/urfave/cli/v2"
)

// defaultDrainPort is the DataNode's default --drain-listen.
const defaultDrainPort = "127.0.0.1:6666"

// flagIdle names drain-port's bound on the silence between two lines.
const flagIdle = "idle-timeout"

// errDrainPort is wrapped by drain-port's failures that the node reported.
var errDrainPort = errors.New("drain port")

// drainPortCommand drains the DataNode whose drain port is ADDR, as
// `telnet ADDR` and `k` do, and returns once the node says it can be
// stopped: what a Kubernetes preStop hook runs (deploy/k8s).
func drainPortCommand() *cli.Command {
	return &cli.Command{
		Name: "drain-port",
		Usage: "drain the DataNode through its drain port (as telnet ADDR, then k) and return once it can be stopped; " +
			"for a preStop hook in the DataNode's own container",
		ArgsUsage: "[ADDR] (default " + defaultDrainPort + ")",
		Action:    cmdDrainPort,
		Flags: []cli.Flag{
			&cli.DurationFlag{Name: flagIdle, Value: time.Minute,
				Usage: "give up when the node sends no line for this long (it prints progress every second or so)"},
		},
	}
}

func cmdDrainPort(cc *cli.Context) error {
	if cc.NArg() > 1 {
		return fmt.Errorf("drain-port takes at most one address, got %q", cc.Args().Slice())
	}
	addr := defaultDrainPort
	if cc.NArg() == 1 {
		addr = cc.Args().First()
	}
	s, err := settingsFrom(cc)
	if err != nil {
		return err
	}
	idle := cc.Duration(flagIdle)
	if idle <= 0 {
		return fmt.Errorf("--%s %v: want a positive duration", flagIdle, idle)
	}
	d := net.Dialer{Timeout: s.timeout}
	conn, err := d.DialContext(cc.Context, "tcp", addr)
	if err != nil {
		return fmt.Errorf("drain port %s: %w", addr, err)
	}
	defer conn.Close()
	// Ctrl-C (the context) closes the connection, which ends the read.
	stop := context.AfterFunc(cc.Context, func() { conn.Close() })
	defer stop()

	in := bufio.NewScanner(conn)
	readLine := func() (string, error) {
		if err := conn.SetReadDeadline(time.Now().Add(idle)); err != nil {
			return "", err
		}
		if !in.Scan() {
			if err := in.Err(); err != nil {
				return "", err
			}
			return "", errors.New("the node closed the connection")
		}
		return strings.TrimRight(in.Text(), "\r"), nil
	}
	if _, err := readLine(); err != nil { // the greeting
		return fmt.Errorf("drain port %s: %w", addr, err)
	}
	// From the node itself k alone is enough; from elsewhere the node
	// asks for its cluster token.
	k := "k"
	if s.cfg.ClusterToken != "" && !isLoopback(addr) {
		k += " " + s.cfg.ClusterToken
	}
	if err := conn.SetWriteDeadline(time.Now().Add(s.timeout)); err != nil {
		return err
	}
	if _, err := fmt.Fprintf(conn, "%s\r\n", k); err != nil {
		return fmt.Errorf("drain port %s: %w", addr, err)
	}
	out := cc.App.Writer
	for {
		l, err := readLine()
		if err != nil {
			if cc.Context.Err() != nil {
				return cc.Context.Err()
			}
			return fmt.Errorf("drain port %s: %w", addr, err)
		}
		fmt.Fprintln(out, l)
		switch {
		case strings.HasPrefix(l, "drained:"):
			return nil
		case strings.HasPrefix(l, "ERR"):
			return fmt.Errorf("%w %s: %s", errDrainPort, addr, l)
		}
	}
}

// isLoopback reports whether addr's host is a loopback address or
// localhost.
func isLoopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
