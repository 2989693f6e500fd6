package datanode

import (
	"math"
	"strconv"
	"testing"
)

func TestSortScore(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want float64
		ok   bool
	}{
		{"", 0, true}, {"12", 12, true}, {"-1.5e2", -150, true}, {" \t7", 7, true}, {"+.5", 0.5, true}, {"5.", 5, true},
		{"0x1A", 26, true}, {"0X1P3", 8, true}, {"0x.8", 0.5, true}, {"-0x10p-1", -8, true}, {"inf", math.Inf(1), true},
		{"-Infinity", math.Inf(-1), true}, {"0x1p-1074", 0x1p-1074, true}, {"0e-500", 0, true}, {"1\x00junk", 1, true},
		{"5 ", 0, false}, {"   ", 0, false}, {"0x", 0, false}, {"00x10", 0, false}, {"nan", 0, false}, {"-NAN(12)", 0, false},
		{"1e400", 0, false}, {"1e-400", 0, false}, {"4e-320", 0, false}, {"1_0", 0, false}, {"infinit", 0, false},
		{"1e", 0, false}, {".", 0, false}, {"0x1p", 0, false}, {"abc", 0, false}, {"0x1p-1080", 0, false},
	} {
		got, ok := sortScore([]byte(tc.in))
		if ok != tc.ok || ok && got != tc.want {
			t.Errorf("sortScore(%q) = %v, %v; want %v, %v", tc.in, got, ok, tc.want, tc.ok)
		}
	}
}

// FuzzSortScore checks sortScore against ParseFloat where both read the
// same syntax (plain decimals), and that it never accepts NaN.
func FuzzSortScore(f *testing.F) {
	for _, seed := range []string{"1", "-2.5e-3", " 0x1p3", "inf", "nan", "1e-320", "", "0x", "1.7976931348623157e308"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, ok := sortScore([]byte(s))
		if ok && math.IsNaN(got) {
			t.Fatalf("sortScore(%q) accepted NaN", s)
		}
		if s == "" || !plainDecimal([]byte(s)) {
			return
		}
		want, err := strconv.ParseFloat(s, 64)
		if err != nil && ok {
			t.Fatalf("sortScore(%q) = %v, ParseFloat fails: %v", s, got, err)
		}
		if err == nil && ok && got != want {
			t.Fatalf("sortScore(%q) = %v, ParseFloat %v", s, got, want)
		}
		if err == nil && !ok && math.Abs(want) >= 0x1p-1022 {
			t.Fatalf("sortScore(%q) refused a normal number %v", s, want)
		}
	})
}
