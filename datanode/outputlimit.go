package datanode

import (
	"fmt"
	"math"
	"strings"
	"time"
)

// outputBufferLimit is one class's client-output-buffer-limit: a client is
// disconnected when the bytes waiting to be sent to it reach Hard, or stay
// at or above Soft for more than SoftSeconds. Zero bytes disable a limit.
type outputBufferLimit struct {
	Hard        uint64
	Soft        uint64
	SoftSeconds int64
}

// OutputBufferLimits are the client-output-buffer-limit classes, as CONFIG
// GET reports them. CHKV enforces PubSub, for subscribed clients, and
// Normal for monitors (see monitorLimit); it has no replicas, and other
// normal clients are bounded by the write timeout and by running a
// pipeline only as fast as its replies are read.
type OutputBufferLimits struct {
	Normal, Replica, PubSub outputBufferLimit
}

// DefaultOutputBufferLimits are Redis's defaults:
// "normal 0 0 0 slave 256mb 64mb 60 pubsub 32mb 8mb 60".
var DefaultOutputBufferLimits = OutputBufferLimits{
	Replica: outputBufferLimit{Hard: 256 << 20, Soft: 64 << 20, SoftSeconds: 60},
	PubSub:  outputBufferLimit{Hard: 32 << 20, Soft: 8 << 20, SoftSeconds: 60},
}

// exceeded reports whether a client with used bytes waiting has passed the
// limit at now, as Redis's checkClientOutputBufferLimits: the soft limit
// counts once it has been reached continuously for more than SoftSeconds
// whole seconds. softSince is the client's record of when it reached the
// soft limit, updated here.
func (l outputBufferLimit) exceeded(used int64, softSince *time.Time, now time.Time) bool {
	u := uint64(max(used, 0))
	if l.Hard != 0 && u >= l.Hard {
		return true
	}
	if l.Soft == 0 || u < l.Soft {
		*softSince = time.Time{}
		return false
	}
	if softSince.IsZero() {
		*softSince = now
		return false
	}
	return now.Unix()-softSince.Unix() > l.SoftSeconds
}

// String formats the limits as CONFIG GET client-output-buffer-limit does.
func (ls OutputBufferLimits) String() string {
	f := func(class string, l outputBufferLimit) string {
		return fmt.Sprintf("%s %d %d %d", class, l.Hard, l.Soft, l.SoftSeconds)
	}
	return f("normal", ls.Normal) + " " + f("slave", ls.Replica) + " " + f("pubsub", ls.PubSub)
}

// setOutputBufferLimits is CONFIG SET client-output-buffer-limit: groups of
// "<class> <hard> <soft> <soft seconds>" separated by single spaces, applied
// all or none, with Redis's error texts.
func setOutputBufferLimits(st *Settings, v string) error {
	var words []string
	if v != "" {
		words = strings.Split(v, " ")
	}
	if len(words)%4 != 0 {
		return configError("Wrong number of arguments in buffer limit configuration.")
	}
	limits := st.OutputBufferLimits
	for i := 0; i < len(words); i += 4 {
		var dst *outputBufferLimit
		switch strings.ToLower(words[i]) {
		case "normal":
			dst = &limits.Normal
		case "slave", "replica":
			dst = &limits.Replica
		case "pubsub":
			dst = &limits.PubSub
		default:
			return configError("Invalid client class specified in buffer limit configuration.")
		}
		hard, okHard := memToULL(words[i+1])
		soft, okSoft := memToULL(words[i+2])
		secs, okSecs := strtoll(words[i+3])
		secs = int64(int32(secs)) // Redis keeps the seconds in a C int
		if !okHard || !okSoft || !okSecs || secs < 0 {
			return configError("Error in hard, soft or soft_seconds setting in buffer limit configuration.")
		}
		*dst = outputBufferLimit{Hard: hard, Soft: soft, SoftSeconds: secs}
	}
	st.OutputBufferLimits = limits
	return nil
}

// memToULL is Redis's memtoull: digits (possibly none) and an optional unit
// b, k, kb, m, mb, g or gb in any case; a value past 2^64-1 saturates.
func memToULL(s string) (uint64, bool) {
	if strings.HasPrefix(s, "-") {
		return 0, false
	}
	digits := 0
	for digits < len(s) && '0' <= s[digits] && s[digits] <= '9' {
		digits++
	}
	var mul uint64
	switch strings.ToLower(s[digits:]) {
	case "", "b":
		mul = 1
	case "k":
		mul = 1000
	case "kb":
		mul = 1024
	case "m":
		mul = 1000 * 1000
	case "mb":
		mul = 1024 * 1024
	case "g":
		mul = 1000 * 1000 * 1000
	case "gb":
		mul = 1024 * 1024 * 1024
	default:
		return 0, false
	}
	if digits >= 128 { // the size of memtoull's digit buffer
		return 0, false
	}
	var n uint64
	for _, ch := range s[:digits] {
		d := uint64(ch - '0')
		if n > (math.MaxUint64-d)/10 {
			n = math.MaxUint64
			break
		}
		n = n*10 + d
	}
	return n * mul, true // wraps on overflow, as the C multiplication does
}

// strtoll parses s as C's strtoll(s, &end, 10) followed by a check that end
// reached the end of s: optional leading white space and sign, then digits;
// an empty string is 0; out-of-range values saturate.
func strtoll(s string) (int64, bool) {
	i := 0
	for i < len(s) && strings.IndexByte(" \t\n\v\f\r", s[i]) >= 0 {
		i++
	}
	neg := false
	if i < len(s) && (s[i] == '+' || s[i] == '-') {
		neg = s[i] == '-'
		i++
	}
	start := i
	const limit = uint64(math.MaxInt64) + 1 // saturated magnitude
	var n uint64
	for i < len(s) && '0' <= s[i] && s[i] <= '9' {
		if d := uint64(s[i] - '0'); n > (limit-d)/10 {
			n = limit
		} else {
			n = n*10 + d
		}
		i++
	}
	if i == start {
		// No digits: strtoll converts nothing and end is s itself.
		return 0, s == ""
	}
	if i != len(s) {
		return 0, false
	}
	switch {
	case neg && n >= limit:
		return math.MinInt64, true
	case neg:
		return -int64(n), true
	case n >= limit:
		return math.MaxInt64, true
	}
	return int64(n), true
}
