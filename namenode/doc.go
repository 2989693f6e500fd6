// Package namenode is CHKV's control plane: it owns the hash ring, keeps
// track of which DataNodes are alive, and pushes every committed topology
// version to the DataNodes and to long-lived client watchers.
//
// A Server serves the NameNode gRPC service (Register, Heartbeat and
// HeartbeatStream, Watch, Status) and, optionally, a small HTTP endpoint
// (/healthz, /status). DataNodes heartbeat over one long-lived
// HeartbeatStream each, which costs the NameNode far less than a unary
// call per heartbeat. Its parts, one file each:
//
//   - registry.go: membership, leases and commits. Every change to the
//     membership goes through one commit path that computes the next
//     version with topology.Next; concurrent changes are committed together
//     (group commit), so a thousand DataNodes registering at once do not
//     cost a thousand ring computations.
//   - detector.go: failure detection (DESIGN.md §7). A DataNode that missed
//     three heartbeats is probed up to three times; if no probe is answered
//     it is declared down, and its slots are reassigned only once the lease
//     it may still hold has surely run out.
//   - push.go: one goroutine per DataNode delivers the newest version,
//     latest-wins, with timeouts and backoff.
//   - watch.go: watchers share one marshaled copy of each version; a slow
//     watcher skips to the newest version and never delays the others.
//   - codec.go: each version is marshaled once; watchers, pushes and the
//     topology in Register and Heartbeat replies all send those bytes.
//   - http.go: /healthz and /status.
//
// Time is an input: the failure detector's work is detectOnce(now), which
// the ticker loop calls and tests call directly with a controlled clock.
package namenode
