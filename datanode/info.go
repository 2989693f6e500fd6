package datanode

import (
	"crypto/sha1"
	"encoding/hex"
	"fmt"
	"net"
	"os"
	"runtime"
	"strconv"
	"strings"
	"time"
)

// infoSection is one section of INFO: its heading and what writes its lines.
type infoSection struct {
	name    string // lower case, as requested
	title   string // heading, e.g. "Server"
	dflt    bool   // part of INFO without arguments
	section func(s *Server, b *infoBuilder)
}

// infoSections are INFO's sections in Redis's order.
var infoSections = []infoSection{
	{"server", "Server", true, (*Server).infoServer},
	{"clients", "Clients", true, (*Server).infoClients},
	{"memory", "Memory", true, (*Server).infoMemory},
	{"persistence", "Persistence", true, (*Server).infoPersistence},
	{"stats", "Stats", true, (*Server).infoStats},
	{"replication", "Replication", true, (*Server).infoReplication},
	{"cpu", "CPU", true, (*Server).infoCPU},
	{"modules", "Modules", true, nil},
	{"commandstats", "Commandstats", false, (*Server).infoCommandStats},
	{"errorstats", "Errorstats", true, (*Server).infoErrorStats},
	// CHKV keeps no latency percentiles: the section is present but empty.
	{"latencystats", "Latencystats", false, nil},
	{"cluster", "Cluster", true, (*Server).infoCluster},
	{"keyspace", "Keyspace", true, (*Server).infoKeyspace},
}

// infoBuilder accumulates "field:value" lines with CRLF endings.
type infoBuilder struct{ strings.Builder }

func (b *infoBuilder) line(field string, value any) {
	b.WriteString(field)
	b.WriteByte(':')
	switch v := value.(type) {
	case string:
		b.WriteString(v)
	case int:
		b.WriteString(strconv.Itoa(v))
	case int64:
		b.WriteString(strconv.FormatInt(v, 10))
	default:
		fmt.Fprint(b, v)
	}
	b.WriteString("\r\n")
}

func cmdInfo(c *client, args [][]byte) {
	c.replyBulkString(c.srv.info(args[1:]))
}

// info renders the INFO text for the requested section names: none means
// the default sections, "all" and "everything" every section, "default"
// the default ones. Unknown names select nothing.
func (s *Server) info(names [][]byte) string {
	want := map[string]bool{}
	if len(names) == 0 {
		names = [][]byte{[]byte("default")}
	}
	for _, n := range names {
		name := lower(n)
		for _, sec := range infoSections {
			if name == "all" || name == "everything" || (name == "default" && sec.dflt) || name == sec.name {
				want[sec.name] = true
			}
		}
	}
	var b infoBuilder
	for _, sec := range infoSections {
		if !want[sec.name] {
			continue
		}
		if b.Len() > 0 {
			b.WriteString("\r\n")
		}
		b.WriteString("# " + sec.title + "\r\n")
		if sec.section != nil {
			sec.section(s, &b)
		}
	}
	return b.String()
}

// runID identifies this run of the node, as Redis's run_id: it changes on
// every start.
func (s *Server) runID() string {
	sum := sha1.Sum([]byte(s.id + "@" + strconv.FormatInt(s.started.UnixNano(), 10)))
	return hex.EncodeToString(sum[:])
}

// listenPort is the TCP port the node listens on, 0 if unknown.
func (s *Server) listenPort() int {
	if a, ok := s.Addr().(*net.TCPAddr); ok {
		return a.Port
	}
	if addr := s.Addr(); addr != nil {
		if _, port, err := net.SplitHostPort(addr.String()); err == nil {
			p, _ := strconv.Atoi(port)
			return p
		}
	}
	return 0
}

func (s *Server) infoServer(b *infoBuilder) {
	now := time.Now()
	uptime := int64(now.Sub(s.started) / time.Second)
	exe, _ := os.Executable()
	b.line("redis_version", redisVersion)
	b.line("redis_git_sha1", "00000000")
	b.line("redis_git_dirty", 0)
	b.line("redis_mode", s.mode())
	b.line("os", osDescription())
	b.line("arch_bits", strconv.IntSize)
	b.line("multiplexing_api", "go-netpoll")
	b.line("process_id", os.Getpid())
	b.line("process_supervised", "no")
	b.line("run_id", s.runID())
	b.line("tcp_port", s.listenPort())
	b.line("server_time_usec", now.UnixMicro())
	b.line("uptime_in_seconds", uptime)
	b.line("uptime_in_days", uptime/86400)
	b.line("hz", int(time.Second/cronInterval))
	b.line("configured_hz", int(time.Second/cronInterval))
	b.line("lru_clock", now.Unix()&(1<<24-1))
	b.line("executable", exe)
	b.line("config_file", "")
	b.line("io_threads_active", 0)
	b.line("chkv_node_id", s.id)
	b.line("chkv_go_version", runtime.Version())
}

