package datanode

import (
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chkv/chkv/common/slot"
	"github.com/chkv/chkv/common/topology"
	"github.com/chkv/chkv/helper/promtest"
	"github.com/chkv/chkv/helper/testutil"
)

// withHTTP makes a test server serve /metrics on a loopback port.
func withHTTP(t testing.TB) func(*Config) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return func(c *Config) { c.HTTPListener = ln }
}

func scrape(t testing.TB, s *Server) promtest.Families {
	t.Helper()
	fams, err := promtest.Scrape(s.HTTPAddr().String(), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	return fams
}

// wantValue fails unless the scrape has the sample with the value.
func wantValue(t *testing.T, fams promtest.Families, want float64, name string, labels ...string) {
	t.Helper()
	got, ok := fams.Value(name, labels...)
	switch {
	case !ok:
		t.Errorf("%s%v: no such sample", name, labels)
	case got != want:
		t.Errorf("%s%v = %v, want %v", name, labels, got, want)
	}
}

func TestMetricsCountCommandsByNameAndResult(t *testing.T) {
	s := startServer(t, withHTTP(t))
	c := s.dial(t)
	c.do("SET", "a", "1")
	c.do("SET", "b", "2", "EX", "100")
	c.do("GET", "a")
	c.do("GET", "nope")
	c.do("GET")              // arity error
	c.do("INCR", "a")        // ok: 2
	c.do("SET", "s", "x")    //
	c.do("INCR", "s")        // not an integer: error reply from the command
	c.do("NOSUCHCMD", "arg") // unknown
	c.do("client", "setname", "metrics-test")

	fams := scrape(t, s)
	wantValue(t, fams, 3, "chkv_datanode_commands_total", "command", "set", "result", "ok")
	wantValue(t, fams, 2, "chkv_datanode_commands_total", "command", "get", "result", "ok")
	wantValue(t, fams, 1, "chkv_datanode_commands_total", "command", "get", "result", "error")
	wantValue(t, fams, 1, "chkv_datanode_commands_total", "command", "incr", "result", "ok")
	wantValue(t, fams, 1, "chkv_datanode_commands_total", "command", "incr", "result", "error")
	wantValue(t, fams, 1, "chkv_datanode_commands_total", "command", "unknown", "result", "error")
	wantValue(t, fams, 1, "chkv_datanode_commands_total", "command", "client", "result", "ok")
	// Latency: one observation per command that ran (not the arity error).
	wantValue(t, fams, 2, "chkv_datanode_command_duration_seconds", "command", "get")
	wantValue(t, fams, 3, "chkv_datanode_command_duration_seconds", "command", "set")
	wantValue(t, fams, 1, "chkv_datanode_connected_clients")
	wantValue(t, fams, 3, "chkv_datanode_keys")
	wantValue(t, fams, 1, "chkv_datanode_keys_with_expiry")
	wantValue(t, fams, 1, "chkv_datanode_keyspace_misses_total")
	wantValue(t, fams, 1, "chkv_datanode_info", "node", s.ID(), "mode", "standalone")
	wantValue(t, fams, 0, "chkv_datanode_redirects_total", "reply", "moved")
	if v, _ := fams.Value("chkv_datanode_used_memory_bytes"); v <= 0 {
		t.Errorf("used memory = %v", v)
	}
	if _, ok := fams.Value("chkv_datanode_lease_valid"); ok {
		t.Error("a standalone node reports a lease")
	}
	for name := range fams {
		if !strings.HasPrefix(name, "chkv_") && !strings.HasPrefix(name, "go_") && !strings.HasPrefix(name, "process_") {
			t.Errorf("metric %s is not named chkv_...", name)
		}
	}
	// Commands never called export no series.
	if _, ok := fams.Value("chkv_datanode_commands_total", "command", "getrange"); ok {
		t.Error("an uncalled command has a series")
	}
}

func TestMetricsEvictionsAndExpiries(t *testing.T) {
	s := startServer(t, withHTTP(t))
	c := s.dial(t)
	c.do("SET", "short", "v", "PX", "1")
	for i := range 100 {
		c.do("SET", "k"+strconv.Itoa(i), strings.Repeat("x", 1000))
	}
	testutil.Eventually(t, 5*time.Second, "the short key to expire", func() bool {
		v, _ := scrape(t, s).Value("chkv_datanode_expired_keys_total")
		return v == 1
	})
	c.do("CONFIG", "SET", "maxmemory-policy", "allkeys-random")
	c.do("CONFIG", "SET", "maxmemory", "1")
	// The Go heap alone is over 1 byte: the write evicts every key, then
	// is refused.
	if got := c.do("SET", "more", "v"); !strings.HasPrefix(got, "(error) OOM") {
		t.Fatalf("SET at the limit = %s", got)
	}
	fams := scrape(t, s)
	wantValue(t, fams, 100, "chkv_datanode_evicted_keys_total")
	wantValue(t, fams, 1, "chkv_datanode_commands_total", "command", "set", "result", "error")
	wantValue(t, fams, 1, "chkv_datanode_maxmemory_bytes")
	// CONFIG RESETSTAT zeroes INFO's figures, not the Prometheus counters.
	c.do("CONFIG", "RESETSTAT")
	wantValue(t, scrape(t, s), 1, "chkv_datanode_expired_keys_total")
}

func TestHealthz(t *testing.T) {
	s := startServer(t, withHTTP(t))
	resp, err := (&http.Client{Timeout: 5 * time.Second}).Get("http://" + s.HTTPAddr().String() + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK || strings.TrimSpace(string(b)) != "ok" {
		t.Fatalf("/healthz: %s %q", resp.Status, b)
	}
}

func TestHTTPOffByDefault(t *testing.T) {
	s := startServer(t, nil)
	if s.HTTPAddr() != nil {
		t.Fatalf("HTTP serving on %v without being asked", s.HTTPAddr())
	}
}

func TestMetricsClusterMode(t *testing.T) {
	nn := startFakeNameNode(t)
	grpcLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := startServer(t, func(c *Config) {
		c.ID = "dn-a"
		c.NameNodes = []string{nn.Addr()}
		c.GRPCListener = grpcLn
		withHTTP(t)(c)
	})
	self := topology.Node{ID: "dn-a", RESPAddr: s.Addr().String(), State: topology.Up}
	other := topology.Node{ID: "dn-b", RESPAddr: "127.0.0.1:7777", State: topology.Up}
	nn.set(func(f *fakeNameNode) { f.top = splitTopology(3, self, other, 8000) })
	// The version can come with the Register reply, just before the node
	// counts itself registered: wait for both.
	testutil.Eventually(t, 5*time.Second, "registration and topology", func() bool {
		return s.member.Registered() && s.own.View().Top.Version == 3
	})
	c := s.dial(t)
	mine, theirs := keyInSlotRange(0, 8000), keyInSlotRange(8000, slot.Count)
	c.do("SET", mine, "v")
	if got := c.do("GET", theirs); !strings.HasPrefix(got, "(error) MOVED "+strconv.Itoa(slot.OfString(theirs))) {
		t.Fatalf("GET foreign key = %s", got)
	}
	c.do("GET", theirs)
	c.do("MSET", mine, "1", theirs, "2")

	fams := scrape(t, s)
	wantValue(t, fams, 2, "chkv_datanode_commands_total", "command", "get", "result", "moved")
	wantValue(t, fams, 1, "chkv_datanode_commands_total", "command", "mset", "result", "crossslot")
	wantValue(t, fams, 2, "chkv_datanode_redirects_total", "reply", "moved")
	wantValue(t, fams, 1, "chkv_datanode_redirects_total", "reply", "crossslot")
	wantValue(t, fams, 0, "chkv_datanode_redirects_total", "reply", "tryagain")
	wantValue(t, fams, 1, "chkv_datanode_registered")
	wantValue(t, fams, 1, "chkv_datanode_lease_valid")
	wantValue(t, fams, 3, "chkv_datanode_topology_version")
	wantValue(t, fams, 8000, "chkv_datanode_slots")
	wantValue(t, fams, 0, "chkv_datanode_migration_out_slots_total")
	wantValue(t, fams, 0, "chkv_datanode_migration_in_slots_total")
	if v, _ := fams.Value("chkv_datanode_lease_remaining_seconds"); v <= 0 {
		t.Errorf("lease remaining = %v", v)
	}
	wantValue(t, fams, 1, "chkv_datanode_info", "node", "dn-a", "mode", "cluster")
}

// Scrapes racing with Stop never read the freed store.
func TestScrapeDuringStop(t *testing.T) {
	s := startServer(t, withHTTP(t))
	c := s.dial(t)
	c.do("SET", "k", "v")
	addr := s.HTTPAddr().String()
	done, first := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		for i := 0; i < 200; i++ {
			if _, err := promtest.Scrape(addr, time.Second); err != nil {
				return // stopped
			}
			if i == 0 {
				close(first)
			}
		}
	}()
	<-first
	s.Stop()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("scraper did not finish")
	}
}
