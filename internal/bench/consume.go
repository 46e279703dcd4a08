package bench

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
)

// consumeOptions are the flags of `fjord bench consume`.
type consumeOptions struct {
	common
	Topic         string        `json:"topic"`
	Mode          string        `json:"mode"`
	Partition     int           `json:"partition"`
	Offset        string        `json:"offset"`
	Records       int64         `json:"records"`
	MaxRecords    int           `json:"max_records"`
	MaxBytes      int           `json:"max_bytes,omitempty"`
	Concurrency   int           `json:"concurrency,omitempty"`
	RandomOffsets bool          `json:"random_offsets,omitempty"`
	Align         int64         `json:"align,omitempty"`
	PollTimeout   time.Duration `json:"poll_timeout"`
	Subscribers   int           `json:"subscribers,omitempty"`
	Stalled       int           `json:"stalled,omitempty"`
	Credits       int           `json:"credits,omitempty"`
	Verify        bool          `json:"verify,omitempty"`
}

func (o *consumeOptions) register(fs *flag.FlagSet) {
	o.common.register(fs, true)
	fs.StringVar(&o.Topic, "topic", "bench", "topic to read")
	fs.StringVar(&o.Mode, "mode", "longpoll", "longpoll (GET …/records) or ws (WebSocket subscriptions)")
	fs.IntVar(&o.Partition, "partition", -1, "partition to read (-1: all)")
	fs.StringVar(&o.Offset, "offset", "earliest", "start: earliest, latest, an offset, or -N for N records before the high watermark")
	fs.Int64Var(&o.Records, "records", 0, "records to read (longpoll: in total; ws: per subscriber); 0: what the topic holds at start")
	fs.IntVar(&o.MaxRecords, "max-records", 1000, "longpoll: max_records per request")
	fs.IntVar(&o.MaxBytes, "max-bytes", 0, "longpoll: max_bytes per request (0: the broker's default)")
	fs.IntVar(&o.Concurrency, "concurrency", 1, "longpoll: readers per partition, each reading every Nth chunk of --max-records (above 1, reads stop at the high watermark seen at start)")
	fs.BoolVar(&o.RandomOffsets, "random-offsets", false, "longpoll: read each request from a random retained offset (needs --records or --duration)")
	fs.Int64Var(&o.Align, "align", 0, "longpoll with --random-offsets: round each random offset down to a multiple of this (e.g. the produce batch size, to start reads at batch boundaries)")
	fs.BoolVar(&o.Verify, "verify", false, "longpoll: count the records of every answer instead of trusting next_offset (costs client CPU)")
	fs.DurationVar(&o.PollTimeout, "poll-timeout", time.Second, "longpoll: timeout_ms of each request (waits only when nothing is there yet)")
	fs.IntVar(&o.Subscribers, "subscribers", 1, "ws: WebSocket connections, each subscribing to the whole topic (or --partition); 0 with --stalled and --duration")
	fs.IntVar(&o.Stalled, "stalled", 0, "ws: extra subscribers that subscribe with a huge credit and never read (memory under a stalled reader)")
	fs.IntVar(&o.Credits, "credits", 100_000, "ws: credit window per subscription, topped up as records arrive")
}

func runConsume(ctx context.Context, fs *flag.FlagSet, args []string, stdout, stderr io.Writer) error {
	var o consumeOptions
	o.register(fs)
	if err := parse(fs, args); err != nil {
		return err
	}
	if err := o.validate(); err != nil {
		return err
	}
	c, err := newClient(o.URL, o.Concurrency, o.Timeout)
	if err != nil {
		return err
	}
	defer c.close()
	parts, err := c.describe(ctx, o.Topic)
	if err != nil {
		return err
	}
	if o.Partition >= 0 {
		if o.Partition >= len(parts) {
			return fmt.Errorf("bench: topic %s has %d partitions, no --partition %d", o.Topic, len(parts), o.Partition)
		}
		parts = parts[o.Partition : o.Partition+1]
	}
	c.setConns(o.Concurrency * len(parts))
	s := &Summary{Command: "consume", Mode: o.Mode, URL: o.URL, Params: &o, Topics: []string{o.Topic}, Partitions: len(parts)}
	if o.RandomOffsets {
		s.Mode = "random"
	}
	if o.Mode == "ws" {
		return o.runWS(ctx, c, parts, s, stdout, stderr)
	}
	starts := make([]int64, len(parts))
	for i, p := range parts {
		if starts[i], err = startOffset(o.Offset, p); err != nil {
			return err
		}
	}
	return o.measure(ctx, s, stdout, stderr, func(ctx context.Context, rec *Recorder) error {
		var wg sync.WaitGroup
		for i, p := range parts {
			for r := range o.Concurrency {
				if o.RandomOffsets {
					wg.Go(func() { o.randomReader(ctx, c, p, uint64(i*o.Concurrency+r), rec) })
					continue
				}
				end := int64(math.MaxInt64)
				if o.Concurrency > 1 || (o.Records == 0 && o.Duration == 0) {
					end = p.HighWatermark
				}
				st := stride{first: starts[i] + int64(r*o.MaxRecords), step: int64(o.Concurrency * o.MaxRecords), size: int64(o.MaxRecords), end: end}
				wg.Go(func() { o.strideReader(ctx, c, p.Partition, st, rec) })
			}
		}
		wg.Wait()
		return nil
	})
}