// osDescription is INFO's os field: kernel name, release and machine, as
// uname reports them.
func osDescription() string {
	name := runtime.GOOS
	if name != "" {
		name = strings.ToUpper(name[:1]) + name[1:]
	}
	release := ""
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		release = strings.TrimSpace(string(b))
	}
	machine := map[string]string{"amd64": "x86_64", "arm64": "aarch64", "386": "i686"}[runtime.GOARCH]
	if machine == "" {
		machine = runtime.GOARCH
	}
	return strings.Join(strings.Fields(name+" "+release+" "+machine), " ")
}

func (s *Server) infoClients(b *infoBuilder) {
	var maxIn, maxOut int64
	s.forEachClient(func(c *client) {
		maxIn = max(maxIn, c.qbuf.Load())
		maxOut = max(maxOut, c.outLen.Load())
	})
	b.line("connected_clients", s.numClients.Load())
	b.line("cluster_connections", 0)
	b.line("maxclients", s.settings.Load().MaxClients)
	b.line("client_recent_max_input_buffer", maxIn)
	b.line("client_recent_max_output_buffer", maxOut)
	b.line("blocked_clients", s.blocking.blocked.Load())
	b.line("tracking_clients", 0)
	b.line("clients_in_timeout_table", s.blocking.timed.Load())
}

func (s *Server) infoMemory(b *infoBuilder) {
	st := s.settings.Load()
	used := s.usedMemory()
	peak := max(s.memory.peak.Load(), used)
	rss := s.memory.rss.Load()
	dataset := s.store.UsedBytes()
	total := totalSystemMemory()
	b.line("used_memory", used)
	b.line("used_memory_human", bytesToHuman(used))
	b.line("used_memory_rss", rss)
	b.line("used_memory_rss_human", bytesToHuman(rss))
	b.line("used_memory_peak", peak)
	b.line("used_memory_peak_human", bytesToHuman(peak))
	b.line("used_memory_peak_perc", percent(used, peak))
	b.line("used_memory_overhead", max(used-dataset, 0))
	b.line("used_memory_dataset", dataset)
	b.line("used_memory_dataset_perc", percent(dataset, used))
	b.line("total_system_memory", total)
	b.line("total_system_memory_human", bytesToHuman(total))
	b.line("maxmemory", st.MaxMemory)
	b.line("maxmemory_human", bytesToHuman(st.MaxMemory))
	b.line("maxmemory_policy", st.MaxMemoryPolicy.String())
	ratio := 0.0
	if used > 0 {
		ratio = float64(rss) / float64(used)
	}
	b.line("mem_fragmentation_ratio", strconv.FormatFloat(ratio, 'f', 2, 64))
	b.line("mem_fragmentation_bytes", rss-used)
	b.line("mem_not_counted_for_evict", 0)
	b.line("mem_clients_normal", s.memory.clientBuffers.Load())
	b.line("mem_allocator", runtime.Version())
	b.line("lazyfree_pending_objects", 0)
	b.line("lazyfreed_objects", 0)
}

// bytesToHuman formats n as Redis's INFO does: 0B, 967.42K, 1.00M, ...
func bytesToHuman(n int64) string {
	if n < 1024 {
		return strconv.FormatInt(n, 10) + "B"
	}
	f := float64(n)
	for _, unit := range []string{"K", "M", "G", "T", "P"} {
		f /= 1024
		if f < 1024 || unit == "P" {
			return strconv.FormatFloat(f, 'f', 2, 64) + unit
		}
	}
	return ""
}

// percent is part/whole as INFO prints percentages, e.g. "99.68%".
func percent(part, whole int64) string {
	p := 0.0
	if whole > 0 {
		p = float64(part) * 100 / float64(whole)
	}
	return strconv.FormatFloat(p, 'f', 2, 64) + "%"
}

