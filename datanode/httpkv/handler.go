package httpkv

import (
	"bytes"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/cespare/xxhash/v2"
)

// Limits of one bulk write, so that a request cannot hold the node for
// long or make it buffer without bound.
const (
	// MaxBulkKeys is the most keys one POST /v1/kv may write.
	MaxBulkKeys = 1000
	// MaxBulkBytes is the largest POST /v1/kv body.
	MaxBulkBytes = 8 << 20
	// MaxScanCount is the largest count /v1/keys accepts.
	MaxScanCount = 10000
)

// RetryAfterSeconds is the Retry-After of a 503: a slot's cutover or an
// election takes well under a second.
const RetryAfterSeconds = "1"

// TTLHeader carries a key's remaining time to live in milliseconds on
// GET; it is absent for a key without one.
const TTLHeader = "X-Chkv-Ttl-Ms"

// Backend is the DataNode as the API uses it.
type Backend interface {
	// Do runs one command as an authenticated client does, with the same
	// checks (ownership, memory, limits) and statistics, and returns its
	// RESP2 reply.
	Do(args ...[]byte) []byte
	// HTTPAddrOf returns the HTTP API address (host:port) of the DataNode
	// whose RESP address is respAddr, or "" when it serves none.
	HTTPAddrOf(respAddr string) string
	// Password returns the password clients must present, "" for none.
	Password() string
	// MaxValueLen returns the largest value a client may write.
	MaxValueLen() int64
}

// Mount adds the API's routes to mux.
func Mount(mux *http.ServeMux, b Backend) {
	a := &api{b: b}
	mux.Handle("GET /v1/kv/{key...}", a.auth(a.get))
	mux.Handle("PUT /v1/kv/{key...}", a.auth(a.put))
	mux.Handle("DELETE /v1/kv/{key...}", a.auth(a.del))
	mux.Handle("POST /v1/kv", a.auth(a.bulk))
	mux.HandleFunc("/v1/kv", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Allow", http.MethodPost)
		writeError(w, fail(http.StatusMethodNotAllowed, "/v1/kv takes POST; one key is /v1/kv/{key}"))
	})
	mux.Handle("GET /v1/keys", a.auth(a.keys))
}

type api struct{ b Backend }

// apiError is a response other than success: its status and message, and
// the headers that go with it.
type apiError struct {
	status  int
	msg     string
	headers map[string]string
	extra   map[string]any // more fields of the JSON body
}

func (e *apiError) Error() string { return e.msg }

func fail(status int, format string, args ...any) *apiError {
	return &apiError{status: status, msg: fmt.Sprintf(format, args...)}
}

// handler is a route's function: it writes a success itself or returns
// the error to answer with.
type handler func(w http.ResponseWriter, r *http.Request) *apiError

// auth checks the bearer password, then runs h and writes its error.
func (a *api) auth(h handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if pw := a.b.Password(); pw != "" {
			got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
			if !ok || subtle.ConstantTimeCompare([]byte(got), []byte(pw)) != 1 {
				w.Header().Set("WWW-Authenticate", `Bearer realm="chkv"`)
				writeError(w, fail(http.StatusUnauthorized, "authentication required: Authorization: Bearer <requirepass>"))
				return
			}
		}
		if err := h(w, r); err != nil {
			writeError(w, err)
		}
	})
}

