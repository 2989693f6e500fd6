package datanode

import (
	"cmp"
	"slices"
	"strconv"

	"github.com/chkv/chkv/common/slot"
)

// unsubscribeLostShards ends the shard subscriptions (SSUBSCRIBE) of every
// channel whose slot this node no longer serves, as Redis 7.0 does when a
// slot leaves a node (cluster.c removeChannelsInSlot, pubsub.c
// pubsubShardUnsubscribeAllClients): each subscriber of such a channel gets
// an [sunsubscribe channel count] push, count being its remaining shard
// subscriptions, and is left to subscribe again at the slot's new owner.
// A client left without subscriptions leaves the Pub/Sub state. Membership
// calls it after every topology change, and migration after every handoff.
func (s *Server) unsubscribeLostShards() {
	if s.own == nil {
		return
	}
	v := s.own.View()
	s.unsubscribeShards(func(sl int) bool { return !s.own.Serves(v, sl) })
}

// unsubscribeShards ends the shard subscriptions of the channels whose
// slot lost reports true, pushing each subscriber its sunsubscribe.
func (s *Server) unsubscribeShards(lost func(slot int) bool) {
	h := s.pubsub
	lim := s.settings.Load().OutputBufferLimits.PubSub
	var queued int64
	h.mu.Lock()
	now := h.clock()
	var names []string
	for name := range h.subs[kindShard] {
		if lost(slot.OfString(name)) {
			names = append(names, name)
		}
	}
	// Redis's order: by slot, then name.
	slices.SortFunc(names, func(x, y string) int {
		return cmp.Or(cmp.Compare(slot.OfString(x), slot.OfString(y)), cmp.Compare(x, y))
	})
	for _, name := range names {
		for _, c := range h.subs[kindShard][name].clients {
			delete(c.subs.names[kindShard], name)
			c.subs.counts[kindShard].Add(-1)
			frame := appendUnsubscribed(nil, "sunsubscribe", name, c.subscriptionCount(kindShard))
			if c.respVer.load() == 3 {
				frame[0] = '>' // a RESP3 push
			}
			if c.push(frame, lim, now) {
				queued += int64(len(frame))
			}
		}
		delete(h.subs[kindShard], name)
	}
	h.mu.Unlock()
	s.memory.clientBuffers.Add(queued)
}

// appendUnsubscribed appends an unsubscription push: [word name count].
func appendUnsubscribed(b []byte, word, name string, count int64) []byte {
	b = append(b, "*3\r\n"...)
	b = appendBulk(b, []byte(word))
	b = appendBulk(b, []byte(name))
	b = append(b, ':')
	b = strconv.AppendInt(b, count, 10)
	return append(b, "\r\n"...)
}
