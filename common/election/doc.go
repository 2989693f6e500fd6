// Package election holds the rules of the NameNode pair's control protocol
// (DESIGN.md §6, §7, §8a) with no clock and no I/O: a DataNode witness's
// promises, votes, staging and leases, and the NameNode's decisions on
// majorities, candidate epochs, fencing, campaigning and lease expiry.
// Time is an input (durations on the caller's monotonic clock) and
// nothing here blocks or sends: the DataNode's membership package and the
// NameNode call these rules through thin adapters, and the deterministic
// simulator in helper/sim calls the same ones, so what the simulator
// checks is the rules the processes run.
package election
