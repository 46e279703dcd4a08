package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
)

// replicationOptions are the flags of `fjord bench replication`.
type replicationOptions struct {
	clusterOptions
	Duration    time.Duration `json:"duration"`
	Warmup      time.Duration `json:"warmup"`
	Rounds      int           `json:"rounds"`
	Concurrency int           `json:"concurrency"`
	Backlog     int64         `json:"backlog"`
}

// ReplicationRound is one RF=1 and one RF=n produce run, back to back.
type ReplicationRound struct {
	RF1RecordsPerSec float64 `json:"rf1_records_per_sec"`
	RFNRecordsPerSec float64 `json:"rfn_records_per_sec"`
	Ratio            float64 `json:"ratio"`
}

// ReplicationSummary is the result of `fjord bench replication`.
type ReplicationSummary struct {
	Command string             `json:"command"`
	Params  replicationOptions `json:"params"`
	Rounds  []ReplicationRound `json:"rounds"`
	// The catch-up: Follower was stopped while BacklogRecords were
	// produced, then started; CatchUpSeconds is from its start to the
	// leader reporting its replica at the log end.
	Follower                int     `json:"follower,omitempty"`
	BacklogRecords          int64   `json:"backlog_records,omitempty"`
	BacklogRecordsPerSec    float64 `json:"backlog_records_per_sec,omitempty"`
	CatchUpSeconds          float64 `json:"catch_up_seconds,omitempty"`
	CatchUpRecordsPerSecond float64 `json:"catch_up_records_per_sec,omitempty"`
}

// runReplication measures replication on brokers it starts itself:
// batched acks=all produce (1000 records of 100 bytes per request) to an
// RF=1 and an RF=n topic (min.insync.replicas 2), alternating, and then the
// catch-up of a follower that was stopped while a backlog was produced.
func runReplication(ctx context.Context, fs *flag.FlagSet, args []string, stdout, stderr io.Writer) error {
	var o replicationOptions
	o.register(fs)
	fs.DurationVar(&o.Duration, "duration", 15*time.Second, "length of each produce run")
	fs.DurationVar(&o.Warmup, "warmup", 5*time.Second, "length of each run of an unreported RF=1/RF=n pair before the rounds (0: none)")
	fs.IntVar(&o.Rounds, "rounds", 2, "RF=1/RF=n pairs of produce runs")
	fs.IntVar(&o.Concurrency, "concurrency", 4, "producer connections")
	fs.Int64Var(&o.Backlog, "backlog", 10_000_000, "records produced while a follower is down, for the catch-up (0: skip it)")
	if err := parse(fs, args); err != nil {
		return err
	}
	if o.Brokers < 2 || o.Rounds < 0 || o.Backlog < 0 || o.Duration <= 0 || o.Warmup < 0 {
		return errors.New("bench: replication needs --brokers of at least 2, a --duration, and no negative --rounds, --backlog or --warmup")
	}
	s := ReplicationSummary{Command: "replication", Params: o}
	err := withLocalCluster(ctx, "replication", o.clusterOptions, stderr, func(c *localCluster, logf logger) error {
		return c.replication(ctx, o, &s, logf)
	})
	if err != nil {
		return err
	}
	return s.write(stdout, o.JSON)
}

// replication runs the produce rounds and the catch-up into s.
func (c *localCluster) replication(ctx context.Context, o replicationOptions, s *ReplicationSummary, logf logger) error {
	n := len(c.http)
	rfn := "rf" + strconv.Itoa(n)
	if err := c.createTopic(ctx, "rf1", 1, nil); err != nil {
		return err
	}
	if err := c.createTopic(ctx, rfn, n, map[string]any{"min.insync.replicas": min(2, n)}); err != nil {
		return err
	}
	// pair runs acks=all produce to each of topics in turn for d.
	pair := func(topics []string, d time.Duration) (map[string]Summary, error) {
		runs := make(map[string]Summary, len(topics))
		for _, t := range topics {
			sum, err := c.benchProduce(ctx, t, "--acks=all", "--duration="+d.String(), "--concurrency="+strconv.Itoa(o.Concurrency))
			if err != nil {
				return nil, err
			}
			runs[t] = sum
		}
		return runs, nil
	}
	// The warm-up pair is not reported: a fresh cluster's first run writes
	// into memory that the previous run freed and the VM has not yet
	// returned to its host, which made the first RF=1 run up to 1.5 times
	// faster than every later one (docs/performance.md).
	if o.Warmup > 0 {
		if _, err := pair([]string{"rf1", rfn}, o.Warmup); err != nil {
			return err
		}
		logf("warm-up: RF=1 and RF=%d for %s each", n, o.Warmup)
	}
	for r := range o.Rounds {
		// Every other round runs RF=n first, so that what one run leaves
		// behind (page cache to reclaim, a flush or compaction under way)
		// weighs on both topics alike.
		topics := []string{"rf1", rfn}
		if r%2 == 1 {
			topics[0], topics[1] = topics[1], topics[0]
		}
		runs, err := pair(topics, o.Duration)
		if err != nil {
			return err
		}
		one, all := runs["rf1"], runs[rfn]
		round := ReplicationRound{RF1RecordsPerSec: one.RecordsPerSec, RFNRecordsPerSec: all.RecordsPerSec, Ratio: all.RecordsPerSec / one.RecordsPerSec}
		logf("round %d: RF=1 %s rec/s, RF=%d %s rec/s, ratio %.2f", r+1, group(int64(one.RecordsPerSec)), n, group(int64(all.RecordsPerSec)), round.Ratio)
		s.Rounds = append(s.Rounds, round)
	}
	if o.Backlog == 0 {
		return nil
	}
	return c.catchUp(ctx, rfn, o.Backlog, s, logf)
}

