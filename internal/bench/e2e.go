package bench

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// e2eOptions are the flags of `fjord bench e2e`.
type e2eOptions struct {
	common
	Topic       string        `json:"topic"`
	Partitions  int           `json:"partitions"`
	Rate        int           `json:"rate"`
	Batch       int           `json:"batch"`
	Concurrency int           `json:"concurrency"`
	RecordSize  int           `json:"record_size"`
	Acks        string        `json:"acks"`
	Drain       time.Duration `json:"drain"`
	Credits     int           `json:"credits"`
}

func (o *e2eOptions) register(fs *flag.FlagSet) {
	o.common.register(fs, true)
	fs.StringVar(&o.Topic, "topic", "bench-e2e", "topic (created with --partitions if missing)")
	fs.IntVar(&o.Partitions, "partitions", 1, "partitions of the topic when it is created")
	fs.IntVar(&o.Rate, "rate", 10_000, "records per second, sent on a fixed schedule")
	fs.IntVar(&o.Batch, "batch", 1, "records per produce request")
	fs.IntVar(&o.Concurrency, "concurrency", 64, "producer workers (connections); the schedule needs rate/batch x request latency of them")
	fs.IntVar(&o.RecordSize, "record-size", 100, "value size in bytes")
	fs.StringVar(&o.Acks, "acks", "1", "acks of the produce requests")
	fs.DurationVar(&o.Drain, "drain", 5*time.Second, "after --duration, wait this long for the last records to arrive")
	fs.IntVar(&o.Credits, "credits", 100_000, "credit window of the subscription")
}

// Header names that carry the run id, the time a record was due and the
// time its request was sent (ns since the run's start on the tool's
// monotonic clock).
const (
	runHeader  = "fjord-bench-run"
	dueHeader  = "fjord-bench-due"
	sentHeader = "fjord-bench-sent"
)

func runE2E(ctx context.Context, fs *flag.FlagSet, args []string, stdout, stderr io.Writer) error {
	var o e2eOptions
	o.register(fs)
	if err := parse(fs, args); err != nil {
		return err
	}
	if !isSet(fs, "duration") {
		o.Duration = 10 * time.Second
	}
	p := payload{size: o.RecordSize, format: "json", keys: "none"}
	switch {
	case o.Rate < 1 || o.Batch < 1 || o.Concurrency < 1 || o.Partitions < 1 || o.Credits < 1 || o.Duration <= 0:
		return errors.New("bench: --rate, --batch, --concurrency, --partitions, --credits and --duration must be positive")
	case o.Acks != "0" && o.Acks != "1" && o.Acks != "all":
		return fmt.Errorf("bench: --acks must be 0, 1 or all, got %q", o.Acks)
	}
	if err := p.validate(); err != nil {
		return err
	}
	c, err := newClient(o.URL, o.Concurrency, o.Timeout)
	if err != nil {
		return err
	}
	defer c.close()
	parts, err := c.ensureTopic(ctx, o.Topic, o.Partitions)
	if err != nil {
		return err
	}
	sub, err := subscribed(ctx, c.base, subscribeMsg{Op: "subscribe", ID: "e2e", Topic: o.Topic, Offset: "latest", Credits: o.Credits})
	if err != nil {
		return err
	}
	defer sub.close()
	var id [6]byte
	for i := range id {
		id[i] = byte(rand.Uint32())
	}
	run := &e2eRun{o: &o, c: c, sub: sub, payload: p, runID: hex.EncodeToString(id[:]),
		url: c.base + "/topics/" + url.PathEscape(o.Topic) + "/records?acks=" + url.QueryEscape(o.Acks)}
	s := &Summary{Command: "e2e", URL: o.URL, Params: &o, Topics: []string{o.Topic}, Partitions: len(parts)}
	err = o.measure(ctx, s, stdout, stderr, func(runCtx context.Context, rec *Recorder) error {
		return run.run(ctx, runCtx, rec)
	})
	if s.RecordsSentPerSec < 0.95*float64(o.Rate) && ctx.Err() == nil {
		fmt.Fprintf(stderr, "e2e: sent %.0f records/s, behind the --rate %d schedule: raise --concurrency or --batch, or the broker is saturated\n", s.RecordsSentPerSec, o.Rate)
	}
	return err
}

// subscribed subscribes and waits for the broker's "subscribed" answer, so
// that every record produced afterwards is delivered.
func subscribed(ctx context.Context, base string, msg subscribeMsg) (*wsSub, error) {
	s, _, err := subscribe(ctx, base, msg)
	if err != nil {
		return nil, fmt.Errorf("bench: e2e needs the broker's WebSocket endpoint: %w", err)
	}
	_ = s.conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	for {
		typ, frame, err := s.next()
		if err != nil {
			s.close()
			return nil, fmt.Errorf("bench: subscribe %s: %w", msg.Topic, err)
		}
		switch typ {
		case "subscribed":
			_ = s.conn.SetReadDeadline(time.Time{})
			return s, nil
		case "error":
			s.close()
			k, m := frameError(frame)
			return nil, fmt.Errorf("bench: subscribe %s: %s: %s", msg.Topic, k, m)
		}
	}
}

// e2eRun is one end-to-end measurement.
type e2eRun struct {
	o       *e2eOptions
	c       *client
	sub     *wsSub
	payload payload
	runID   string
	url     string
	t0      time.Time

	received atomic.Int64
	expect   atomic.Int64 // records to wait for; set once producing ended
	caughtUp chan struct{}
}

