package datanode

import (
	"bytes"
	"net"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chkv/chkv/helper/testutil"
)

// ioModels are the models the tests below run under.
var ioModels = []string{IOModelGoroutine, IOModelEpoll}

// startServerModel is startServer under the given IO model; prepare, if
// set, may adjust the Server between New and Start.
func startServerModel(t *testing.T, model string, mutate func(*Config), prepare func(*Server)) *Server {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cfg := DefaultConfig()
	cfg.Listener = ln
	cfg.Listen = ln.Addr().String()
	cfg.Seed = 1
	cfg.IOModel = model
	if mutate != nil {
		mutate(&cfg)
	}
	s, err := New(cfg)
	if err != nil {
		ln.Close()
		t.Fatal(err)
	}
	if prepare != nil {
		prepare(s)
	}
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Stop)
	return s
}

// TestSuiteUnderOtherIOModels runs the connection-handling tests again, in
// child processes of this test binary, with every startServer using the
// models this process does not: IOModelGoroutine and a single event loop
// (this process runs DefaultConfig's, one event loop per core on Linux).
func TestSuiteUnderOtherIOModels(t *testing.T) {
	if os.Getenv(testIOModelEnv) != "" {
		t.Skip("already running under " + os.Getenv(testIOModelEnv))
	}
	if testing.Short() {
		t.Skip("re-runs part of the suite")
	}
	if !epollSupported {
		t.Skip("the default, IOModelGoroutine, is the only model here")
	}
	tests := []string{
		"TestPipelineAndInline", "TestProtocolErrors", "TestQueryBufferLimitClosesConnection",
		"TestHugeDeclaredSizesDoNotAllocate", "TestQuitClosesAfterReply", "TestMaxClients",
		"TestRequirePass", "TestConfigSetRequirePass", "TestIdleTimeoutClosesClient",
		"TestStopClosesClientsAndIsIdempotent", "TestClientKill", "TestClientListAndInfo",
		"TestGoRedisConformance", "TestGoRedisAdmin",
	}
	variants := map[string][]string{
		"goroutine": {testIOModelEnv + "=" + IOModelGoroutine},
		"one-loop":  {testIOModelEnv + "=" + IOModelEpoll, testEventLoopsEnv + "=1"},
	}
	for name, env := range variants {
		t.Run(name, func(t *testing.T) {
			cmd := exec.Command(os.Args[0], "-test.run", "^("+strings.Join(tests, "|")+")$", "-test.v", "-test.count=1", "-test.timeout=5m")
			cmd.Env = append(os.Environ(), env...)
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("suite under %v failed: %v\n%s", env, err, out)
			}
			for _, test := range tests {
				if !bytes.Contains(out, []byte("--- PASS: "+test+" ")) {
					t.Errorf("%s did not pass under %v (renamed?)\n%s", test, env, out)
				}
			}
		})
	}
}

func TestIOModelValidate(t *testing.T) {
	for model, ok := range map[string]bool{"": true, IOModelGoroutine: true, IOModelEpoll: epollSupported, "kqueue": false} {
		cfg := DefaultConfig()
		cfg.IOModel = model
		if err := cfg.Validate(); (err == nil) != ok {
			t.Errorf("Validate with IOModel %q = %v", model, err)
		}
	}
	cfg := DefaultConfig()
	cfg.EventLoops = -1
	if cfg.Validate() == nil {
		t.Error("Validate accepted EventLoops -1")
	}
}

// TestLargeValues sends and fetches a 10 MB value, which takes many reads
// and many partial writes.
func TestLargeValues(t *testing.T) {
	for _, model := range ioModels {
		t.Run(model, func(t *testing.T) {
			c := startServerModel(t, model, nil, nil).dial(t)
			val := bytes.Repeat([]byte("0123456789abcdef"), 10<<20/16)
			val[12345] = 'X'
			if got := c.do("SET", "big", string(val)); got != "OK" {
				t.Fatalf("SET = %s", got)
			}
			c.send("GET", "big")
			c.send("STRLEN", "big")
			c.conn.SetReadDeadline(time.Now().Add(20 * time.Second))
			v, err := readReply(c.r)
			if err != nil {
				t.Fatal(err)
			}
			if b, ok := v.([]byte); !ok || !bytes.Equal(b, val) {
				t.Fatalf("GET returned %T of %d bytes, not the value", v, len(b))
			}
			if got := c.reply(); got != "(integer) "+strconv.Itoa(len(val)) {
				t.Fatalf("STRLEN = %s", got)
			}
		})
	}
}

