// Package nnset is the one control-plane client of the NameNode pair: the
// gRPC dial options every caller of the NameNodes uses, and Set, the
// NameNodes of a cluster with the active one first, whose CallActive makes
// a call that only the active serves, following the active a standby
// names and waiting for one during an election.
package nnset

import (
	"time"

	"google.golang.org/grpc"
	grpcbackoff "google.golang.org/grpc/backoff"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/chkv/chkv/common/clustertoken"
)

// DialConfig says how to connect to a NameNode.
type DialConfig struct {
	// Token is sent with every call when not empty (common/clustertoken).
	Token string
	// BackoffBase and BackoffMax bound gRPC's reconnection backoff. gRPC's
	// default grows to two minutes, longer than a failover: a NameNode
	// that comes back must be seen again within about BackoffMax.
	// Zero takes 100ms and 1s.
	BackoffBase, BackoffMax time.Duration
	// MinConnectTimeout is the least time one connection attempt may
	// take; zero takes 20s, gRPC's default.
	MinConnectTimeout time.Duration
}

// DialOptions returns the options of a connection to a NameNode:
// plaintext, the reconnection backoff and connect timeout of c, and the
// cluster-token interceptors.
func DialOptions(c DialConfig) []grpc.DialOption {
	base, maxDelay, connect := c.BackoffBase, c.BackoffMax, c.MinConnectTimeout
	if base <= 0 {
		base = 100 * time.Millisecond
	}
	if maxDelay <= 0 {
		maxDelay = time.Second
	}
	if connect <= 0 {
		connect = 20 * time.Second
	}
	opts := []grpc.DialOption{
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithConnectParams(grpc.ConnectParams{
			Backoff:           grpcbackoff.Config{BaseDelay: base, Multiplier: 1.6, Jitter: 0.2, MaxDelay: max(maxDelay, base)},
			MinConnectTimeout: connect,
		}),
	}
	return append(opts, clustertoken.DialOptions(c.Token)...)
}
