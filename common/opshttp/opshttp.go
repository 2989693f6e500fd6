// Package opshttp serves the endpoints every CHKV server has on its --http
// address: Prometheus metrics at /metrics and a liveness check at /healthz.
package opshttp

import (
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Mount adds GET /metrics, serving what reg gathers, and GET /healthz,
// answering "ok", to mux. Scrape errors go to log as warnings.
func Mount(mux *http.ServeMux, reg prometheus.Gatherer, log *slog.Logger) {
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{
		ErrorLog:            logPrinter{log},
		Timeout:             10 * time.Second,
		MaxRequestsInFlight: 4,
	}))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Write([]byte("ok"))
	})
}

// logPrinter passes promhttp's error lines to a logger.
type logPrinter struct{ log *slog.Logger }

// Println logs v as a warning.
func (p logPrinter) Println(v ...any) { p.log.Warn("metrics: " + fmt.Sprint(v...)) }
