package drainprogress

import "testing"

func TestSlotsMovedAndPercent(t *testing.T) {
	for _, tc := range []struct {
		total, left, moved int
		pct                float64
	}{
		{0, 0, 0, 100},
		{8192, 8192, 0, 0},
		{8192, 5192, 3000, 100 * 3000.0 / 8192},
		{8192, 0, 8192, 100},
		{4, 9, 0, 0}, // more left than total: clamped
		{-1, 0, 0, 100},
	} {
		p := Progress{SlotsTotal: tc.total, SlotsLeft: tc.left}
		if got := p.SlotsMoved(); got != tc.moved {
			t.Errorf("SlotsMoved(%d/%d left) = %d, want %d", tc.left, tc.total, got, tc.moved)
		}
		if got := p.Percent(); got != tc.pct {
			t.Errorf("Percent(%d/%d left) = %v, want %v", tc.left, tc.total, got, tc.pct)
		}
	}
}
