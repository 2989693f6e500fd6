package datanode

import (
	"strings"

	"github.com/chkv/chkv/common/slot"
)

// redirectBlocked releases, in cluster mode, the clients blocked on a key
// whose slot this node no longer serves (handed off, or moved by a new
// topology) with the reply a new command on the key would get, MOVED or
// CLUSTERDOWN, as Redis Cluster's clusterRedirectBlockedClientIfNeeded. A
// handoff in doubt (TRYAGAIN) keeps them blocked. The cron calls it.
//
// The slots are checked without the hub's lock: Admit takes the slot's
// gate, which a blocking command holds while it takes the hub's lock.
func (s *Server) redirectBlocked() {
	h := &s.blocking
	if s.own == nil || h.blocked.Load() == 0 {
		return
	}
	h.mu.Lock()
	slots := map[int][]*waiter{}
	for key, ws := range h.waiters {
		id := slot.OfString(key)
		slots[id] = append(slots[id], ws...)
	}
	h.mu.Unlock()
	for id, ws := range slots {
		gate, reject := s.own.Admit(id)
		if gate != nil {
			gate.RUnlock()
		}
		if reject == "" || strings.HasPrefix(reject, "TRYAGAIN") {
			continue
		}
		h.mu.Lock()
		for _, w := range ws {
			if !w.done.Load() {
				h.release(w, []byte("-"+reject+"\r\n"))
			}
		}
		h.mu.Unlock()
	}
}
