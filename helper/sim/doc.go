// Package sim is a deterministic simulator of the NameNode pair and its
// DataNode witnesses (DESIGN.md §8a). The NameNodes and DataNodes are
// models whose every protocol decision is a call into common/election
// (votes, promises, staging, leases, majorities, fencing, campaigning,
// lease expiry) and common/topology (versions, placement); the simulator
// supplies what the processes get from gRPC and timers: a simulated
// network that drops, delays, reorders and duplicates messages and can be
// partitioned (one-way too), and a simulated clock per node that drifts
// within timing.MaxDriftPPM. Nodes crash and restart under the same ID (a
// NameNode as a new incarnation) and pause.
//
// Every random choice comes from one seed, so a run replays exactly. After
// every event the checker verifies the safety properties of DESIGN.md §9:
// at most one NameNode commits in an epoch and no epoch is used by two
// incarnations; one (epoch, version) names one topology; no committed
// version is lost; no two DataNodes may serve one slot at one instant
// (leases on the drifting clocks). After the faults stop it checks that an
// active NameNode exists and every slot is served within a bound.
package sim
