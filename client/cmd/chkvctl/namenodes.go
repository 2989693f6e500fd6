package main

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"google.golang.org/grpc"
	grpcbackoff "google.golang.org/grpc/backoff"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	"github.com/chkv/chkv/common/clustertoken"
	"github.com/chkv/chkv/proto/chkvpb"
)

// nameNodes are direct gRPC connections to the NameNodes of --namenodes,
// for the admin calls the SDK does not make (Drain) and for polling Status
// without waiting for a topology as client.New does.
type nameNodes struct {
	addrs   []string
	conns   []*grpc.ClientConn
	timeout time.Duration // of each call
}

// dialNameNodes connects lazily to every NameNode of s. Close the result.
func dialNameNodes(s settings) (*nameNodes, error) {
	opts := []grpc.DialOption{
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		// Reconnect within about a second of a NameNode coming back, well
		// inside --timeout; gRPC's default backoff grows to two minutes.
		grpc.WithConnectParams(grpc.ConnectParams{
			Backoff:           grpcbackoff.Config{BaseDelay: 100 * time.Millisecond, Multiplier: 1.6, Jitter: 0.2, MaxDelay: time.Second},
			MinConnectTimeout: s.timeout,
		}),
	}
	opts = append(opts, clustertoken.DialOptions(s.cfg.ClusterToken)...)
	n := &nameNodes{addrs: s.cfg.NameNodes, timeout: s.timeout}
	for _, addr := range n.addrs {
		cc, err := grpc.NewClient(addr, opts...)
		if err != nil {
			n.Close()
			return nil, fmt.Errorf("NameNode %s: %w", addr, err)
		}
		n.conns = append(n.conns, cc)
	}
	return n, nil
}

// Close closes every connection.
func (n *nameNodes) Close() {
	for _, cc := range n.conns {
		cc.Close()
	}
}

// drain asks the NameNodes to drain the DataNode named by its ID, RESP or
// gRPC address.
func (n *nameNodes) drain(ctx context.Context, node string, force bool) (*chkvpb.DrainResponse, error) {
	return callFirst(ctx, n, func(ctx context.Context, c chkvpb.NameNodeClient) (*chkvpb.DrainResponse, error) {
		return c.Drain(ctx, &chkvpb.DrainRequest{Node: node, Force: force})
	})
}

// newestStatus asks every NameNode for its status and returns the answer
// with the newest topology, the active's among equals: a standby that lags
// behind never hides a change the active has made.
func (n *nameNodes) newestStatus(ctx context.Context) (*chkvpb.StatusResponse, error) {
	answers, errs := n.statusAll(ctx)
	var best *chkvpb.StatusResponse
	for _, a := range answers {
		if a == nil {
			continue
		}
		switch {
		case best == nil,
			a.GetEpoch() > best.GetEpoch(),
			a.GetEpoch() == best.GetEpoch() && a.GetVersion() > best.GetVersion(),
			a.GetEpoch() == best.GetEpoch() && a.GetVersion() == best.GetVersion() && a.GetRole() == chkvpb.NameNodeRole_NAMENODE_ROLE_ACTIVE:
			best = a
		}
	}
	if best == nil {
		return nil, errors.Join(errs...)
	}
	return best, nil
}

// statusAll asks every NameNode for its status at once. The answers are
// in the order of the addresses, nil where a NameNode did not answer,
// with its error in errs.
func (n *nameNodes) statusAll(ctx context.Context) (answers []*chkvpb.StatusResponse, errs []error) {
	answers, errs = make([]*chkvpb.StatusResponse, len(n.conns)), make([]error, len(n.conns))
	var wg sync.WaitGroup
	for i, cc := range n.conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cctx, cancel := context.WithTimeout(ctx, n.timeout)
			defer cancel()
			// Not WaitForReady: a NameNode that refuses connections fails
			// at once rather than holding up the other's answer.
			answers[i], errs[i] = chkvpb.NewNameNodeClient(cc).Status(cctx, &chkvpb.StatusRequest{})
			if errs[i] != nil {
				errs[i] = &rpcError{addr: n.addrs[i], err: errs[i]}
			}
		}()
	}
	wg.Wait()
	return answers, errs
}

// callFirst makes call on the NameNodes in order, each attempt bounded by
// the timeout, and returns the first answer. It moves to the next
// NameNode only when one is unreachable or too slow (those errors are
// joined); any other error is the cluster's answer and is returned alone
// as an *rpcError.
func callFirst[T any](ctx context.Context, n *nameNodes, call func(context.Context, chkvpb.NameNodeClient) (T, error)) (T, error) {
	var zero T
	var errs []error
	for i, cc := range n.conns {
		cctx, cancel := context.WithTimeout(ctx, n.timeout)
		resp, err := call(cctx, chkvpb.NewNameNodeClient(cc))
		cancel()
		if err == nil {
			return resp, nil
		}
		rerr := &rpcError{addr: n.addrs[i], err: err}
		if code := status.Code(err); code != codes.Unavailable && code != codes.DeadlineExceeded {
			return zero, rerr // the answer, whatever the NameNodes before said
		}
		errs = append(errs, rerr)
		if ctx.Err() != nil {
			break
		}
	}
	return zero, errors.Join(errs...)
}

// rpcError is a failed call to one NameNode. It reads as the server's
// message and status code rather than gRPC's "rpc error: code = ... desc
// = ...", and unwraps to the gRPC status error (status.Code works on it).
type rpcError struct {
	addr string
	err  error
}

// Error returns "NameNode ADDR: MESSAGE (CODE)".
func (e *rpcError) Error() string {
	if s, ok := status.FromError(e.err); ok {
		return fmt.Sprintf("NameNode %s: %s (%s)", e.addr, s.Message(), s.Code())
	}
	return fmt.Sprintf("NameNode %s: %v", e.addr, e.err)
}

// Unwrap returns the gRPC error.
func (e *rpcError) Unwrap() error { return e.err }
