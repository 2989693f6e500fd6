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

	"github.com/chkv/chkv/datanode/store"
	"github.com/chkv/chkv/helper/testutil"
)

// fillKeys writes n keys, key:0 to key:n-1, pipelined in batches, key i
// with a value of valueLens[i%len(valueLens)] bytes, and fails the test
// unless every write is accepted.
func fillKeys(t *testing.T, c *respConn, n int, valueLens ...int) {
	t.Helper()
	const batch = 500
	for from := 0; from < n; from += batch {
		to := min(from+batch, n)
		var b []byte
		for i := from; i < to; i++ {
			val := strings.Repeat("v", valueLens[i%len(valueLens)])
			b = append(b, encodeCommand("SET", "key:"+strconv.Itoa(i), val)...)
		}
		c.writeRaw(b)
		for i := from; i < to; i++ {
			if got := c.reply(); got != "OK" {
				t.Fatalf("SET key:%d = %s", i, got)
			}
		}
	}
}

// burst makes total short-lived connections to addr, workers at a time,
// connection i by calling conn(addr, i), and returns the first error any of
// them met.
func burst(addr string, total, workers int, conn func(addr string, i int) error) error {
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		firstErr error
	)
	next := make(chan int)
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				if err := conn(addr, i); err != nil {
					mu.Lock()
					if firstErr == nil {
						firstErr = fmt.Errorf("connection %d: %w", i, err)
					}
					mu.Unlock()
				}
			}
		}()
	}
	for i := range total {
		next <- i
	}
	close(next)
	wg.Wait()
	return firstErr
}

// shortConnection makes one RESP connection and closes it: when i%3 is 0
// at once, 1 after a PING and its reply, 2 leaving half a command in the
// query buffer.
func shortConnection(addr string, i int) error {
	nc, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return err
	}
	defer nc.Close()
	nc.SetDeadline(time.Now().Add(5 * time.Second))
	switch i % 3 {
	case 1:
		if _, err := nc.Write([]byte("*1\r\n$4\r\nPING\r\n")); err != nil {
			return err
		}
		line, err := bufio.NewReader(nc).ReadString('\n')
		if err != nil {
			return err
		}
		if line != "+PONG\r\n" {
			return fmt.Errorf("PING = %q", line)
		}
	case 2:
		if _, err := nc.Write([]byte("*3\r\n$3\r\nSET\r\n$4\r\nhalf\r\n$4096\r\n" + strings.Repeat("x", 2000))); err != nil {
			return err
		}
	}
	return nil
}

// halfOpenHandshake opens a connection to a gRPC server and closes it in the
// middle of the HTTP/2 handshake: after half the client preface when i is
// even, after the whole preface and its SETTINGS frame, never acknowledging
// the server's, when i is odd.
func halfOpenHandshake(addr string, i int) error {
	nc, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return err
	}
	defer nc.Close()
	nc.SetDeadline(time.Now().Add(5 * time.Second))
	const preface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
	msg := []byte(preface[:len(preface)/2])
	if i%2 == 1 {
		// An empty SETTINGS frame: length 0, type 4, no flags, stream 0.
		msg = append([]byte(preface), 0, 0, 0, 4, 0, 0, 0, 0, 0)
	}
	_, err = nc.Write(msg)
	return err
}

// infoInt returns an integer field of INFO, failing the test if it is missing.
func infoInt(t *testing.T, f map[string]string, name string) int64 {
	t.Helper()
	v, err := strconv.ParseInt(f[name], 10, 64)
	if err != nil {
		t.Fatalf("INFO %s = %q: %v", name, f[name], err)
	}
	return v
}

// The incident of issue 12: a node with maxmemory 64mb and allkeys-lru
// held 25,331 keys, its data near but within the limit.
const (
	burstMaxMemory = 64 << 20
	burstKeys      = 25_331
	// Two sizes in different size classes of the store, so that the data
	// comes to 88% of maxmemory.
	burstShortValue, burstLongValue = 1800, 1900
)

// TestConnectionBurstEvictsNothing replays the incident: the node takes
// 6,000 short-lived connections (and, in cluster mode, 3,000 half-open gRPC
// handshakes at the same time). None of them may cost a key or a write:
// used_memory counts the data and live client buffers, never the garbage
// the connections leave on the Go heap.
func TestConnectionBurstEvictsNothing(t *testing.T) {
	limits := func(c *Config) {
		c.Settings.MaxMemory = burstMaxMemory
		c.Settings.MaxMemoryPolicy = store.AllKeysLRU
	}
	for _, model := range ioModels {
		t.Run(model, func(t *testing.T) {
			s := startServer(t, func(c *Config) {
				c.IOModel = model
				limits(c)
			})
			connectionBurstScenario(t, s, s.dial(t), "")
		})
	}
	t.Run("cluster", func(t *testing.T) {
		nn := startFakeNameNode(t)
		grpcLn, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		s := startServer(t, func(c *Config) {
			c.ID = "dn-a"
			c.NameNodes = []string{nn.Addr()}
			c.GRPCListener = grpcLn
			limits(c)
		})
		connectionBurstScenario(t, s, ownEverySlot(t, nn, s), grpcLn.Addr().String())
	})
}

