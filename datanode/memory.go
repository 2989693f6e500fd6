package datanode

import (
	"os"
	"strconv"
	"strings"
	"sync/atomic"
)

// memoryAccount holds the memory figures beyond the store's own count: the
// live bytes of client buffers, kept current by the connections, and the
// process's resident set size, which is too costly to read on every command
// and is refreshed by the cron.
//
// Only the store's bytes and the client buffers count against maxmemory, as
// in Redis: the Go heap is not counted, because it holds garbage a burst of
// connections leaves behind until the next collection, and evicting or
// refusing writes for garbage is what maxmemory must never do.
type memoryAccount struct {
	clientBuffers atomic.Int64 // pending query bytes plus unsent reply bytes, all clients
	rss           atomic.Int64 // resident set size, bytes, as last sampled
	peak          atomic.Int64 // peak of used memory, bytes
}

// sample refreshes the figures read from the operating system.
func (m *memoryAccount) sample() {
	m.rss.Store(readRSS())
}

// readRSS returns the process's resident set size from /proc, or 0 where
// that is not available.
func readRSS() int64 {
	b, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		return 0
	}
	fields := strings.Fields(string(b))
	if len(fields) < 2 {
		return 0
	}
	pages, err := strconv.ParseInt(fields[1], 10, 64)
	if err != nil {
		return 0
	}
	return pages * int64(os.Getpagesize())
}

// usedMemory is Redis's used_memory, the figure maxmemory is held to: the
// store's data and indexes plus the live bytes of the clients' query and
// reply buffers. Idle connections, the Go heap and its garbage do not count.
func (s *Server) usedMemory() int64 {
	used := s.store.UsedBytes() + s.memory.clientBuffers.Load()
	for {
		peak := s.memory.peak.Load()
		if used <= peak || s.memory.peak.CompareAndSwap(peak, used) {
			return used
		}
	}
}

// setQueryBuffer records that n bytes of the client's input wait to be
// parsed, keeping the server's total of client buffers current. Only the
// connection's owner calls it.
func (c *client) setQueryBuffer(n int64) {
	if d := n - c.qbuf.Swap(n); d != 0 {
		c.srv.memory.clientBuffers.Add(d)
	}
}

// setOutputBuffer records that n reply bytes wait to be sent, keeping the
// server's total of client buffers current. Only the connection's owner
// calls it.
func (c *client) setOutputBuffer(n int64) {
	if d := n - c.outLen.Swap(n); d != 0 {
		c.srv.memory.clientBuffers.Add(d)
	}
}

// releaseBuffers takes a closed client's buffers out of the server's total.
func (c *client) releaseBuffers() {
	c.setQueryBuffer(0)
	c.setOutputBuffer(0)
	c.releaseOutbox()
}
