// Command chkvctl is CHKV's admin CLI: cluster status, the ring's balance,
// a live view of topology versions, draining a DataNode, and get/set/del
// through the Go SDK.
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
	if err := runApp(ctx, newApp(os.Stdout, os.Stderr), os.Args); err != nil {
		fmt.Fprintln(os.Stderr, "chkvctl:", err)
		os.Exit(1)
	}
}
