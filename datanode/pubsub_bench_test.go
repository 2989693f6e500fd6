package datanode

import (
	"bufio"
	"net"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// fanoutSubscribers is how many subscribers BenchmarkPubSubFanout's
// messages go to.
const fanoutSubscribers = 1000

// BenchmarkPubSubFanout publishes to 1,000 subscribers of one channel, on a
// DataNode under each I/O model and on redis-server side by side, over
// unix sockets, and reports messages delivered per second: from the first
// PUBLISH until every subscriber has read every message. One publisher
// pipelines its PUBLISH commands 50 at a time.
//
//	go test -run '^$' -bench PubSubFanout -benchtime 2000x ./datanode/
func BenchmarkPubSubFanout(b *testing.B) {
	for _, model := range testIOModels() {
		b.Run("datanode-"+model, func(b *testing.B) {
			ln, err := net.Listen("unix", filepath.Join(b.TempDir(), "dn.sock"))
			if err != nil {
				b.Fatal(err)
			}
			s := startServer(b, func(cfg *Config) {
				cfg.Listener = ln
				cfg.IOModel = model
			})
			benchFanout(b, s.Addr().String())
		})
	}
	b.Run("redis", func(b *testing.B) {
		benchFanout(b, startRedisSocket(b))
	})
}

// benchFanout runs the fan-out benchmark against the server at the unix
// socket path sock.
func benchFanout(b *testing.B, sock string) {
	payload := strings.Repeat("p", 64)
	frame := appendMessage(nil, "message", nil, []byte("bench"), []byte(payload))
	var received atomic.Int64 // bytes of messages read by all subscribers
	for range fanoutSubscribers {
		conn, err := net.Dial("unix", sock)
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { conn.Close() })
		r := bufio.NewReaderSize(conn, 64<<10)
		conn.Write(encodeCommand("SUBSCRIBE", "bench"))
		if _, err := readReply(r); err != nil {
			b.Fatal(err)
		}
		go func() {
			buf := make([]byte, 64<<10)
			for {
				n, err := r.Read(buf)
				received.Add(int64(n))
				if err != nil {
					return
				}
			}
		}()
	}
	pub, err := net.Dial("unix", sock)
	if err != nil {
		b.Fatal(err)
	}
	defer pub.Close()
	pr := bufio.NewReader(pub)
	const batch = 50
	var wire []byte
	for range batch {
		wire = append(wire, encodeCommand("PUBLISH", "bench", payload)...)
	}
	want := int64(b.N) * fanoutSubscribers * int64(len(frame))
	b.ResetTimer()
	start := time.Now()
	for sent := 0; sent < b.N; sent += batch {
		n := min(batch, b.N-sent)
		if _, err := pub.Write(wire[:n*len(wire)/batch]); err != nil {
			b.Fatal(err)
		}
		for range n {
			if v, err := readReply(pr); err != nil || v != int64(fanoutSubscribers) {
				b.Fatalf("PUBLISH = %v, %v", v, err)
			}
		}
	}
	for received.Load() < want {
		if time.Since(start) > time.Minute {
			b.Fatalf("delivered %d of %d bytes", received.Load(), want)
		}
		time.Sleep(time.Millisecond)
	}
	elapsed := time.Since(start)
	b.StopTimer()
	b.ReportMetric(float64(b.N)*fanoutSubscribers/elapsed.Seconds(), "deliveries/s")
}
