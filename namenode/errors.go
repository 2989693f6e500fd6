package namenode

import (
	"context"
	"errors"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/chkv/chkv/common/topology"
)

// Sentinel errors. The gRPC handlers translate them to status codes in one
// place, toStatus.
var (
	// ErrStopped is returned by Start on a server that was already stopped.
	ErrStopped = errors.New("namenode: server stopped")
	// ErrStarted is returned by Start on a server that is already running.
	ErrStarted = errors.New("namenode: server already started")
	// ErrInvalidNode is returned for a registration that does not describe a
	// usable DataNode (no ID, no addresses).
	ErrInvalidNode = errors.New("namenode: invalid node")
	// ErrBehind is returned to a heartbeat from a DataNode the NameNode does
	// not know while the DataNode holds a newer topology than the NameNode:
	// the NameNode lost its state (a restart), not the DataNode. The
	// DataNode should Register again, sending its topology, and keep its
	// data; rejoin (drop the data) would lose every key in the cluster.
	ErrBehind = errors.New("namenode: topology older than the node's; register again")
	// ErrUnknownNode is returned for a DataNode the topology does not list.
	ErrUnknownNode = errors.New("namenode: no such datanode")
	// ErrLastNode refuses to drain the last DataNode that holds data, which
	// would discard the data; DrainRequest.force overrides it.
	ErrLastNode = errors.New("namenode: the last datanode holding data cannot be drained without force")
	// ErrNodeDown refuses to drain a DataNode declared down.
	ErrNodeDown = errors.New("namenode: datanode is down")
	// ErrNotActive refuses a call only the active NameNode serves
	// (Register, ReportHandoff, Drain) on a standby; the caller tries the
	// other NameNode of the pair.
	ErrNotActive = errors.New("namenode: not the active namenode")
	// ErrNoQuorum refuses a change while the active NameNode does not hear
	// from a majority of the DataNodes, or cannot stage it on a majority.
	ErrNoQuorum = errors.New("namenode: no majority of the datanodes")
)

// toStatus translates an error to the gRPC status the caller sees.
func toStatus(err error) error {
	if err == nil {
		return nil
	}
	if _, ok := status.FromError(err); ok {
		return err
	}
	code := codes.Internal
	switch {
	case errors.Is(err, ErrInvalidNode), errors.Is(err, topology.ErrInvalid):
		code = codes.InvalidArgument
	case errors.Is(err, ErrBehind), errors.Is(err, ErrLastNode), errors.Is(err, ErrNodeDown):
		code = codes.FailedPrecondition
	case errors.Is(err, ErrLiveNode), errors.Is(err, ErrNotDrained), errors.Is(err, ErrDataLoss),
		errors.Is(err, ErrMajorityReachable), errors.Is(err, ErrNoWitness):
		code = codes.FailedPrecondition
	case errors.Is(err, ErrUnknownNode):
		code = codes.NotFound
	case errors.Is(err, ErrStopped), errors.Is(err, ErrNotActive), errors.Is(err, ErrNoQuorum):
		code = codes.Unavailable
	case errors.Is(err, context.Canceled):
		code = codes.Canceled
	case errors.Is(err, context.DeadlineExceeded):
		code = codes.DeadlineExceeded
	}
	return status.Error(code, err.Error())
}
