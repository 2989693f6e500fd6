package resp

import (
	"bufio"
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"
)

// knownDifferences are the table cases where this package deliberately
// answers differently from Redis 7.0, with what Redis does.
var knownDifferences = map[string]string{
	"count CR without LF":             "Redis skips the byte after '\\r' unchecked and runs the command",
	"bulk CR without LF":              "Redis skips the byte after '\\r' unchecked and runs the command",
	"bulk data not followed by CRLF":  "Redis skips the two bytes after the data unchecked",
	"bulk data followed by CR only":   "Redis skips the two bytes after the data unchecked",
	"bulk data shorter than declared": "Redis skips two bytes and fails later with expected '$', got ...",
	"inline NUL is an ordinary byte":  "Redis's strchr stops at NUL: it waits for 64 KiB then fails with too big inline request",
	// Redis only notices an over-long line when a read leaves more than
	// 64 KiB without a terminator, so its answer depends on read sizes.
	"mbulk count line over MaxInline":                         "Redis says invalid multibulk length when the line arrives in one read",
	"inline default MaxInline":                                "Redis runs the 65537-byte line when its newline arrives in the same read",
	"Regression for a crash with blocking ops and pipelining": "BLPOP blocks",
}

// TestAgainstRedis runs the table cases that use default or unauthenticated
// limits against a real Redis and compares the replies' count and the
// protocol error. It is skipped unless RESP_REDIS_ADDR names a Redis 7.0
// ("host:port" or "unix:/path") started with "requirepass pw".
func TestAgainstRedis(t *testing.T) {
	addr := os.Getenv("RESP_REDIS_ADDR")
	if addr == "" {
		t.Skip("RESP_REDIS_ADDR not set")
	}
	network := "tcp"
	if p, ok := strings.CutPrefix(addr, "unix:"); ok {
		network, addr = "unix", p
	}
	cases := append(protocolTclCases(), ownCases()...)
	for _, tc := range cases {
		unauth := tc.lim != nil && *tc.lim == (Limits{Unauthenticated: true})
		if tc.lim != nil && !unauth {
			continue // Redis's limits cannot be set that low
		}
		t.Run(tc.name, func(t *testing.T) {
			if why, ok := knownDifferences[tc.name]; ok {
				t.Skip(why)
			}
			conn, err := net.Dial(network, addr)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			br := bufio.NewReader(conn)
			if !unauth {
				fmt.Fprint(conn, "AUTH pw\r\n")
				if line, err := br.ReadString('\n'); err != nil || line != "+OK\r\n" {
					t.Fatalf("AUTH: %q %v", line, err)
				}
			}
			go conn.Write([]byte(tc.in)) // errors when Redis closes early
			var replies []string
			end := "open"
			for {
				conn.SetReadDeadline(time.Now().Add(500 * time.Millisecond))
				rep, err := readReply(br)
				if err != nil {
					var ne net.Error
					if errors.As(err, &ne) && ne.Timeout() {
						break
					}
					end = "closed"
					break
				}
				replies = append(replies, rep)
			}
			nonEmpty := 0
			for _, c := range tc.want {
				if len(c) > 0 {
					nonEmpty++
				}
			}
			wantReplies, wantEnd := nonEmpty, "open"
			if strings.HasPrefix(tc.end, "Protocol error") {
				wantReplies, wantEnd = nonEmpty+1, "closed"
			}
			if len(replies) != wantReplies || end != wantEnd {
				t.Fatalf("Redis: %d replies %.300q, %s; want %d replies, %s", len(replies), replies, end, wantReplies, wantEnd)
			}
			if wantEnd == "closed" {
				if last := replies[len(replies)-1]; last != "-ERR "+tc.end {
					t.Fatalf("Redis replied %q, want %q", last, "-ERR "+tc.end)
				}
			}
		})
	}
}

// readReply reads one RESP2 reply, returned as its first line (aggregates
// are read fully).
func readReply(br *bufio.Reader) (string, error) {
	line, err := br.ReadString('\n')
	if err != nil {
		return "", err
	}
	line = strings.TrimSuffix(line, "\r\n")
	if line == "" {
		return "", errors.New("empty reply line")
	}
	switch line[0] {
	case '$':
		n, _ := strconv.Atoi(line[1:])
		if n >= 0 {
			if _, err := br.Discard(n + 2); err != nil {
				return "", err
			}
		}
	case '*':
		n, _ := strconv.Atoi(line[1:])
		for range n {
			if _, err := readReply(br); err != nil {
				return "", err
			}
		}
	}
	return line, nil
}
