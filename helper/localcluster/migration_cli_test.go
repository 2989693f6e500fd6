package localcluster

import (
	"bufio"
	"fmt"
	"io"
	"os/exec"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chkv/chkv/datanode"
)

// redis-cli -c, connected to a node while that node drains, gets every
// command answered correctly: it follows the MOVED replies to the slots'
// new owners.
func TestRedisCLIDuringDrain(t *testing.T) {
	cli, err := exec.LookPath("redis-cli")
	if err != nil {
		t.Skip("redis-cli not installed")
	}
	var draining atomic.Bool // the cluster forms at full speed
	slow := func(step string, _ int) {
		if step == "snapshot" && draining.Load() {
			time.Sleep(time.Millisecond) // spread the drain over the session
		}
	}
	c := startCluster(t, Options{DataNodeConfig: func(cfg *datanode.Config) { cfg.Hook = slow }})
	entry := c.DataNodes()[0]
	host, port, _ := strings.Cut(entry.RESPAddr(), ":")
	cmd := exec.Command(cli, "-c", "-h", host, "-p", port)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() }) //nolint:errcheck
	draining.Store(true)
	if err := c.Drain(entry, false); err != nil {
		t.Fatal(err)
	}
	type exchange struct{ cmd, want string }
	sent := make(chan exchange, 100000)
	go func() {
		defer stdin.Close()
		defer close(sent)
		for i := 0; ; i++ {
			select {
			case <-entry.Drained():
				return
			default:
			}
			key := fmt.Sprintf("cli:%d", i)
			for _, ex := range []exchange{{"SET " + key + " v" + key, "OK"}, {"GET " + key, "v" + key}} {
				sent <- ex
				if _, err := io.WriteString(stdin, ex.cmd+"\n"); err != nil {
					return
				}
			}
			time.Sleep(time.Millisecond)
		}
	}()
	out := bufio.NewScanner(stdout)
	n, redirects := 0, 0
	for ex := range sent {
		if !out.Scan() {
			t.Fatalf("redis-cli ended after %d replies: %v", n, out.Err())
		}
		got := out.Text()
		for strings.HasPrefix(got, "-> Redirected to slot") && out.Scan() {
			redirects++
			got = out.Text()
		}
		if got != ex.want {
			t.Fatalf("%s answered %q, want %q (after %d good replies)", ex.cmd, got, ex.want, n)
		}
		n++
	}
	if n < 100 || redirects == 0 {
		t.Fatalf("only %d commands and %d redirects during the drain", n, redirects)
	}
	t.Logf("%d commands answered during the drain, %d after a redirect", n, redirects)
}
