package datanode

import (
	"cmp"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// subKind is one of the three kinds of Pub/Sub subscription.
type subKind int

const (
	kindChannel subKind = iota // SUBSCRIBE, PUBLISH
	kindPattern                // PSUBSCRIBE: glob patterns over PUBLISH's channels
	kindShard                  // SSUBSCRIBE, SPUBLISH
	numSubKinds
)

// subKindWords are the words of each kind's replies and messages.
var subKindWords = [numSubKinds]struct{ subscribe, unsubscribe, message string }{
	kindChannel: {"subscribe", "unsubscribe", "message"},
	kindPattern: {"psubscribe", "punsubscribe", "pmessage"},
	kindShard:   {"ssubscribe", "sunsubscribe", "smessage"},
}

// pubsubHub is the node's registry of Pub/Sub subscriptions: for each kind,
// the clients subscribed to each channel (or pattern). Its lock also guards
// every client's own record of its subscriptions (client.subs), because a
// client's subscriptions are dropped from whichever goroutine unregisters it.
//
// Publishers hold the lock shared while they push a message to each
// subscriber's outbox; (un)subscribing holds it exclusively, so that a
// client's (un)subscribe reply and the messages of that channel are ordered.
type pubsubHub struct {
	mu   sync.RWMutex
	subs [numSubKinds]map[string]*subscriberSet
	// clock is the time pushes check the soft output buffer limit at,
	// read under mu; tests replace it with setClock.
	clock func() time.Time
}

// subscriberSet is the clients subscribed to one channel or pattern, in no
// particular order (each client gets one copy of a message either way).
type subscriberSet struct {
	clients []*client
	index   map[*client]int
}

// clientSubs is one client's subscriptions of each kind, guarded by the
// hub's lock; counts mirror their sizes for lock-free readers (the
// subscribed-state check on every command, CLIENT LIST).
type clientSubs struct {
	names  [numSubKinds]map[string]uint64 // name -> order of subscription
	seq    uint64
	counts [numSubKinds]atomic.Int32
}

func newPubSubHub() *pubsubHub {
	h := &pubsubHub{clock: time.Now}
	for k := range h.subs {
		h.subs[k] = make(map[string]*subscriberSet)
	}
	return h
}

// setClock makes publish read the time from clock.
func (h *pubsubHub) setClock(clock func() time.Time) {
	h.mu.Lock()
	h.clock = clock
	h.mu.Unlock()
}

// inPubSub reports whether the client has any subscription: in that
// (RESP2) state only the Pub/Sub context commands are accepted, and the
// client is of the pubsub class. Any goroutine may call it.
func (c *client) inPubSub() bool {
	return c.subs.counts[kindChannel].Load()+c.subs.counts[kindPattern].Load()+c.subs.counts[kindShard].Load() > 0
}

// subscriptionCount is the count a (un)subscribe reply of kind carries:
// channels plus patterns, or shard channels alone. The caller holds the
// hub's lock.
func (c *client) subscriptionCount(kind subKind) int64 {
	if kind == kindShard {
		return int64(len(c.subs.names[kindShard]))
	}
	return int64(len(c.subs.names[kindChannel]) + len(c.subs.names[kindPattern]))
}

// subscribe subscribes c to names of kind and replies for each, as Redis's
// (P|S)SUBSCRIBE. Only c's owner calls it.
func (h *pubsubHub) subscribe(c *client, kind subKind, names [][]byte) {
	h.mu.Lock()
	defer h.mu.Unlock()
	c.takeOutbox() // messages already pushed precede the replies
	if c.subs.names[kind] == nil {
		c.subs.names[kind] = make(map[string]uint64)
	}
	for _, b := range names {
		name := string(b)
		if _, dup := c.subs.names[kind][name]; !dup {
			c.subs.seq++
			c.subs.names[kind][name] = c.subs.seq
			c.subs.counts[kind].Add(1)
			set := h.subs[kind][name]
			if set == nil {
				set = &subscriberSet{index: make(map[*client]int)}
				h.subs[kind][name] = set
			}
			set.index[c] = len(set.clients)
			set.clients = append(set.clients, c)
		}
		c.replySubscription(subKindWords[kind].subscribe, b, c.subscriptionCount(kind))
	}
}

// unsubscribe removes c's subscriptions of kind to names, or to all when
// names is empty, and replies for each as Redis's (P|S)UNSUBSCRIBE. Only c's
// owner calls it.
func (h *pubsubHub) unsubscribe(c *client, kind subKind, names [][]byte) {
	h.mu.Lock()
	defer h.mu.Unlock()
	c.takeOutbox() // messages pushed before the unsubscription precede its reply
	word := subKindWords[kind].unsubscribe
	if len(names) == 0 {
		all := c.subscribedNames(kind)
		if len(all) == 0 {
			c.replyPush(3)
			c.replyBulkString(word)
			c.replyNull()
			c.replyInt(c.subscriptionCount(kind))
			return
		}
		for _, name := range all {
			h.remove(c, kind, name)
			c.replySubscription(word, []byte(name), c.subscriptionCount(kind))
		}
		return
	}
	for _, b := range names {
		h.remove(c, kind, string(b))
		c.replySubscription(word, b, c.subscriptionCount(kind))
	}
}

// dropClient removes every subscription of c, without replies: for a
// closed connection and for RESET. Any goroutine may call it.
func (h *pubsubHub) dropClient(c *client) {
	if !c.inPubSub() {
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	for kind := range numSubKinds {
		for name := range c.subs.names[kind] {
			h.remove(c, kind, name)
		}
	}
}

// subscribedNames lists c's subscriptions of kind in the order they were
// made (Redis's order for patterns; it lists channels in hash order). The
// caller holds the hub's lock.
func (c *client) subscribedNames(kind subKind) []string {
	m := c.subs.names[kind]
	names := make([]string, 0, len(m))
	for name := range m {
		names = append(names, name)
	}
	slices.SortFunc(names, func(a, b string) int { return cmp.Compare(m[a], m[b]) })
	return names
}

// remove drops c's subscription of kind to name, if any. The caller holds
// the hub's lock exclusively.
func (h *pubsubHub) remove(c *client, kind subKind, name string) {
	if _, ok := c.subs.names[kind][name]; !ok {
		return
	}
	delete(c.subs.names[kind], name)
	c.subs.counts[kind].Add(-1)
	set := h.subs[kind][name]
	i := set.index[c]
	last := set.clients[len(set.clients)-1]
	set.clients[i] = last
	set.index[last] = i
	set.clients[len(set.clients)-1] = nil
	set.clients = set.clients[:len(set.clients)-1]
	delete(set.index, c)
	if len(set.clients) == 0 {
		delete(h.subs[kind], name)
	}
}

// publish delivers msg, published to channel (a shard channel when shard
// is set), to the subscribers of this node, and returns how many received
// it: one per channel subscriber and one per matching pattern of each
// pattern subscriber. It is the single path by which a message reaches
// subscribers; a cluster-wide PUBLISH would run it on every node. It never
// waits for a subscriber: messages are queued in the subscribers' outboxes
// (see outbox), and a subscriber past its output buffer limit is
// disconnected instead. Any goroutine may call it.
func (s *Server) publish(channel, msg []byte, shard bool) int64 {
	h := s.pubsub
	lim := s.settings.Load().OutputBufferLimits.PubSub
	kind := kindChannel
	if shard {
		kind = kindShard
	}
	var receivers, queued int64
	var now time.Time
	// frame is the message in RESP2; RESP3 clients get push3, the same
	// bytes as a push ('>' for '*'), made when first needed.
	var push3 []byte
	deliver := func(set *subscriberSet, frame []byte) {
		push3 = nil
		for _, c := range set.clients {
			f := frame
			if c.respVer.load() == 3 {
				if push3 == nil {
					push3 = slices.Clone(frame)
					push3[0] = '>'
				}
				f = push3
			}
			if c.push(f, lim, now) {
				queued += int64(len(f))
			}
		}
		receivers += int64(len(set.clients))
	}
	h.mu.RLock()
	now = h.clock()
	if set := h.subs[kind][string(channel)]; set != nil {
		deliver(set, appendMessage(nil, subKindWords[kind].message, nil, channel, msg))
	}
	if !shard {
		for pattern, set := range h.subs[kindPattern] {
			if stringMatch([]byte(pattern), channel) {
				deliver(set, appendMessage(nil, "pmessage", []byte(pattern), channel, msg))
			}
		}
	}
	h.mu.RUnlock()
	s.memory.clientBuffers.Add(queued)
	return receivers
}

// appendMessage appends a message as RESP2 pushes it: [message channel
// payload], or [pmessage pattern channel payload] when pattern is given.
func appendMessage(b []byte, word string, pattern, channel, msg []byte) []byte {
	n := 3
	if pattern != nil {
		n = 4
	}
	b = append(b, '*')
	b = strconv.AppendInt(b, int64(n), 10)
	b = append(b, "\r\n"...)
	b = appendBulk(b, []byte(word))
	if pattern != nil {
		b = appendBulk(b, pattern)
	}
	b = appendBulk(b, channel)
	return appendBulk(b, msg)
}

// appendBulk appends a RESP bulk string.
func appendBulk(b, s []byte) []byte {
	b = append(b, '$')
	b = strconv.AppendInt(b, int64(len(s)), 10)
	b = append(b, "\r\n"...)
	b = append(b, s...)
	return append(b, "\r\n"...)
}

// replySubscription appends a (un)subscribe confirmation: [word name count],
// a push in RESP3.
func (c *client) replySubscription(word string, name []byte, count int64) {
	c.replyPush(3)
	c.replyBulkString(word)
	c.replyBulk(name)
	c.replyInt(count)
}

// channelNames lists the channels of kind with subscribers that match
// pattern (all when pattern is nil), sorted.
func (h *pubsubHub) channelNames(kind subKind, pattern []byte) []string {
	h.mu.RLock()
	var names []string
	for name := range h.subs[kind] {
		if pattern == nil || stringMatch(pattern, []byte(name)) {
			names = append(names, name)
		}
	}
	h.mu.RUnlock()
	slices.Sort(names)
	return names
}

// numSubscribers returns how many clients subscribe to name of kind.
func (h *pubsubHub) numSubscribers(kind subKind, name []byte) int64 {
	h.mu.RLock()
	defer h.mu.RUnlock()
	if set := h.subs[kind][string(name)]; set != nil {
		return int64(len(set.clients))
	}
	return 0
}

// numNames returns how many channels (or patterns) of kind have
// subscribers: PUBSUB NUMPAT and INFO's pubsub_* figures.
func (h *pubsubHub) numNames(kind subKind) int64 {
	h.mu.RLock()
	defer h.mu.RUnlock()
	return int64(len(h.subs[kind]))
}
