package datanode

import (
	"bufio"
	"fmt"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chkv/chkv/helper/testutil"
)

// readMessage reads one pushed message or (un)subscribe reply and returns
// its elements as strings.
func readMessage(r *bufio.Reader, conn net.Conn) ([]string, error) {
	conn.SetReadDeadline(time.Now().Add(20 * time.Second))
	v, err := readReply(r)
	if err != nil {
		return nil, err
	}
	arr, ok := v.([]any)
	if !ok {
		return nil, fmt.Errorf("pushed %s, not an array", formatReply(v))
	}
	out := make([]string, len(arr))
	for i, e := range arr {
		switch e := e.(type) {
		case []byte:
			out[i] = string(e)
		case int64:
			out[i] = strconv.FormatInt(e, 10)
		default:
			return nil, fmt.Errorf("pushed %s", formatReply(v))
		}
	}
	return out, nil
}

// TestPubSubConcurrentPublishers has publishers on several connections
// publish at once to many subscribers, some by channel and some by pattern:
// every subscriber must receive every message exactly once, each
// publisher's in the order published, and every PUBLISH must count every
// subscriber.
func TestPubSubConcurrentPublishers(t *testing.T) {
	const (
		channelSubs = 12
		patternSubs = 6
		publishers  = 4
		perPub      = 300
	)
	for _, model := range testIOModels() {
		t.Run(model, func(t *testing.T) {
			s := startServer(t, func(cfg *Config) { cfg.IOModel = model })
			type sub struct {
				c       *respConn
				pattern bool
			}
			var subs []sub
			for i := range channelSubs + patternSubs {
				c := s.dial(t)
				if i < channelSubs {
					c.send("SUBSCRIBE", "news")
				} else {
					c.send("PSUBSCRIBE", "n*s")
				}
				if got := c.reply(); !strings.HasSuffix(got, "(integer) 1]") {
					t.Fatalf("subscribe: %s", got)
				}
				subs = append(subs, sub{c, i >= channelSubs})
			}
			var wg sync.WaitGroup
			errs := make(chan error, publishers+len(subs))
			for p := range publishers {
				c := s.dial(t)
				wg.Add(1)
				go func() {
					defer wg.Done()
					for i := range perPub {
						c.conn.SetWriteDeadline(time.Now().Add(20 * time.Second))
						if _, err := c.conn.Write(encodeCommand("PUBLISH", "news", fmt.Sprintf("%d:%d", p, i))); err != nil {
							errs <- err
							return
						}
						c.conn.SetReadDeadline(time.Now().Add(20 * time.Second))
						v, err := readReply(c.r)
						if err != nil || v != int64(channelSubs+patternSubs) {
							errs <- fmt.Errorf("PUBLISH %d:%d = %v, %v", p, i, v, err)
							return
						}
					}
				}()
			}
			for _, sb := range subs {
				wg.Add(1)
				go func() {
					defer wg.Done()
					next := make([]int, publishers)
					for range publishers * perPub {
						m, err := readMessage(sb.c.r, sb.c.conn)
						if err != nil {
							errs <- err
							return
						}
						want := 3
						if sb.pattern {
							want = 4
						}
						if len(m) != want || m[want-2] != "news" {
							errs <- fmt.Errorf("unexpected message %q", m)
							return
						}
						pub, seq, _ := strings.Cut(m[want-1], ":")
						p, _ := strconv.Atoi(pub)
						n, _ := strconv.Atoi(seq)
						if n != next[p] {
							errs <- fmt.Errorf("publisher %d: message %d arrived when %d was due", p, n, next[p])
							return
						}
						next[p]++
					}
				}()
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Fatal(err)
			}
			// Nothing more was delivered: the next reply is the PING's.
			for _, sb := range subs {
				if got := sb.c.do("PING"); got != `["pong" ""]` {
					t.Fatalf("after all messages: %s", got)
				}
			}
		})
	}
}

