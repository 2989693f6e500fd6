package namenode

import (
	"bytes"
	"encoding/json"
	"net/http"
	"time"

	"google.golang.org/protobuf/encoding/protojson"
)

// httpHandler serves /healthz and /status.
func (s *Server) httpHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Write([]byte("ok"))
	})
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

// newHTTPServer returns the HTTP server for the handler.
func (s *Server) newHTTPServer() *http.Server {
	return &http.Server{
		Handler:           s.httpHandler(),
		ReadHeaderTimeout: 5 * time.Second,
		WriteTimeout:      10 * time.Second,
		IdleTimeout:       time.Minute,
	}
}
