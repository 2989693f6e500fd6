package datanode

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// latencyTSLen is how many samples an event keeps, one per second at most
// (Redis's LATENCY_TS_LEN).
const latencyTSLen = 160

// latencyCommand is LATENCY: the latency monitor's events.
func latencyCommand() *command {
	const sub = flagAdmin | flagNoScript | flagLoading | flagStale
	return newContainer("latency", -2, 0, commandDoc{"server", "A container for latency diagnostics commands.", "2.8.13", "Depends on subcommand.", ""},
		[]*command{
			{name: "latency|latest", arity: 2, flags: sub, run: cmdLatencyLatest,
				doc: commandDoc{"server", "Return the latest latency samples for all events.", "2.8.13", "O(1)", ""}},
			{name: "latency|history", arity: 3, flags: sub, run: cmdLatencyHistory,
				doc: commandDoc{"server", "Return timestamp-latency samples for the event.", "2.8.13", "O(1)", "event"}},
			{name: "latency|reset", arity: -2, flags: sub, run: cmdLatencyReset,
				doc: commandDoc{"server", "Reset latency data for one or more events.", "2.8.13", "O(1)", "[event [event ...]]"}},
			{name: "latency|doctor", arity: 2, flags: sub, run: cmdLatencyDoctor,
				doc: commandDoc{"server", "Return a human readable latency analysis report.", "2.8.13", "O(1)", ""}},
			{name: "latency|help", arity: 2, flags: flagLoading | flagStale, run: cmdLatencyHelp,
				doc: commandDoc{"server", "Show helpful text about the different subcommands.", "2.8.13", "O(1)", ""}},
		})
}

// latencySample is one second's worst latency of an event.
type latencySample struct {
	time    int64 // Unix seconds; 0 marks an unused slot
	latency int64 // milliseconds
}

// latencySeries is one event's samples, a ring, and its all-time maximum.
type latencySeries struct {
	idx     int
	max     int64
	samples [latencyTSLen]latencySample
}

// latencyMonitor records the events that took at least
// latency-monitor-threshold milliseconds, as Redis's latency monitor.
type latencyMonitor struct {
	mu     sync.Mutex
	events map[string]*latencySeries
}

// maybeLatency records a command that took d, under the "fast-command"
// event for fast commands and "command" for the others, when the latency
// monitor is on and d reaches its threshold.
func (s *Server) maybeLatency(st *Settings, cmd *command, d time.Duration) {
	ms := d.Milliseconds()
	if st.LatencyMonitorThreshold == 0 || ms < st.LatencyMonitorThreshold {
		return
	}
	event := "command"
	if cmd.flags&flagFast != 0 {
		event = "fast-command"
	}
	s.latency.add(event, ms, time.Now().Unix())
}

// add records latency ms for event at the Unix second now: a second sample
// in the same second keeps the larger.
func (lm *latencyMonitor) add(event string, ms, now int64) {
	lm.mu.Lock()
	defer lm.mu.Unlock()
	if lm.events == nil {
		lm.events = make(map[string]*latencySeries)
	}
	ts := lm.events[event]
	if ts == nil {
		ts = &latencySeries{}
		lm.events[event] = ts
	}
	ts.max = max(ts.max, ms)
	prev := &ts.samples[(ts.idx+latencyTSLen-1)%latencyTSLen]
	if prev.time == now {
		prev.latency = max(prev.latency, ms)
		return
	}
	ts.samples[ts.idx] = latencySample{now, ms}
	ts.idx = (ts.idx + 1) % latencyTSLen
}

