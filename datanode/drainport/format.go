package drainport

import (
	"fmt"

	"github.com/chkv/chkv/common/bytesize"
)

// progressLine is k's line for p, like
// "draining: 1234/5461 slots moved (22.6%), 45 moving, 123456 keys, 12.3 MB moved".
func progressLine(p Progress) string {
	return fmt.Sprintf("draining: %d/%d slots moved (%s), %s", p.SlotsMoved(), p.SlotsTotal, percent(p), counts(p))
}

// statusLine is status's line for p.
func statusLine(p Progress, pid int) string {
	state := p.State
	if state == "" {
		state = "unknown"
	}
	line := "state: " + printable(state, maxEcho)
	switch {
	case p.Done:
		return fmt.Sprintf("%s, %d/%d slots left, %s; can be stopped (pid %d)", line, p.SlotsLeft, p.SlotsTotal, counts(p), pid)
	case p.Draining:
		return fmt.Sprintf("%s, %d/%d slots left (%s moved), %s", line, p.SlotsLeft, p.SlotsTotal, percent(p), counts(p))
	case p.SlotsMoving > 0 || p.StuckSlots > 0:
		return fmt.Sprintf("%s, migrating: %s", line, counts(p))
	}
	return line
}

// counts formats the moving and stuck slots and the keys and bytes moved.
func counts(p Progress) string {
	s := fmt.Sprintf("%d moving", p.SlotsMoving)
	if p.StuckSlots > 0 {
		s += fmt.Sprintf(", %d stuck", p.StuckSlots)
	}
	return fmt.Sprintf("%s, %d keys, %s moved", s, p.KeysMoved, bytesize.Decimal(p.BytesMoved))
}

// percent formats the share of slots moved, to a tenth, where 100.0% means
// all of them; with no slots to move it is 100%.
func percent(p Progress) string {
	if p.SlotsTotal <= 0 {
		return "100.0%"
	}
	moved, total := int64(p.SlotsMoved()), int64(p.SlotsTotal)
	tenths := (moved*2000 + total) / (2 * total)
	if tenths == 1000 && moved < total {
		tenths = 999
	}
	return fmt.Sprintf("%d.%d%%", tenths/10, tenths%10)
}

// printable returns s with every byte outside printable ASCII replaced by
// '?' (whitespace by ' '), cut to at most max bytes.
func printable(s string, max int) string {
	cut := len(s) > max
	if cut {
		s = s[:max-3]
	}
	b := []byte(s)
	for i, c := range b {
		switch {
		case c == '\t' || c == '\n' || c == '\r':
			b[i] = ' '
		case c < ' ' || c >= 0x7f:
			b[i] = '?'
		}
	}
	if cut {
		return string(b) + "..."
	}
	return string(b)
}