// catchUp stops a follower of topic, produces backlog records with acks=1,
// starts the follower again and times it until the leader reports its
// replica at the log end.
func (c *localCluster) catchUp(ctx context.Context, topic string, backlog int64, s *ReplicationSummary, logf logger) error {
	p, err := c.partition(ctx, c.anyRunning(), topic)
	if err != nil {
		return err
	}
	leader := p.Leader
	s.Follower = c.other(leader)
	if err := c.terminate(s.Follower); err != nil {
		return err
	}
	logf("catch-up: broker %d stopped; producing %d records", s.Follower, backlog)
	sum, err := c.benchProduce(ctx, topic, "--acks=1", "--records="+strconv.FormatInt(backlog, 10))
	if err != nil {
		return err
	}
	s.BacklogRecords, s.BacklogRecordsPerSec = sum.Records, sum.RecordsPerSec
	end, err := c.partition(ctx, leader, topic)
	if err != nil {
		return err
	}
	var before int64
	for _, r := range end.ReplicaStates {
		if r.Broker == s.Follower {
			before = r.LogEndOffset
		}
	}
	t0 := time.Now()
	if err := c.start(s.Follower); err != nil {
		return err
	}
	err = c.poll(ctx, 10*time.Minute, fmt.Sprintf("broker %d to catch up", s.Follower), func() error {
		p, err := c.partition(ctx, leader, topic)
		if err != nil {
			return err
		}
		for _, r := range p.ReplicaStates {
			if r.Broker == s.Follower && r.LogEndOffset == end.LogEndOffset {
				return nil
			}
		}
		return fmt.Errorf("not at %d yet", end.LogEndOffset)
	})
	if err != nil {
		return err
	}
	s.CatchUpSeconds = time.Since(t0).Seconds()
	s.CatchUpRecordsPerSecond = float64(end.LogEndOffset-before) / s.CatchUpSeconds
	logf("catch-up: %d records in %.2f s from the start: %s rec/s", end.LogEndOffset-before, s.CatchUpSeconds, group(int64(s.CatchUpRecordsPerSecond)))
	return c.waitFormed(ctx)
}

// benchProduce runs `fjord bench produce` in-process against the leader of
// partition 0 of topic (1000 records of 100 bytes per request) and returns
// its summary.
func (c *localCluster) benchProduce(ctx context.Context, topic string, args ...string) (Summary, error) {
	p, err := c.partition(ctx, c.anyRunning(), topic)
	if err != nil {
		return Summary{}, err
	}
	var out bytes.Buffer
	args = append([]string{"--url", c.url(p.Leader), "--topic", topic, "--batch", "1000", "--record-size", "100", "--json", "--quiet"}, args...)
	fs := flag.NewFlagSet("fjord bench produce", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	if err := runProduce(ctx, fs, args, &out, io.Discard); err != nil {
		return Summary{}, fmt.Errorf("bench: produce %s: %w", strings.Join(args, " "), err)
	}
	var s Summary
	return s, json.Unmarshal(out.Bytes(), &s)
}

// write prints s as text or, with asJSON, as one JSON object.
func (s *ReplicationSummary) write(w io.Writer, asJSON bool) error {
	if asJSON {
		return writeJSON(w, s)
	}
	var b strings.Builder
	n := s.Params.Brokers
	fmt.Fprintf(&b, "replication: %d brokers, acks=all batched produce (1000 x 100 B per request, %d connections, %s per run, after a %s warm-up of each), records/s:\n",
		n, s.Params.Concurrency, s.Params.Duration, s.Params.Warmup)
	for i, r := range s.Rounds {
		fmt.Fprintf(&b, "  round %d: RF=1 %s  RF=%d %s  ratio %.2f\n", i+1, group(int64(r.RF1RecordsPerSec)), n, group(int64(r.RFNRecordsPerSec)), r.Ratio)
	}
	if s.BacklogRecords > 0 {
		fmt.Fprintf(&b, "catch-up: broker %d, %s records in %.2f s from its start: %s records/s\n",
			s.Follower, group(s.BacklogRecords), s.CatchUpSeconds, group(int64(s.CatchUpRecordsPerSecond)))
	}
	_, err := io.WriteString(w, b.String())
	return err
}
