package proccluster

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chkv/chkv/helper/testutil"
	"github.com/chkv/chkv/proto/chkvpb"
)

// chkvctl runs the chkvctl binary with args and returns its stdout, its
// stderr and its exit code.
func chkvctl(t *testing.T, args ...string) (string, string, int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, filepath.Join(binDir, "chkvctl"), args...)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	var exit *exec.ExitError
	switch {
	case err == nil:
		return out.String(), errOut.String(), 0
	case errors.As(err, &exit):
		return out.String(), errOut.String(), exit.ExitCode()
	}
	t.Fatalf("chkvctl %s: %v", strings.Join(args, " "), err)
	return "", "", 0
}

// TestChkvctlAsUsersTypeIt runs the chkvctl binary against a cluster of
// processes with its flags where README and `make run` print them: global
// flags after the command, a command's flags after its arguments, "--"
// before arguments that begin with "-".
func TestChkvctlAsUsersTypeIt(t *testing.T) {
	c := startCluster(t, Options{})
	nns := "--namenodes=" + strings.Join(c.NameNodeAddrs, ",")
	ok := func(want string, args ...string) string {
		t.Helper()
		out, errOut, code := chkvctl(t, args...)
		if code != 0 || !strings.Contains(out, want) {
			t.Fatalf("chkvctl %s: exit %d, want %q in\n%s%s", strings.Join(args, " "), code, want, out, errOut)
		}
		return out
	}

	out := ok(`"nodes"`, "status", "--output", "json", nns)
	var st struct {
		Nodes []struct {
			ID    string `json:"id"`
			State string `json:"state"`
		} `json:"nodes"`
	}
	if err := json.Unmarshal([]byte(out), &st); err != nil || len(st.Nodes) != 3 {
		t.Fatalf("status --output json: %v\n%s", err, out)
	}

	ok("OK\n", "set", "greeting", "hello", nns, "--ttl", "1h")
	ok("hello\n", "get", "greeting", nns)
	ok("OK\n", "set", "short", "lived", "--ttl", "1s", nns, "--xx=false")
	testutil.Eventually(t, 15*time.Second, "short expires after set short lived --ttl 1s", func() bool {
		_, errOut, code := chkvctl(t, "get", "short", nns)
		return code == 1 && strings.Contains(errOut, "not found")
	})
	ok("OK\n", nns, "set", "--", "--weird-key", "-1")
	ok("-1\n", "get", nns, "--", "--weird-key")

	ok(`"node": "datanode-3"`, "drain", "datanode-3", "--no-wait", nns, "--output", "json")
	waitState(t, c, "datanode-3", chkvpb.NodeState_NODE_STATE_DRAINED, func(n uint32) bool { return n == 0 })
	ok(`"action": "undrain"`, "undrain", "datanode-3", nns, "--output=json")
	waitState(t, c, "datanode-3", chkvpb.NodeState_NODE_STATE_UP, func(n uint32) bool { return n > 0 })
	ok("datanode-3", "ring", nns)

	// Bad input: a clear message and exit status 1.
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"status", "--bogus", nns}, "unknown flag --bogus for status"},
		{[]string{"set", "k", "-1", nns}, `goes after "--"`},
		{[]string{"stauts", nns}, `unknown command "stauts"`},
		{[]string{"get", "k", nns, "--timeout"}, "flag --timeout needs a value"},
	} {
		out, errOut, code := chkvctl(t, tc.args...)
		if code != 1 || !strings.Contains(errOut, tc.want) {
			t.Errorf("chkvctl %s: exit %d, want 1 and %q in\n%s%s", strings.Join(tc.args, " "), code, tc.want, out, errOut)
		}
	}
}
