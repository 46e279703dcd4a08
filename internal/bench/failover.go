package bench

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"time"
)

// failoverTopic is the topic `fjord bench failover` produces to.
const failoverTopic = "bench-failover"

// failoverOptions are the flags of `fjord bench failover`.
type failoverOptions struct {
	clusterOptions
	Runs int `json:"runs"`
}

// FailoverRun is one kill of a partition leader.
type FailoverRun struct {
	Run int `json:"run"`
	// Killed is the leader's broker id; Controller tells whether it was
	// the controller too (its failover includes a controller election).
	Killed     int  `json:"killed"`
	Controller bool `json:"controller"`
	// Via is the broker the producer sent to; NewLeader the leader that
	// accepted the first write.
	Via       int `json:"via"`
	NewLeader int `json:"new_leader"`
	// Seconds is from the SIGKILL to the answer of the first acks=all
	// write accepted, every request sent after the kill.
	Seconds float64 `json:"seconds"`
	// Failed counts the answers before that one, by status and code.
	Failed map[string]int `json:"failed,omitempty"`
}

// FailoverSummary is the result of `fjord bench failover`.
type FailoverSummary struct {
	Command    string          `json:"command"`
	Params     failoverOptions `json:"params"`
	Topic      string          `json:"topic"`
	Runs       []FailoverRun   `json:"runs"`
	MinSeconds float64         `json:"min_seconds"`
	P50Seconds float64         `json:"p50_seconds"`
	MaxSeconds float64         `json:"max_seconds"`
}

// runFailover measures leader failover on brokers it starts itself: an RF
// n topic with min.insync.replicas 2, then --runs times: kill -9 of the
// partition's leader, acks=all writes of one record through a surviving
// broker until one is accepted, restart of the killed broker, and a wait
// until every replica is in sync again.
func runFailover(ctx context.Context, fs *flag.FlagSet, args []string, stdout, stderr io.Writer) error {
	var o failoverOptions
	o.register(fs)
	fs.IntVar(&o.Runs, "runs", 20, "leader kills to measure")
	if err := parse(fs, args); err != nil {
		return err
	}
	if o.Brokers < 2 || o.Runs < 1 {
		return errors.New("bench: failover needs --brokers of at least 2 and --runs of at least 1")
	}
	s := FailoverSummary{Command: "failover", Params: o, Topic: failoverTopic}
	err := withLocalCluster(ctx, "failover", o.clusterOptions, stderr, func(c *localCluster, logf logger) error {
		return c.failovers(ctx, o.Runs, &s, logf)
	})
	if err != nil {
		return err
	}
	s.summarize()
	return s.write(stdout, o.JSON)
}

// failovers creates the topic and measures runs failovers into s.
func (c *localCluster) failovers(ctx context.Context, runs int, s *FailoverSummary, logf logger) error {
	n := len(c.http)
	if err := c.createTopic(ctx, failoverTopic, n, map[string]any{"min.insync.replicas": min(2, n)}); err != nil {
		return err
	}
	if _, _, err := c.produceUntilAccepted(ctx, 1, time.Now(), nil); err != nil {
		return err
	}
	for run := 1; run <= runs; run++ {
		r, err := c.failover(ctx, run)
		if err != nil {
			return err
		}
		logf("run %2d: killed %d%s, new leader %d via %d: %.2f s", run, r.Killed,
			map[bool]string{true: " (controller)"}[r.Controller], r.NewLeader, r.Via, r.Seconds)
		s.Runs = append(s.Runs, r)
	}
	return nil
}

// failover kills the partition's leader once and restarts it after the
// first accepted write.
func (c *localCluster) failover(ctx context.Context, run int) (FailoverRun, error) {
	r := FailoverRun{Run: run, Failed: map[string]int{}}
	p, err := c.partition(ctx, c.anyRunning(), failoverTopic)
	if err != nil {
		return r, err
	}
	r.Killed = p.Leader
	r.Via = c.other(p.Leader)
	var v clusterView
	if _, err := c.call(ctx, r.Via, http.MethodGet, "/cluster", nil, &v); err != nil {
		return r, err
	}
	r.Controller = v.ControllerID == p.Leader
	t0 := time.Now()
	c.kill(r.Killed)
	d, leader, err := c.produceUntilAccepted(ctx, r.Via, t0, r.Failed)
	if err != nil {
		return r, err
	}
	r.Seconds, r.NewLeader = d.Seconds(), leader
	if err := c.start(r.Killed); err != nil {
		return r, err
	}
	if err := c.waitFormed(ctx); err != nil {
		return r, err
	}
	return r, c.waitISR(ctx, failoverTopic, len(c.http))
}

// produceUntilAccepted sends acks=all writes of one record to broker via
// until one is accepted, and returns the time from t0 to that answer and
// the leader that took it. failed (when not nil) counts the other answers.
// It gives up after a minute.
func (c *localCluster) produceUntilAccepted(ctx context.Context, via int, t0 time.Time, failed map[string]int) (time.Duration, int, error) {
	body := map[string]any{"records": []map[string]any{{"value": map[string]any{"bench": "failover"}}}}
	path := "/topics/" + failoverTopic + "/records?acks=all&timeout_ms=1000"
	deadline := t0.Add(time.Minute)
	for {
		sent := time.Now()
		var out struct {
			Offsets []struct {
				Partition int `json:"partition"`
			} `json:"offsets"`
		}
		_, err := c.call(ctx, via, http.MethodPost, path, body, &out)
		if err == nil {
			d := time.Since(t0)
			p, perr := c.partition(ctx, via, failoverTopic)
			return d, p.Leader, perr
		}
		if failed != nil {
			failed[failedKey(err)]++
		}
		if ctx.Err() != nil || time.Now().After(deadline) {
			return 0, 0, fmt.Errorf("bench: no acks=all write accepted through broker %d within a minute: %w", via, errors.Join(ctx.Err(), err))
		}
		if wait := 10*time.Millisecond - time.Since(sent); wait > 0 {
			select {
			case <-ctx.Done():
			case <-time.After(wait):
			}
		}
	}
}

// failedKey names a failed write for FailoverRun.Failed: "<status> <code>"
// or the transport failure.
func failedKey(err error) string {
	var ae *answerError
	if errors.As(err, &ae) {
		return ae.key
	}
	return transportKey(err)
}

// summarize fills the min, median and max over the runs.
func (s *FailoverSummary) summarize() {
	d := make([]float64, len(s.Runs))
	for i, r := range s.Runs {
		d[i] = r.Seconds
	}
	slices.Sort(d)
	s.MinSeconds, s.P50Seconds, s.MaxSeconds = d[0], d[(len(d)-1)/2], d[len(d)-1]
}

// write prints s as text or, with asJSON, as one JSON object.
func (s *FailoverSummary) write(w io.Writer, asJSON bool) error {
	if asJSON {
		return writeJSON(w, s)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "failover: %d kills -9 of the leader of %s (RF %d, min.insync.replicas %d, gossip profile %s)\n",
		len(s.Runs), s.Topic, s.Params.Brokers, min(2, s.Params.Brokers), s.Params.GossipProfile)
	fmt.Fprintf(&b, "kill to first acks=all write accepted: min %.2f s  p50 %.2f s  max %.2f s\n", s.MinSeconds, s.P50Seconds, s.MaxSeconds)
	_, err := io.WriteString(w, b.String())
	return err
}
