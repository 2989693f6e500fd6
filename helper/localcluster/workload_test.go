package localcluster

import (
	"context"
	"testing"
	"time"

	"github.com/chkv/chkv/client"
	"github.com/chkv/chkv/helper/workload"
)

// startWorkload starts a recorded workload of clients SDK clients of c.
func startWorkload(t *testing.T, c *Cluster, clients, keys, maxOps int) *workload.Workload {
	t.Helper()
	return workload.Start(t, func(ctx context.Context) (*client.Client, error) { return c.NewClient(ctx) }, clients, keys, maxOps)
}

// newClient returns an SDK client of c, closed when the test ends.
func newClient(t *testing.T, c *Cluster) *client.Client {
	t.Helper()
	cl, err := c.NewClient(ctxFor(t, 10*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cl.Close() })
	return cl
}
