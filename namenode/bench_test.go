package namenode

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/mem"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	"github.com/chkv/chkv/proto/chkvpb"
)

// BenchmarkWatchPush10k measures the time from a commit to its receipt by
// 10,000 watchers, for a 1-DataNode cluster (a topology of a few dozen
// bytes: the fan-out alone) and a 3-DataNode one (256 vnodes, ~9 KiB):
//
//	go test -run '^$' -bench WatchPush10k -benchtime 20x ./namenode/
//
// The watchers run in a child process (this test binary running
// TestWatcherFleet) over 4 connections, as clients are other processes;
// both share the machine's cores. all-p50/all-p99: over commits, the time
// until the last watcher had the version; watcher-p50/watcher-p99: the
// median and the worst over commits of each commit's per-watcher p50 and
// p99; namenode-cpu-ms and watchers-cpu-ms: each process's CPU time per
// commit.
func BenchmarkWatchPush10k(b *testing.B) {
	for _, nodes := range []int{1, 3} {
		b.Run(fmt.Sprintf("datanodes=%d", nodes), func(b *testing.B) { benchWatchPush(b, nodes) })
	}
}

func benchWatchPush(b *testing.B, datanodes int) {
	const watchers, conns = 10000, 4
	nn, dn := startSmallCluster(b, datanodes, DefaultVNodes)
	cmd := exec.Command(os.Args[0], "-test.run=^TestWatcherFleet$", "-test.v")
	cmd.Env = append(os.Environ(), fleetEnvAddr+"="+nn.Addr().String(),
		fleetEnvWatchers+"="+strconv.Itoa(watchers), fleetEnvConns+"="+strconv.Itoa(conns), "GOGC=400")
	stdin, err := cmd.StdinPipe()
	if err != nil {
		b.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	defer func() { stdin.Close(); cmd.Wait() }()
	events := make(chan fleetEvent, 16)
	go func() {
		defer close(events)
		lines := bufio.NewScanner(out)
		for lines.Scan() {
			var e fleetEvent
			if _, err := fmt.Sscanf(lines.Text(), "FLEET V %d %d %d %d %d %d", &e.version, &e.count, &e.p50, &e.p99, &e.max, &e.cpu); err == nil {
				events <- e
			}
		}
	}()
	next := func(want uint64) fleetEvent {
		for {
			select {
			case e, ok := <-events:
				if !ok {
					b.Fatalf("watcher fleet exited before version %d", want)
				}
				if e.version == want {
					return e
				}
				if e.version > want {
					b.Fatalf("fleet reported version %d, waiting for %d", e.version, want)
				}
			case <-time.After(2 * time.Minute):
				b.Fatalf("version %d did not reach all watchers", want)
			}
		}
	}
	v0 := nn.Topology().Version
	setup := time.Now()
	first := next(v0)
	b.Logf("%d watchers at version %d after %v; frame %d bytes", watchers, v0, time.Since(setup), len(nn.cur.Load().frame))
	var all, p50s, p99s []time.Duration
	var fleetCPU time.Duration
	cpu0 := processCPU()
	b.ResetTimer()
	for i := range b.N {
		v := v0 + uint64(i) + 1
		start := time.Now().UnixNano()
		nn.commitDirect(b, dn, 1)
		e := next(v)
		all = append(all, time.Duration(e.max-start))
		p50s = append(p50s, time.Duration(e.p50-start))
		p99s = append(p99s, time.Duration(e.p99-start))
		fleetCPU = e.cpu - first.cpu
	}
	b.StopTimer()
	b.ReportMetric(ms(percentile(all, 50)), "all-p50-ms")
	b.ReportMetric(ms(percentile(all, 99)), "all-p99-ms")
	b.ReportMetric(ms(percentile(p50s, 50)), "watcher-p50-ms")
	b.ReportMetric(ms(percentile(p99s, 100)), "watcher-p99-ms")
	b.ReportMetric(ms((processCPU()-cpu0)/time.Duration(b.N)), "namenode-cpu-ms/commit")
	b.ReportMetric(ms(fleetCPU/time.Duration(b.N)), "watchers-cpu-ms/commit")
}

// fleetEvent is the watcher fleet's report of one version: how many
// watchers received it and when (UnixNano) the median, the 99th
// percentile and the last of them did.
type fleetEvent struct {
	version       uint64
	count         int
	p50, p99, max int64
	cpu           time.Duration // the fleet process's CPU time so far
}

// Environment of the watcher-fleet helper process.
const (
	fleetEnvAddr     = "CHKV_FLEET_NAMENODE"
	fleetEnvWatchers = "CHKV_FLEET_WATCHERS"
	fleetEnvConns    = "CHKV_FLEET_CONNS"
)

// TestWatcherFleet is BenchmarkWatchPush10k's child process: it opens
// CHKV_FLEET_WATCHERS watch streams to CHKV_FLEET_NAMENODE over
// CHKV_FLEET_CONNS connections and, whenever every watcher has received a
// version, prints a "FLEET V" line. It ends when its stdin closes.
func TestWatcherFleet(t *testing.T) {
	addr := os.Getenv(fleetEnvAddr)
	if addr == "" {
		t.Skip("helper process for BenchmarkWatchPush10k")
	}
	n, _ := strconv.Atoi(os.Getenv(fleetEnvWatchers))
	conns, _ := strconv.Atoi(os.Getenv(fleetEnvConns))
	ctx, cancel := context.WithCancel(context.Background())
	go func() { io.Copy(io.Discard, os.Stdin); cancel() }()
	clients := make([]chkvpb.NameNodeClient, conns)
	for i := range clients {
		conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()),
			grpc.WithDefaultCallOptions(grpc.ForceCodecV2(peekCodec{newCodec(nil)})))
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		clients[i] = chkvpb.NewNameNodeClient(conn)
	}
	var mu sync.Mutex
	arrivals := map[uint64][]int64{}
	var wg sync.WaitGroup
	for i := range n {
		stream, err := clients[i%conns].Watch(ctx, &chkvpb.WatchRequest{})
		if err != nil {
			t.Fatal(err)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				v, err := recvVersion(stream)
				if err != nil {
					return
				}
				at := time.Now().UnixNano()
				mu.Lock()
				a := append(arrivals[v], at)
				arrivals[v] = a
				if len(a) == n {
					delete(arrivals, v)
					slices.Sort(a)
					fmt.Printf("FLEET V %d %d %d %d %d %d\n", v, n, a[n/2], a[min(n-1, n*99/100)], a[n-1], processCPU())
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
}

func percentile(d []time.Duration, p int) time.Duration {
	if len(d) == 0 {
		return 0
	}
	s := slices.Clone(d)
	slices.Sort(s)
	return s[min(len(s)-1, (len(s)*p+99)/100-1)]
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// Environment of the simulated-DataNodes helper process.
const (
	simEnvAddr  = "CHKV_SIM_NAMENODE"
	simEnvNodes = "CHKV_SIM_NODES"
	simEnvRun   = "CHKV_SIM_SECONDS"
)

// BenchmarkHeartbeatCPU measures the NameNode's CPU time while 1,000
// DataNodes heartbeat once a second, for 10 s:
//
//	go test -run '^$' -bench HeartbeatCPU -benchtime 1x ./namenode/
//
// The DataNodes are simulated in a child process (this test binary running
// TestSimulatedDataNodes), so getrusage(RUSAGE_SELF) here counts the
// NameNode alone; the child's CPU is reported separately.
func BenchmarkHeartbeatCPU(b *testing.B) {
	const nodes, window, warmup = 1000, 10 * time.Second, 5 * time.Second
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	cfg := DefaultConfig()
	cfg.Listener, cfg.HTTP = ln, ""
	s, err := New(cfg)
	if err != nil {
		b.Fatal(err)
	}
	if err := s.Start(); err != nil {
		b.Fatal(err)
	}
	defer s.Stop()

	for range b.N {
		runSec := int((warmup + window + 10*time.Second) / time.Second)
		cmd := exec.Command(os.Args[0], "-test.run=^TestSimulatedDataNodes$", "-test.v")
		cmd.Env = append(os.Environ(), simEnvAddr+"="+s.Addr().String(), simEnvNodes+"="+strconv.Itoa(nodes),
			simEnvRun+"="+strconv.Itoa(runSec))
		out, err := cmd.StdoutPipe()
		if err != nil {
			b.Fatal(err)
		}
		cmd.Stderr = os.Stderr
		setup := time.Now()
		if err := cmd.Start(); err != nil {
			b.Fatal(err)
		}
		lines := bufio.NewScanner(out)
		var summary string
		ready := false
		for lines.Scan() {
			if lines.Text() == "SIM READY" {
				ready = true
				break
			}
		}
		if !ready {
			cmd.Wait()
			b.Fatal("simulated DataNodes never became ready")
		}
		b.Logf("%d DataNodes registered in %v; NameNode at version %d", nodes, time.Since(setup), s.Topology().Version)
		time.Sleep(warmup)
		if path := os.Getenv("CHKV_BENCH_CPUPROFILE"); path != "" { // the window alone
			if f, err := os.Create(path); err == nil {
				pprof.StartCPUProfile(f)
				defer f.Close()
			}
		}
		cpu0, wall0 := processCPU(), time.Now()
		time.Sleep(window)
		cpu1, wall1 := processCPU(), time.Now()
		pprof.StopCPUProfile()
		st := s.status()
		oldest := int64(0)
		for _, n := range st.GetNodes() {
			oldest = max(oldest, n.GetHeartbeatAgeMs())
		}
		for lines.Scan() {
			if strings.HasPrefix(lines.Text(), "SIM ") {
				summary = lines.Text()
			}
		}
		if err := cmd.Wait(); err != nil {
			b.Fatalf("simulation: %v", err)
		}
		child := cmd.ProcessState.SysUsage().(*syscall.Rusage)
		childCPU := time.Duration(child.Utime.Nano() + child.Stime.Nano())
		share := float64(cpu1-cpu0) / float64(wall1.Sub(wall0))
		b.Logf("NameNode CPU %v over %v = %.2f%% of one core; %d nodes, oldest heartbeat %d ms; simulation process CPU %v in all; %s",
			cpu1-cpu0, wall1.Sub(wall0).Round(time.Millisecond), 100*share, len(st.GetNodes()), oldest, childCPU, summary)
		b.ReportMetric(100*share, "namenode-cpu-%")
		if len(st.GetNodes()) != nodes || oldest > 3000 {
			b.Fatalf("simulation unhealthy: %d nodes, oldest heartbeat %d ms", len(st.GetNodes()), oldest)
		}
	}
}

// processCPU is this process's user plus system CPU time.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// TestSimulatedDataNodes is BenchmarkHeartbeatCPU's child process: it
// registers CHKV_SIM_NODES DataNodes with the NameNode at
// CHKV_SIM_NAMENODE, all sharing one fake DataNode gRPC server for pushes,
// prints "SIM READY", heartbeats each once a second for CHKV_SIM_SECONDS,
// then prints a summary line. Each node heartbeats over one HeartbeatStream
// it keeps open, as a DataNode does, reopening it after an error; it waits
// for each reply before the next tick, where a DataNode receives on its own
// goroutine: the NameNode sees the same traffic.
func TestSimulatedDataNodes(t *testing.T) {
	addr := os.Getenv(simEnvAddr)
	if addr == "" {
		t.Skip("helper process for BenchmarkHeartbeatCPU")
	}
	nodes, _ := strconv.Atoi(os.Getenv(simEnvNodes))
	secs, _ := strconv.Atoi(os.Getenv(simEnvRun))
	dnAddr := startSimDataNode(t)
	var conns []chkvpb.NameNodeClient
	for range 4 {
		conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()),
			grpc.WithInitialWindowSize(flowWindow), grpc.WithInitialConnWindowSize(flowWindow), // as a DataNode
			grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(64<<20), grpc.ForceCodecV2(peekCodec{newCodec(nil)})))
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		conns = append(conns, chkvpb.NewNameNodeClient(conn))
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var beats, errs, rejoins, catchups atomic.Int64
	var wg, registered sync.WaitGroup
	var regErr atomic.Value
	rng := rand.New(rand.NewPCG(1, 2))
	// Each node registers, then heartbeats once a second from a random
	// phase on its stream, as a DataNode does.
	for i := range nodes {
		phase := time.Duration(rng.Int64N(int64(time.Second)))
		wg.Add(1)
		registered.Add(1)
		go func() {
			defer wg.Done()
			id := fmt.Sprintf("sim-%04d", i)
			c := conns[i%len(conns)]
			resp, err := c.Register(ctx, &chkvpb.RegisterRequest{Node: &chkvpb.Node{
				Id: id, RespAddr: fmt.Sprintf("127.0.0.1:%d", 20000+i), GrpcAddr: dnAddr}})
			registered.Done()
			if err != nil {
				regErr.Store(err)
				return
			}
			epoch, version := resp.GetTopology().GetEpoch(), resp.GetTopology().GetVersion()
			if !sleep(ctx, phase) {
				return
			}
			tick := time.NewTicker(time.Second)
			defer tick.Stop()
			var stream chkvpb.NameNode_HeartbeatStreamClient
			for {
				if stream == nil {
					if stream, err = c.HeartbeatStream(ctx); err != nil {
						stream = nil
					}
				}
				var resp *chkvpb.HeartbeatResponse
				if stream != nil {
					if err = stream.Send(&chkvpb.HeartbeatRequest{NodeId: id,
						Epoch: epoch, Version: version, Load: &chkvpb.Load{Keys: int64(i)}}); err == nil {
						resp, err = stream.Recv()
					}
				}
				switch {
				case ctx.Err() != nil:
					return
				case err != nil:
					errs.Add(1)
					stream = nil // reopened at the next beat
				case resp.GetRejoin():
					rejoins.Add(1)
				default:
					beats.Add(1)
					if tp := resp.GetTopology(); tp != nil {
						catchups.Add(1)
						epoch, version = tp.GetEpoch(), tp.GetVersion()
					}
				}
				select {
				case <-ctx.Done():
					return
				case <-tick.C:
				}
			}
		}()
	}
	registered.Wait()
	if err := regErr.Load(); err != nil {
		t.Fatalf("register: %v", err)
	}
	fmt.Println("SIM READY")
	sleep(ctx, time.Duration(secs)*time.Second)
	cancel()
	wg.Wait()
	fmt.Printf("SIM heartbeats=%d errors=%d rejoins=%d catch-ups=%d pushes-received=%d\n",
		beats.Load(), errs.Load(), rejoins.Load(), catchups.Load(), simPushes.Load())
}

// simPushes counts the pushes the simulated DataNodes received.
var simPushes atomic.Int64

// startSimDataNode serves the DataNode service for all simulated nodes,
// acknowledging pushes without decoding them (each real DataNode decodes
// only its own; 1,000 of them in one process would measure the decoder).
func startSimDataNode(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer(grpc.ForceServerCodecV2(skipPushCodec{newCodec(nil)}))
	chkvpb.RegisterDataNodeServer(srv, simDataNode{})
	go srv.Serve(ln)
	t.Cleanup(srv.Stop)
	return ln.Addr().String()
}

type simDataNode struct {
	chkvpb.UnimplementedDataNodeServer
}

func (simDataNode) PushTopology(context.Context, *chkvpb.PushTopologyRequest) (*chkvpb.PushTopologyResponse, error) {
	simPushes.Add(1)
	return &chkvpb.PushTopologyResponse{}, nil
}

// skipPushCodec leaves PushTopologyRequests undecoded.
type skipPushCodec struct{ codec }

func (c skipPushCodec) Unmarshal(data mem.BufferSlice, v any) error {
	if _, ok := v.(*chkvpb.PushTopologyRequest); ok {
		return nil
	}
	return c.codec.Unmarshal(data, v)
}

// peekCodec decodes of the topology in a Register or Heartbeat reply or a
// WatchEvent only its epoch and version: the simulations stand for
// thousands of processes and would otherwise spend their CPU decoding
// topologies.
type peekCodec struct{ codec }

func (c peekCodec) Unmarshal(data mem.BufferSlice, v any) error {
	var num protowire.Number
	switch m := v.(type) {
	case *chkvpb.WatchEvent:
		var head [32]byte // tag, length, then the topology's epoch and version
		k, _ := io.ReadFull(data.Reader(), head[:])
		_, _, tn := protowire.ConsumeTag(head[:k])
		if tn < 0 {
			return protowire.ParseError(tn)
		}
		_, ln := protowire.ConsumeVarint(head[tn:k])
		if ln < 0 {
			return protowire.ParseError(ln)
		}
		body := head[tn+ln : k]
		epoch, version, err := peekVersion(body)
		if err != nil {
			return err
		}
		b := protowire.AppendVarint(protowire.AppendTag(nil, 1, protowire.VarintType), epoch)
		m.Topology = protowire.AppendVarint(protowire.AppendTag(b, 2, protowire.VarintType), version)
		return nil
	case *chkvpb.RegisterResponse:
		num = 3
	case *chkvpb.HeartbeatResponse:
		num = 2
	default:
		return c.codec.Unmarshal(data, v)
	}
	b := data.Materialize()
	var rest []byte
	var tp *chkvpb.Topology
	for len(b) > 0 {
		n, typ, tn := protowire.ConsumeTag(b)
		if tn < 0 {
			return protowire.ParseError(tn)
		}
		fn := protowire.ConsumeFieldValue(n, typ, b[tn:])
		if fn < 0 {
			return protowire.ParseError(fn)
		}
		if n == num {
			body, _ := protowire.ConsumeBytes(b[tn:])
			epoch, version, err := peekVersion(body)
			if err != nil {
				return err
			}
			tp = &chkvpb.Topology{Epoch: epoch, Version: version}
		} else {
			rest = append(rest, b[:tn+fn]...)
		}
		b = b[tn+fn:]
	}
	if err := proto.Unmarshal(rest, v.(proto.Message)); err != nil {
		return err
	}
	switch m := v.(type) {
	case *chkvpb.RegisterResponse:
		m.Topology = tp
	case *chkvpb.HeartbeatResponse:
		m.Topology = tp
	}
	return nil
}
