package namenode

import (
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chkv/chkv/helper/promtest"
)

func TestMetrics(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	nn := startNameNode(t, func(c *Config) { c.HTTPListener = ln })
	c := nn.client(t, "")
	register(t, c, startFakeDataNode(t, "a", "").node(), nil)
	register(t, c, startFakeDataNode(t, "b", "").node(), nil)
	v := nn.Topology().Version
	heartbeat(t, c, "a", 1, v)
	heartbeat(t, c, "a", 1, v)
	heartbeat(t, c, "b", 1, v)
	nn.clock.Advance(2500 * time.Millisecond) // 2 intervals and a half without heartbeats

	fams, err := promtest.Scrape(nn.HTTPAddr().String(), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	want := func(value float64, name string, labels ...string) {
		t.Helper()
		got, ok := fams.Value(name, labels...)
		switch {
		case !ok:
			t.Errorf("%s%v: no such sample", name, labels)
		case got != value:
			t.Errorf("%s%v = %v, want %v", name, labels, got, value)
		}
	}
	want(1, "chkv_namenode_info", "namenode", "nn-test")
	want(1, "chkv_namenode_is_active")
	want(1, "chkv_namenode_role", "role", "active")
	want(0, "chkv_namenode_role", "role", "standby")
	want(1, "chkv_namenode_epoch")
	want(float64(nn.Topology().Version), "chkv_namenode_topology_version")
	want(0, "chkv_namenode_watchers")
	want(3, "chkv_namenode_heartbeats_received_total")
	want(2, "chkv_namenode_grpc_requests_total", "method", "Register", "code", "OK")
	// b joined a one-node cluster: it is joining while a's slots move.
	want(1, "chkv_namenode_datanodes", "state", "up")
	want(1, "chkv_namenode_datanodes", "state", "joining")
	want(0, "chkv_namenode_datanodes", "state", "down")
	want(0, "chkv_namenode_datanodes", "state", "drained")
	// Both are witnesses, silent for longer than the two-interval window.
	want(2, "chkv_namenode_witnesses")
	want(2, "chkv_namenode_witnesses_silent")
	want(0, "chkv_namenode_slots_unowned")
	out, _ := fams.Value("chkv_namenode_datanode_slots_out", "node", "a")
	in, _ := fams.Value("chkv_namenode_datanode_slots_in", "node", "b")
	if out == 0 || out != in {
		t.Errorf("slots out of a %v, into b %v", out, in)
	}
	want(out, "chkv_namenode_slots_migrating")
	want(2, "chkv_namenode_datanode_missed_heartbeats", "node", "a")
	want(2.5, "chkv_namenode_datanode_heartbeat_age_seconds", "node", "a")
	want(1, "chkv_namenode_datanode_state", "node", "b", "state", "joining")
	want(0, "chkv_namenode_peer_configured")
	want(16384, "chkv_namenode_datanode_slots", "node", "a")
	want(0, "chkv_namenode_datanode_slots", "node", "b")
	for name := range fams {
		if !strings.HasPrefix(name, "chkv_") && !strings.HasPrefix(name, "go_") && !strings.HasPrefix(name, "process_") {
			t.Errorf("metric %s is not named chkv_...", name)
		}
	}
}

func TestStatusPageAndRingAreServed(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	nn := startNameNode(t, func(c *Config) { c.HTTPListener = ln })
	register(t, nn.client(t, ""), startFakeDataNode(t, "a", "").node(), nil)
	get := func(path string) (string, string) {
		t.Helper()
		resp, err := (&http.Client{Timeout: 5 * time.Second}).Get("http://" + nn.HTTPAddr().String() + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("GET %s: %s", path, resp.Status)
		}
		return resp.Header.Get("Content-Type"), string(b)
	}
	ct, page := get("/")
	if !strings.HasPrefix(ct, "text/html") || !strings.Contains(page, `<script src="ui/app.js">`) ||
		!strings.Contains(page, `"namenode_id":"nn-test"`) {
		t.Errorf("page: %s\n%.600s", ct, page)
	}
	if _, js := get("/ui/app.js"); !strings.Contains(js, "function renderRing") {
		t.Error("app.js not served")
	}
	if _, css := get("/ui/style.css"); !strings.Contains(css, ".bar") {
		t.Error("style.css not served")
	}
	if _, ring := get("/ring"); !strings.Contains(ring, `"owners":[[0,16384,0]]`) || !strings.Contains(ring, `"nodes":["a"]`) {
		t.Errorf("/ring = %s", ring)
	}
}
