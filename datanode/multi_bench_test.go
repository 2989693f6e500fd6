package datanode

import (
	"bufio"
	"net"
	"os"
	"strconv"
	"sync"
	"testing"
	"time"
)

// TestMultiExecThroughput measures transactions of 5 SETs (MULTI, 5 SET,
// EXEC, sent in one write) on a DataNode and on redis-server side by side,
// over TCP with the same clients, and logs the rates and their ratio,
// with plain pipelined SETs as the reference. It
// runs only with CHKV_BENCH=1:
//
//	CHKV_BENCH=1 go test -count=1 -run MultiExecThroughput -v ./datanode/
func TestMultiExecThroughput(t *testing.T) {
	if os.Getenv("CHKV_BENCH") == "" {
		t.Skip("set CHKV_BENCH=1 to measure")
	}
	s := startServer(t, nil)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
	ln.Close()
	startRedis(t, "--port", port)
	// Rounds alternate between the two servers and the best round of each
	// counts, which evens out a machine shared with other work.
	const rounds, duration = 5, time.Second
	for _, clients := range []int{1, 8} {
		for _, tx := range []bool{true, false} {
			var chkv, redis float64
			for range rounds {
				chkv = max(chkv, measureBatches(t, s.Addr().String(), clients, tx, duration))
				redis = max(redis, measureBatches(t, "127.0.0.1:"+port, clients, tx, duration))
			}
			what := "MULTI + 5 SET + EXEC"
			if !tx {
				what = "5 SET pipelined (no MULTI)"
			}
			t.Logf("%-28s %d client(s): chkv %8.0f batches/s, redis %8.0f batches/s, ratio %.2f",
				what, clients, chkv, redis, chkv/redis)
		}
	}
}

// measureBatches runs clients connections to addr for d, each sending one
// batch (5 SETs, in MULTI/EXEC if tx) and reading its replies in a loop,
// and returns the batches per second.
func measureBatches(t *testing.T, addr string, clients int, tx bool, d time.Duration) float64 {
	var batch []byte
	replies := 5
	if tx {
		batch = append(batch, encodeCommand("MULTI")...)
		replies = 7
	}
	for i := range 5 {
		batch = append(batch, encodeCommand("SET", "bench:key:"+strconv.Itoa(i), "value-"+strconv.Itoa(i))...)
	}
	if tx {
		batch = append(batch, encodeCommand("EXEC")...)
	}
	var wg sync.WaitGroup
	counts := make([]int, clients)
	deadline := time.Now().Add(d)
	for i := range clients {
		conn, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer conn.Close()
			r := bufio.NewReader(conn)
			for time.Now().Before(deadline) {
				if _, err := conn.Write(batch); err != nil {
					t.Error(err)
					return
				}
				for range replies {
					if _, err := readReply(r); err != nil {
						t.Error(err)
						return
					}
				}
				counts[i]++
			}
		}()
	}
	wg.Wait()
	n := 0
	for _, c := range counts {
		n += c
	}
	return float64(n) / d.Seconds()
}

// BenchmarkMultiExecHandlers measures a transaction of 5 SETs through the
// command path without the network, next to the same SETs without MULTI.
func BenchmarkMultiExecHandlers(b *testing.B) {
	s := newIdleServer(b)
	c := &client{srv: s, out: make([]byte, 0, 1<<16)}
	c.multiLen.Store(-1)
	var sets [][][]byte
	for i := range 5 {
		sets = append(sets, toArgs("SET", "bench:key:"+strconv.Itoa(i), "value"))
	}
	multi, exec := toArgs("MULTI"), toArgs("EXEC")
	b.Run("MULTI-5xSET-EXEC", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			c.out = c.out[:0]
			s.execute(c, multi)
			for _, a := range sets {
				s.execute(c, a)
			}
			s.execute(c, exec)
		}
	})
	b.Run("5xSET", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			c.out = c.out[:0]
			for _, a := range sets {
				s.execute(c, a)
			}
		}
	})
}
