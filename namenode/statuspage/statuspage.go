// Package statuspage serves the NameNode's status page: one HTML page,
// rendered from an html/template with the cluster's state embedded, that
// keeps itself current by fetching the NameNode's /status and /ring JSON.
// Everything it needs is embedded in the binary; there is no build step.
package statuspage

import (
	"bytes"
	"embed"
	"encoding/json"
	"html/template"
	"io/fs"
	"net/http"
	"time"

	"google.golang.org/protobuf/encoding/protojson"

	"github.com/chkv/chkv/common/topology"
	"github.com/chkv/chkv/proto/chkvpb"
)

//go:embed assets
var assets embed.FS

// page is the HTML template of the page.
var page = template.Must(template.ParseFS(assets, "assets/index.html.tmpl"))

// Source is what the page shows. Its methods must not block for long and
// return values the page only reads.
type Source interface {
	// Status returns the NameNode's Status response.
	Status() *chkvpb.StatusResponse
	// Topology returns the current committed topology.
	Topology() *topology.Topology
}

// DefaultRefresh is how often the page fetches the state again.
const DefaultRefresh = 2 * time.Second

// Handler serves the page at "/", its scripts and styles under "/ui/",
// and the ring's slot runs as JSON at "/ring". The caller serves /status
// (the Status response as protojson with proto field names).
type Handler struct {
	src     Source
	refresh time.Duration
	mux     *http.ServeMux
}

// New returns the handler of the page for src, refreshing every refresh
// (DefaultRefresh when not positive).
func New(src Source, refresh time.Duration) *Handler {
	if refresh <= 0 {
		refresh = DefaultRefresh
	}
	h := &Handler{src: src, refresh: refresh, mux: http.NewServeMux()}
	static, _ := fs.Sub(assets, "assets")
	h.mux.HandleFunc("GET /{$}", h.servePage)
	h.mux.HandleFunc("GET /ring", h.serveRing)
	h.mux.Handle("GET /ui/", http.StripPrefix("/ui/", http.FileServerFS(static)))
	return h
}

// ServeHTTP serves the page, its assets and /ring.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) { h.mux.ServeHTTP(w, r) }

// Run is a maximal sequence of consecutive slots with the same owner:
// [first slot, count, node index], the index -1 for slots nobody owns.
type Run [3]int

// Ring is the body of /ring: the topology's owners and target as runs of
// slots, with the node IDs the indexes refer to.
type Ring struct {
	Epoch   uint64   `json:"epoch"`
	Version uint64   `json:"version"`
	Nodes   []string `json:"nodes"`
	Owners  []Run    `json:"owners"`
	Target  []Run    `json:"target"`
}

// RingOf returns the runs of t.
func RingOf(t *topology.Topology) Ring {
	r := Ring{Epoch: t.Epoch, Version: t.Version, Nodes: make([]string, len(t.Nodes)),
		Owners: runs(t.Owners), Target: runs(t.Target)}
	for i, n := range t.Nodes {
		r.Nodes[i] = n.ID
	}
	return r
}

// runs compresses an owner table into runs.
func runs(owners []int) []Run {
	out := []Run{}
	for s, o := range owners {
		if o == topology.Unowned {
			o = -1
		}
		if n := len(out); n > 0 && out[n-1][2] == o {
			out[n-1][1]++
			continue
		}
		out = append(out, Run{s, 1, o})
	}
	return out
}

// statusJSON is the Status response as /status serves it.
func statusJSON(st *chkvpb.StatusResponse) (json.RawMessage, error) {
	return protojson.MarshalOptions{UseProtoNames: true, EmitUnpopulated: true}.Marshal(st)
}

// pageData is what the template renders.
type pageData struct {
	NameNode  string
	RefreshMS int64
	Status    json.RawMessage
	Ring      Ring
}

func (h *Handler) servePage(w http.ResponseWriter, _ *http.Request) {
	st := h.src.Status()
	sj, err := statusJSON(st)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	var buf bytes.Buffer
	err = page.Execute(&buf, pageData{NameNode: st.GetNamenodeId(), RefreshMS: h.refresh.Milliseconds(),
		Status: sj, Ring: RingOf(h.src.Topology())})
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Write(buf.Bytes())
}

func (h *Handler) serveRing(w http.ResponseWriter, _ *http.Request) {
	b, err := json.Marshal(RingOf(h.src.Topology()))
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.Write(append(b, '\n'))
}
