package namenode

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chkv/chkv/helper/testutil"
	"github.com/chkv/chkv/proto/chkvpb"
)

func TestConfigValidate(t *testing.T) {
	d := DefaultConfig()
	if err := d.Validate(); err != nil {
		t.Fatalf("default config: %v", err)
	}
	if d.Listen != "127.0.0.1:10101" || d.HTTP != "127.0.0.1:10180" || d.VNodes != 256 ||
		d.HeartbeatInterval != time.Second || d.Epoch != 1 {
		t.Fatalf("defaults: %+v", d)
	}
	for name, mutate := range map[string]func(*Config){
		"listen":   func(c *Config) { c.Listen = "nohostport" },
		"http":     func(c *Config) { c.HTTP = "nohostport" },
		"vnodes":   func(c *Config) { c.VNodes = 0 },
		"interval": func(c *Config) { c.HeartbeatInterval = time.Millisecond },
		"epoch":    func(c *Config) { c.Epoch = 0 },
	} {
		c := DefaultConfig()
		mutate(&c)
		if err := c.Validate(); err == nil {
			t.Errorf("bad %s accepted", name)
		}
		if _, err := New(c); err == nil {
			t.Errorf("New accepted a bad %s", name)
		}
	}
	c := DefaultConfig()
	c.HTTP = ""
	if err := c.Validate(); err != nil {
		t.Errorf("empty HTTP (disabled) rejected: %v", err)
	}
}

func TestHTTPHealthzAndStatus(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	nn := startNameNode(t, func(c *Config) { c.HTTPListener = ln })
	register(t, nn.client(t, ""), startFakeDataNode(t, "a", "").node(), nil)
	base := "http://" + nn.HTTPAddr().String()

	resp, err := http.Get(base + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || string(body) != "ok" {
		t.Fatalf("/healthz: %d %q", resp.StatusCode, body)
	}

	resp, err = http.Get(base + "/status")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Fatalf("/status content type %q", ct)
	}
	var st struct {
		NamenodeID string `json:"namenode_id"`
		Version    string `json:"version"` // 64-bit integers are strings in proto JSON
		Nodes      []struct {
			Node struct {
				ID    string `json:"id"`
				State string `json:"state"`
			} `json:"node"`
			Slots int `json:"slots"`
		} `json:"nodes"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&st); err != nil {
		t.Fatal(err)
	}
	if st.NamenodeID != "nn-test" || st.Version != "1" || len(st.Nodes) != 1 || st.Nodes[0].Node.ID != "a" ||
		st.Nodes[0].Slots != 16384 || st.Nodes[0].Node.State != "NODE_STATE_UP" {
		t.Fatalf("/status: %+v", st)
	}
}

func TestHTTPDisabled(t *testing.T) {
	nn := startNameNode(t, nil) // HTTP ""
	if a := nn.HTTPAddr(); a != nil {
		t.Fatalf("HTTP serving on %v though disabled", a)
	}
}

func TestLifecycle(t *testing.T) {
	base := runtime.NumGoroutine()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cfg := DefaultConfig()
	cfg.Listener, cfg.HTTP = ln, "127.0.0.1:0"
	cfg.HeartbeatInterval = 20 * time.Millisecond
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if s.Addr() != nil {
		t.Fatal("Addr before Start")
	}
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	if err := s.Start(); !errors.Is(err, ErrStarted) {
		t.Fatalf("second Start: %v, want ErrStarted", err)
	}
	testutil.Eventually(t, 5*time.Second, "the namenode to elect itself", func() bool { act, _ := s.Active(); return act })
	conn := dialConn(t, s.Addr().String(), "")
	dn := startFakeDataNode(t, "a", "")
	register(t, chkvpb.NewNameNodeClient(conn), dn.node(), nil) // starts a pusher
	testutil.Eventually(t, 5*time.Second, "the push", func() bool { return dn.held() == 1 })
	conn.Close()
	dn.stop()
	var wg sync.WaitGroup
	for range 3 { // concurrent and repeated Stops
		wg.Add(1)
		go func() { defer wg.Done(); s.Stop() }()
	}
	wg.Wait()
	s.Stop()
	if err := s.Start(); !errors.Is(err, ErrStopped) {
		t.Fatalf("Start after Stop: %v, want ErrStopped", err)
	}
	// Every goroutine the NameNode started has returned.
	testutil.Eventually(t, 5*time.Second, "goroutines to exit", func() bool { return runtime.NumGoroutine() <= base })

	// Stop before Start is fine too.
	s2, err := New(DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	s2.Stop()
	s2.Stop()
}

func TestRunStopsOnCancel(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cfg := DefaultConfig()
	cfg.Listener, cfg.HTTP = ln, ""
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	testutil.Eventually(t, 5*time.Second, "Run to start", func() bool { return s.Addr() != nil })
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return after cancel")
	}
}
