package drainport

import "testing"

func TestPercent(t *testing.T) {
	for _, tc := range []struct {
		total, left int
		want        string
	}{
		{0, 0, "100.0%"},
		{5461, 4227, "22.6%"},
		{5461, 1, "99.9%"}, // 99.98% rounds to 100.0 only when all moved
		{5461, 0, "100.0%"},
		{4, 4, "0.0%"},
		{4, 9, "0.0%"}, // more left than total: clamped
		{3, 1, "66.7%"},
	} {
		if got := percent(Progress{SlotsTotal: tc.total, SlotsLeft: tc.left}); got != tc.want {
			t.Errorf("percent(%d/%d left) = %s, want %s", tc.left, tc.total, got, tc.want)
		}
	}
}

func TestPrintable(t *testing.T) {
	if got := printable("a\tb\nc\x00d\xffe", 64); got != "a b c?d?e" {
		t.Errorf("printable = %q", got)
	}
	if got := printable("abcdefghij", 8); got != "abcde..." {
		t.Errorf("printable cut = %q", got)
	}
}
