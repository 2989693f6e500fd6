// Command namenode runs a CHKV NameNode: it owns the hash ring, tracks
// DataNode liveness and pushes every topology change to DataNodes and to
// client watchers.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	if err := newApp(ctx).Run(os.Args); err != nil {
		fmt.Fprintln(os.Stderr, "namenode:", err)
		os.Exit(1)
	}
}
