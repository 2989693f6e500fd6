package localcluster

import (
	"context"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/net/html"

	"github.com/chkv/chkv/common/topology"
	"github.com/chkv/chkv/helper/testutil"
	"github.com/chkv/chkv/namenode"
)

// findChromium returns a headless-capable Chromium or Chrome binary, or
// "" when none is installed.
func findChromium() string {
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

// dumpDOM loads url in headless Chromium, lets the page's scripts run for
// budget of virtual time (Chromium waits for pending fetches), and returns
// the DOM it then holds, parsed.
func dumpDOM(t *testing.T, chromium, url string, budget time.Duration) *html.Node {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	profile := t.TempDir()
	cmd := exec.CommandContext(ctx, chromium, "--headless", "--no-sandbox", "--disable-gpu",
		"--disable-dev-shm-usage", "--no-first-run", "--user-data-dir="+profile,
		"--virtual-time-budget="+strconv.FormatInt(budget.Milliseconds(), 10), "--dump-dom", url)
	cmd.Env = append(os.Environ(), "HOME="+profile)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("chromium --dump-dom %s: %v\n%s", url, err, stderr.String())
	}
	doc, err := html.Parse(strings.NewReader(string(out)))
	if err != nil {
		t.Fatalf("parse the DOM: %v", err)
	}
	return doc
}

// screenshot saves a PNG of the page at path (for looking at the page:
// CHKV_STATUSPAGE_SCREENSHOT=/tmp/page.png go test -run StatusPage).
func screenshot(t *testing.T, chromium, url, path string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	profile := t.TempDir()
	out, err := exec.CommandContext(ctx, chromium, "--headless", "--no-sandbox", "--disable-gpu",
		"--disable-dev-shm-usage", "--no-first-run", "--user-data-dir="+profile, "--hide-scrollbars",
		"--window-size=1200,1100", "--virtual-time-budget=4000", "--screenshot="+path, url).CombinedOutput()
	if err != nil {
		t.Errorf("screenshot: %v\n%s", err, out)
	}
}

// domNode wraps an html.Node with the lookups the test needs.
type domNode struct{ *html.Node }

func attr(n *html.Node, key string) string {
	for _, a := range n.Attr {
		if a.Key == key {
			return a.Val
		}
	}
	return ""
}

