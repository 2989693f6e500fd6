package main

import (
	"fmt"
	"io"

	"github.com/urfave/cli/v2"

	"github.com/chkv/chkv/client"
	"github.com/chkv/chkv/common/nnset"
)

// waitingNote is what chkvctl prints (once per call) while no NameNode
// takes a call that only the active serves.
const waitingNote = "waiting for an active NameNode"

// activeRetry is the pause between two rounds of trying the NameNodes
// while none is active. A variable only so that tests can run faster.
var activeRetry = nnset.DefaultRetryInterval

// newAdmin returns the SDK's admin client for the global flags s: each
// call bounded by --timeout, which names it in errors, and the waiting
// note printed to note.
func newAdmin(s settings, note io.Writer) (*client.Admin, error) {
	return client.NewAdmin(s.cfg,
		client.WithAdminTimeout(s.timeout),
		client.WithActiveRetry(activeRetry),
		client.WithDrainPoll(drainPollInterval),
		client.WithTimeoutName("--"+flagTimeout),
		client.WithWaitingNotice(func() { fmt.Fprintln(note, waitingNote) }),
	)
}

// withAdmin parses the global flags, connects to the NameNodes and runs f.
func withAdmin(cc *cli.Context, f func(settings, *client.Admin) error) error {
	s, err := settingsFrom(cc)
	if err != nil {
		return err
	}
	a, err := newAdmin(s, cc.App.ErrWriter)
	if err != nil {
		return err
	}
	defer a.Close()
	return f(s, a)
}
