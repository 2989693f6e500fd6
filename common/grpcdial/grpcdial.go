// Package grpcdial is the one builder of the gRPC dial options of every
// connection between CHKV components and from clients to them: plaintext,
// a reconnection backoff short enough to see a restarted server within a
// failover, and the cluster token on every call.
package grpcdial

import (
	"cmp"
	"time"

	"google.golang.org/grpc"
	grpcbackoff "google.golang.org/grpc/backoff"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/chkv/chkv/common/clustertoken"
)

// Config says how to connect.
type Config struct {
	// Token is sent with every call when not empty (common/clustertoken).
	Token string
	// BackoffBase and BackoffMax bound gRPC's reconnection backoff, and
	// MinConnectTimeout is the least time one connection attempt may
	// take. gRPC's default backoff grows to two minutes, longer than a
	// failover: a server that must be seen again soon after it comes back
	// needs a short BackoffMax. When all three are zero gRPC's defaults
	// apply; otherwise a zero one takes gRPC's default (1s, 120s, 20s).
	BackoffBase, BackoffMax time.Duration
	MinConnectTimeout       time.Duration
}

// gRPC's defaults, from google.golang.org/grpc/backoff.DefaultConfig and
// its minimum connect timeout.
const (
	defaultBackoffBase       = time.Second
	defaultBackoffMax        = 120 * time.Second
	defaultMinConnectTimeout = 20 * time.Second
)

// Options returns the options of a connection to a CHKV component:
// plaintext, the reconnection backoff and connect timeout of c, and the
// cluster-token interceptors, then extra.
func Options(c Config, extra ...grpc.DialOption) []grpc.DialOption {
	opts := []grpc.DialOption{grpc.WithTransportCredentials(insecure.NewCredentials())}
	if c.BackoffBase > 0 || c.BackoffMax > 0 || c.MinConnectTimeout > 0 {
		base := cmp.Or(c.BackoffBase, defaultBackoffBase)
		opts = append(opts, grpc.WithConnectParams(grpc.ConnectParams{
			Backoff:           grpcbackoff.Config{BaseDelay: base, Multiplier: 1.6, Jitter: 0.2, MaxDelay: max(cmp.Or(c.BackoffMax, defaultBackoffMax), base)},
			MinConnectTimeout: cmp.Or(c.MinConnectTimeout, defaultMinConnectTimeout),
		}))
	}
	opts = append(opts, clustertoken.DialOptions(c.Token)...)
	return append(opts, extra...)
}