// connectionBurstScenario fills s through c, runs the bursts (half-open gRPC
// handshakes too when grpcAddr is set) and checks that nothing was evicted
// or refused.
func connectionBurstScenario(t *testing.T, s *Server, c *respConn, grpcAddr string) {
	fillKeys(t, c, burstKeys, burstShortValue, burstLongValue)
	_, f := parseInfo(t, c.info("memory", "stats"))
	dataset := infoInt(t, f, "used_memory_dataset")
	t.Logf("%d keys: dataset %d bytes, used_memory %d, maxmemory %d", burstKeys, dataset, infoInt(t, f, "used_memory"), burstMaxMemory)
	// The data must nearly fill the limit, as in the incident, and fit.
	if dataset < burstMaxMemory*3/4 || dataset > burstMaxMemory*15/16 {
		t.Fatalf("dataset %d bytes is not between 75%% and 94%% of maxmemory %d; adjust the value sizes", dataset, burstMaxMemory)
	}
	if ev := infoInt(t, f, "evicted_keys"); ev != 0 {
		t.Fatalf("filling within maxmemory evicted %d keys", ev)
	}

	var grpcErr error
	var wg sync.WaitGroup
	if grpcAddr != "" {
		wg.Add(1)
		go func() {
			defer wg.Done()
			grpcErr = burst(grpcAddr, 3000, 8, halfOpenHandshake)
		}()
	}
	respErr := burst(s.Addr().String(), 6000, 16, shortConnection)
	wg.Wait()
	if respErr != nil {
		t.Fatalf("RESP burst: %v", respErr)
	}
	if grpcErr != nil {
		t.Fatalf("gRPC burst: %v", grpcErr)
	}
	testutil.Eventually(t, 10*time.Second, "the burst's connections to close", func() bool {
		return s.numClients.Load() == 1
	})

	// Writes are still accepted, overwriting keys and adding one.
	for i := 0; i < 200; i += 2 {
		if got := c.do("SET", "key:"+strconv.Itoa(i), strings.Repeat("w", burstShortValue)); got != "OK" {
			t.Fatalf("SET after the burst = %s", got)
		}
	}
	if got := c.do("SET", "after-burst", "v"); got != "OK" {
		t.Fatalf("SET after-burst = %s", got)
	}
	_, f = parseInfo(t, c.info("memory", "stats"))
	if ev := infoInt(t, f, "evicted_keys"); ev != 0 {
		t.Errorf("the connection burst evicted %d keys", ev)
	}
	if got, want := c.do("DBSIZE"), fmt.Sprintf("(integer) %d", burstKeys+1); got != want {
		t.Errorf("DBSIZE = %s, want %s", got, want)
	}
	// Only the querying client's own buffers remain beyond the data.
	if over := infoInt(t, f, "used_memory") - infoInt(t, f, "used_memory_dataset"); over > 64<<10 {
		t.Errorf("used_memory exceeds the dataset by %d bytes with one client connected", over)
	}
}

// TestClientBuffersCountAsUsedMemory checks that a client's pending query
// buffer raises used_memory (and mem_clients_normal) and that the bytes
// come back when it disconnects.
func TestClientBuffersCountAsUsedMemory(t *testing.T) {
	for _, model := range ioModels {
		t.Run(model, func(t *testing.T) {
			s := startServer(t, func(c *Config) { c.IOModel = model })
			before := s.usedMemory()
			if before != s.store.UsedBytes() {
				t.Fatalf("used memory %d with no clients, store %d", before, s.store.UsedBytes())
			}
			const pending = 1 << 20
			big := s.dial(t)
			big.writeRaw([]byte("*3\r\n$3\r\nSET\r\n$3\r\nbig\r\n$4194304\r\n" + strings.Repeat("x", pending)))
			testutil.Eventually(t, 10*time.Second, "the pending query buffer to count", func() bool {
				return s.usedMemory() >= before+pending
			})
			c := s.dial(t)
			_, f := parseInfo(t, c.info("memory"))
			if got := infoInt(t, f, "mem_clients_normal"); got < pending {
				t.Errorf("mem_clients_normal = %d with %d bytes pending", got, pending)
			}
			if got := infoInt(t, f, "used_memory"); got < before+pending {
				t.Errorf("INFO used_memory = %d, want at least %d", got, before+pending)
			}
			big.conn.Close()
			c.conn.Close()
			testutil.Eventually(t, 10*time.Second, "the closed clients' buffers to be released", func() bool {
				return s.numClients.Load() == 0 && s.usedMemory() == s.store.UsedBytes()
			})
		})
	}
}

// TestUnreadRepliesCountAsUsedMemory checks that replies a client does not
// read count while they wait and are released when it disconnects.
func TestUnreadRepliesCountAsUsedMemory(t *testing.T) {
	for _, model := range ioModels {
		t.Run(model, func(t *testing.T) {
			s := startServer(t, func(c *Config) { c.IOModel = model })
			c := s.dial(t)
			const valueLen = 1 << 20
			if got := c.do("SET", "big", strings.Repeat("x", valueLen)); got != "OK" {
				t.Fatalf("SET big = %s", got)
			}
			data := s.store.UsedBytes()
			// 64 GETs of a 1 MB value: far more than the socket buffers take.
			var b []byte
			for range 64 {
				b = append(b, encodeCommand("GET", "big")...)
			}
			c.writeRaw(b)
			// How much waits depends on the socket buffers; that it counts
			// does not.
			testutil.Eventually(t, 10*time.Second, "unsent replies to count", func() bool {
				return s.usedMemory() > data
			})
			c.conn.Close()
			testutil.Eventually(t, 10*time.Second, "the closed client's replies to be released", func() bool {
				return s.numClients.Load() == 0 && s.usedMemory() == data
			})
		})
	}
}
