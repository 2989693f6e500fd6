package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/chkv/chkv/client"
	"github.com/chkv/chkv/common/latency"
)

// bench flag names.
const (
	flagClients     = "clients"
	flagConcurrency = "concurrency"
	flagRequests    = "requests"
	flagDuration    = "duration"
	flagKeyspace    = "keyspace"
	flagValueSize   = "value-size"
	flagReadRatio   = "read-ratio"
	flagPipeline    = "pipeline"
	flagKeyPrefix   = "key-prefix"
	flagSeed        = "seed"
)

// Bench limits: bad input gets an error, never a runaway process.
const (
	maxBenchClients     = 1024
	maxBenchConcurrency = 10000
	maxBenchPipeline    = 10000
	maxBenchValueSize   = 64 << 20
	maxBenchDuration    = 24 * time.Hour
)

func benchFlags() []cli.Flag {
	return []cli.Flag{
		&cli.IntFlag{Name: flagClients, Value: 1, Usage: "SDK clients (each with its own topology watch and connection pools)"},
		&cli.IntFlag{Name: flagConcurrency, Aliases: []string{"c"}, Value: 50, Usage: "requests in flight at once, spread over the clients"},
		&cli.IntFlag{Name: flagRequests, Aliases: []string{"n"}, Value: 100000, Usage: "requests to make in all (with --duration: at most this many; 0: no limit)"},
		&cli.DurationFlag{Name: flagDuration, Usage: "run for this long instead of a number of requests (e.g. 30s)"},
		&cli.IntFlag{Name: flagKeyspace, Aliases: []string{"r"}, Value: 100000, Usage: "distinct keys used, chosen uniformly"},
		&cli.IntFlag{Name: flagValueSize, Aliases: []string{"d"}, Value: 32, Usage: "bytes of each SET's value"},
		&cli.Float64Flag{Name: flagReadRatio, Value: 0.5, Usage: "fraction of requests that are GETs (the rest are SETs), 0 to 1"},
		&cli.IntFlag{Name: flagPipeline, Aliases: []string{"P"}, Value: 1, Usage: "requests per pipeline (each worker sends this many at once)"},
		&cli.StringFlag{Name: flagKeyPrefix, Value: "bench:", Usage: "prefix of the keys"},
		&cli.Uint64Flag{Name: flagSeed, Value: 1, Usage: "seed of the key and operation choice"},
	}
}

// benchConfig is a bench run's parameters.
type benchConfig struct {
	Clients     int           `json:"clients"`
	Concurrency int           `json:"concurrency"`
	Requests    int64         `json:"requests"`
	Duration    time.Duration `json:"-"`
	Keyspace    int           `json:"keyspace"`
	ValueSize   int           `json:"value_size"`
	ReadRatio   float64       `json:"read_ratio"`
	Pipeline    int           `json:"pipeline"`
	KeyPrefix   string        `json:"key_prefix"`
	Seed        uint64        `json:"seed"`
	Timeout     time.Duration `json:"-"`
}

func benchConfigFrom(cc *cli.Context, timeout time.Duration) (benchConfig, error) {
	b := benchConfig{
		Clients: cc.Int(flagClients), Concurrency: cc.Int(flagConcurrency), Requests: int64(cc.Int(flagRequests)),
		Duration: cc.Duration(flagDuration), Keyspace: cc.Int(flagKeyspace), ValueSize: cc.Int(flagValueSize),
		ReadRatio: cc.Float64(flagReadRatio), Pipeline: cc.Int(flagPipeline), KeyPrefix: cc.String(flagKeyPrefix),
		Seed: cc.Uint64(flagSeed), Timeout: timeout,
	}
	if !cc.IsSet(flagRequests) && b.Duration > 0 {
		b.Requests = 0
	}
	switch {
	case b.Clients < 1 || b.Clients > maxBenchClients:
		return b, fmt.Errorf("--%s must be between 1 and %d", flagClients, maxBenchClients)
	case b.Concurrency < b.Clients || b.Concurrency > maxBenchConcurrency:
		return b, fmt.Errorf("--%s must be between --%s and %d", flagConcurrency, flagClients, maxBenchConcurrency)
	case b.Requests < 0:
		return b, fmt.Errorf("--%s must not be negative", flagRequests)
	case b.Duration < 0 || b.Duration > maxBenchDuration:
		return b, fmt.Errorf("--%s must be between 0 and %v", flagDuration, maxBenchDuration)
	case b.Requests == 0 && b.Duration == 0:
		return b, fmt.Errorf("give --%s or --%s: the benchmark must end", flagRequests, flagDuration)
	case b.Keyspace < 1:
		return b, fmt.Errorf("--%s must be at least 1", flagKeyspace)
	case b.ValueSize < 0 || b.ValueSize > maxBenchValueSize:
		return b, fmt.Errorf("--%s must be between 0 and %d", flagValueSize, maxBenchValueSize)
	case !(b.ReadRatio >= 0 && b.ReadRatio <= 1):
		return b, fmt.Errorf("--%s must be between 0 and 1", flagReadRatio)
	case b.Pipeline < 1 || b.Pipeline > maxBenchPipeline:
		return b, fmt.Errorf("--%s must be between 1 and %d", flagPipeline, maxBenchPipeline)
	}
	return b, nil
}