// all returns the element nodes under n (n included) for which match holds.
func (n domNode) all(match func(*html.Node) bool) []domNode {
	var out []domNode
	var walk func(*html.Node)
	walk = func(x *html.Node) {
		if x.Type == html.ElementNode && match(x) {
			out = append(out, domNode{x})
		}
		for c := x.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(n.Node)
	return out
}

func (n domNode) byID(id string) domNode {
	if m := n.all(func(x *html.Node) bool { return attr(x, "id") == id }); len(m) > 0 {
		return m[0]
	}
	return domNode{}
}

func (n domNode) byClass(class string) domNode {
	if m := n.all(func(x *html.Node) bool { return hasClass(x, class) }); len(m) > 0 {
		return m[0]
	}
	return domNode{}
}

func hasClass(x *html.Node, class string) bool {
	for _, c := range strings.Fields(attr(x, "class")) {
		if c == class {
			return true
		}
	}
	return false
}

// text returns the text under n.
func (n domNode) text() string {
	if n.Node == nil {
		return ""
	}
	var b strings.Builder
	var walk func(*html.Node)
	walk = func(x *html.Node) {
		if x.Type == html.TextNode {
			b.WriteString(x.Data)
		}
		for c := x.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(n.Node)
	return strings.TrimSpace(b.String())
}

// row returns the DataNodes table's row of node id.
func row(doc domNode, id string) domNode {
	for _, tr := range doc.byID("nodes").all(func(x *html.Node) bool { return x.Data == "tr" }) {
		if attr(tr.Node, "data-node") == id {
			return tr
		}
	}
	return domNode{}
}

// statusProxy forwards to the NameNode's HTTP server; the first request
// for /status waits until beforeFirstStatus has run, so that the test can
// change the cluster between the page's first render and its first
// refresh.
type statusProxy struct {
	proxy             *httputil.ReverseProxy
	once              sync.Once
	beforeFirstStatus func()
	statusFetches     chan struct{} // one value per /status request
}

func (p *statusProxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == "/status" {
		p.once.Do(p.beforeFirstStatus)
		select {
		case p.statusFetches <- struct{}{}:
		default:
		}
	}
	p.proxy.ServeHTTP(w, r)
}

func TestStatusPageInChromium(t *testing.T) {
	chromium := findChromium()
	if chromium == "" {
		t.Skip("Chromium not installed (Debian: apt-get install chromium): the status page is not tested in a browser")
	}
	c := startCluster(t, Options{NameNodeConfig: func(cfg *namenode.Config) { cfg.HTTP = "127.0.0.1:0" }})
	ctx := ctxFor(t, 60*time.Second)
	cl, err := c.NewClient(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	for i := range 300 {
		if err := cl.Set(ctx, "page:"+strconv.Itoa(i), "v"); err != nil {
			t.Fatal(err)
		}
	}
	// Heartbeats carry the key counts; wait until the NameNode has them.
	testutil.Eventually(t, 30*time.Second, "the key counts to reach the NameNode", func() bool {
		return c.keysReported() == 300
	})

	// The drain of the third node is stuck: its links to its peers are cut.
	dns := c.DataNodes()
	stuck := dns[2]
	stuck.ToPeers.Cut()
	if err := c.Drain(stuck, false); err != nil {
		t.Fatal(err)
	}

	// A DataNode joins after the page was rendered, before its first refresh.
	var joined *DataNode
	target, err := url.Parse("http://" + c.NameNode.HTTPAddr().String())
	if err != nil {
		t.Fatal(err)
	}
	proxy := &statusProxy{proxy: httputil.NewSingleHostReverseProxy(target), statusFetches: make(chan struct{}, 1),
		beforeFirstStatus: func() {
			var err error
			if joined, err = c.AddDataNode(); err != nil {
				t.Error(err)
				return
			}
			if err := c.WaitForTopology(ctx, func(top *topology.Topology) bool { return top.Index(joined.ID()) >= 0 }); err != nil {
				t.Error(err)
			}
		}}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: proxy, ReadHeaderTimeout: 5 * time.Second}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })

	doc := domNode{dumpDOM(t, chromium, "http://"+ln.Addr().String()+"/", 8*time.Second)}
	if path := os.Getenv("CHKV_STATUSPAGE_SCREENSHOT"); path != "" {
		screenshot(t, chromium, "http://"+ln.Addr().String()+"/", path)
	}
	select {
	case <-proxy.statusFetches:
	default:
		t.Fatal("the page never fetched /status: it does not refresh itself")
	}
	if t.Failed() {
		return
	}
	top := c.Topology()

	if got := doc.byID("namenode").text(); got != c.NameNode.ID() {
		t.Errorf("NameNode shown = %q, want %q", got, c.NameNode.ID())
	}
	if got := doc.byID("role").text(); got != "active" {
		t.Errorf("role shown = %q, want active (a NameNode alone)", got)
	}
	if got, want := doc.byID("epoch").text(), strconv.FormatUint(top.Epoch, 10); got != want {
		t.Errorf("epoch shown = %q, want %q", got, want)
	}
	// Every DataNode is a witness (the draining one too); one of three may
	// fail.
	if w := doc.byID("witnesses").text(); !strings.Contains(w, "(1 may fail)") || strings.Contains(w, "silent") {
		t.Errorf("witnesses shown = %q", w)
	} else {
		for _, dn := range dns {
			if !strings.Contains(w, dn.ID()) {
				t.Errorf("witnesses shown = %q, without %s", w, dn.ID())
			}
		}
	}
	if !strings.Contains(doc.byID("peer").text(), "No peer") {
		t.Errorf("peer card = %q, want the no-peer note", doc.byID("peer").text())
	}
	if doc.byID("error").Node == nil || attr(doc.byID("error").Node, "hidden") == "" && doc.byID("error").text() != "" {
		t.Errorf("error banner shown: %q", doc.byID("error").text())
	}

	// Every DataNode, the one that joined after the first render included,
	// with its state and the slots the NameNode gives it.
	sumSlots := 0
	for _, dn := range append(dns, joined) {
		r := row(doc, dn.ID())
		if r.Node == nil {
			t.Errorf("no row for %s (the page did not refresh?)", dn.ID())
			continue
		}
		i := top.Index(dn.ID())
		wantState := top.Nodes[i].State.String()
		if got := r.byClass("state").text(); got != wantState {
			t.Errorf("%s: state shown %q, want %q", dn.ID(), got, wantState)
		}
		slots, err := strconv.Atoi(strings.ReplaceAll(r.byClass("slots").text(), ",", ""))
		if err != nil {
			t.Errorf("%s: slots cell %q", dn.ID(), r.byClass("slots").text())
		}
		sumSlots += slots
		if r.byClass("heartbeat").text() == "never" {
			t.Errorf("%s: no heartbeat age", dn.ID())
		}
	}
	if sumSlots != 16384 {
		t.Errorf("slots shown sum to %d, want 16384", sumSlots)
	}
	if got := row(doc, dns[0].ID()).byClass("keys").text(); got == "0" || got == "" {
		t.Errorf("keys of %s shown as %q", dns[0].ID(), got)
	}

	// The ring: arcs in every owner's colour, the legend's shares.
	paths := doc.byID("ring").all(func(x *html.Node) bool { return x.Data == "path" && hasClass(x, "owner") })
	if len(paths) < len(top.Nodes) {
		t.Errorf("ring has %d owner arcs for %d DataNodes", len(paths), len(top.Nodes))
	}
	owners := map[string]bool{}
	for _, p := range paths {
		owners[attr(p.Node, "data-node")] = true
	}
	for _, dn := range dns[:2] {
		if !owners[dn.ID()] {
			t.Errorf("ring shows no arc of %s", dn.ID())
		}
	}
	legend := doc.byID("legend").text()
	for _, dn := range dns {
		if !strings.Contains(legend, dn.ID()) {
			t.Errorf("legend lacks %s: %q", dn.ID(), legend)
		}
	}

	// The stuck drain shows as a migration with a progress bar.
	var mig domNode
	for _, m := range doc.byID("migrations").all(func(x *html.Node) bool { return hasClass(x, "migration") }) {
		if attr(m.Node, "data-node") == stuck.ID() {
			mig = m
		}
	}
	if mig.Node == nil {
		t.Fatalf("no migration shown for the draining %s; migrations: %q", stuck.ID(), doc.byID("migrations").text())
	}
	if !strings.Contains(mig.text(), "draining") || !strings.Contains(mig.text(), "sending") {
		t.Errorf("migration of %s = %q", stuck.ID(), mig.text())
	}
	if mig.byClass("bar").Node == nil {
		t.Errorf("migration of %s has no progress bar", stuck.ID())
	}
	if doc.byID("migration-cluster").Node == nil {
		t.Error("no cluster-wide migration line")
	}
	stuck.ToPeers.Restore()
}

// keysReported sums the key counts the NameNode's Status reports.
func (c *Cluster) keysReported() int64 {
	var total int64
	for _, ns := range c.nameNode().Status().GetNodes() {
		total += ns.GetNode().GetLoad().GetKeys()
	}
	return total
}
