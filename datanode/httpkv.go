package datanode

import (
	"net"
	"time"
)

// kvBackend is the Server as the HTTP key-value API (package httpkv) uses
// it.
type kvBackend struct{ s *Server }

// Do runs one command through the same path as a RESP client's, as an
// authenticated client with no connection, and returns the reply.
func (b kvBackend) Do(args ...[]byte) []byte {
	c := &client{srv: b.s, authenticated: true, created: time.Now()}
	b.s.execute(c, args)
	return c.out
}

// HTTPAddrOf finds the HTTP API address of the node at respAddr in the
// topology this node holds.
func (b kvBackend) HTTPAddrOf(respAddr string) string {
	if t := b.s.Topology(); t != nil {
		for _, n := range t.Nodes {
			if n.RESPAddr == respAddr {
				return n.HTTPAddr
			}
		}
	}
	return ""
}

// Password is requirepass as set now.
func (b kvBackend) Password() string { return b.s.settings.Load().RequirePass }

// MaxValueLen is proto-max-bulk-len as set now.
func (b kvBackend) MaxValueLen() int64 { return b.s.settings.Load().ProtoMaxBulkLen }

// httpAdvertiseAddr is the HTTP API address given to the NameNodes: empty
// without the API.
func (s *Server) httpAdvertiseAddr() string {
	if !s.cfg.HTTPAPI {
		return ""
	}
	if s.cfg.HTTPAdvertise != "" {
		return s.cfg.HTTPAdvertise
	}
	s.mu.Lock()
	ln := s.httpLn
	s.mu.Unlock()
	if ln == nil {
		return ""
	}
	host, port, err := net.SplitHostPort(ln.Addr().String())
	if err != nil {
		return ln.Addr().String()
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsUnspecified() {
		if h, _, err := net.SplitHostPort(s.advertiseAddr()); err == nil {
			host = h
		}
	}
	return net.JoinHostPort(host, port)
}
