package bytesize

import (
	"errors"
	"testing"
)

func TestParse(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want int64
	}{
		{"0", 0}, {"123", 123}, {"1k", 1000}, {"1kb", 1024}, {"100mb", 100 << 20},
		{"512MB", 512 << 20}, {"1gb", 1 << 30}, {"2g", 2e9}, {"3m", 3e6}, {"7b", 7}, {" 5kb ", 5120},
	} {
		got, err := Parse(tc.in)
		if err != nil || got != tc.want {
			t.Errorf("Parse(%q) = %d, %v; want %d", tc.in, got, err, tc.want)
		}
	}
}

func TestParseRejects(t *testing.T) {
	for _, in := range []string{"", "mb", "-1", "1.5mb", "12xb", "99999999999999999999", "9999999999999gb"} {
		if _, err := Parse(in); !errors.Is(err, ErrInvalid) {
			t.Errorf("Parse(%q) error = %v, want ErrInvalid", in, err)
		}
	}
}

func TestFormatRoundTrips(t *testing.T) {
	for _, n := range []int64{0, 1, 1000, 1024, 512 << 20, 1 << 30, 3<<30 + 1} {
		if got, err := Parse(Format(n)); err != nil || got != n {
			t.Errorf("Parse(Format(%d)) = %d, %v", n, got, err)
		}
	}
	if got := Format(512 << 20); got != "512mb" {
		t.Errorf("Format(512<<20) = %q", got)
	}
}

func TestDecimal(t *testing.T) {
	for n, want := range map[int64]string{
		-1: "0 B", 0: "0 B", 999: "999 B", 1000: "1.0 kB", 12_300_000: "12.3 MB",
		999_960: "1.0 MB", 1 << 62: "4.6 EB",
	} {
		if got := Decimal(n); got != want {
			t.Errorf("Decimal(%d) = %q, want %q", n, got, want)
		}
	}
}

func TestBinary(t *testing.T) {
	for n, want := range map[int64]string{
		0: "0B", 1023: "1023B", 1024: "1.0KiB", 1434: "1.4KiB", 3 << 20: "3.0MiB",
		12_900_000: "12.3MiB", 5 << 40: "5.0TiB", 1 << 62: "4.0EiB",
	} {
		if got := Binary(n); got != want {
			t.Errorf("Binary(%d) = %q, want %q", n, got, want)
		}
	}
}
