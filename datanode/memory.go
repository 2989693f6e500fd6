package datanode

import (
	"os"
	"runtime/metrics"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
)

// memorySampler caches the process's memory figures, which are too costly
// to read on every command. The cron refreshes them.
type memorySampler struct {
	heapObjects atomic.Int64 // live Go heap objects, bytes
	rss         atomic.Int64 // resident set size, bytes
	peak        atomic.Int64 // peak of used memory, bytes

	once    sync.Once
	samples []metrics.Sample
}

func (m *memorySampler) sample() {
	m.once.Do(func() {
		m.samples = []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	})
	metrics.Read(m.samples)
	if v := m.samples[0].Value; v.Kind() == metrics.KindUint64 {
		m.heapObjects.Store(int64(v.Uint64()))
	}
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

// usedMemory is Redis's used_memory: the store's data and indexes plus the
// Go heap (connection buffers and the rest), as last sampled.
func (s *Server) usedMemory() int64 {
	used := s.store.UsedBytes() + s.memory.heapObjects.Load()
	for {
		peak := s.memory.peak.Load()
		if used <= peak || s.memory.peak.CompareAndSwap(peak, used) {
			return used
		}
	}
}
