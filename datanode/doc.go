// Package datanode is CHKV's data server: an in-memory keyspace that speaks
// the Redis protocol (RESP2), so redis-cli, redis-benchmark and Redis client
// libraries work against it unchanged.
//
// A Server owns its listener, client connections served either by event
// loops that each serve many connections from one thread, one loop per core
// by default (Config.IOModel "epoll", the default on Linux;
// eventloop_linux.go), or by one goroutine per connection ("goroutine", the
// default elsewhere; client.go), and a background cron (active expiry, idle
// timeouts, statistics). Requests are read by package resp, which enforces Redis's
// input limits; execute (command.go) checks existence, arity,
// authentication, slot ownership and memory, then runs the command.
//
// Commands live in one file per family, each returning its part of the
// per-Server command table that COMMAND also reports: connection.go,
// strings.go, keys.go (with scan.go and match.go), admin.go (with info.go,
// clientcmd.go, configcmd.go, commandinfo.go and docsyntax.go) and
// cluster.go.
//
// Standalone (no NameNodes configured) the node serves all 16384 slots. In
// cluster mode wiring.go builds and connects three packages: membership
// registers with the NameNodes, heartbeats them, holds the lease their
// replies grant and applies the topology versions they push; ownership is
// the slot-ownership table the command path asks (keys of other slots are
// answered with MOVED, as Redis Cluster does); migration moves slots to
// and from other DataNodes.
package datanode
