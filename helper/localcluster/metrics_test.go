package localcluster

import (
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chkv/chkv/datanode"
	"github.com/chkv/chkv/helper/promtest"
	"github.com/chkv/chkv/helper/testutil"
	"github.com/chkv/chkv/namenode"
)

// A drain shows in both ends' migration metrics and in the NameNode's, and
// every metric the Grafana dashboard charts exists.
func TestMetricsThroughADrainAndTheDashboard(t *testing.T) {
	c := startCluster(t, Options{
		NameNodeConfig: func(cfg *namenode.Config) { cfg.HTTP = "127.0.0.1:0" },
		DataNodeConfig: func(cfg *datanode.Config) { cfg.HTTP = "127.0.0.1:0" },
	})
	ctx := ctxFor(t, 60*time.Second)
	cl, err := c.NewClient(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	for i := range 1000 {
		if err := cl.Set(ctx, "m:"+strconv.Itoa(i), "value"); err != nil {
			t.Fatal(err)
		}
	}
	dns := c.DataNodes()
	keysBefore := dns[0].Keys()
	if err := c.Drain(dns[0], false); err != nil {
		t.Fatal(err)
	}
	if err := c.WaitMigrated(ctx); err != nil {
		t.Fatal(err)
	}
	scrape := func(addr string) promtest.Families {
		t.Helper()
		f, err := promtest.Scrape(addr, 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		return f
	}
	src := scrape(dns[0].HTTPAddr().String())
	if v, _ := src.Value("chkv_datanode_migration_out_keys_total"); v != float64(keysBefore) {
		t.Errorf("drained node moved %v keys, held %d", v, keysBefore)
	}
	// The drained node learns the last handoff's version a moment after
	// the NameNode commits it.
	testutil.Eventually(t, 10*time.Second, "the drained node to own no slot", func() bool {
		v, _ := scrape(dns[0].HTTPAddr().String()).Value("chkv_datanode_slots")
		return v == 0
	})
	// Every slot handed off (forming the cluster, then draining) was
	// taken over by another DataNode.
	var in, out float64
	all := []promtest.Families{src}
	for _, dn := range dns {
		f := scrape(dn.HTTPAddr().String())
		v, _ := f.Value("chkv_datanode_migration_in_slots_total")
		in += v
		v, _ = f.Value("chkv_datanode_migration_out_slots_total")
		out += v
		all = append(all, f)
	}
	if out == 0 || in != out {
		t.Errorf("slots handed off %v, taken over %v", out, in)
	}
	nn := scrape(c.NameNode.HTTPAddr().String())
	if v, _ := nn.Value("chkv_namenode_datanodes", "state", "drained"); v != 1 {
		t.Errorf("drained DataNodes = %v", v)
	}
	if v, _ := nn.Value("chkv_namenode_datanodes", "state", "draining"); v != 0 {
		t.Errorf("draining DataNodes = %v after the drain", v)
	}
	if v, _ := nn.Value("chkv_namenode_heartbeats_received_total"); v == 0 {
		t.Error("no heartbeats counted")
	}
	all = append(all, nn)

	dash, err := os.ReadFile("../grafana/chkv.json")
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range regexp.MustCompile(`chkv_[a-z0-9_]+`).FindAllString(string(dash), -1) {
		name = strings.TrimSuffix(name, "_bucket")
		found := false
		for _, f := range all {
			if f[name] != nil {
				found = true
			}
		}
		if !found && name != "chkv_namenode_peer_lag_versions" { // only with a peer
			t.Errorf("the dashboard charts %s, which no component exports", name)
		}
	}
}
