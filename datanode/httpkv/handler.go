package httpkv

import (
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

// bulk answers POST /v1/kv: a JSON object of string values, written key by
// key (not atomically) with the query's ttl, nx or xx. Every key must
// belong to this node (200) or all to one other node (307 there);
// otherwise nothing is written and 421 lists each key's owner.
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
	elsewhere := make(map[string]string) // key -> owner's redirect location
	for k := range kv {
		_, e := a.do(r, []byte("PTTL"), []byte(k))
		switch {
		case e == nil:
		case e.status == http.StatusTemporaryRedirect || e.status == http.StatusMisdirectedRequest:
			elsewhere[k] = e.msg
			if loc := e.headers["Location"]; loc != "" {
				elsewhere[k] = loc
			}
		default:
			return e
		}
	}
	if len(elsewhere) > 0 {
		if owner := single(elsewhere); owner != "" && len(elsewhere) == len(kv) && strings.HasPrefix(owner, "http://") {
			u, err := url.Parse(owner)
			if err == nil {
				loc := url.URL{Scheme: "http", Host: u.Host, Path: r.URL.Path, RawQuery: r.URL.RawQuery}
				e := fail(http.StatusTemporaryRedirect, "every key belongs to %s", u.Host)
				e.headers = map[string]string{"Location": loc.String()}
				return e
			}
		}
		e := fail(http.StatusMisdirectedRequest, "the keys belong to several nodes: nothing was written; send each node its own keys")
		e.extra = map[string]any{"elsewhere": elsewhere}
		return e
	}
	written, refused := 0, 0
	for k, v := range kv {
		rep, e := a.do(r, append([][]byte{[]byte("SET"), []byte(k), []byte(v)}, opts.args...)...)
		if e != nil {
			// The slot moved away meanwhile: say how far it got.
			e.extra = map[string]any{"written": written}
			if e.status == http.StatusTemporaryRedirect || e.status == http.StatusMisdirectedRequest {
				e.status, e.headers = http.StatusServiceUnavailable, map[string]string{"Retry-After": RetryAfterSeconds}
			}
			return e
		}
		if rep.null {
			refused++
		} else {
			written++
		}
	}
	writeJSON(w, http.StatusOK, map[string]int{"written": written, "not_written": refused})
	return nil
}

// single returns the one value every entry of m has, or "".
func single(m map[string]string) string {
	var one string
	for _, v := range m {
		if one != "" && v != one {
			return ""
		}
		one = v
	}
	return one
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