// TestPubSubUnsubscribeOrdering unsubscribes while a publisher publishes
// continuously: no message of the channel may follow the unsubscribe reply.
func TestPubSubUnsubscribeOrdering(t *testing.T) {
	for _, model := range testIOModels() {
		t.Run(model, func(t *testing.T) {
			s := startServer(t, func(cfg *Config) { cfg.IOModel = model })
			sub, pub := s.dial(t), s.dial(t)
			stop := make(chan struct{})
			done := make(chan struct{})
			go func() {
				defer close(done)
				for i := 0; ; i++ {
					select {
					case <-stop:
						return
					default:
					}
					pub.send("PUBLISH", "ch", strconv.Itoa(i))
					pub.conn.SetReadDeadline(time.Now().Add(20 * time.Second))
					if _, err := readReply(pub.r); err != nil {
						return
					}
				}
			}()
			for round := range 20 {
				sub.send("SUBSCRIBE", "ch", "other")
				sawUnsub := false
				sub.send("UNSUBSCRIBE", "ch")
				sub.send("PING", "end")
				for {
					m, err := readMessage(sub.r, sub.conn)
					if err != nil {
						t.Fatal(err)
					}
					switch {
					case m[0] == "unsubscribe":
						sawUnsub = true
					case m[0] == "message" && sawUnsub:
						t.Fatalf("round %d: message %q after the unsubscribe reply", round, m)
					}
					if m[0] == "pong" {
						break
					}
				}
				if !sawUnsub {
					t.Fatalf("round %d: no unsubscribe reply", round)
				}
				sub.send("UNSUBSCRIBE")
				for {
					m, err := readMessage(sub.r, sub.conn)
					if err != nil {
						t.Fatal(err)
					}
					if m[0] == "unsubscribe" {
						break
					}
				}
			}
			close(stop)
			<-done
		})
	}
}

// TestPubSubDisconnectCleanup checks that a subscriber's subscriptions go
// with its connection, however it ends, while publishers keep publishing.
func TestPubSubDisconnectCleanup(t *testing.T) {
	for _, model := range testIOModels() {
		t.Run(model, func(t *testing.T) {
			s := startServer(t, func(cfg *Config) { cfg.IOModel = model })
			admin := s.dial(t)
			stop := make(chan struct{})
			var wg sync.WaitGroup
			for range 2 {
				pub := s.dial(t)
				wg.Add(1)
				go func() {
					defer wg.Done()
					for {
						select {
						case <-stop:
							return
						default:
						}
						pub.send("PUBLISH", "ch", "x")
						pub.conn.SetReadDeadline(time.Now().Add(20 * time.Second))
						if _, err := readReply(pub.r); err != nil {
							return
						}
					}
				}()
			}
			for i := range 30 {
				c := dial(t, "tcp", s.Addr().String())
				id := strings.TrimPrefix(c.do("CLIENT", "ID"), "(integer) ")
				c.send("SUBSCRIBE", "ch", fmt.Sprint("own", i))
				c.send("PSUBSCRIBE", "c*")
				c.send("SSUBSCRIBE", "sh")
				switch i % 3 {
				case 0: // closes without reading
					c.conn.Close()
				case 1: // quits
					c.send("QUIT")
					c.readUntilClosed(10 * time.Second)
				case 2: // is killed
					c.reply()
					if got := admin.do("CLIENT", "KILL", "ID", id); got != "(integer) 1" {
						t.Fatalf("CLIENT KILL ID %s = %s", id, got)
					}
				}
			}
			close(stop)
			wg.Wait()
			testutil.Eventually(t, 10*time.Second, "every subscription to go", func() bool {
				return admin.do("PUBSUB", "NUMSUB", "ch", "own0") == `["ch" (integer) 0 "own0" (integer) 0]` &&
					admin.do("PUBSUB", "NUMPAT") == "(integer) 0" &&
					admin.do("PUBSUB", "SHARDNUMSUB", "sh") == `["sh" (integer) 0]`
			})
			info := admin.do("INFO", "stats")
			for _, line := range []string{"pubsub_channels:0", "pubsub_patterns:0", "pubsubshard_channels:0"} {
				if !strings.Contains(info, line) {
					t.Errorf("INFO stats lacks %s", line)
				}
			}
		})
	}
}
