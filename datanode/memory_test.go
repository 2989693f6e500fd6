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

// connectionBurst opens total short-lived connections to addr, workers at a
// time: a third close at once, a third send PING and read the reply, a third
// leave half a command in the query buffer and close. It returns the first
// error any of them met.
func connectionBurst(addr string, total, workers int) error {
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
				if err := shortConnection(addr, i%3); err != nil {
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

// shortConnection makes one connection of the given kind (see
// connectionBurst) and closes it.
func shortConnection(addr string, kind int) error {
	nc, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return err
	}
	defer nc.Close()
	nc.SetDeadline(time.Now().Add(5 * time.Second))
	switch kind {
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

// infoInt returns an integer field of INFO, failing the test if it is missing.
func infoInt(t *testing.T, f map[string]string, name string) int64 {
	t.Helper()
	v, err := strconv.ParseInt(f[name], 10, 64)
	if err != nil {
		t.Fatalf("INFO %s = %q: %v", name, f[name], err)
	}
	return v
}

// TestConnectionBurstEvictsNothing is the scenario of issue 12: a node with
// maxmemory 64mb and allkeys-lru, its data near but within the limit, takes
// 6,000 short-lived connections. None of them may cost a key or a write:
// used_memory counts the data and live client buffers, never the garbage
// the connections leave on the Go heap.
func TestConnectionBurstEvictsNothing(t *testing.T) {
	for _, model := range ioModels {
		t.Run(model, func(t *testing.T) {
			const (
				maxMemory = 64 << 20
				keys      = 25_331 // as in the incident
				// Two sizes in different size classes of the store, so that
				// the data comes to 88% of maxmemory.
				shortValue, longValue = 1800, 1900
			)
			s := startServer(t, func(c *Config) {
				c.IOModel = model
				c.Settings.MaxMemory = maxMemory
				c.Settings.MaxMemoryPolicy = store.AllKeysLRU
			})
			c := s.dial(t)
			fillKeys(t, c, keys, shortValue, longValue)
			_, f := parseInfo(t, c.info("memory", "stats"))
			dataset := infoInt(t, f, "used_memory_dataset")
			t.Logf("%d keys: dataset %d bytes, used_memory %d, maxmemory %d", keys, dataset, infoInt(t, f, "used_memory"), maxMemory)
			// The data must nearly fill the limit, as in the incident, and fit.
			if dataset < maxMemory*3/4 || dataset > maxMemory*15/16 {
				t.Fatalf("dataset %d bytes is not between 75%% and 94%% of maxmemory %d; adjust the value sizes", dataset, maxMemory)
			}
			if ev := infoInt(t, f, "evicted_keys"); ev != 0 {
				t.Fatalf("filling within maxmemory evicted %d keys", ev)
			}

			if err := connectionBurst(s.Addr().String(), 6000, 16); err != nil {
				t.Fatal(err)
			}
			waitFor(t, 10*time.Second, "the burst's connections to close", func() bool {
				return s.numClients.Load() == 1
			})

			// Writes are still accepted, overwriting keys and adding one.
			for i := 0; i < 200; i += 2 {
				if got := c.do("SET", "key:"+strconv.Itoa(i), strings.Repeat("w", shortValue)); got != "OK" {
					t.Fatalf("SET after the burst = %s", got)
				}
			}
			if got := c.do("SET", "after-burst", "v"); got != "OK" {
				t.Fatalf("SET after-burst = %s", got)
			}
			_, f = parseInfo(t, c.info("memory", "stats", "keyspace"))
			if ev := infoInt(t, f, "evicted_keys"); ev != 0 {
				t.Errorf("the connection burst evicted %d keys", ev)
			}
			if got, want := c.do("DBSIZE"), fmt.Sprintf("(integer) %d", keys+1); got != want {
				t.Errorf("DBSIZE = %s, want %s", got, want)
			}
			// Only the querying client's own buffers remain beyond the data.
			if over := infoInt(t, f, "used_memory") - infoInt(t, f, "used_memory_dataset"); over > 64<<10 {
				t.Errorf("used_memory exceeds the dataset by %d bytes with one client connected", over)
			}
		})
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
			waitFor(t, 10*time.Second, "the pending query buffer to count", func() bool {
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
			waitFor(t, 10*time.Second, "the closed clients' buffers to be released", func() bool {
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
			waitFor(t, 10*time.Second, "unsent replies to count", func() bool {
				return s.usedMemory() > data
			})
			c.conn.Close()
			waitFor(t, 10*time.Second, "the closed client's replies to be released", func() bool {
				return s.numClients.Load() == 0 && s.usedMemory() == data
			})
		})
	}
}