// totalSystemMemory is the machine's RAM from /proc/meminfo, 0 if unknown.
func totalSystemMemory() int64 {
	b, err := os.ReadFile("/proc/meminfo")
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(b), "\n") {
		if f := strings.Fields(l); len(f) >= 2 && f[0] == "MemTotal:" {
			kb, _ := strconv.ParseInt(f[1], 10, 64)
			return kb * 1024
		}
	}
	return 0
}

func (s *Server) infoStats(b *infoBuilder) {
	st := &s.stats
	ss := s.store.Stats()
	b.line("total_connections_received", st.connectionsReceived.Load())
	b.line("total_commands_processed", st.commandsProcessed.Load())
	b.line("instantaneous_ops_per_sec", max(st.opsPerSec.Load(), 0))
	b.line("total_net_input_bytes", st.netInputBytes.Load())
	b.line("total_net_output_bytes", st.netOutputBytes.Load())
	b.line("rejected_connections", st.rejectedConnections.Load())
	b.line("sync_full", 0)
	b.line("sync_partial_ok", 0)
	b.line("sync_partial_err", 0)
	b.line("expired_keys", max(ss.ExpiredKeys-st.expiredBase.Load(), 0))
	b.line("evicted_keys", max(ss.EvictedKeys-st.evictedBase.Load(), 0))
	b.line("evicted_clients", 0)
	b.line("keyspace_hits", st.keyspaceHits.Load())
	b.line("keyspace_misses", st.keyspaceMisses.Load())
	b.line("pubsub_channels", s.pubsub.numNames(kindChannel))
	b.line("pubsub_patterns", s.pubsub.numNames(kindPattern))
	b.line("pubsubshard_channels", s.pubsub.numNames(kindShard))
	b.line("latest_fork_usec", 0)
	b.line("total_forks", 0)
	b.line("migrate_cached_sockets", 0)
	b.line("total_error_replies", s.errors.total.Load())
}

// resetStats is CONFIG RESETSTAT: it zeroes INFO's counters.
func (s *Server) resetStats() {
	st := &s.stats
	for _, n := range []interface{ Store(int64) }{
		&st.connectionsReceived, &st.commandsProcessed, &st.rejectedConnections,
		&st.keyspaceHits, &st.keyspaceMisses, &st.netInputBytes, &st.netOutputBytes,
		&st.opsPerSec,
	} {
		n.Store(0)
	}
	ss := s.store.Stats()
	st.expiredBase.Store(ss.ExpiredKeys)
	st.evictedBase.Store(ss.EvictedKeys)
	s.memory.peak.Store(0)
	s.errors.reset()
	s.cmdStats.reset()
}

func (s *Server) infoReplication(b *infoBuilder) {
	b.line("role", "master")
	b.line("connected_slaves", 0)
	b.line("master_failover_state", "no-failover")
	b.line("master_replid", s.runID())
	b.line("master_replid2", strings.Repeat("0", 40))
	b.line("master_repl_offset", 0)
	b.line("second_repl_offset", -1)
	b.line("repl_backlog_active", 0)
	b.line("repl_backlog_size", 1048576)
	b.line("repl_backlog_first_byte_offset", 0)
	b.line("repl_backlog_histlen", 0)
}

func (s *Server) infoCPU(b *infoBuilder) {
	sys, user := cpuTimes()
	b.line("used_cpu_sys", formatSeconds(sys))
	b.line("used_cpu_user", formatSeconds(user))
	b.line("used_cpu_sys_children", "0.000000")
	b.line("used_cpu_user_children", "0.000000")
}

// formatSeconds prints d as seconds with microseconds, as Redis's CPU lines.
func formatSeconds(d time.Duration) string {
	us := d.Microseconds()
	return fmt.Sprintf("%d.%06d", us/1e6, us%1e6)
}

func (s *Server) infoCluster(b *infoBuilder) {
	b.line("cluster_enabled", boolInt(len(s.cfg.NameNodes) > 0))
}

func (s *Server) infoKeyspace(b *infoBuilder) {
	keys := s.store.Len()
	if keys == 0 {
		return
	}
	b.line("db0", fmt.Sprintf("keys=%d,expires=%d,avg_ttl=0", keys, s.store.VolatileLen()))
}