// TestSlowReaderGetsEveryReply pipelines many large replies to a client
// that reads them slowly, so the server keeps replies pending, resumes the
// buffered commands once they drain, and must keep their order.
func TestSlowReaderGetsEveryReply(t *testing.T) {
	for _, model := range ioModels {
		t.Run(model, func(t *testing.T) {
			c := startServerModel(t, model, nil, nil).dial(t)
			val := strings.Repeat("v", 64<<10)
			c.do("SET", "k", val)
			const n = 300
			var pipe []byte
			for i := range n {
				pipe = append(pipe, encodeCommand("GET", "k")...)
				pipe = append(pipe, encodeCommand("ECHO", strconv.Itoa(i))...)
			}
			go func() { c.conn.Write(pipe) }() // the server pauses reading: do not block the reader
			c.conn.SetReadDeadline(time.Now().Add(30 * time.Second))
			for i := range n {
				if i%50 == 0 {
					time.Sleep(20 * time.Millisecond) // let the server's socket buffer fill up
				}
				v, err := readReply(c.r)
				if err != nil {
					t.Fatal(err)
				}
				if b, ok := v.([]byte); !ok || len(b) != len(val) {
					t.Fatalf("reply %d to GET: %T", i, v)
				}
				v, err = readReply(c.r)
				if err != nil {
					t.Fatal(err)
				}
				if b, ok := v.([]byte); !ok || string(b) != strconv.Itoa(i) {
					t.Fatalf("reply %d to ECHO: %q", i, v)
				}
			}
		})
	}
}

// TestClientThatDoesNotReadIsClosed checks that a client whose replies
// make no progress for the write timeout is disconnected, and that under
// epoll the server stops executing its commands meanwhile, bounding the
// reply memory.
func TestClientThatDoesNotReadIsClosed(t *testing.T) {
	for _, model := range ioModels {
		t.Run(model, func(t *testing.T) {
			s := startServerModel(t, model, nil, func(s *Server) { s.writeTimeout = 500 * time.Millisecond })
			c := s.dial(t)
			c.do("SET", "k", strings.Repeat("v", 1<<20))
			get := encodeCommand("GET", "k")
			stop := make(chan struct{})
			var wg sync.WaitGroup
			wg.Add(1)
			go func() { // never reads; writes until the server closes
				defer wg.Done()
				for {
					select {
					case <-stop:
						return
					default:
					}
					c.conn.SetWriteDeadline(time.Now().Add(100 * time.Millisecond))
					if _, err := c.conn.Write(get); err != nil {
						if ne, ok := err.(net.Error); ok && ne.Timeout() {
							continue
						}
						return
					}
				}
			}()
			defer func() { close(stop); wg.Wait() }()
			var maxOut int64
			testutil.Eventually(t, 20*time.Second, "the non-reading client to be closed", func() bool {
				s.forEachClient(func(cl *client) { maxOut = max(maxOut, cl.outLen.Load()) })
				return s.numClients.Load() == 0
			})
			if model == IOModelEpoll && maxOut > flushThreshold+2<<20 {
				t.Fatalf("pending replies reached %d bytes", maxOut)
			}
		})
	}
}

// TestEpollCloseFromAnyGoroutine closes loop-owned clients from other
// goroutines at once (CLIENT KILL from clients of every loop, the idle
// timeout, Stop) and checks that every client and loop goroutine is gone.
func TestEpollCloseFromAnyGoroutine(t *testing.T) {
	if !epollSupported {
		t.Skip("no epoll")
	}
	s := startServerModel(t, IOModelEpoll, func(c *Config) { c.EventLoops = 3 }, nil)
	const n = 40
	conns := make([]*respConn, n)
	ids := make([]string, n)
	for i := range conns {
		conns[i] = s.dial(t)
		ids[i] = strings.TrimPrefix(conns[i].do("CLIENT", "ID"), "(integer) ")
	}
	var wg sync.WaitGroup
	for i := 0; i < n/2; i++ { // each of the first half kills one of the second
		wg.Add(1)
		go func() {
			defer wg.Done()
			if got := conns[i].do("CLIENT", "KILL", "ID", ids[n/2+i]); got != "(integer) 1" {
				t.Errorf("CLIENT KILL = %s", got)
			}
		}()
	}
	wg.Wait()
	for i := n / 2; i < n; i++ {
		if _, err := conns[i].readUntilClosed(5 * time.Second); err != nil {
			t.Fatalf("killed client %d not closed: %v", i, err)
		}
	}
	if got := conns[0].do("PING"); got != "PONG" {
		t.Fatalf("PING from a surviving client = %s", got)
	}
	testutil.Eventually(t, 5*time.Second, "killed clients to be unregistered", func() bool { return s.numClients.Load() == n/2 })
	s.Stop()
	for i := range n / 2 {
		if _, err := conns[i].readUntilClosed(5 * time.Second); err != nil {
			t.Fatalf("client %d not closed by Stop: %v", i, err)
		}
	}
	if got := s.numClients.Load(); got != 0 {
		t.Fatalf("%d clients registered after Stop", got)
	}
	buf := make([]byte, 1<<20)
	if stacks := string(buf[:runtime.Stack(buf, true)]); strings.Contains(stacks, "(*eventLoop).run") {
		t.Fatalf("an event loop survived Stop:\n%s", stacks)
	}
}
