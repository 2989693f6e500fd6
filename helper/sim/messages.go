package sim

import (
	"time"

	"github.com/chkv/chkv/common/election"
	"github.com/chkv/chkv/common/topology"
)

// The messages, as the gRPC calls of the real processes carry them.
// Topologies are immutable once made and shared by pointer.

// DataNode to NameNode.
type (
	hbReq struct {
		id             uint64
		node           string
		epoch, version uint64
		promised       uint64
		holder         election.Ref // to whom promised is
	}
	regReq struct {
		id   uint64
		node string
		top  *topology.Topology // nil when it holds none
		// promised is the witness's promised epoch.
		promised uint64
	}
	voteResp struct {
		round  uint64
		node   string
		ballot election.Ballot
	}
	stageResp struct {
		round          uint64
		node           string
		stale          bool
		promised       uint64
		epoch, version uint64
	}
	probeResp struct {
		round  uint64
		node   string
		fenced bool
	}
)

// NameNode to DataNode.
type (
	hbResp struct {
		from   string // the NameNode's stream
		id     uint64
		nn     election.Ref
		epoch  uint64
		active bool
		lease  time.Duration
		rejoin bool
		behind bool // the NameNode holds an older topology and forgot the node
		top    *topology.Topology
	}
	regResp struct {
		id    uint64
		nn    election.Ref
		epoch uint64
		lease time.Duration
		top   *topology.Topology
	}
	voteReq struct {
		round uint64
		cand  election.Ref
		epoch uint64
	}
	stageReq struct {
		round uint64
		nn    election.Ref
		top   *topology.Topology
	}
	pushReq struct {
		nn  election.Ref
		top *topology.Topology
	}
	probeReq struct {
		round uint64
		epoch uint64
	}
)

// NameNode to NameNode.
type (
	// peerVoteReq asks the peer for its vote when no DataNode is known;
	// peerVoteResp answers it.
	peerVoteReq struct {
		cand  election.Ref
		epoch uint64
	}
	peerVoteResp struct {
		epoch    uint64
		granted  bool
		promised uint64
	}
	// followReq opens (or keeps open) the standby's Follow stream.
	followReq struct {
		from string
		ack  bool // an acknowledgement on the open stream
	}
	// followNo refuses it: the peer is not active.
	followNo struct{}
	// followEv is one event of the Follow stream.
	followEv struct {
		nn     election.Ref
		epoch  uint64
		quorum bool
		top    *topology.Topology
	}
)
