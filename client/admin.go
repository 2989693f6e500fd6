package client

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/chkv/chkv/common/drainprogress"
	"github.com/chkv/chkv/common/grpcdial"
	"github.com/chkv/chkv/common/nnset"
	"github.com/chkv/chkv/proto/chkvpb"
)

// Defaults of the AdminOptions.
const (
	// DefaultAdminTimeout bounds each admin call and the wait for an
	// active NameNode.
	DefaultAdminTimeout = 5 * time.Second
	// DefaultDrainPoll is how often WaitDrained asks for progress.
	DefaultDrainPoll = 200 * time.Millisecond
	// RecoverTimeout bounds Recover's call to each NameNode: the NameNode
	// waits up to a lease and a margin for the silent witnesses' leases
	// to run out, then may need a few election rounds.
	RecoverTimeout = time.Minute
)

var (
	// ErrStoppedWaiting is returned by WaitDrained when its context ended
	// before the drain finished; the drain itself goes on.
	ErrStoppedWaiting = errors.New("stopped waiting")
	// ErrNoActiveNameNode is wrapped by the error of an admin call that
	// no NameNode took as the active one within the timeout.
	ErrNoActiveNameNode = nnset.ErrNoActive
)

// NameNodeError is a failed call to one NameNode: it reads as the
// NameNode's message and status code, and unwraps to the gRPC error
// (status.Code works on it).
type NameNodeError = nnset.RPCError

// DrainProgress is a snapshot of a DataNode's drain, as WaitDrained
// reports it and the node's drain port prints it.
type DrainProgress = drainprogress.Progress

// Admin makes the control-plane calls of an operator: the cluster's
// status and the DataNodes' membership (drain, undrain, remove, recover).
// Calls that change the cluster go to the active NameNode, found (and
// waited for, during an election) from any NameNode of Config.NameNodes.
// It is safe for concurrent use. Close it when done.
type Admin struct {
	set     *nnset.Set
	opts    adminOptions
	timeout time.Duration
}

// AdminOption tunes an Admin; pass them to NewAdmin.
type AdminOption func(*adminOptions)

type adminOptions struct {
	timeout     time.Duration
	retry       time.Duration
	poll        time.Duration
	onWaiting   func()
	timeoutName string
	grpcOpts    []grpc.DialOption
}

// WithAdminTimeout bounds each call, the wait for an active NameNode, and
// how long WaitDrained tolerates unreachable NameNodes
// (DefaultAdminTimeout).
func WithAdminTimeout(d time.Duration) AdminOption {
	return func(o *adminOptions) { o.timeout = d }
}

// WithActiveRetry sets the pause between two rounds of trying the
// NameNodes while none is active (nnset.DefaultRetryInterval).
func WithActiveRetry(d time.Duration) AdminOption {
	return func(o *adminOptions) { o.retry = d }
}

// WithDrainPoll sets how often WaitDrained asks for progress
// (DefaultDrainPoll).
func WithDrainPoll(d time.Duration) AdminOption {
	return func(o *adminOptions) { o.poll = d }
}

// WithWaitingNotice calls fn once per call that finds no active NameNode
// at first and starts waiting for one (an election).
func WithWaitingNotice(fn func()) AdminOption {
	return func(o *adminOptions) { o.onWaiting = fn }
}

// WithTimeoutName names the timeout in errors, such as "--timeout" for a
// command-line tool.
func WithTimeoutName(name string) AdminOption {
	return func(o *adminOptions) { o.timeoutName = name }
}

// WithAdminGRPCDialOptions adds gRPC dial options to the NameNode
// connections.
func WithAdminGRPCDialOptions(opts ...grpc.DialOption) AdminOption {
	return func(o *adminOptions) { o.grpcOpts = append(o.grpcOpts, opts...) }
}

// NewAdmin connects lazily to the NameNodes of cfg; it does not wait for
// them. cfg.Password is not used.
func NewAdmin(cfg Config, opts ...AdminOption) (*Admin, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	o := adminOptions{timeout: DefaultAdminTimeout, retry: nnset.DefaultRetryInterval, poll: DefaultDrainPoll}
	for _, opt := range opts {
		opt(&o)
	}
	if o.timeout <= 0 || o.retry <= 0 || o.poll <= 0 {
		return nil, fmt.Errorf("%w: admin timeout, retry and poll must be positive", ErrInvalid)
	}
	set, err := nnset.New(nnset.Config{
		Addrs: cfg.NameNodes, Dial: grpcdial.Config{Token: cfg.ClusterToken}, DialOptions: o.grpcOpts,
		Timeout: o.timeout, RetryInterval: o.retry, OnWaiting: o.onWaiting, TimeoutName: o.timeoutName,
	})
	if err != nil {
		return nil, fmt.Errorf("client: %w", err)
	}
	return &Admin{set: set, opts: o, timeout: o.timeout}, nil
}

// Close closes the NameNode connections.
func (a *Admin) Close() error { return a.set.Close() }

