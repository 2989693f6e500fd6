// Package ownership is a DataNode's slot-ownership table: the topology the
// node currently routes by (View), the per-slot gates that keep writes out
// of a slot while its ownership changes, and the handoffs not yet
// committed by the NameNode (overrides). The command path asks Admit
// whether the node serves a slot; membership publishes new views with
// SetView; migration records handoffs through the override accessors.
//
// It depends only on common/* and datanode/store, never on membership,
// migration or the server.
package ownership
