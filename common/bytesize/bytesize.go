// Package bytesize parses memory sizes the way redis.conf writes them.
package bytesize

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// ErrInvalid is returned for text that is not a size.
var ErrInvalid = errors.New("bytesize: invalid size")

// units follows Redis's memtoull: k, m, g are powers of 1000 and kb, mb, gb
// powers of 1024, case-insensitively.
var units = []struct {
	suffix string
	factor int64
}{
	{"kb", 1 << 10}, {"mb", 1 << 20}, {"gb", 1 << 30},
	{"k", 1000}, {"m", 1000 * 1000}, {"g", 1000 * 1000 * 1000},
	{"b", 1},
}

// Parse returns the number of bytes that s denotes: a non-negative integer
// optionally followed by a unit (1k = 1000, 1kb = 1024, likewise m/mb, g/gb).
func Parse(s string) (int64, error) {
	text := strings.ToLower(strings.TrimSpace(s))
	factor := int64(1)
	for _, u := range units {
		if strings.HasSuffix(text, u.suffix) {
			text, factor = strings.TrimSuffix(text, u.suffix), u.factor
			break
		}
	}
	n, err := strconv.ParseInt(text, 10, 64)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("%w: %q", ErrInvalid, s)
	}
	if n > math.MaxInt64/factor {
		return 0, fmt.Errorf("%w: %q overflows", ErrInvalid, s)
	}
	return n * factor, nil
}

// Format renders n with the largest binary unit that divides it exactly,
// so Format(536870912) is "512mb" and Parse(Format(n)) == n.
func Format(n int64) string {
	for _, u := range []struct {
		suffix string
		factor int64
	}{{"gb", 1 << 30}, {"mb", 1 << 20}, {"kb", 1 << 10}} {
		if n != 0 && n%u.factor == 0 {
			return strconv.FormatInt(n/u.factor, 10) + u.suffix
		}
	}
	return strconv.FormatInt(n, 10)
}

// Decimal renders n for people in decimal units with one decimal and a
// space, as the drain port prints it: "512 B", "12.3 MB". A negative n
// is "0 B".
func Decimal(n int64) string {
	if n < 1000 {
		return fmt.Sprintf("%d B", max(n, 0))
	}
	const units = "kMGTPE"
	f := float64(n) / 1000
	i := 0
	for f >= 999.95 && i < len(units)-1 {
		f /= 1000
		i++
	}
	return fmt.Sprintf("%.1f %cB", f, units[i])
}

// Binary renders n for people in binary units with one decimal, as
// chkvctl's tables print it: "512B", "1.4KiB", "3.0MiB".
func Binary(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%dB", n)
	}
	f, i := float64(n), -1
	for f >= unit && i < 5 {
		f /= unit
		i++
	}
	return fmt.Sprintf("%.1f%ciB", f, "KMGTPE"[i])
}
