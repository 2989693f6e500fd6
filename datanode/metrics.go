package datanode

import (
	"runtime"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// metricDesc builds the description of a DataNode metric.
func metricDesc(name, help string, labels ...string) *prometheus.Desc {
	return prometheus.NewDesc("chkv_datanode_"+name, help, labels, nil)
}

// Metric descriptions. Every figure is read at scrape time from counters
// the server keeps anyway, so metrics cost the command path nothing beyond
// the per-command counters of cmdstats.go.
var (
	descInfo = metricDesc("info", "Always 1; the labels describe the node.",
		"node", "mode", "io_model", "go_version")
	descCommands = metricDesc("commands_total",
		"Commands answered, by command and result (ok, error, moved, tryagain, clusterdown, crossslot).",
		"command", "result")
	descCommandDuration = metricDesc("command_duration_seconds",
		"Time spent executing commands that ran (replies not yet written), by command.", "command")
	descRedirects = metricDesc("redirects_total",
		"Redirecting error replies sent: MOVED, TRYAGAIN, CLUSTERDOWN and CROSSSLOT.", "reply")
	descClients     = metricDesc("connected_clients", "Client connections open now.")
	descMaxClients  = metricDesc("max_clients", "The maxclients setting.")
	descConnections = metricDesc("connections_received_total", "Client connections accepted.")
	descRejected    = metricDesc("connections_rejected_total",
		"Client connections refused (maxclients, protected mode).")
	descKeys         = metricDesc("keys", "Keys held, expired ones not yet removed included.")
	descVolatileKeys = metricDesc("keys_with_expiry", "Keys held that have a TTL.")
	descUsedMemory   = metricDesc("used_memory_bytes",
		"Memory counted against maxmemory: the store's data and indexes plus the live bytes of client query and reply buffers.")
	descDataset   = metricDesc("dataset_bytes", "Memory of the store's data and indexes.")
	descRSS       = metricDesc("resident_memory_bytes", "Resident set size of the process, as last sampled.")
	descMaxMemory = metricDesc("maxmemory_bytes", "The maxmemory setting; 0 means no limit.")
	descEvicted   = metricDesc("evicted_keys_total", "Keys evicted by the maxmemory policy.")
	descExpired   = metricDesc("expired_keys_total", "Keys removed because their TTL passed.")
	descHits      = metricDesc("keyspace_hits_total",
		"Successful key lookups (reset by CONFIG RESETSTAT).")
	descMisses = metricDesc("keyspace_misses_total",
		"Failed key lookups (reset by CONFIG RESETSTAT).")
	descNetIn = metricDesc("net_input_bytes_total",
		"Bytes read from clients (reset by CONFIG RESETSTAT).")
	descNetOut = metricDesc("net_output_bytes_total",
		"Bytes written to clients (reset by CONFIG RESETSTAT).")

	// Cluster mode only.
	descRegistered = metricDesc("registered", "1 while the node is registered with a NameNode.")
	descLeaseValid = metricDesc("lease_valid",
		"1 while a NameNode lease covers the node, so that it serves its slots.")
	descLeaseRemaining = metricDesc("lease_remaining_seconds",
		"Time until the node's lease runs out; 0 when it has.")
	descEpoch        = metricDesc("topology_epoch", "Epoch of the topology the node holds.")
	descVersion      = metricDesc("topology_version", "Version of the topology the node holds.")
	descSlots        = metricDesc("slots", "Slots the topology the node holds gives it.")
	descMigrating    = metricDesc("migration_slots_moving", "Slots this node is moving away right now.")
	descStuck        = metricDesc("migration_slots_stuck", "Outgoing slots whose move keeps failing.")
	descMigSlotsOut  = metricDesc("migration_out_slots_total", "Slots handed off to other DataNodes.")
	descMigKeysOut   = metricDesc("migration_out_keys_total", "Keys handed off to other DataNodes with their slots.")
	descMigBytesOut  = metricDesc("migration_out_bytes_total", "Bytes handed off to other DataNodes with their slots.")
	descMigFailures  = metricDesc("migration_out_failures_total", "Attempts to move a slot away that failed and were retried.")
	descMigSlotsIn   = metricDesc("migration_in_slots_total", "Slots received from other DataNodes and taken over.")
	descMigRecordsIn = metricDesc("migration_in_records_total",
		"Key records received from other DataNodes (snapshot and catch-up rounds; a key may come more than once).")
	descMigBytesIn = metricDesc("migration_in_bytes_total", "Bytes of key records received from other DataNodes.")
	descFanoutSent = metricDesc("pubsub_forwarded_total", "PUBLISH messages delivered to another DataNode (one per peer).")
	descFanoutDrop = metricDesc("pubsub_forward_dropped_total",
		"PUBLISH messages not delivered to another DataNode: its queue was full or the call failed (one per peer).")
)

// collector exports the server's figures to Prometheus at scrape time.
type collector struct{ s *Server }

// Describe sends every description the collector may use.
func (col collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{
		descInfo, descCommands, descCommandDuration, descRedirects, descClients, descMaxClients,
		descConnections, descRejected, descKeys, descVolatileKeys, descUsedMemory, descDataset,
		descRSS, descMaxMemory, descEvicted, descExpired, descHits, descMisses, descNetIn, descNetOut,
		descRegistered, descLeaseValid, descLeaseRemaining, descEpoch, descVersion, descSlots,
		descMigrating, descStuck, descMigSlotsOut, descMigKeysOut, descMigBytesOut, descMigFailures,
		descMigSlotsIn, descMigRecordsIn, descMigBytesIn, descFanoutSent, descFanoutDrop,
	} {
		ch <- d
	}
}

// Collect reads the server's counters.
func (col collector) Collect(ch chan<- prometheus.Metric) {
	s := col.s
	s.scrapeMu.RLock()
	defer s.scrapeMu.RUnlock()
	if s.storeClosed {
		return // stopped: the store's memory is gone
	}
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	counter := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, v, labels...)
	}
	gauge(descInfo, 1, s.id, s.mode(), s.cfg.ioModel(), runtime.Version())
	col.collectCommands(counter, ch)

	st := s.settings.Load()
	gauge(descClients, float64(s.numClients.Load()))
	gauge(descMaxClients, float64(st.MaxClients))
	counter(descConnections, float64(s.stats.connectionsReceived.Load()))
	counter(descRejected, float64(s.stats.rejectedConnections.Load()))
	gauge(descKeys, float64(s.store.Len()))
	gauge(descVolatileKeys, float64(s.store.VolatileLen()))
	gauge(descUsedMemory, float64(s.usedMemory()))
	gauge(descDataset, float64(s.store.UsedBytes()))
	gauge(descRSS, float64(s.memory.rss.Load()))
	gauge(descMaxMemory, float64(st.MaxMemory))
	ss := s.store.Stats() // never reset, unlike INFO's figures
	counter(descEvicted, float64(ss.EvictedKeys))
	counter(descExpired, float64(ss.ExpiredKeys))
	counter(descHits, float64(s.stats.keyspaceHits.Load()))
	counter(descMisses, float64(s.stats.keyspaceMisses.Load()))
	counter(descNetIn, float64(s.stats.netInputBytes.Load()))
	counter(descNetOut, float64(s.stats.netOutputBytes.Load()))

	m := s.member
	if m == nil {
		return
	}
	gauge(descRegistered, boolFloat(m.Registered()))
	gauge(descLeaseValid, boolFloat(m.LeaseValid()))
	gauge(descLeaseRemaining, max(float64(m.LeaseRemaining()), 0)/1e9)
	v := s.own.View()
	gauge(descEpoch, float64(v.Top.Epoch))
	gauge(descVersion, float64(v.Top.Version))
	owned := 0
	if v.Self >= 0 {
		for _, o := range v.Top.Owners {
			if o == v.Self {
				owned++
			}
		}
	}
	gauge(descSlots, float64(owned))
	ml := s.migrator.Load()
	gauge(descMigrating, float64(ml.MigratingSlots))
	gauge(descStuck, float64(ml.StuckSlots))
	counter(descMigSlotsOut, float64(ml.SlotsMoved))
	counter(descMigKeysOut, float64(ml.KeysMoved))
	counter(descMigBytesOut, float64(ml.BytesMoved))
	counter(descMigFailures, float64(s.migrator.FailedMoves()))
	slotsIn, recordsIn, bytesIn := s.target.Received()
	counter(descMigSlotsIn, float64(slotsIn))
	counter(descMigRecordsIn, float64(recordsIn))
	counter(descMigBytesIn, float64(bytesIn))
	counter(descFanoutSent, float64(s.fanout.sent.Load()))
	counter(descFanoutDrop, float64(s.fanout.dropped.Load()))
}