// run produces on schedule until runCtx ends, then waits up to --drain for
// the records still on their way; ctx (the whole command's) stops both.
func (r *e2eRun) run(ctx, runCtx context.Context, rec *Recorder) error {
	r.t0 = time.Now()
	r.expect.Store(1 << 62)
	r.caughtUp = make(chan struct{})
	readCtx, stopRead := context.WithCancel(ctx)
	defer stopRead()
	var reader sync.WaitGroup
	reader.Go(func() { r.read(readCtx, rec) })

	jobs := make(chan time.Duration, r.o.Concurrency)
	var producers sync.WaitGroup
	for range r.o.Concurrency {
		producers.Go(func() { r.produce(runCtx, jobs, rec) })
	}
	r.pace(runCtx, jobs)
	close(jobs)
	producers.Wait()

	r.expect.Store(rec.sent.Load())
	if r.received.Load() < r.expect.Load() {
		t := time.NewTimer(r.o.Drain)
		select {
		case <-r.caughtUp:
		case <-t.C:
		case <-ctx.Done():
		}
		t.Stop()
	}
	stopRead()
	reader.Wait()
	if missing := rec.sent.Load() - r.received.Load(); missing > 0 {
		rec.Fail("e2e missing", missing, fmt.Sprintf("acknowledged by produce but not received over WebSocket within --drain %s", r.o.Drain))
	}
	return nil
}

// pace hands out one job per batch at its scheduled time (open loop: a
// late schedule is not slowed down, and latency counts from the schedule).
func (r *e2eRun) pace(ctx context.Context, jobs chan<- time.Duration) {
	interval := time.Duration(float64(time.Second) * float64(r.o.Batch) / float64(r.o.Rate))
	timer := time.NewTimer(0)
	defer timer.Stop()
	for due := time.Duration(0); ; due += interval {
		if wait := due - time.Since(r.t0); wait > 0 {
			timer.Reset(wait)
			select {
			case <-ctx.Done():
				return
			case <-timer.C:
			}
		}
		select {
		case <-ctx.Done():
			return
		case jobs <- due:
		}
	}
}

// produce sends the jobs' batches, each record carrying its scheduled time.
func (r *e2eRun) produce(ctx context.Context, jobs <-chan time.Duration, rec *Recorder) {
	var buf bytes.Buffer
	rng := rand.New(rand.NewPCG(rand.Uint64(), 5))
	var body []byte
	for due := range jobs {
		if ctx.Err() != nil {
			continue // drain the queue without sending
		}
		dueNS := strconv.FormatInt(int64(due), 10)
		sentNS := strconv.FormatInt(int64(time.Since(r.t0)), 10)
		body = append(body[:0], `{"records":[`...)
		for i := range r.o.Batch {
			if i > 0 {
				body = append(body, ',')
			}
			body = r.payload.appendRecord(body, rng, runHeader, r.runID, dueHeader, dueNS, sentHeader, sentNS)
		}
		body = append(body, "]}"...)
		start := time.Now()
		status, err := r.c.do(ctx, http.MethodPost, r.url, "application/json", body, &buf)
		d := time.Since(start)
		n := int64(r.o.Batch)
		switch {
		case err != nil:
			rec.Fail(transportKey(err), n, err.Error())
		case status == http.StatusOK || status == http.StatusAccepted:
			rec.sent.Add(n)
			rec.Request(d, 0, n*int64(r.payload.size), int64(len(body)+buf.Len()))
		default:
			key, msg := failureKey(status, buf.Bytes())
			rec.Fail(key, n, msg)
		}
	}
}

// read receives the subscription's records and records each one's latency.
func (r *e2eRun) read(ctx context.Context, rec *Recorder) {
	defer context.AfterFunc(ctx, func() { _ = r.sub.conn.SetReadDeadline(time.Now()) })()
	for {
		typ, frame, err := r.sub.next()
		now := time.Since(r.t0)
		if err != nil {
			if key := readErrKey(ctx, err); key != "" {
				rec.Fail(key, 0, err.Error())
			}
			return
		}
		switch typ {
		case "error":
			key, msg := frameError(frame)
			rec.Fail(key, 0, msg)
			return
		case "records":
		default:
			continue
		}
		var f struct {
			Records []struct {
				Headers map[string]string `json:"headers"`
			} `json:"records"`
		}
		if err := json.Unmarshal(frame, &f); err != nil {
			rec.Fail("ws malformed frame", 0, err.Error())
			return
		}
		var mine int64
		for _, x := range f.Records {
			if x.Headers[runHeader] != r.runID {
				continue // another producer's record
			}
			due, err1 := strconv.ParseInt(x.Headers[dueHeader], 10, 64)
			sent, err2 := strconv.ParseInt(x.Headers[sentHeader], 10, 64)
			if err1 != nil || err2 != nil {
				continue
			}
			rec.E2E(now-time.Duration(sent), now-time.Duration(due))
			mine++
		}
		rec.records.Add(mine)
		rec.wireBytes.Add(int64(len(frame)))
		if r.received.Add(mine) >= r.expect.Load() {
			select {
			case <-r.caughtUp:
			default:
				close(r.caughtUp)
			}
		}
		if err := r.sub.consumed(len(f.Records)); err != nil {
			rec.Fail("ws "+transportKey(err), 0, err.Error())
			return
		}
	}
}
