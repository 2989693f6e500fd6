package namenode

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"google.golang.org/grpc"

	"github.com/chkv/chkv/proto/chkvpb"
)

// watchBacklog is how many recent versions the hub keeps for watchers. A
// watcher that falls further behind skips to the newest version.
const watchBacklog = 32

// published is what the hub keeps of a version: only its shared frame, so
// the backlog holds no decoded topologies.
type published struct {
	seq   uint64
	frame frame
}

// hub hands published versions to watchers. Each watcher is one gRPC
// stream served by its own goroutine, which sends the versions after the
// last one it sent, in order, and waits for the next publication when it
// has sent the newest. A watcher blocked on a full stream holds up no one;
// when it is writable again it continues with the next version if the
// backlog still has it, else with the newest.
type hub struct {
	mu      sync.RWMutex
	backlog [watchBacklog]published // by seq % watchBacklog
	latest  published
	wake    chan struct{} // closed by the next publish

	watchers atomic.Int64
}

func newHub() *hub { return &hub{wake: make(chan struct{})} }

// publish makes v the newest version and wakes every waiting watcher.
// Calls are ordered by the caller (Server.commitMu), with increasing seq.
func (h *hub) publish(v *version) {
	p := published{seq: v.seq, frame: v.frame}
	h.mu.Lock()
	h.backlog[p.seq%watchBacklog] = p
	h.latest = p
	close(h.wake)
	h.wake = make(chan struct{})
	h.mu.Unlock()
}

// current returns the newest version.
func (h *hub) current() published {
	h.mu.RLock()
	defer h.mu.RUnlock()
	return h.latest
}

// next returns the version to send after the one numbered sent, or, when
// sent is the newest, false and a channel closed at the next publication.
func (h *hub) next(sent uint64) (published, bool, <-chan struct{}) {
	h.mu.RLock()
	defer h.mu.RUnlock()
	if h.latest.seq <= sent {
		return published{}, false, h.wake
	}
	if p := h.backlog[(sent+1)%watchBacklog]; p.seq == sent+1 {
		return p, true, nil
	}
	return h.latest, true, nil
}

// serve streams versions to one watcher until its stream ends: the current
// version at once, then every newer one. Between versions it sends a beat
// right after the first and then every beat, so that the watcher can tell a
// quiet NameNode from a stalled one.
func (h *hub) serve(ctx context.Context, stream grpc.ServerStream, beat time.Duration) error {
	h.watchers.Add(1)
	defer h.watchers.Add(-1)
	beatMsg := &chkvpb.WatchEvent{BeatMs: uint32(beat.Milliseconds())}
	beats := time.NewTimer(0) // the first beat follows the first version
	defer beats.Stop()
	p := h.current()
	for {
		if err := stream.SendMsg(p.frame); err != nil {
			return err
		}
		sent := p.seq
		for {
			var ok bool
			var wake <-chan struct{}
			if p, ok, wake = h.next(sent); ok {
				break
			}
			select {
			case <-wake:
			case <-beats.C:
				if err := stream.SendMsg(beatMsg); err != nil {
					return err
				}
				beats.Reset(beat)
			case <-ctx.Done():
				return ctx.Err()
			}
		}
	}
}