func writeError(w http.ResponseWriter, e *apiError) {
	for k, v := range e.headers {
		w.Header().Set(k, v)
	}
	body := map[string]any{"error": e.msg}
	for k, v := range e.extra {
		body[k] = v
	}
	writeJSON(w, e.status, body)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status, b = http.StatusInternalServerError, []byte(`{"error":"encoding the response failed"}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)+1))
	w.WriteHeader(status)
	w.Write(append(b, '\n'))
}

// key returns the request's key, which must not be empty.
func key(r *http.Request) ([]byte, *apiError) {
	k := r.PathValue("key")
	if k == "" {
		return nil, fail(http.StatusBadRequest, "the key is empty: use /v1/kv/{key}")
	}
	return []byte(k), nil
}

// do runs a command and parses its reply; a Redis error becomes the
// response it means for request r.
func (a *api) do(r *http.Request, args ...[]byte) (reply, *apiError) {
	rep, err := parseReply(a.b.Do(args...))
	if err != nil {
		return reply{}, fail(http.StatusInternalServerError, "%v", err)
	}
	if rep.kind == '-' {
		return reply{}, a.redisError(r, string(rep.str))
	}
	return rep, nil
}

// redisError maps a Redis error reply to the HTTP response for r: MOVED
// to a redirect to the owner's HTTP address, the transient cluster errors
// to 503 with Retry-After.
func (a *api) redisError(r *http.Request, msg string) *apiError {
	code, _, _ := strings.Cut(msg, " ")
	switch code {
	case "MOVED":
		// MOVED <slot> <host:port>
		f := strings.Fields(msg)
		if len(f) != 3 {
			return fail(http.StatusInternalServerError, "malformed redirection %q", msg)
		}
		owner := a.b.HTTPAddrOf(f[2])
		if owner == "" {
			return fail(http.StatusMisdirectedRequest, "the key's slot %s is served by %s, which has no HTTP API", f[1], f[2])
		}
		loc := url.URL{Scheme: "http", Host: owner, Path: r.URL.Path, RawPath: r.URL.RawPath, RawQuery: r.URL.RawQuery}
		e := fail(http.StatusTemporaryRedirect, "the key's slot %s is served by %s", f[1], owner)
		e.headers = map[string]string{"Location": loc.String()}
		return e
	case "ASK", "TRYAGAIN", "CLUSTERDOWN", "LOADING":
		e := fail(http.StatusServiceUnavailable, "%s", msg)
		e.headers = map[string]string{"Retry-After": RetryAfterSeconds}
		return e
	case "OOM":
		return fail(http.StatusInsufficientStorage, "%s", msg)
	case "WRONGTYPE":
		return fail(http.StatusConflict, "%s", msg)
	}
	return fail(http.StatusBadRequest, "%s", msg)
}

// etag is the entity tag of a value.
func etag(v []byte) string {
	var b [8]byte
	h := xxhash.Sum64(v)
	for i := range b {
		b[i] = byte(h >> (56 - 8*i))
	}
	return `"` + hex.EncodeToString(b[:]) + `"`
}

// get answers GET (and HEAD) /v1/kv/{key}: the value as the body, 404
// when absent, its ETag, and its TTL in TTLHeader.
func (a *api) get(w http.ResponseWriter, r *http.Request) *apiError {
	k, e := key(r)
	if e != nil {
		return e
	}
	rep, e := a.do(r, []byte("GET"), k)
	if e != nil {
		return e
	}
	if rep.null {
		return fail(http.StatusNotFound, "no such key")
	}
	ttl, e := a.do(r, []byte("PTTL"), k)
	if e != nil {
		return e
	}
	tag := etag(rep.str)
	h := w.Header()
	h.Set("ETag", tag)
	if ttl.n >= 0 {
		h.Set(TTLHeader, strconv.FormatInt(ttl.n, 10))
	}
	if matchesETag(r.Header.Get("If-None-Match"), tag) {
		w.WriteHeader(http.StatusNotModified)
		return nil
	}
	h.Set("Content-Type", "application/octet-stream")
	h.Set("Content-Length", strconv.Itoa(len(rep.str)))
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		w.Write(rep.str)
	}
	return nil
}

// matchesETag reports whether an If-None-Match header names tag.
func matchesETag(header, tag string) bool {
	for _, t := range strings.Split(header, ",") {
		t = strings.TrimPrefix(strings.TrimSpace(t), "W/")
		if t == tag || t == "*" {
			return true
		}
	}
	return false
}

// writeOptions are the query parameters of a write: ttl, nx, xx.
type writeOptions struct{ args [][]byte }

func parseWriteOptions(q url.Values) (writeOptions, *apiError) {
	var o writeOptions
	if s := q.Get("ttl"); s != "" {
		d, err := time.ParseDuration(s)
		if err != nil || d < time.Millisecond {
			return o, fail(http.StatusBadRequest, "ttl %q: want a duration of at least 1ms, such as 10s or 1h30m", s)
		}
		o.args = append(o.args, []byte("PX"), []byte(strconv.FormatInt(d.Milliseconds(), 10)))
	}
	_, nx := q["nx"]
	_, xx := q["xx"]
	switch {
	case nx && xx:
		return o, fail(http.StatusBadRequest, "nx and xx exclude each other")
	case nx:
		o.args = append(o.args, []byte("NX"))
	case xx:
		o.args = append(o.args, []byte("XX"))
	}
	return o, nil
}

// readBody reads at most limit bytes of r's body, answering 413 past it.
func readBody(w http.ResponseWriter, r *http.Request, limit int64) ([]byte, *apiError) {
	if r.ContentLength > limit {
		return nil, fail(http.StatusRequestEntityTooLarge, "the body is %d bytes, more than the limit of %d", r.ContentLength, limit)
	}
	b, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	var tooLarge *http.MaxBytesError
	switch {
	case errors.As(err, &tooLarge):
		return nil, fail(http.StatusRequestEntityTooLarge, "the body is more than the limit of %d bytes", limit)
	case err != nil:
		return nil, fail(http.StatusBadRequest, "reading the body: %v", err)
	}
	return b, nil
}

// put answers PUT /v1/kv/{key}: the body becomes the value; ?ttl=, ?nx
// and ?xx as SET's PX, NX and XX. 204 when written, 412 when nx or xx
// kept it from being written.
func (a *api) put(w http.ResponseWriter, r *http.Request) *apiError {
	k, e := key(r)
	if e != nil {
		return e
	}
	opts, e := parseWriteOptions(r.URL.Query())
	if e != nil {
		return e
	}
	v, e := readBody(w, r, a.b.MaxValueLen())
	if e != nil {
		return e
	}
	rep, e := a.do(r, append([][]byte{[]byte("SET"), k, v}, opts.args...)...)
	if e != nil {
		return e
	}
	if rep.null {
		return fail(http.StatusPreconditionFailed, "not written: nx and the key exists, or xx and it does not")
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// del answers DELETE /v1/kv/{key}: 204 when deleted, 404 when absent.
func (a *api) del(w http.ResponseWriter, r *http.Request) *apiError {
	k, e := key(r)
	if e != nil {
		return e
	}
	rep, e := a.do(r, []byte("DEL"), k)
	if e != nil {
		return e
	}
	if rep.n == 0 {
		return fail(http.StatusNotFound, "no such key")
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// ForwardedHeader marks a bulk write one DataNode forwarded to another:
// the receiver writes only keys it owns and never forwards again.
const ForwardedHeader = "X-Chkv-Forwarded"

// forwardTimeout bounds one forwarded bulk write.
const forwardTimeout = 10 * time.Second

// bulkResult is the body of a successful bulk write.
type bulkResult struct {
	Written    int `json:"written"`
	NotWritten int `json:"not_written"`
}

// bulk answers POST /v1/kv: a JSON object of string values, written key by
// key (not atomically) with the query's ttl, nx or xx. Keys this node owns
// are written here; the others are forwarded, one request per owner, to
// their owners' HTTP APIs. A key whose owner serves no HTTP API refuses
// the whole request (421) before anything is written.
func (a *api) bulk(w http.ResponseWriter, r *http.Request) *apiError {
	opts, e := parseWriteOptions(r.URL.Query())
	if e != nil {
		return e
	}
	body, e := readBody(w, r, MaxBulkBytes)
	if e != nil {
		return e
	}
	var kv map[string]string
	if err := json.Unmarshal(body, &kv); err != nil {
		return fail(http.StatusBadRequest, "the body must be a JSON object of string values: %v", err)
	}
	if len(kv) > MaxBulkKeys {
		return fail(http.StatusRequestEntityTooLarge, "%d keys, more than the limit of %d", len(kv), MaxBulkKeys)
	}
	for k, v := range kv {
		switch {
		case k == "":
			return fail(http.StatusBadRequest, "a key is empty")
		case int64(len(v)) > a.b.MaxValueLen():
			return fail(http.StatusRequestEntityTooLarge, "the value of %q is longer than the limit of %d bytes", k, a.b.MaxValueLen())
		}
	}
	// Find each key's owner first, with a read that changes nothing.
	local := make(map[string]string)
	remote := make(map[string]map[string]string) // owner's HTTP address -> its keys
	unreachable := make(map[string]string)       // key -> why it cannot be written
	for k, v := range kv {
		_, e := a.do(r, []byte("PTTL"), []byte(k))
		switch {
		case e == nil:
			local[k] = v
		case e.status == http.StatusTemporaryRedirect:
			u, err := url.Parse(e.headers["Location"])
			if err != nil {
				return fail(http.StatusInternalServerError, "redirect %q: %v", e.headers["Location"], err)
			}
			if remote[u.Host] == nil {
				remote[u.Host] = make(map[string]string)
			}
			remote[u.Host][k] = v
		case e.status == http.StatusMisdirectedRequest:
			unreachable[k] = e.msg
		default:
			return e
		}
	}
	if len(unreachable) > 0 {
		e := fail(http.StatusMisdirectedRequest, "some keys belong to nodes without the HTTP API: nothing was written")
		e.extra = map[string]any{"elsewhere": unreachable}
		return e
	}
	if len(remote) > 0 && r.Header.Get(ForwardedHeader) != "" {
		// Forwarded here, yet not ours: the slots are moving.
		e := fail(http.StatusServiceUnavailable, "forwarded keys belong to another node: their slots are moving")
		e.headers = map[string]string{"Retry-After": RetryAfterSeconds}
		return e
	}
	var total bulkResult
	var failed []string
	var mu sync.Mutex
	var wg sync.WaitGroup
	for owner, part := range remote {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res, err := a.forward(r, owner, part)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				failed = append(failed, err.Error())
				return
			}
			total.Written += res.Written
			total.NotWritten += res.NotWritten
		}()
	}
	for k, v := range local {
		rep, e := a.do(r, append([][]byte{[]byte("SET"), []byte(k), []byte(v)}, opts.args...)...)
		if e != nil {
			// The slot moved away meanwhile.
			mu.Lock()
			failed = append(failed, fmt.Sprintf("%s: %s", k, e.msg))
			mu.Unlock()
			break
		}
		mu.Lock()
		if rep.null {
			total.NotWritten++
		} else {
			total.Written++
		}
		mu.Unlock()
	}
	wg.Wait()
	if len(failed) > 0 {
		e := fail(http.StatusServiceUnavailable, "only part of the bulk write was done: %s", strings.Join(failed, "; "))
		e.headers = map[string]string{"Retry-After": RetryAfterSeconds}
		e.extra = map[string]any{"written": total.Written, "not_written": total.NotWritten}
		return e
	}
	writeJSON(w, http.StatusOK, total)
	return nil
}

// forwarder sends forwarded bulk writes. It keeps no idle connections, so
// nothing outlives a request.
var forwarder = &http.Client{
	Timeout:   forwardTimeout,
	Transport: &http.Transport{DisableKeepAlives: true, ResponseHeaderTimeout: forwardTimeout},
	CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	},
}

// forward sends the keys of one other owner to its HTTP API as a bulk
// write with r's query and credentials.
func (a *api) forward(r *http.Request, owner string, part map[string]string) (bulkResult, error) {
	var res bulkResult
	body, err := json.Marshal(part)
	if err != nil {
		return res, err
	}
	u := url.URL{Scheme: "http", Host: owner, Path: "/v1/kv", RawQuery: r.URL.RawQuery}
	req, err := http.NewRequestWithContext(r.Context(), http.MethodPost, u.String(), bytes.NewReader(body))
	if err != nil {
		return res, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(ForwardedHeader, "1")
	if auth := r.Header.Get("Authorization"); auth != "" {
		req.Header.Set("Authorization", auth)
	}
	resp, err := forwarder.Do(req)
	if err != nil {
		return res, fmt.Errorf("%d keys for %s: %w", len(part), owner, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return res, fmt.Errorf("%d keys for %s: %w", len(part), owner, err)
	}
	if resp.StatusCode != http.StatusOK {
		return res, fmt.Errorf("%d keys for %s: %s %s", len(part), owner, resp.Status, bytes.TrimSpace(b))
	}
	if err := json.Unmarshal(b, &res); err != nil {
		return res, fmt.Errorf("%d keys for %s: %w", len(part), owner, err)
	}
	return res, nil
}

// keys answers GET /v1/keys?cursor=&match=&count=: one SCAN step over this
// node's keys.
func (a *api) keys(w http.ResponseWriter, r *http.Request) *apiError {
	q := r.URL.Query()
	cursor := q.Get("cursor")
	if cursor == "" {
		cursor = "0"
	}
	args := [][]byte{[]byte("SCAN"), []byte(cursor)}
	if m := q.Get("match"); m != "" {
		args = append(args, []byte("MATCH"), []byte(m))
	}
	if c := q.Get("count"); c != "" {
		n, err := strconv.Atoi(c)
		if err != nil || n < 1 || n > MaxScanCount {
			return fail(http.StatusBadRequest, "count %q: want a number from 1 to %d", c, MaxScanCount)
		}
		args = append(args, []byte("COUNT"), []byte(c))
	}
	rep, e := a.do(r, args...)
	if e != nil {
		return e
	}
	if rep.kind != '*' || len(rep.elems) != 2 || rep.elems[1].kind != '*' {
		return fail(http.StatusInternalServerError, "%v", errBadReply)
	}
	keys := make([]string, len(rep.elems[1].elems))
	for i, k := range rep.elems[1].elems {
		keys[i] = string(k.str)
	}
	writeJSON(w, http.StatusOK, map[string]any{"cursor": string(rep.elems[0].str), "keys": keys})
	return nil
}
