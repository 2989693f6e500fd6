package main

import (
	"fmt"
	"strings"

	"github.com/urfave/cli/v2"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/chkv/chkv/client"
)

// flagAcceptDataLoss confirms a recover.
const flagAcceptDataLoss = "accept-data-loss"

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
	return withAdmin(cc, func(s settings, a *client.Admin) error {
		resp, err := a.Undrain(cc.Context, name)
		if err != nil {
			return refused("undrain", name, err)
		}
		if s.json {
			return writeJSON(cc.App.Writer, membershipChange{Node: resp.Node, Action: "undrain", Epoch: resp.Epoch, Version: resp.Version})
		}
		_, err = fmt.Fprintf(cc.App.Writer, "%s is joining again: it receives slots and is a witness (epoch %d, version %d); follow it with chkvctl status\n",
			resp.Node, resp.Epoch, resp.Version)
		return err
	})
}

// cmdRemove forgets a drained or down DataNode.
func cmdRemove(cc *cli.Context) error {
	name, err := oneNode(cc)
	if err != nil {
		return err
	}
	return withAdmin(cc, func(s settings, a *client.Admin) error {
		resp, err := a.Remove(cc.Context, name)
		if err != nil {
			return refused("remove", name, err)
		}
		if s.json {
			return writeJSON(cc.App.Writer, membershipChange{Node: resp.Node, Action: "remove", Epoch: resp.Epoch, Version: resp.Version})
		}
		_, err = fmt.Fprintf(cc.App.Writer, "%s removed (epoch %d, version %d); a process started under its ID joins as a new node\n",
			resp.Node, resp.Epoch, resp.Version)
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
	return withAdmin(cc, func(s settings, a *client.Admin) error {
		resp, err := a.Recover(cc.Context, true)
		if err != nil {
			return fmt.Errorf("recover: %w", err)
		}
		if s.json {
			return writeJSON(cc.App.Writer, recoverResult{Down: resp.Down, Epoch: resp.Epoch, Version: resp.Version})
		}
		_, err = fmt.Fprintf(cc.App.Writer, "recovered: %s marked down, their slots moved to the remaining DataNodes empty (epoch %d, version %d)\n",
			strings.Join(resp.Down, ", "), resp.Epoch, resp.Version)
		return err
	})
}
