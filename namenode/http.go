package namenode

import (
	"bytes"
	"encoding/json"
	"net/http"
	"time"

	"google.golang.org/protobuf/encoding/protojson"

	"github.com/chkv/chkv/common/opshttp"
	"github.com/chkv/chkv/namenode/statuspage"
	"github.com/chkv/chkv/proto/chkvpb"
)

// httpHandler serves /healthz, /status (JSON), /metrics (Prometheus) and
// the status page (/, /ring, /ui/).
func (s *Server) httpHandler() http.Handler {
	mux := http.NewServeMux()
	page := statuspage.New(s, 0)
	mux.Handle("GET /{$}", page)
	mux.Handle("GET /ring", page)
	mux.Handle("GET /ui/", page)
	opshttp.Mount(mux, s.metrics.reg, s.log)
	mux.HandleFunc("GET /status", func(w http.ResponseWriter, _ *http.Request) {
		b, err := protojson.MarshalOptions{UseProtoNames: true, EmitUnpopulated: true}.Marshal(s.status())
		var out bytes.Buffer
		if err == nil {
			// protojson varies its whitespace on purpose; indent it stably.
			err = json.Indent(&out, b, "", "  ")
		}
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		out.WriteByte('\n')
		w.Header().Set("Content-Type", "application/json")
		w.Write(out.Bytes())
	})
	return mux
}

// Status returns what the Status call answers: the NameNode's view of
// the cluster. The caller owns the returned message.
func (s *Server) Status() *chkvpb.StatusResponse { return s.status() }

// newHTTPServer returns the HTTP server for the handler.
func (s *Server) newHTTPServer() *http.Server {
	return &http.Server{
		Handler:           s.httpHandler(),
		ReadHeaderTimeout: 5 * time.Second,
		WriteTimeout:      10 * time.Second,
		IdleTimeout:       time.Minute,
	}
}
