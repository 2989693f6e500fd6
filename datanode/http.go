package datanode

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/chkv/chkv/common/opshttp"
	"github.com/chkv/chkv/datanode/httpkv"
)

// httpHandler serves /metrics (Prometheus) and /healthz, and with
// HTTPAPI the key-value API.
func (s *Server) httpHandler() http.Handler {
	mux := http.NewServeMux()
	opshttp.Mount(mux, s.newRegistry(), s.log)
	if s.cfg.HTTPAPI {
		httpkv.Mount(mux, kvBackend{s})
	}
	return mux
}

// startHTTP serves HTTP on the configured listener or address, if any. The
// caller holds s.mu.
func (s *Server) startHTTP() error {
	ln := s.cfg.HTTPListener
	if ln == nil && s.cfg.HTTP == "" {
		return nil
	}
	if ln == nil {
		var err error
		if ln, err = net.Listen("tcp", s.cfg.HTTP); err != nil {
			return fmt.Errorf("datanode: http listen: %w", err)
		}
	}
	s.httpLn = ln
	s.httpSrv = &http.Server{
		Handler:           s.httpHandler(),
		ReadHeaderTimeout: 5 * time.Second,
		WriteTimeout:      15 * time.Second,
		IdleTimeout:       time.Minute,
	}
	srv := s.httpSrv
	s.group.Go(func(context.Context) {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.log.Error("http server stopped", "err", err)
		}
	})
	s.log.Info("http serving", "addr", ln.Addr().String())
	return nil
}

// HTTPAddr returns the address of /metrics and /healthz, or nil before
// Start or when HTTP is off.
func (s *Server) HTTPAddr() net.Addr {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.httpLn == nil {
		return nil
	}
	return s.httpLn.Addr()
}