// collectCommands exports the per-command counters and histograms of
// the commands that have been called, and the redirects summed over them.
func (col collector) collectCommands(counter func(*prometheus.Desc, float64, ...string), ch chan<- prometheus.Metric) {
	cs := col.s.cmdStats
	var redirects [numResults]uint64
	for id := range cs.stats {
		st := &cs.stats[id]
		name := cs.names[id]
		for r := range numResults {
			if n := st.results[r].Load(); n > 0 {
				counter(descCommands, float64(n), name, resultNames[r])
				redirects[r] += n
			}
		}
		// A new map per histogram: the registry reads it after Collect.
		buckets := make(map[float64]uint64, len(latencyBounds))
		var cum uint64
		for i, bound := range latencyBounds {
			cum += st.buckets[i].Load()
			buckets[bound] = cum
		}
		count := cum + st.buckets[latencyBuckets-1].Load()
		if count == 0 {
			continue
		}
		ch <- prometheus.MustNewConstHistogram(descCommandDuration, count,
			float64(st.sumNs.Load())/1e9, buckets, name)
	}
	for _, r := range []result{resultMoved, resultTryAgain, resultClusterDown, resultCrossSlot} {
		counter(descRedirects, float64(redirects[r]), resultNames[r])
	}
}

func boolFloat(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// newRegistry returns a registry of the node's metrics plus the Go
// runtime's and the process's. Each server has its own, so several
// DataNodes can share a process (tests, localcluster).
func (s *Server) newRegistry() *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collector{s: s},
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return reg
}
