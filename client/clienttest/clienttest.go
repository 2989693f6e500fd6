// Package clienttest is the in-process cluster the client's tests (and
// chkvctl's) run against, with helper/fakenamenode's NameNode: standalone
// DataNodes, the topologies to push to the NameNode (Split, Assign), and a
// scripted RESP server for redirects.
//
// Everything listens on 127.0.0.1:0 and is stopped by t.Cleanup.
package clienttest

import (
	"fmt"
	"net"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/tidwall/redcon"

	"github.com/chkv/chkv/common/slot"
	"github.com/chkv/chkv/common/topology"
	"github.com/chkv/chkv/datanode"
)

// StartDataNode starts a standalone DataNode (it serves every slot), with
// its configuration adjusted by mutate, and stops it when the test ends.
func StartDataNode(t testing.TB, mutate ...func(*datanode.Config)) *datanode.Server {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cfg := datanode.DefaultConfig()
	cfg.Listener = ln
	cfg.Listen = ln.Addr().String()
	cfg.Seed = 1
	for _, m := range mutate {
		m(&cfg)
	}
	s, err := datanode.New(cfg)
	if err != nil {
		ln.Close()
		t.Fatal(err)
	}
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Stop)
	return s
}

// Split returns a topology of epoch and version whose nodes, "dn-0",
// "dn-1"..., have the RESP addresses addrs and own equal runs of
// consecutive slots, in order.
func Split(epoch, version uint64, addrs ...string) *topology.Topology {
	return Assign(epoch, version, addrs, func(s int) int { return s * len(addrs) / slot.Count })
}

// Assign returns a topology of epoch and version whose nodes, "dn-0",
// "dn-1"..., have the RESP addresses addrs, and where owner(s) is the
// index of the node serving slot s, or topology.Unowned.
func Assign(epoch, version uint64, addrs []string, owner func(s int) int) *topology.Topology {
	t := topology.Empty(epoch, 16)
	t.Version = version
	for i, a := range addrs {
		t.Nodes = append(t.Nodes, topology.Node{ID: fmt.Sprintf("dn-%d", i), RESPAddr: a, State: topology.Up})
	}
	for s := range t.Owners {
		t.Owners[s] = owner(s)
		t.Target[s] = t.Owners[s]
	}
	return t
}

// RESPHandler answers one command of a RESPServer. args[0] is the command
// name in lower case.
type RESPHandler func(conn redcon.Conn, args []string)

// RESPServer is a scripted RESP server.
type RESPServer struct {
	srv  *redcon.Server
	addr string
	// Calls counts the commands given to the handler (HELLO and the
	// connection set-up go-redis sends are answered without it).
	Calls atomic.Int64
}

// NewRESPServer starts a RESP server that answers with h and stops it when
// the test ends.
func NewRESPServer(t testing.TB, h RESPHandler) *RESPServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	r := &RESPServer{addr: ln.Addr().String()}
	r.srv = redcon.NewServerNetwork("tcp", r.addr, func(conn redcon.Conn, cmd redcon.Command) {
		args := make([]string, len(cmd.Args))
		for i, a := range cmd.Args {
			args[i] = string(a)
		}
		args[0] = strings.ToLower(args[0])
		switch args[0] {
		case "hello":
			conn.WriteError("ERR unknown command 'hello'")
		case "ping":
			conn.WriteString("PONG")
		default:
			r.Calls.Add(1)
			h(conn, args)
		}
	}, nil, nil)
	go r.srv.Serve(ln)
	t.Cleanup(func() {
		r.srv.Close()
		ln.Close()
	})
	return r
}

// Addr returns the server's address.
func (r *RESPServer) Addr() string { return r.addr }
