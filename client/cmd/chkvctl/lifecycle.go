package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/urfave/cli/v2"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/chkv/chkv/proto/chkvpb"
)

// flagAcceptDataLoss confirms a recover.
const flagAcceptDataLoss = "accept-data-loss"

// recoverTimeout bounds a recover: the NameNode waits up to a lease and a
// margin for the silent witnesses' leases to run out, then may need a few
// election rounds.
const recoverTimeout = time.Minute

// lifecycleCommands are the membership commands besides drain.
func lifecycleCommands() []*cli.Command {
	return []*cli.Command{
		{
			Name:      "undrain",
			Usage:     "make a draining or drained DataNode join again: it receives slots and is a witness again",
			ArgsUsage: "NODE (ID, RESP address or gRPC address)",
			Action:    cmdUndrain,
		},
		{
			Name:      "remove",
			Usage:     "forget a drained or down DataNode (refused for a live one: drain it first)",
			ArgsUsage: "NODE (ID, RESP address or gRPC address)",
			Action:    cmdRemove,
		},
		{
			Name: "recover",
			Usage: "when a majority of the witnesses is gone for good: mark the silent witnesses down so the others " +
				"form the voter set, losing the data of their slots; refused while a majority is reachable",
			Action: cmdRecover,
			Flags: []cli.Flag{
				&cli.BoolFlag{Name: flagAcceptDataLoss, Usage: "required: the slots of the silent witnesses go to the others empty"},
			},
		},
	}
}

// remove asks the active NameNode to forget a DataNode, waiting for one
// as callActive does.
func (n *nameNodes) remove(ctx context.Context, note io.Writer, node string) (*chkvpb.RemoveResponse, error) {
	return callActive(ctx, n, note, func(ctx context.Context, c chkvpb.NameNodeClient) (*chkvpb.RemoveResponse, error) {
		return c.Remove(ctx, &chkvpb.RemoveRequest{Node: node})
	})
}

// undrain asks the active NameNode to make a DataNode join again, waiting
// for one as callActive does.
func (n *nameNodes) undrain(ctx context.Context, note io.Writer, node string) (*chkvpb.UndrainResponse, error) {
	return callActive(ctx, n, note, func(ctx context.Context, c chkvpb.NameNodeClient) (*chkvpb.UndrainResponse, error) {
		return c.Undrain(ctx, &chkvpb.UndrainRequest{Node: node})
	})
}

// recover asks each NameNode in turn to recover, until one does: with no
// majority there may be no active, and the standby the remaining
// witnesses will vote for is the one that can. A NameNode that refuses
// because a majority is reachable ends it: nothing is lost then.
func (n *nameNodes) recover(ctx context.Context) (*chkvpb.RecoverResponse, error) {
	var errs []error
	for i, cc := range n.conns {
		cctx, cancel := context.WithTimeout(ctx, recoverTimeout)
		resp, err := chkvpb.NewNameNodeClient(cc).Recover(cctx, &chkvpb.RecoverRequest{AcceptDataLoss: true})
		cancel()
		if err == nil {
			return resp, nil
		}
		rerr := &rpcError{addr: n.addrs[i], err: err}
		if s, ok := status.FromError(err); ok && s.Code() == codes.FailedPrecondition && strings.Contains(s.Message(), "majority of the witnesses is reachable") {
			return nil, rerr
		}
		errs = append(errs, rerr)
		if ctx.Err() != nil {
			break
		}
	}
	return nil, errors.Join(errs...)
}

// membershipChange is what undrain and remove print as JSON.
type membershipChange struct {
	Node    string `json:"node"`
	Action  string `json:"action"`
	Epoch   uint64 `json:"epoch"`
	Version uint64 `json:"version"`
}

// oneNode returns the command's single NODE argument.
func oneNode(cc *cli.Context) (string, error) {
	if cc.NArg() != 1 {
		return "", fmt.Errorf("%s takes one DataNode ID or address", cc.Command.Name)
	}
	return cc.Args().First(), nil
}