func (o *consumeOptions) validate() error {
	switch {
	case o.Mode != "longpoll" && o.Mode != "ws":
		return fmt.Errorf("bench: --mode must be longpoll or ws, got %q", o.Mode)
	case o.MaxRecords < 1 || o.MaxRecords > 10000:
		return errors.New("bench: --max-records must be 1 … 10000")
	case o.Concurrency < 1 || o.Subscribers < 0 || o.Stalled < 0 || o.Credits < 1:
		return errors.New("bench: --concurrency and --credits must be at least 1")
	case o.Subscribers == 0 && (o.Stalled == 0 || o.Duration == 0):
		return errors.New("bench: --subscribers 0 only holds --stalled subscribers for --duration")
	case o.RandomOffsets && o.Records == 0 && o.Duration == 0:
		return errors.New("bench: --random-offsets needs --records or --duration")
	case o.RandomOffsets && o.Mode != "longpoll":
		return errors.New("bench: --random-offsets is a longpoll mode")
	}
	return nil
}

// startOffset resolves --offset for one partition.
func startOffset(spec string, p partitionInfo) (int64, error) {
	switch {
	case spec == "earliest":
		return p.LogStartOffset, nil
	case spec == "latest":
		return p.HighWatermark, nil
	case strings.HasPrefix(spec, "-"):
		n, err := strconv.ParseInt(spec[1:], 10, 64)
		if err != nil || n < 0 {
			return 0, fmt.Errorf("bench: --offset %q: want -N", spec)
		}
		return max(p.LogStartOffset, p.HighWatermark-n), nil
	}
	n, err := strconv.ParseInt(spec, 10, 64)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("bench: --offset %q: want earliest, latest, an offset or -N", spec)
	}
	return n, nil
}

// stride is the chunks one reader covers: [first+k*step, +size) below end.
type stride struct{ first, step, size, end int64 }

// readURL is the long-poll read of max records from offset.
func (o *consumeOptions) readURL(c *client, part int32, offset int64, maxRecords int) string {
	q := url.Values{}
	q.Set("offset", strconv.FormatInt(offset, 10))
	q.Set("max_records", strconv.Itoa(maxRecords))
	q.Set("timeout_ms", strconv.FormatInt(o.PollTimeout.Milliseconds(), 10))
	if o.MaxBytes > 0 {
		q.Set("max_bytes", strconv.Itoa(o.MaxBytes))
	}
	return fmt.Sprintf("%s/topics/%s/partitions/%d/records?%s", c.base, url.PathEscape(o.Topic), part, q.Encode())
}

// read does one long-poll read and records it; it returns the next offset,
// or ok false after a failure (which it has counted).
func (o *consumeOptions) read(ctx context.Context, c *client, part int32, offset int64, maxRecords int, buf *bytes.Buffer, rec *Recorder) (next int64, ok bool) {
	start := time.Now()
	status, err := c.do(ctx, http.MethodGet, o.readURL(c, part, offset, maxRecords), "", nil, buf)
	d := time.Since(start)
	if err != nil {
		rec.Fail(transportKey(err), 0, err.Error())
		return 0, false
	}
	body := buf.Bytes()
	if status != http.StatusOK {
		key, msg := failureKey(status, body)
		rec.Fail(key, 0, msg)
		return 0, false
	}
	// fjord's logs have no gaps, so an answer holds next_offset - offset
	// records; --verify counts them instead.
	next, err = intField(body, "next_offset")
	if err == nil && next < offset {
		err = fmt.Errorf("next_offset %d below offset %d", next, offset)
	}
	n := next - offset
	if err == nil && o.Verify {
		var counted int
		if counted, err = countArray(body, "records"); err == nil && int64(counted) != n {
			err = fmt.Errorf("%d records from offset %d, but next_offset %d", counted, offset, next)
		}
	}
	if err != nil {
		rec.Fail("200 malformed", 0, err.Error())
		return 0, false
	}
	rec.Request(d, n, int64(len(body)), int64(len(body)))
	return next, true
}

// done reports whether --records have been read.
func (o *consumeOptions) done(rec *Recorder) bool {
	return o.Records > 0 && rec.records.Load() >= o.Records
}

// strideReader reads its chunks of one partition in order. A failure ends
// the reader: the next offset would be a guess.
func (o *consumeOptions) strideReader(ctx context.Context, c *client, part int32, st stride, rec *Recorder) {
	var buf bytes.Buffer
	for chunk := st.first; chunk < st.end; chunk += st.step {
		chunkEnd := min(chunk+st.size, st.end)
		for cur := chunk; cur < chunkEnd; {
			if ctx.Err() != nil || o.done(rec) {
				return
			}
			next, ok := o.read(ctx, c, part, cur, int(chunkEnd-cur), &buf, rec)
			if !ok {
				return
			}
			cur = max(cur, next)
		}
	}
}

// randomReader reads --max-records from random retained offsets of one
// partition until --records or --duration.
func (o *consumeOptions) randomReader(ctx context.Context, c *client, p partitionInfo, seed uint64, rec *Recorder) {
	var buf bytes.Buffer
	rng := rand.New(rand.NewPCG(seed, 11))
	span := p.HighWatermark - p.LogStartOffset - int64(o.MaxRecords)
	for ctx.Err() == nil && !o.done(rec) {
		off := p.LogStartOffset
		if span > 0 {
			off += rng.Int64N(span + 1)
		}
		if o.Align > 1 {
			off = max(p.LogStartOffset, off-off%o.Align)
		}
		if _, ok := o.read(ctx, c, p.Partition, off, o.MaxRecords, &buf, rec); !ok {
			return
		}
	}
}
