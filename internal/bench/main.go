package bench

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"sort"
	"strings"
	"sync"
	"time"
)

// Main runs `fjord bench` with args (a subcommand and its flags), printing
// progress on stderr and the summary on stdout. It returns an error when the
// run could not be done, or when a request failed and --allow-errors was not
// given. Cancelling ctx ends a run early; the summary is still printed.
func Main(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fmt.Fprint(stderr, usage)
		if len(args) == 0 {
			return errors.New("bench: missing subcommand")
		}
		return nil
	}
	run, ok := commands[args[0]]
	if !ok {
		fmt.Fprint(stderr, usage)
		return fmt.Errorf("bench: unknown subcommand %q", args[0])
	}
	fs := flag.NewFlagSet("fjord bench "+args[0], flag.ContinueOnError)
	fs.SetOutput(stderr)
	if err := run(ctx, fs, args[1:], stdout, stderr); !errors.Is(err, flag.ErrHelp) {
		return err
	}
	return nil
}

const usage = `usage: fjord bench <subcommand> [flags]

  produce      produce records (REST) and measure records/s and request latency
  consume      read a topic by long-poll (--mode longpoll) or WebSocket (--mode ws)
  e2e          latency from REST produce (acks=1) to WebSocket receipt at a fixed rate
  echo-server  a trivial HTTP handler, the baseline for unbatched produce (produce --raw-path /)
  pebble       raw Pebble synced appends of record batches, the baseline for batched produce
  replication  starts its own brokers and measures RF=1 vs RF=3 acks=all produce and a follower's catch-up
  failover     starts its own brokers and measures kill -9 of a partition leader to acks=all writes accepted again

fjord bench <subcommand> -h lists its flags. docs/performance.md has the commands of each target.
`

type command func(ctx context.Context, fs *flag.FlagSet, args []string, stdout, stderr io.Writer) error

var commands = map[string]command{
	"produce":     runProduce,
	"consume":     runConsume,
	"e2e":         runE2E,
	"echo-server": runEchoServer,
	"pebble":      runPebble,
	"failover":    runFailover,
	"replication": runReplication,
}

// common are the flags every measuring subcommand has.
type common struct {
	URL         string        `json:"url,omitempty"`
	Duration    time.Duration `json:"duration,omitempty"`
	Timeout     time.Duration `json:"timeout"`
	JSON        bool          `json:"-"`
	Quiet       bool          `json:"-"`
	AllowErrors bool          `json:"allow_errors"`
	BrokerPID   int           `json:"broker_pid,omitempty"`
}

func (c *common) register(fs *flag.FlagSet, withURL bool) {
	if withURL {
		fs.StringVar(&c.URL, "url", "http://127.0.0.1:8080", "broker base URL")
		fs.DurationVar(&c.Timeout, "timeout", 30*time.Second, "timeout of one request")
	}
	fs.DurationVar(&c.Duration, "duration", 0, "stop after this long (an alternative to --records)")
	fs.BoolVar(&c.JSON, "json", false, "print the summary as one JSON object on stdout")
	fs.BoolVar(&c.Quiet, "quiet", false, "no progress line on stderr")
	fs.BoolVar(&c.AllowErrors, "allow-errors", false, "exit 0 even if requests failed")
	fs.IntVar(&c.BrokerPID, "broker-pid", 0, "sample this process's VmRSS from /proc during the run and report the max")
}

// parse parses args and rejects positional leftovers.
func parse(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("bench: unexpected argument %q", fs.Arg(0))
	}
	return nil
}

// isSet reports whether the flag name was given on the command line.
func isSet(fs *flag.FlagSet, name string) bool {
	set := false
	fs.Visit(func(f *flag.Flag) { set = set || f.Name == name })
	return set
}

// measure runs body with a fresh Recorder, the progress line and the RSS
// sampler, then completes s with the totals, prints it and turns failures
// into an error. body gets a context that ends at --duration (or when ctx
// ends); it should stop issuing requests then and return once the in-flight
// ones have finished.
func (c *common) measure(ctx context.Context, s *Summary, stdout, stderr io.Writer, body func(ctx context.Context, rec *Recorder) error) error {
	rec := newRecorder()
	s.StartedAt = rec.start
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	if c.Duration > 0 {
		var cancelT context.CancelFunc
		runCtx, cancelT = context.WithTimeout(runCtx, c.Duration)
		defer cancelT()
	}
	var wg sync.WaitGroup
	bgCtx, stopBG := context.WithCancel(context.Background())
	var rss *rssSampler
	if c.BrokerPID > 0 {
		rss = &rssSampler{pid: c.BrokerPID}
		if err := rss.sample(); err != nil {
			stopBG()
			return fmt.Errorf("bench: --broker-pid: %w", err)
		}
		wg.Go(func() { rss.run(bgCtx, 100*time.Millisecond) })
	}
	if !c.Quiet {
		name := s.Command
		if s.Mode != "" {
			name += " " + s.Mode
		}
		wg.Go(func() { progress(bgCtx, stderr, name, rec, rss) })
	}
	cpu0 := selfCPU()
	var brokerCPU0 time.Duration
	if c.BrokerPID > 0 {
		brokerCPU0, _ = procCPU(c.BrokerPID)
	}
	err := body(runCtx, rec)
	elapsed := time.Since(rec.start)
	stopBG()
	wg.Wait()
	rec.fill(s, elapsed)
	s.ClientCPUSeconds = (selfCPU() - cpu0).Seconds()
	if rss != nil {
		_ = rss.sample()
		s.RSS = rss.summary()
		if cpu, err := procCPU(c.BrokerPID); err == nil {
			s.BrokerCPUSeconds = (cpu - brokerCPU0).Seconds()
		}
	}
	if werr := s.write(stdout, c.JSON); werr != nil && err == nil {
		err = werr
	}
	if err != nil {
		return err
	}
	if s.ErrorCount > 0 && !c.AllowErrors {
		return fmt.Errorf("bench: %d failures (%s); --allow-errors accepts them", s.ErrorCount, errorList(s.Errors))
	}
	return nil
}

func errorList(m map[string]int64) string {
	parts := make([]string, 0, len(m))
	for k, n := range m {
		parts = append(parts, fmt.Sprintf("%s: %d", k, n))
	}
	sort.Strings(parts)
	return strings.Join(parts, ", ")
}

// progress writes one line per second until ctx ends.
func progress(ctx context.Context, w io.Writer, name string, rec *Recorder, rss *rssSampler) {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	prev := tick{}
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		cur := rec.interval()
		sec := (cur.elapsed - prev.elapsed).Seconds()
		var b strings.Builder
		fmt.Fprintf(&b, "%s %5.0fs %12s rec/s %8.1f MB/s", name, cur.elapsed.Seconds(),
			group(int64(float64(cur.records-prev.records)/sec)), float64(cur.payload-prev.payload)/1e6/sec)
		if cur.lat.Count > 0 {
			fmt.Fprintf(&b, "  req p50 %.2f p99 %.2f ms", cur.lat.P50, cur.lat.P99)
		}
		if cur.e2e.Count > 0 {
			fmt.Fprintf(&b, "  e2e p50 %.2f p99 %.2f ms", cur.e2e.P50, cur.e2e.P99)
		}
		fmt.Fprintf(&b, "  total %s  errors %d", group(cur.records), cur.errors)
		if rss != nil {
			fmt.Fprintf(&b, "  rss %.0f MB", float64(rss.last())/1e6)
		}
		fmt.Fprintln(w, b.String())
		prev = cur
	}
}
