// Package client is CHKV's Go SDK.
//
// A Client learns the cluster's topology from a NameNode, keeps its own copy
// of the slot table, and sends each command straight to the DataNode that
// owns the key's slot, over a pool of RESP connections per DataNode (one
// go-redis client per address). Routing is a CRC16 of the key and one
// array lookup; it adds no round trip.
//
//	c, err := client.New(ctx, client.Config{NameNodes: []string{"10.0.0.1:10101", "10.0.0.2:10101"}})
//	if err != nil { ... }
//	defer c.Close()
//	err = c.Set(ctx, "user:1", "ada", client.WithTTL(time.Hour))
//	v, err := c.Get(ctx, "user:1") // ErrNotFound when missing
//
// # Topology
//
// New watches one NameNode of the list (NameNode.Watch, a stream of
// topology versions), rotating through the list with backoff when the
// stream breaks, and returns once the first topology has arrived. Versions
// older by (epoch, version) than the one held are ignored. While no
// NameNode answers, the client keeps serving from the last topology it has.
//
// # Redirects and failures
//
// A DataNode that does not own a key's slot answers MOVED; the client
// follows it (at most WithMaxRedirects times per command), remembers the new
// owner of the slot until the next topology arrives, and asks for a
// refresh. TRYAGAIN (a slot in cutover) and CLUSTERDOWN (no owner) are
// retried with capped exponential backoff until the call's context ends
// (or, without a deadline, for WithRetryTimeout); the error then wraps
// ErrTryAgain or ErrClusterDown and the context's error.
//
// A connection failure marks the topology suspect: the client asks for a
// refresh, waits briefly for a newer version, and retries. A command that
// is not idempotent (INCR, INCRBY, SET with NX or XX) is retried only when
// it surely was not sent (the connection could not be opened); otherwise
// the error wraps ErrUncertain, since the DataNode may have applied it.
//
// # Multi-key commands and pipelines
//
// MGet, MSet, Del and Exists accept keys of any slots: the client splits
// them by slot (a DataNode refuses cross-slot commands, as Redis Cluster
// does), sends one command per slot, pipelined per DataNode and in
// parallel across DataNodes, and reassembles the replies in order. They are
// atomic per slot only. Pipeline queues single-key commands and does the
// same for them.
//
// # Administration
//
// Admin makes an operator's calls, the ones chkvctl is a thin layer over:
// Status (the NameNode pair and the DataNodes as Go types), Drain and
// WaitDrained (progress as a DrainProgress, the type the DataNode's drain
// port prints too), Undrain, Remove and Recover. Calls that only the active
// NameNode serves go to it, found from any address of the pair, waiting
// for one during an election up to WithAdminTimeout.
//
// All methods of Client and Admin and the values they return are safe for
// concurrent use; a Pipeline is not.
package client
