package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
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
	addrs   []string // --namenodes, then actives learnt from standbys
	conns   []*grpc.ClientConn
	opts    []grpc.DialOption
	timeout time.Duration // of each call, and of waiting for an active
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
	n := &nameNodes{opts: opts, timeout: s.timeout}
	for _, addr := range s.cfg.NameNodes {
		if err := n.add(addr); err != nil {
			n.Close()
			return nil, err
		}
	}
	return n, nil
}

// add connects lazily to the NameNode at addr, unless n has it already.
func (n *nameNodes) add(addr string) error {
	if slices.Contains(n.addrs, addr) {
		return nil
	}
	cc, err := grpc.NewClient(addr, n.opts...)
	if err != nil {
		return fmt.Errorf("NameNode %s: %w", addr, err)
	}
	n.addrs, n.conns = append(n.addrs, addr), append(n.conns, cc)
	return nil
}

// Close closes every connection.
func (n *nameNodes) Close() {
	for _, cc := range n.conns {
		cc.Close()
	}
}

// drain asks the active NameNode to drain the DataNode named by its ID,
// RESP or gRPC address, waiting for one as callActive does.
func (n *nameNodes) drain(ctx context.Context, note io.Writer, node string, force bool) (*chkvpb.DrainResponse, error) {
	return callActive(ctx, n, note, func(ctx context.Context, c chkvpb.NameNodeClient) (*chkvpb.DrainResponse, error) {
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

// waitingNote is what callActive prints while no NameNode takes a call.
const waitingNote = "waiting for an active NameNode"

// activeRetry is the pause between two rounds of callActive. A variable
// only so that tests can run faster.
var activeRetry = 200 * time.Millisecond

// callActive makes call on the active NameNode and returns its answer;
// every command that changes the cluster goes through it. It tries the
// NameNodes in order. One that is unreachable, too slow, or answers
// UNAVAILABLE (a standby, or an active without its majority) is passed
// over; a standby's status names the active and its address, which
// callActive adds to the NameNodes when --namenodes lacks it, so one
// address of the pair is enough. When a whole round fails it prints
// waitingNote to note (once) and starts another after activeRetry, until
// the timeout has passed since the first; each call is bounded by the
// timeout too. Any other error is the cluster's answer and is returned at
// once as an *rpcError; a failure to find an active is the last round's
// errors, joined.
func callActive[T any](ctx context.Context, n *nameNodes, note io.Writer, call func(context.Context, chkvpb.NameNodeClient) (T, error)) (T, error) {
	var zero T
	giveUp := time.Now().Add(n.timeout)
	waiting := false
	for {
		var errs []error
		for i := 0; i < len(n.conns); i++ { // n grows as actives are learnt
			cctx, cancel := context.WithTimeout(ctx, n.timeout)
			resp, err := call(cctx, chkvpb.NewNameNodeClient(n.conns[i]))
			cancel()
			if err == nil {
				return resp, nil
			}
			rerr := &rpcError{addr: n.addrs[i], err: err}
			code := status.Code(err)
			if code != codes.Unavailable && code != codes.DeadlineExceeded {
				return zero, rerr // the answer, whatever the NameNodes before said
			}
			errs = append(errs, rerr)
			if ctx.Err() != nil {
				break
			}
			if code == codes.Unavailable {
				if err := n.learnActive(ctx, i); err != nil {
					errs = append(errs, err)
				}
			}
		}
		if ctx.Err() != nil || time.Now().Add(activeRetry).After(giveUp) {
			return zero, fmt.Errorf("no active NameNode within --%s %v: %w", flagTimeout, n.timeout, errors.Join(errs...))
		}
		if !waiting {
			waiting = true
			fmt.Fprintln(note, waitingNote)
		}
		t := time.NewTimer(activeRetry)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return zero, fmt.Errorf("no active NameNode: %w", errors.Join(append(errs, ctx.Err())...))
		}
	}
}

// learnActive asks NameNode i, which has just refused a call as
// unavailable, which NameNode is active, and adds the active's address
// when i names its peer as the active.
func (n *nameNodes) learnActive(ctx context.Context, i int) error {
	ctx, cancel := context.WithTimeout(ctx, n.timeout)
	defer cancel()
	st, err := chkvpb.NewNameNodeClient(n.conns[i]).Status(ctx, &chkvpb.StatusRequest{})
	if err != nil {
		return nil // unreachable now: the round's error says enough
	}
	active, peer := st.GetActiveId(), st.GetPeer()
	if active == "" || active == st.GetNamenodeId() || peer.GetId() != active || peer.GetAddr() == "" {
		return nil
	}
	return n.add(peer.GetAddr())
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
