// Command datanode runs a CHKV DataNode: an in-memory key-value server that
// speaks the Redis protocol. Without --namenodes it runs standalone and
// serves every hash slot itself.
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
		fmt.Fprintln(os.Stderr, "datanode:", err)
		os.Exit(1)
	}
}
