package fakenamenode

import (
	"sync"
	"sync/atomic"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/chkv/chkv/common/topology"
	"github.com/chkv/chkv/proto/chkvpb"
)

// watch is the NameNode's Watch side: the current topology and the open
// streams. Its fields other than the atomics are guarded by NameNode.mu.
type watch struct {
	cur      []byte // marshaled current topology; nil before Push
	watchers map[*watcher]struct{}
	beat     time.Duration // 0: no beats

	stalled    atomic.Bool
	beatsSent  atomic.Int64
	watchCalls atomic.Int64
	stopOnce   sync.Once
}

// watcher is one open Watch stream.
type watcher struct {
	events chan []byte
	cut    chan struct{} // closed by Break
}

func (w *watch) init() { w.watchers = make(map[*watcher]struct{}) }

// Push makes t the current topology and sends it to every watcher, even
// when it is older than the one before (tests of the client's filtering).
// A watcher too slow to take it skips it, as the real NameNode's may.
func (n *NameNode) Push(t *topology.Topology) {
	b, err := proto.Marshal(t.Proto())
	if err != nil {
		panic(err)
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	n.cur = b
	for w := range n.watchers {
		select {
		case w.events <- b:
		default:
		}
	}
}

// Break ends every open Watch stream with UNAVAILABLE; the NameNode keeps
// serving new ones.
func (n *NameNode) Break() {
	n.mu.Lock()
	defer n.mu.Unlock()
	for w := range n.watchers {
		close(w.cut)
		delete(n.watchers, w)
	}
}

// SetBeat makes the Watch streams opened from now on send a beat every d,
// as the real NameNode does; 0 sends none.
func (n *NameNode) SetBeat(d time.Duration) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.beat = d
}

// BeatsSent returns the number of beats sent so far, on all streams.
func (n *NameNode) BeatsSent() int64 { return n.beatsSent.Load() }

// Stall makes every Watch stream, open or new, go silent without ending,
// as a paused NameNode's does: no more versions and no beats.
func (n *NameNode) Stall() { n.stalled.Store(true) }

// Watchers returns the number of open Watch streams.
func (n *NameNode) Watchers() int {
	n.mu.Lock()
	defer n.mu.Unlock()
	return len(n.watchers)
}

// WatchCalls returns the number of Watch calls received so far.
func (n *NameNode) WatchCalls() int64 { return n.watchCalls.Load() }

// Watch implements chkvpb.NameNodeServer: the current topology at once,
// then every pushed one, with beats as SetBeat set, until the client
// leaves, Break or Stop.
func (n *NameNode) Watch(_ *chkvpb.WatchRequest, stream grpc.ServerStreamingServer[chkvpb.WatchEvent]) error {
	n.watchCalls.Add(1)
	w := &watcher{events: make(chan []byte, 64), cut: make(chan struct{})}
	n.mu.Lock()
	if n.cur != nil {
		w.events <- n.cur
	}
	n.watchers[w] = struct{}{}
	beat := n.beat
	n.mu.Unlock()
	defer func() {
		n.mu.Lock()
		delete(n.watchers, w)
		n.mu.Unlock()
	}()
	var beats <-chan time.Time
	if beat > 0 {
		tick := time.NewTicker(beat)
		defer tick.Stop()
		beats = tick.C
	}
	for {
		var ev *chkvpb.WatchEvent
		select {
		case <-stream.Context().Done():
			return stream.Context().Err()
		case <-w.cut:
			return status.Error(codes.Unavailable, "fakenamenode: stream broken")
		case b := <-w.events:
			ev = &chkvpb.WatchEvent{Topology: b}
		case <-beats:
			ev = &chkvpb.WatchEvent{BeatMs: uint32(beat.Milliseconds())}
		}
		if n.stalled.Load() {
			continue
		}
		if err := stream.Send(ev); err != nil {
			return err
		}
		if ev.GetBeatMs() > 0 {
			n.beatsSent.Add(1)
		}
	}
}