// NameNodeAddrs returns the NameNodes' addresses: those of the Config,
// then any active learnt from a standby.
func (a *Admin) NameNodeAddrs() []string { return a.set.Addrs() }

// Status asks every NameNode for its status: the pair's roles, and the
// DataNodes as the active one (else the first that answered) sees them.
// It fails only when no NameNode answers.
func (a *Admin) Status(ctx context.Context) (ClusterStatus, error) {
	addrs, answers, errs := a.set.StatusAll(ctx)
	return pairStatus(addrs, answers, errs)
}

// DrainStarted is the answer to Drain.
type DrainStarted struct {
	Node    string // the draining DataNode's ID
	Slots   int    // slots it owns, all to move
	Epoch   uint64 // the topology that made it draining
	Version uint64
}

// Drain asks the active NameNode to drain the DataNode named by its ID,
// RESP or gRPC address: its slots move to the others and it stops being
// a witness. With force the NameNode drains it even when that leaves
// fewer witnesses than it would otherwise accept. Follow the drain with
// WaitDrained.
func (a *Admin) Drain(ctx context.Context, node string, force bool) (DrainStarted, error) {
	r, err := nnset.CallActive(ctx, a.set, func(ctx context.Context, c chkvpb.NameNodeClient) (*chkvpb.DrainResponse, error) {
		return c.Drain(ctx, &chkvpb.DrainRequest{Node: node, Force: force})
	})
	if err != nil {
		return DrainStarted{}, err
	}
	return DrainStarted{Node: r.GetNodeId(), Slots: int(r.GetSlots()), Epoch: r.GetEpoch(), Version: r.GetVersion()}, nil
}

// MembershipChange is the answer to Undrain and Remove.
type MembershipChange struct {
	Node    string // the DataNode's ID
	Epoch   uint64 // the topology that made the change
	Version uint64
}

// Undrain asks the active NameNode to make a draining or drained DataNode
// join again: it receives slots and is a witness again.
func (a *Admin) Undrain(ctx context.Context, node string) (MembershipChange, error) {
	r, err := nnset.CallActive(ctx, a.set, func(ctx context.Context, c chkvpb.NameNodeClient) (*chkvpb.UndrainResponse, error) {
		return c.Undrain(ctx, &chkvpb.UndrainRequest{Node: node})
	})
	if err != nil {
		return MembershipChange{}, err
	}
	return MembershipChange{Node: r.GetNodeId(), Epoch: r.GetEpoch(), Version: r.GetVersion()}, nil
}

// Remove asks the active NameNode to forget a drained or down DataNode;
// it refuses for a live one (drain it first).
func (a *Admin) Remove(ctx context.Context, node string) (MembershipChange, error) {
	r, err := nnset.CallActive(ctx, a.set, func(ctx context.Context, c chkvpb.NameNodeClient) (*chkvpb.RemoveResponse, error) {
		return c.Remove(ctx, &chkvpb.RemoveRequest{Node: node})
	})
	if err != nil {
		return MembershipChange{}, err
	}
	return MembershipChange{Node: r.GetNodeId(), Epoch: r.GetEpoch(), Version: r.GetVersion()}, nil
}

// Recovery is the answer to Recover.
type Recovery struct {
	Down    []string // the silent witnesses marked down
	Epoch   uint64
	Version uint64
}

// Recover, when a majority of the witnesses is gone for good, marks the
// silent witnesses down so that the others form the voter set; the data
// of their slots is lost, so acceptDataLoss must be true. It asks each
// NameNode in turn until one does: with no majority there may be no
// active, and the standby the remaining witnesses vote for is the one
// that can. A NameNode that refuses because a majority is reachable ends
// it: nothing is lost then. Each NameNode has up to RecoverTimeout.
func (a *Admin) Recover(ctx context.Context, acceptDataLoss bool) (Recovery, error) {
	if !acceptDataLoss {
		return Recovery{}, fmt.Errorf("%w: recover loses the data of the silent witnesses' slots; it needs acceptDataLoss", ErrInvalid)
	}
	var resp *chkvpb.RecoverResponse
	var errs []error
	err := a.set.Each(func(addr string, nn chkvpb.NameNodeClient) bool {
		cctx, cancel := context.WithTimeout(ctx, RecoverTimeout)
		r, err := nn.Recover(cctx, &chkvpb.RecoverRequest{AcceptDataLoss: true})
		cancel()
		if err == nil {
			resp = r
			return false
		}
		rerr := &NameNodeError{Addr: addr, Err: err}
		if s, ok := status.FromError(err); ok && s.Code() == codes.FailedPrecondition && strings.Contains(s.Message(), "majority of the witnesses is reachable") {
			errs = []error{rerr}
			return false
		}
		errs = append(errs, rerr)
		return ctx.Err() == nil
	})
	if err != nil {
		return Recovery{}, fmt.Errorf("client: %w", err)
	}
	if resp == nil {
		return Recovery{}, errors.Join(errs...)
	}
	return Recovery{Down: resp.GetDown(), Epoch: resp.GetEpoch(), Version: resp.GetVersion()}, nil
}