// benchResult is what a run measured.
type benchResult struct {
	Config    benchConfig `json:"config"`
	Requests  uint64      `json:"requests"`
	Gets      uint64      `json:"gets"`
	Sets      uint64      `json:"sets"`
	Misses    uint64      `json:"misses"`
	Errors    uint64      `json:"errors"`
	FirstErr  string      `json:"first_error,omitempty"`
	Seconds   float64     `json:"seconds"`
	OpsPerSec float64     `json:"ops_per_sec"`
	Latency   latencyMS   `json:"latency_ms"`
}

// latencyMS are latency figures in milliseconds.
type latencyMS struct {
	Mean float64 `json:"mean"`
	P50  float64 `json:"p50"`
	P90  float64 `json:"p90"`
	P99  float64 `json:"p99"`
	P999 float64 `json:"p99_9"`
	Max  float64 `json:"max"`
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// benchWorker is one goroutine's share of the run; only that goroutine
// touches it until the run ends.
type benchWorker struct {
	hist                       latency.Histogram
	gets, sets, misses, errors uint64
	firstErr                   error
}

// cmdBench runs the load generator.
func cmdBench(cc *cli.Context) error {
	if err := noArgs(cc); err != nil {
		return err
	}
	s, err := settingsFrom(cc)
	if err != nil {
		return err
	}
	cfg, err := benchConfigFrom(cc, s.timeout)
	if err != nil {
		return err
	}
	clients := make([]*client.Client, 0, cfg.Clients)
	defer func() {
		for _, c := range clients {
			c.Close()
		}
	}()
	for range cfg.Clients {
		ctx, cancel := context.WithTimeout(cc.Context, s.timeout)
		perClient := (cfg.Concurrency + cfg.Clients - 1) / cfg.Clients
		c, err := client.New(ctx, s.cfg, client.WithPoolSize(perClient))
		cancel()
		if err != nil {
			return err
		}
		clients = append(clients, c)
	}
	res := runBench(cc.Context, cfg, clients)
	if s.json {
		return writeJSON(cc.App.Writer, res)
	}
	printBench(cc.App.Writer, res)
	if res.Errors > 0 && res.Errors == res.Requests {
		return fmt.Errorf("every request failed: %s", res.FirstErr)
	}
	return nil
}

// runBench makes the requests over clients and measures them. It returns
// when the requests are done, the duration has passed, or ctx ends.
func runBench(ctx context.Context, cfg benchConfig, clients []*client.Client) benchResult {
	if cfg.Duration > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, cfg.Duration)
		defer cancel()
	}
	value := strings.Repeat("x", cfg.ValueSize)
	var issued atomic.Int64 // requests claimed so far, in whole pipelines
	claim := func() int {
		if cfg.Requests == 0 {
			return cfg.Pipeline
		}
		end := issued.Add(int64(cfg.Pipeline))
		return int(min(int64(cfg.Pipeline), max(cfg.Requests-(end-int64(cfg.Pipeline)), 0)))
	}
	workers := make([]*benchWorker, cfg.Concurrency)
	var wg sync.WaitGroup
	start := time.Now()
	for i := range workers {
		w := &benchWorker{}
		workers[i] = w
		c := clients[i%len(clients)]
		rng := rand.New(rand.NewPCG(cfg.Seed, uint64(i)))
		wg.Add(1)
		go func() {
			defer wg.Done()
			w.run(ctx, cfg, c, rng, value, claim)
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)

	res := benchResult{Config: cfg, Seconds: elapsed.Seconds()}
	var hist latency.Histogram
	for _, w := range workers {
		hist.Merge(&w.hist)
		res.Gets += w.gets
		res.Sets += w.sets
		res.Misses += w.misses
		res.Errors += w.errors
		if w.firstErr != nil && res.FirstErr == "" {
			res.FirstErr = w.firstErr.Error()
		}
	}
	res.Requests = res.Gets + res.Sets
	if elapsed > 0 {
		res.OpsPerSec = float64(res.Requests-res.Errors) / elapsed.Seconds()
	}
	res.Latency = latencyMS{Mean: ms(hist.Mean()), P50: ms(hist.Quantile(0.5)), P90: ms(hist.Quantile(0.9)),
		P99: ms(hist.Quantile(0.99)), P999: ms(hist.Quantile(0.999)), Max: ms(hist.Max())}
	return res
}

