package localcluster

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chkv/chkv/common/slot"
	"github.com/chkv/chkv/datanode"
	"github.com/chkv/chkv/helper/testutil"
)

// withHTTPAPI gives every DataNode the HTTP key-value API.
func withHTTPAPI(cfg *datanode.Config) {
	cfg.HTTP = "127.0.0.1:0"
	cfg.HTTPAPI = true
}

// httpCall sends one request to base+path, following redirects as curl -L
// does, and returns the status, body and the host that answered.
func httpCall(ctx context.Context, cl *http.Client, method, url string, body []byte) (int, []byte, string, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, url, rd)
	if err != nil {
		return 0, nil, "", err
	}
	resp, err := cl.Do(req)
	if err != nil {
		return 0, nil, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, b, resp.Request.URL.Host, err
}

// A request for a key another DataNode owns is redirected there, with the
// method and body, and curl -L-style clients never notice; while a DataNode
// drains under HTTP writes, the only answers besides success are 503s that
// say to retry, and no write is lost.
func TestHTTPAPIRedirectsAndDrain(t *testing.T) {
	c := startCluster(t, Options{DataNodes: 3, DataNodeConfig: withHTTPAPI})
	dns := c.DataNodes()
	base := func(dn *DataNode) string { return "http://" + dn.HTTPAddr().String() }
	for _, n := range c.Topology().Nodes {
		if n.HTTPAddr == "" {
			t.Fatalf("node %s registered without its HTTP API address", n.ID)
		}
	}

	// One key of each node, asked at another node.
	noFollow := &http.Client{Timeout: 10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	follow := &http.Client{Timeout: 10 * time.Second}
	ctx := ctxFor(t, 60*time.Second)
	for i, owner := range dns {
		key := keyOwnedBy(t, c, owner, fmt.Sprint("http-", i))
		asked := dns[(i+1)%len(dns)]
		status, body, _, err := httpCall(ctx, noFollow, "PUT", base(asked)+"/v1/kv/"+key+"?ttl=1h", []byte("v"))
		if err != nil || status != http.StatusTemporaryRedirect {
			t.Fatalf("PUT %s at a non-owner: %d %s %v", key, status, body, err)
		}
		status, body, host, err := httpCall(ctx, follow, "PUT", base(asked)+"/v1/kv/"+key+"?ttl=1h", []byte("value-"+key))
		if err != nil || status != http.StatusNoContent || host != owner.HTTPAddr().String() {
			t.Fatalf("PUT %s following redirects: %d %s at %s (owner %s) %v", key, status, body, host, owner.HTTPAddr(), err)
		}
		status, body, _, err = httpCall(ctx, follow, "GET", base(dns[(i+2)%len(dns)])+"/v1/kv/"+key, nil)
		if err != nil || status != http.StatusOK || string(body) != "value-"+key {
			t.Fatalf("GET %s following redirects: %d %q %v", key, status, body, err)
		}
	}

	// A bulk write to one node reaches the keys' owners.
	bulk := make(map[string]string)
	for i := range 60 {
		bulk[fmt.Sprint("bulk-", i)] = fmt.Sprint("b", i)
	}
	bulkJSON, _ := json.Marshal(bulk)
	status, body, _, err := httpCall(ctx, follow, "POST", base(dns[0])+"/v1/kv?ttl=1h", bulkJSON)
	if err != nil || status != http.StatusOK || !strings.Contains(string(body), `"written":60`) {
		t.Fatalf("bulk write of keys of every node: %d %s %v", status, body, err)
	}
	for k, v := range bulk {
		status, body, _, err := httpCall(ctx, follow, "GET", base(dns[1])+"/v1/kv/"+k, nil)
		if err != nil || status != http.StatusOK || string(body) != v {
			t.Fatalf("GET %s after the bulk write: %d %q %v", k, status, body, err)
		}
	}

	// Writers through every node while the first one drains.
	written := make(map[string]string)
	var mu sync.Mutex
	var retries, failures int
	wctx, stop := context.WithCancel(ctx)
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; wctx.Err() == nil && i < 5000; i++ {
				key, val := fmt.Sprintf("drain-%d-%d", w, i), fmt.Sprintf("v%d", i)
				at := dns[i%len(dns)]
				for attempt := 0; ; attempt++ {
					status, body, _, err := httpCall(wctx, follow, "PUT", base(at)+"/v1/kv/"+key, []byte(val))
					if wctx.Err() != nil {
						return
					}
					mu.Lock()
					switch {
					case err == nil && status == http.StatusNoContent:
						written[key] = val
					case err == nil && status == http.StatusServiceUnavailable && attempt < 100:
						retries++
					default:
						failures++
						t.Errorf("PUT %s: %d %s %v", key, status, body, err)
					}
					mu.Unlock()
					if status != http.StatusServiceUnavailable || err != nil {
						break
					}
					time.Sleep(10 * time.Millisecond)
				}
			}
		}()
	}
	testutil.Eventually(t, 30*time.Second, "the HTTP writers to start", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(written) > 0
	})
	if err := c.Drain(dns[0], false); err != nil {
		t.Fatal(err)
	}
	select {
	case <-dns[0].Drained():
	case <-ctx.Done():
		t.Fatal("not drained")
	}
	stop()
	wg.Wait()
	if failures > 0 {
		t.Fatalf("%d writes failed during the drain", failures)
	}
	// Every write reads back, asked at the drained node itself.
	lost := 0
	for key, val := range written {
		status, body, _, err := httpCall(ctx, follow, "GET", base(dns[0])+"/v1/kv/"+key, nil)
		if err != nil || status != http.StatusOK || string(body) != val {
			lost++
			if lost < 5 {
				t.Errorf("GET %s after the drain: %d %q %v, want %q", key, status, body, err, val)
			}
		}
	}
	t.Logf("%d keys written over HTTP during the drain, %d retried after 503, %d lost", len(written), retries, lost)
	if lost > 0 || len(written) == 0 {
		t.Fatalf("%d of %d writes lost", lost, len(written))
	}
}

// keyOwnedBy returns a key with the given prefix whose slot dn owns.
func keyOwnedBy(t *testing.T, c *Cluster, dn *DataNode, prefix string) string {
	t.Helper()
	top := c.Topology()
	for i := range 100000 {
		k := fmt.Sprintf("%s-%d", prefix, i)
		if o := top.Owner(slot.OfString(k)); o != nil && o.ID == dn.ID() && !strings.ContainsAny(k, "/?#") {
			return k
		}
	}
	t.Fatalf("no key of %s found", dn.ID())
	return ""
}
