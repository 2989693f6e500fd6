// Package fakenamenode is the one fake NameNode of CHKV's tests: a gRPC
// NameNode server on 127.0.0.1:0 whose answers the test scripts.
//
// It covers what the SDK, chkvctl, the NameNode set (common/nnset) and
// DataNode membership ask a NameNode:
//
//   - a role: active, or a standby that names the active and its address
//     (StandbyOf), refusing Drain as UNAVAILABLE the way a standby does;
//   - refusals: the next k Drain calls fail UNAVAILABLE, as during an
//     election (Refuse);
//   - a table of DataNodes "dn-0", "dn-1"... (AddDataNodes) that Drain
//     validates as the NameNode does and Status reports, each Status call
//     moving Step slots of every draining node as a migration would;
//   - Watch streams of pushed topologies, with beats, and faults: Break,
//     Stall, Stop;
//   - Status overridden outright (SetStatus) or touched by a hook before
//     each answer (OnStatus);
//   - the calls received (Drains, StatusCalls, WatchCalls, Watchers);
//   - handlers the test supplies for what the fake does not script itself:
//     Register, Heartbeat and HeartbeatStream (a DataNode's membership), or
//     a Drain answer of its own (SetHandlers).
//
// It imports no CHKV component, so the internal tests of any package,
// datanode's included, can use it without an import cycle.
package fakenamenode
