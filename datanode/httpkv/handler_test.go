package httpkv

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
)

// scripted is a Backend whose replies a test sets per command name.
type scripted struct {
	mu       sync.Mutex
	replies  map[string]string // command name -> RESP reply
	calls    [][]string
	password string
	maxValue int64
	owners   map[string]string // RESP address -> HTTP address
}

func newScripted() *scripted {
	return &scripted{replies: make(map[string]string), maxValue: 512 << 20, owners: make(map[string]string)}
}

func (b *scripted) Do(args ...[]byte) []byte {
	b.mu.Lock()
	defer b.mu.Unlock()
	call := make([]string, len(args))
	for i, a := range args {
		call[i] = string(a)
	}
	b.calls = append(b.calls, call)
	if r, ok := b.replies[call[0]]; ok {
		return []byte(r)
	}
	return []byte("-ERR unscripted command '" + call[0] + "'\r\n")
}

func (b *scripted) HTTPAddrOf(respAddr string) string { return b.owners[respAddr] }
func (b *scripted) Password() string                  { return b.password }
func (b *scripted) MaxValueLen() int64                { return b.maxValue }

func serve(t *testing.T, b Backend) *httptest.Server {
	t.Helper()
	mux := http.NewServeMux()
	Mount(mux, b)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

// noRedirect is a client that returns redirects instead of following them.
var noRedirect = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

func do(t *testing.T, method, url string, body io.Reader, header ...string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, url, body)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := noRedirect.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, b
}

// Redis's cluster errors become the HTTP answers a client can act on.
func TestRedisErrorsMapToStatuses(t *testing.T) {
	for _, tc := range []struct {
		reply      string
		status     int
		header     string
		headerWant string
	}{
		{"-MOVED 866 10.0.0.2:10100\r\n", http.StatusTemporaryRedirect, "Location", "http://10.0.0.2:8080/v1/kv/a%2Fb?ttl=1s"},
		{"-MOVED 866 10.0.0.3:10100\r\n", http.StatusMisdirectedRequest, "", ""},
		{"-TRYAGAIN Slot 866 is moving; try again\r\n", http.StatusServiceUnavailable, "Retry-After", "1"},
		{"-ASK 866 10.0.0.2:10100\r\n", http.StatusServiceUnavailable, "Retry-After", "1"},
		{"-CLUSTERDOWN The cluster is down\r\n", http.StatusServiceUnavailable, "Retry-After", "1"},
		{"-OOM command not allowed when used memory > 'maxmemory'.\r\n", http.StatusInsufficientStorage, "", ""},
		{"-WRONGTYPE Operation against a key holding the wrong kind of value\r\n", http.StatusConflict, "", ""},
		{"-ERR invalid expire time in 'set' command\r\n", http.StatusBadRequest, "", ""},
		{"+OK", http.StatusInternalServerError, "", ""}, // not RESP: a server bug
	} {
		b := newScripted()
		b.owners["10.0.0.2:10100"] = "10.0.0.2:8080"
		b.replies["SET"] = tc.reply
		srv := serve(t, b)
		resp, body := do(t, "PUT", srv.URL+"/v1/kv/a%2Fb?ttl=1s", strings.NewReader("v"))
		if resp.StatusCode != tc.status {
			t.Errorf("%q: status %d, want %d (%s)", tc.reply, resp.StatusCode, tc.status, body)
		}
		if tc.header != "" && resp.Header.Get(tc.header) != tc.headerWant {
			t.Errorf("%q: %s %q, want %q", tc.reply, tc.header, resp.Header.Get(tc.header), tc.headerWant)
		}
		var e struct{ Error string }
		if err := json.Unmarshal(body, &e); err != nil || e.Error == "" {
			t.Errorf("%q: body %q is not a JSON error: %v", tc.reply, body, err)
		}
	}
}

func TestPasswordRequired(t *testing.T) {
	b := newScripted()
	b.password = "s3cret"
	b.replies["GET"] = "$1\r\nv\r\n"
	b.replies["PTTL"] = ":-1\r\n"
	srv := serve(t, b)
	for _, auth := range []string{"", "Bearer wrong", "Basic s3cret", "Bearer s3cre", "Bearer  s3cret"} {
		resp, _ := do(t, "GET", srv.URL+"/v1/kv/k", nil, "Authorization", auth)
		if resp.StatusCode != http.StatusUnauthorized || resp.Header.Get("WWW-Authenticate") == "" {
			t.Errorf("Authorization %q: %d %v, want 401 with WWW-Authenticate", auth, resp.StatusCode, resp.Header)
		}
	}
	if len(b.calls) != 0 {
		t.Fatalf("unauthenticated requests ran commands: %v", b.calls)
	}
	resp, body := do(t, "GET", srv.URL+"/v1/kv/k", nil, "Authorization", "Bearer s3cret")
	if resp.StatusCode != http.StatusOK || string(body) != "v" {
		t.Fatalf("with the password: %d %q", resp.StatusCode, body)
	}
}