// refused explains a NameNode's refusal of command on node.
func refused(command, node string, err error) error {
	switch status.Code(err) {
	case codes.NotFound:
		return fmt.Errorf("%s %s: no such DataNode (give its ID, RESP address or gRPC address, as chkvctl status lists them): %w", command, node, err)
	case codes.FailedPrecondition:
		return fmt.Errorf("%s %s refused: %w", command, node, err)
	}
	return fmt.Errorf("%s %s: %w", command, node, err)
}

// cmdUndrain makes a draining or drained DataNode join again.
func cmdUndrain(cc *cli.Context) error {
	name, err := oneNode(cc)
	if err != nil {
		return err
	}
	return withNameNodes(cc, func(s settings, nns *nameNodes) error {
		resp, err := nns.undrain(cc.Context, cc.App.ErrWriter, name)
		if err != nil {
			return refused("undrain", name, err)
		}
		if s.json {
			return writeJSON(cc.App.Writer, membershipChange{Node: resp.GetNodeId(), Action: "undrain", Epoch: resp.GetEpoch(), Version: resp.GetVersion()})
		}
		_, err = fmt.Fprintf(cc.App.Writer, "%s is joining again: it receives slots and is a witness (epoch %d, version %d); follow it with chkvctl status\n",
			resp.GetNodeId(), resp.GetEpoch(), resp.GetVersion())
		return err
	})
}

// cmdRemove forgets a drained or down DataNode.
func cmdRemove(cc *cli.Context) error {
	name, err := oneNode(cc)
	if err != nil {
		return err
	}
	return withNameNodes(cc, func(s settings, nns *nameNodes) error {
		resp, err := nns.remove(cc.Context, cc.App.ErrWriter, name)
		if err != nil {
			return refused("remove", name, err)
		}
		if s.json {
			return writeJSON(cc.App.Writer, membershipChange{Node: resp.GetNodeId(), Action: "remove", Epoch: resp.GetEpoch(), Version: resp.GetVersion()})
		}
		_, err = fmt.Fprintf(cc.App.Writer, "%s removed (epoch %d, version %d); a process started under its ID joins as a new node\n",
			resp.GetNodeId(), resp.GetEpoch(), resp.GetVersion())
		return err
	})
}

// recoverResult is what recover prints as JSON.
type recoverResult struct {
	Down    []string `json:"down"`
	Epoch   uint64   `json:"epoch"`
	Version uint64   `json:"version"`
}

// cmdRecover gives up on the silent witnesses when a majority is gone.
func cmdRecover(cc *cli.Context) error {
	if err := noArgs(cc); err != nil {
		return err
	}
	if !cc.Bool(flagAcceptDataLoss) {
		return fmt.Errorf("recover marks the silent witnesses down and gives their slots to the others empty, " +
			"losing their data; make sure those DataNodes are stopped for good, then run chkvctl recover --" + flagAcceptDataLoss)
	}
	return withNameNodes(cc, func(s settings, nns *nameNodes) error {
		resp, err := nns.recover(cc.Context)
		if err != nil {
			return fmt.Errorf("recover: %w", err)
		}
		if s.json {
			return writeJSON(cc.App.Writer, recoverResult{Down: resp.GetDown(), Epoch: resp.GetEpoch(), Version: resp.GetVersion()})
		}
		_, err = fmt.Fprintf(cc.App.Writer, "recovered: %s marked down, their slots moved to the remaining DataNodes empty (epoch %d, version %d)\n",
			strings.Join(resp.GetDown(), ", "), resp.GetEpoch(), resp.GetVersion())
		return err
	})
}

// withNameNodes parses the global flags, connects to the NameNodes and
// runs f.
func withNameNodes(cc *cli.Context, f func(settings, *nameNodes) error) error {
	s, err := settingsFrom(cc)
	if err != nil {
		return err
	}
	nns, err := dialNameNodes(s)
	if err != nil {
		return err
	}
	defer nns.Close()
	return f(s, nns)
}