// names returns the recorded events, sorted.
func (lm *latencyMonitor) namesLocked() []string {
	names := make([]string, 0, len(lm.events))
	for n := range lm.events {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

func cmdLatencyLatest(c *client, _ [][]byte) {
	lm := &c.srv.latency
	lm.mu.Lock()
	defer lm.mu.Unlock()
	names := lm.namesLocked()
	c.replyArray(len(names))
	for _, n := range names {
		ts := lm.events[n]
		last := ts.samples[(ts.idx+latencyTSLen-1)%latencyTSLen]
		c.replyArray(4)
		c.replyBulkString(n)
		c.replyInt(last.time)
		c.replyInt(last.latency)
		c.replyInt(ts.max)
	}
}

func cmdLatencyHistory(c *client, args [][]byte) {
	lm := &c.srv.latency
	lm.mu.Lock()
	defer lm.mu.Unlock()
	ts := lm.events[string(args[2])]
	if ts == nil {
		c.replyArray(0)
		return
	}
	var samples []latencySample
	for j := range latencyTSLen {
		if s := ts.samples[(ts.idx+j)%latencyTSLen]; s.time != 0 {
			samples = append(samples, s)
		}
	}
	c.replyArray(len(samples))
	for _, s := range samples {
		c.replyArray(2)
		c.replyInt(s.time)
		c.replyInt(s.latency)
	}
}

func cmdLatencyReset(c *client, args [][]byte) {
	lm := &c.srv.latency
	lm.mu.Lock()
	defer lm.mu.Unlock()
	n := 0
	if len(args) == 2 {
		n = len(lm.events)
		lm.events = nil
	} else {
		for _, e := range args[2:] {
			if _, ok := lm.events[string(e)]; ok {
				delete(lm.events, string(e))
				n++
			}
		}
	}
	c.replyInt(int64(n))
}

// cmdLatencyDoctor is LATENCY DOCTOR, with Redis's texts for the events
// CHKV records.
func cmdLatencyDoctor(c *client, _ [][]byte) {
	st := c.srv.settings.Load()
	if st.LatencyMonitorThreshold == 0 {
		c.replyBulkString(`I'm sorry, Dave, I can't do that. Latency monitoring is disabled in this Redis instance. You may use "CONFIG SET latency-monitor-threshold <milliseconds>." in order to enable it. If we weren't in a deep space mission I'd suggest to take a look at https://redis.io/topics/latency-monitor.` + "\n")
		return
	}
	lm := &c.srv.latency
	lm.mu.Lock()
	var b strings.Builder
	var slowlogEnable, slowlogTune, commands, scheduler bool
	now := time.Now().Unix()
	for i, name := range lm.namesLocked() {
		if i == 0 {
			b.WriteString("Dave, I have observed latency spikes in this Redis instance. You don't mind talking about it, do you Dave?\n\n")
		}
		ts := lm.events[name]
		var n, sum, oldest int64
		for _, s := range ts.samples {
			if s.time == 0 {
				continue
			}
			n++
			sum += s.latency
			if oldest == 0 || s.time < oldest {
				oldest = s.time
			}
		}
		avg, period, mad := int64(0), int64(0), int64(0)
		if n > 0 {
			avg = sum / n
			if period = now - oldest; period == 0 {
				period = 1
			}
			var dev int64
			for _, s := range ts.samples {
				if s.time != 0 {
					dev += abs64(avg - s.latency)
				}
			}
			mad = dev / n
		}
		fmt.Fprintf(&b, "%d. %s: %d latency spikes (average %dms, mean deviation %dms, period %.2f sec). Worst all time event %dms.\n",
			i+1, name, n, avg, mad, float64(period)/float64(max(n, 1)), ts.max)
		switch name {
		case "command":
			if st.SlowlogLogSlowerThan < 0 || st.SlowlogMaxLen == 0 {
				slowlogEnable = true
			} else if st.SlowlogLogSlowerThan/1000 > st.LatencyMonitorThreshold {
				slowlogTune = true
			}
			commands = true
		case "fast-command":
			scheduler = true
		}
	}
	events := len(lm.events)
	lm.mu.Unlock()
	switch {
	case events == 0:
		b.WriteString("Dave, no latency spike was observed during the lifetime of this Redis instance, not in the slightest bit. I honestly think you ought to sit down calmly, take a stress pill, and think things over.\n")
	default:
		b.WriteString("\nI have a few advices for you:\n\n")
		if slowlogEnable {
			fmt.Fprintf(&b, "- There are latency issues with potentially slow commands you are using. Try to enable the Slow Log Redis feature using the command 'CONFIG SET slowlog-log-slower-than %d'. If the Slow log is disabled Redis is not able to log slow commands execution for you.\n", st.LatencyMonitorThreshold*1000)
		}
		if slowlogTune {
			fmt.Fprintf(&b, "- Your current Slow Log configuration only logs events that are slower than your configured latency monitor threshold. Please use 'CONFIG SET slowlog-log-slower-than %d'.\n", st.LatencyMonitorThreshold*1000)
		}
		if commands {
			b.WriteString("- Check your Slow Log to understand what are the commands you are running which are too slow to execute. Please check https://redis.io/commands/slowlog for more information.\n")
		}
		if scheduler {
			b.WriteString("- The system is slow to execute Redis code paths not containing system calls. This usually means the system does not provide Redis CPU time to run for long periods. You should try to:\n" +
				"  1) Lower the system load.\n" +
				"  2) Use a computer / VM just for Redis if you are running other software in the same system.\n" +
				"  3) Check if you have a \"noisy neighbour\" problem.\n" +
				"  4) Check with 'redis-cli --intrinsic-latency 100' what is the intrinsic latency in your system.\n" +
				"  5) Check if the problem is allocator-related by recompiling Redis with MALLOC=libc, if you are using Jemalloc. However this may create fragmentation problems.\n")
		}
		if commands {
			b.WriteString("- Deleting, expiring or evicting (because of maxmemory policy) large objects is a blocking operation. If you have very large objects that are often deleted, expired, or evicted, try to fragment those objects into multiple smaller objects.\n")
		}
	}
	c.replyBulkString(b.String())
}

func abs64(n int64) int64 {
	if n < 0 {
		return -n
	}
	return n
}

func cmdLatencyHelp(c *client, _ [][]byte) {
	c.replyHelp("latency", []string{
		"DOCTOR",
		"    Return a human readable latency analysis report.",
		"HISTORY <event>",
		"    Return time-latency samples for the <event> class.",
		"LATEST",
		"    Return the latest latency samples for all events.",
		"RESET [<event> ...]",
		"    Reset latency data of one or more <event> classes.",
		"    (default: reset all data for all event classes)",
	})
}

// latencyConfigParams are the CONFIG parameters of the latency monitor.
var latencyConfigParams = []configParam{
	{"latency-monitor-threshold", func(_ *Server, st *Settings) string { return strconv.FormatInt(st.LatencyMonitorThreshold, 10) },
		intSetter(0, math.MaxInt64, func(st *Settings, n int64) { st.LatencyMonitorThreshold = n })},
}
