package namenode

import (
	"google.golang.org/grpc/encoding"
	"google.golang.org/grpc/encoding/proto"
	"google.golang.org/grpc/mem"
	"google.golang.org/protobuf/encoding/protowire"
	protobuf "google.golang.org/protobuf/proto"

	"github.com/chkv/chkv/common/topology"
	"github.com/chkv/chkv/proto/chkvpb"
)

// frame is a message already in wire form. Each committed version is
// encoded once as field 1 holding the marshaled Topology, which is at the
// same time a WatchEvent (bytes topology = 1) and a PushTopologyRequest
// (Topology topology = 1); every watcher and every DataNode push sends the
// same bytes. A frame is never modified once built.
type frame []byte

// codec is gRPC's proto codec, taught to reuse the one encoding of each
// version: a frame is sent as it is, and a Register or Heartbeat reply
// carrying the current version's topology gets that topology's bytes
// spliced in instead of marshaling it again (it is the bulk of the reply;
// a thousand DataNodes registering at once would otherwise marshal it a
// thousand times).
type codec struct {
	encoding.CodecV2
	current func() *version // nil: no splicing
}

func newCodec(current func() *version) codec {
	return codec{CodecV2: encoding.GetCodecV2(proto.Name), current: current}
}

// Marshal encodes v for the wire. The returned buffers may alias a
// version's encoding, which is never modified.
func (c codec) Marshal(v any) (mem.BufferSlice, error) {
	switch m := v.(type) {
	case frame:
		return mem.BufferSlice{mem.SliceBuffer(m)}, nil
	case *chkvpb.RegisterResponse:
		if b := c.encoded(m.GetTopology()); b != nil {
			t := m.Topology
			m.Topology = nil // the reply belongs to this call alone
			defer func() { m.Topology = t }()
			return splice(m, 3, b)
		}
	case *chkvpb.HeartbeatResponse:
		if b := c.encoded(m.GetTopology()); b != nil {
			t := m.Topology
			m.Topology = nil
			defer func() { m.Topology = t }()
			return splice(m, 2, b)
		}
	}
	return c.CodecV2.Marshal(v)
}

// encoded returns the marshaled form of t when t is the current version's
// topology, else nil.
func (c codec) encoded(t *chkvpb.Topology) []byte {
	if t == nil || c.current == nil {
		return nil
	}
	if v := c.current(); v != nil && v.pb == t {
		return v.frame[v.body:]
	}
	return nil
}

// splice encodes m followed by field num holding the message bytes b.
// Fields may come in any order on the wire.
func splice(m protobuf.Message, num protowire.Number, b []byte) (mem.BufferSlice, error) {
	head, err := protobuf.MarshalOptions{}.MarshalAppend(nil, m)
	if err != nil {
		return nil, err
	}
	head = protowire.AppendTag(head, num, protowire.BytesType)
	head = protowire.AppendVarint(head, uint64(len(b)))
	return mem.BufferSlice{mem.SliceBuffer(head), mem.SliceBuffer(b)}, nil
}

// version is one published topology with the forms it is sent in. All of
// it is shared and read-only.
type version struct {
	seq   uint64 // publication order, for watchers
	topo  *topology.Topology
	pb    *chkvpb.Topology // for Register and Heartbeat replies
	frame frame            // for watchers and pushes
	body  int              // frame[body:] is the marshaled Topology
}

func newVersion(seq uint64, t *topology.Topology) *version {
	pb := t.Proto()
	opts := protobuf.MarshalOptions{}
	size := opts.Size(pb)
	buf := protowire.AppendTag(make([]byte, 0, size+16), 1, protowire.BytesType)
	buf = protowire.AppendVarint(buf, uint64(size))
	body := len(buf)
	buf, err := opts.MarshalAppend(buf, pb)
	if err != nil {
		// Only invalid UTF-8 in a string fails, and every string in a
		// topology was validated when its request was unmarshaled.
		panic("namenode: marshal topology: " + err.Error())
	}
	return &version{seq: seq, topo: t, pb: pb, frame: buf, body: body}
}

// before reports whether (epoch a, version av) is older than (b, bv).
func before(a, av, b, bv uint64) bool {
	if a != b {
		return a < b
	}
	return av < bv
}
