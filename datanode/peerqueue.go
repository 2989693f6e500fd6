package datanode

import (
	"context"
	"sync"
	"time"
)

// fanoutLimits bound the fan-out's memory and waits per peer.
type fanoutLimits struct {
	// queueMessages and queueBytes bound a peer's queue: a message that
	// would pass either is dropped (one message is always accepted into
	// an empty queue, so a large message is not refused for its size
	// alone).
	queueMessages, queueBytes int
	// batchMessages and batchBytes bound one RPC's batch.
	batchMessages, batchBytes int
	// timeout bounds one RPC; backoff is the pause after one failed.
	timeout, backoff time.Duration
	// maxMessage is the largest message forwarded: a peer's gRPC server
	// refuses requests over its 4 MiB default, which it reads before it
	// checks the cluster token, so it is not raised.
	maxMessage int
}

// defaultFanoutLimits are the limits of a server's fan-out.
var defaultFanoutLimits = fanoutLimits{
	queueMessages: 16384, queueBytes: 16 << 20,
	batchMessages: 512, batchBytes: 1 << 20,
	timeout: 5 * time.Second, backoff: 200 * time.Millisecond,
	maxMessage: 4<<20 - 64<<10,
}

// pubMessage is one PUBLISH forwarded to the other DataNodes. Its bytes
// are the fan-out's own copy, shared read-only by every peer's queue.
type pubMessage struct{ channel, message []byte }

// size is what m counts against a queue's byte bound.
func (m pubMessage) size() int { return len(m.channel) + len(m.message) }

// sendFunc delivers a batch to a peer and returns once the peer has.
type sendFunc func(ctx context.Context, msgs []pubMessage) error

// peerQueue is the bounded FIFO of messages for one peer and its sender:
// enqueue (any goroutine) never blocks; run (one goroutine) sends the
// queue's messages in order, one batch per call of send, each call
// bounded by the timeout.
type peerQueue struct {
	id, addr string
	limits   fanoutLimits
	send     sendFunc
	cancel   context.CancelFunc // stops run

	mu    sync.Mutex
	msgs  []pubMessage
	bytes int
	ready chan struct{} // holds a token while msgs is not empty
}

// newPeerQueue returns the empty queue of peer id at addr; cancel stops its
// run.
func newPeerQueue(id, addr string, limits fanoutLimits, send sendFunc, cancel context.CancelFunc) *peerQueue {
	return &peerQueue{id: id, addr: addr, limits: limits, send: send, cancel: cancel, ready: make(chan struct{}, 1)}
}

// enqueue queues m and reports whether it fit under the queue's bounds.
func (p *peerQueue) enqueue(m pubMessage) bool {
	p.mu.Lock()
	n := len(p.msgs)
	if n > 0 && (n >= p.limits.queueMessages || p.bytes+m.size() > p.limits.queueBytes) {
		p.mu.Unlock()
		return false
	}
	p.msgs = append(p.msgs, m)
	p.bytes += m.size()
	p.mu.Unlock()
	if n == 0 {
		select {
		case p.ready <- struct{}{}:
		default:
		}
	}
	return true
}

// take removes the next batch from the queue; it is empty when the queue
// is.
func (p *peerQueue) take() []pubMessage {
	p.mu.Lock()
	defer p.mu.Unlock()
	n, size := 0, 0
	for n < len(p.msgs) && n < p.limits.batchMessages {
		if n > 0 && size+p.msgs[n].size() > p.limits.batchBytes {
			break
		}
		size += p.msgs[n].size()
		n++
	}
	batch := append([]pubMessage(nil), p.msgs[:n]...)
	clear(p.msgs[:n])
	p.msgs = p.msgs[n:]
	if len(p.msgs) == 0 {
		p.msgs = nil // let the backing array go
	}
	p.bytes -= size
	return batch
}

// counters are where run reports what became of each message.
type counters interface {
	delivered(n int)
	lost(n int)
}

// delivered and lost make the fan-out the counters of its peers' senders.
func (f *fanout) delivered(n int) { f.sent.Add(int64(n)) }
func (f *fanout) lost(n int)      { f.dropped.Add(int64(n)) }

// run sends the queue's batches until ctx ends. A batch whose call fails
// is dropped and counted, and run pauses for the backoff so that a dead
// peer costs no busy loop; what queues meanwhile is sent afterwards, or
// dropped when the queue is full.
func (p *peerQueue) run(ctx context.Context, c counters) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-p.ready:
		}
		for batch := p.take(); len(batch) > 0; batch = p.take() {
			cctx, cancel := context.WithTimeout(ctx, p.limits.timeout)
			err := p.send(cctx, batch)
			cancel()
			if err == nil {
				c.delivered(len(batch))
				continue
			}
			c.lost(len(batch))
			select {
			case <-ctx.Done():
				return
			case <-time.After(p.limits.backoff):
			}
		}
	}
}

// stop ends the queue's sender; what it holds is dropped.
func (p *peerQueue) stop() { p.cancel() }