func TestBulkLimits(t *testing.T) {
	b := newScripted()
	b.maxValue = 10
	b.replies["PTTL"] = ":-2\r\n"
	b.replies["SET"] = "+OK\r\n"
	srv := serve(t, b)
	many := make(map[string]string)
	for i := range MaxBulkKeys + 1 {
		many[fmt.Sprint("k", i)] = "v"
	}
	manyJSON, _ := json.Marshal(many)
	for _, tc := range []struct {
		name   string
		body   []byte
		status int
	}{
		{"too many keys", manyJSON, http.StatusRequestEntityTooLarge},
		{"body too large", bytes.Repeat([]byte(" "), MaxBulkBytes+1), http.StatusRequestEntityTooLarge},
		{"value too long", []byte(`{"k":"01234567890"}`), http.StatusRequestEntityTooLarge},
		{"not JSON", []byte(`{"k":`), http.StatusBadRequest},
		{"not strings", []byte(`{"k":1}`), http.StatusBadRequest},
		{"empty key", []byte(`{"":"v"}`), http.StatusBadRequest},
		{"bad ttl", []byte(`{"k":"v"}`), http.StatusBadRequest},
	} {
		url := srv.URL + "/v1/kv"
		if tc.name == "bad ttl" {
			url += "?ttl=soon"
		}
		resp, body := do(t, "POST", url, bytes.NewReader(tc.body))
		if resp.StatusCode != tc.status {
			t.Errorf("%s: %d, want %d: %s", tc.name, resp.StatusCode, tc.status, body)
		}
	}
	for _, c := range b.calls {
		if c[0] == "SET" {
			t.Fatalf("a refused bulk wrote: %v", c)
		}
	}
}

// A bulk write is split by owner: this node writes its keys and forwards
// each other owner's keys, with the credentials, in one request; a
// forwarded request is never forwarded again; an owner without the HTTP
// API refuses the whole request before anything is written.
func TestBulkForwardsToOwners(t *testing.T) {
	owner := newScripted()
	owner.password = "pw"
	owner.replies["PTTL"] = ":-2\r\n"
	owner.replies["SET"] = "+OK\r\n"
	ownerSrv := serve(t, owner)

	b := newScripted()
	b.password = "pw"
	b.owners["10.0.0.2:10100"] = strings.TrimPrefix(ownerSrv.URL, "http://")
	b.replies["PTTL"] = "-MOVED 1 10.0.0.2:10100\r\n"
	srv := serve(t, b)
	resp, body := do(t, "POST", srv.URL+"/v1/kv?ttl=5s", strings.NewReader(`{"a":"1","b":"2"}`), "Authorization", "Bearer pw")
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), `"written":2`) {
		t.Fatalf("all keys elsewhere: %d %s", resp.StatusCode, body)
	}
	sets := 0
	for _, c := range owner.calls {
		if c[0] == "SET" {
			sets++
			if len(c) != 5 || c[3] != "PX" || c[4] != "5000" {
				t.Fatalf("forwarded SET lost the query's ttl: %v", c)
			}
		}
	}
	if sets != 2 {
		t.Fatalf("the owner ran %d SETs, want 2: %v", sets, owner.calls)
	}

	// Forwarded to a node that does not own the keys either: no second hop.
	resp, body = do(t, "POST", srv.URL+"/v1/kv", strings.NewReader(`{"a":"1"}`), "Authorization", "Bearer pw", ForwardedHeader, "1")
	if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" {
		t.Fatalf("forwarded and not owned: %d %s", resp.StatusCode, body)
	}

	b.replies["PTTL"] = "-MOVED 1 10.0.0.9:10100\r\n" // a node without the HTTP API
	resp, body = do(t, "POST", srv.URL+"/v1/kv", strings.NewReader(`{"a":"1"}`), "Authorization", "Bearer pw")
	if resp.StatusCode != http.StatusMisdirectedRequest {
		t.Fatalf("owner without HTTP API: %d %s", resp.StatusCode, body)
	}
	for _, c := range b.calls {
		if c[0] == "SET" {
			t.Fatalf("a refused bulk wrote: %v", c)
		}
	}
}

// parseReply never panics and refuses what is not one RESP reply.
func FuzzParseReply(f *testing.F) {
	for _, s := range []string{"+OK\r\n", "-ERR x\r\n", ":12\r\n", "$3\r\nabc\r\n", "$-1\r\n", "*2\r\n$1\r\n0\r\n*1\r\n$1\r\nk\r\n", "*-1\r\n", "*9\r\n"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := parseReply(b)
		if err == nil && r.kind == 0 {
			t.Fatalf("%q parsed to an empty reply", b)
		}
	})
}

func TestParseReply(t *testing.T) {
	r, err := parseReply([]byte("*2\r\n$2\r\n17\r\n*2\r\n$1\r\na\r\n$0\r\n\r\n"))
	if err != nil || len(r.elems) != 2 || string(r.elems[0].str) != "17" || len(r.elems[1].elems) != 2 || string(r.elems[1].elems[0].str) != "a" {
		t.Fatalf("SCAN reply: %+v, %v", r, err)
	}
	for _, bad := range []string{"", "+OK", "$3\r\nab\r\n", ":x\r\n", "*1\r\n", "+OK\r\n+OK\r\n", "?\r\n"} {
		if _, err := parseReply([]byte(bad)); err == nil {
			t.Errorf("%q parsed", bad)
		}
	}
}