// run makes requests until claim gives none or ctx ends. Each request's
// latency is the round trip of the pipeline it went in, as
// redis-benchmark counts it.
func (w *benchWorker) run(ctx context.Context, cfg benchConfig, c *client.Client, rng *rand.Rand, value string, claim func() int) {
	keys := make([]string, cfg.Pipeline)
	reads := make([]bool, cfg.Pipeline)
	for ctx.Err() == nil {
		n := claim()
		if n == 0 {
			return
		}
		for i := range n {
			keys[i] = cfg.KeyPrefix + strconv.Itoa(rng.IntN(cfg.Keyspace))
			reads[i] = rng.Float64() < cfg.ReadRatio
		}
		opCtx, cancel := context.WithTimeout(ctx, cfg.Timeout)
		began := time.Now()
		errs := w.send(opCtx, c, keys[:n], reads[:n], value)
		took := time.Since(began)
		cancel()
		if ctx.Err() != nil {
			return // the run ended under this request: do not count it
		}
		for i := range n {
			if reads[i] {
				w.gets++
			} else {
				w.sets++
			}
			err := errs(i)
			switch {
			case err == nil:
			case errors.Is(err, client.ErrNotFound):
				w.misses++
			default:
				w.errors++
				if w.firstErr == nil {
					w.firstErr = err
				}
			}
			w.hist.Record(took)
		}
	}
}

// send makes the requests, one call or one pipeline, and returns each
// request's error by index.
func (w *benchWorker) send(ctx context.Context, c *client.Client, keys []string, reads []bool, value string) func(int) error {
	if len(keys) == 1 {
		var err error
		if reads[0] {
			_, err = c.Get(ctx, keys[0])
		} else {
			err = c.Set(ctx, keys[0], value)
		}
		return func(int) error { return err }
	}
	p := c.Pipeline()
	for i, k := range keys {
		if reads[i] {
			p.Get(k)
		} else {
			p.Set(k, value)
		}
	}
	results, err := p.Exec(ctx)
	return func(i int) error {
		if i < len(results) {
			return results[i].Err
		}
		return err
	}
}

// printBench writes the human report.
func printBench(w io.Writer, r benchResult) {
	c := r.Config
	fmt.Fprintf(w, "bench: %d clients, %d in flight, pipeline %d, %d-byte values, %d keys, %.0f%% reads\n",
		c.Clients, c.Concurrency, c.Pipeline, c.ValueSize, c.Keyspace, c.ReadRatio*100)
	fmt.Fprintf(w, "requests:   %d in %.3fs (%d GET, %d SET; %d GET misses; %d errors)\n",
		r.Requests, r.Seconds, r.Gets, r.Sets, r.Misses, r.Errors)
	fmt.Fprintf(w, "throughput: %.0f requests/s\n", r.OpsPerSec)
	l := r.Latency
	fmt.Fprintf(w, "latency ms: mean %.3f  p50 %.3f  p90 %.3f  p99 %.3f  p99.9 %.3f  max %.3f\n",
		l.Mean, l.P50, l.P90, l.P99, l.P999, l.Max)
	if r.FirstErr != "" {
		fmt.Fprintf(w, "first error: %s\n", r.FirstErr)
	}
}
