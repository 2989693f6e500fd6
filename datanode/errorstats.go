package datanode

import (
	"bytes"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
)

// errorStatsLimit is how many distinct error codes INFO errorstats tracks,
// as Redis's ERRORSTATS_LIMIT: past it, new codes are no longer recorded
// (total_error_replies still counts them).
const errorStatsLimit = 128

// errorStats counts error replies by their code, the first word of the
// error ("ERR", "WRONGTYPE"), for INFO errorstats, and in total for INFO
// stats' total_error_replies. Only error replies touch it, so commands that
// succeed pay nothing.
type errorStats struct {
	total atomic.Int64
	mu    sync.Mutex
	codes map[string]int64
}

// record counts one error reply whose text (without '-') is msg.
func (es *errorStats) record(msg []byte) {
	es.total.Add(1)
	code := msg
	if i := bytes.IndexAny(code, " \r"); i >= 0 {
		code = code[:i]
	}
	es.mu.Lock()
	if es.codes == nil {
		es.codes = make(map[string]int64)
	}
	if _, ok := es.codes[string(code)]; ok || len(es.codes) < errorStatsLimit {
		es.codes[string(code)]++
	}
	es.mu.Unlock()
}

// reset is CONFIG RESETSTAT's part.
func (es *errorStats) reset() {
	es.mu.Lock()
	es.codes = nil
	es.total.Store(0)
	es.mu.Unlock()
}

// lines returns INFO errorstats' lines, by code.
func (es *errorStats) lines(b *infoBuilder) {
	es.mu.Lock()
	codes := make([]string, 0, len(es.codes))
	for code := range es.codes {
		codes = append(codes, code)
	}
	slices.Sort(codes)
	for _, code := range codes {
		b.line("errorstat_"+code, "count="+itoa(es.codes[code]))
	}
	es.mu.Unlock()
}

// infoCommandStats is INFO commandstats: the commands called or refused
// since the start or CONFIG RESETSTAT, as Redis 7.0 prints them.
func (s *Server) infoCommandStats(b *infoBuilder) {
	cs := s.cmdStats
	cs.mu.Lock()
	defer cs.mu.Unlock()
	type row struct {
		name string
		line string
	}
	var rows []row
	add := func(name string, st cmdTotals) {
		if st.calls == 0 && st.rejected == 0 && st.failed == 0 {
			return
		}
		usec := st.sumNs / 1000
		perCall := 0.0
		if st.calls > 0 {
			perCall = float64(usec) / float64(st.calls)
		}
		rows = append(rows, row{name, strings.Join([]string{
			"calls=" + utoa(st.calls), "usec=" + utoa(usec),
			"usec_per_call=" + formatFloat2(perCall),
			"rejected_calls=" + utoa(st.rejected), "failed_calls=" + utoa(st.failed),
		}, ",")})
	}
	for id := range cs.stats[:len(cs.stats)-1] {
		if !cs.hasSubs[id] { // a container's runs are its subcommands'
			add(cs.names[id], cs.stats[id].snapshot().minus(cs.base[id]))
		}
	}
	for id := range cs.sub {
		add(cs.subNames[id], cs.sub[id].snapshot().minus(cs.subBase[id]))
	}
	slices.SortFunc(rows, func(a, b row) int { return strings.Compare(a.name, b.name) })
	for _, r := range rows {
		b.line("cmdstat_"+r.name, r.line)
	}
}

// infoErrorStats is INFO errorstats.
func (s *Server) infoErrorStats(b *infoBuilder) { s.errors.lines(b) }

func itoa(n int64) string  { return strconv.FormatInt(n, 10) }
func utoa(n uint64) string { return strconv.FormatUint(n, 10) }

// formatFloat2 prints f with two decimals, as Redis's "%.2f".
func formatFloat2(f float64) string { return strconv.FormatFloat(f, 'f', 2, 64) }
