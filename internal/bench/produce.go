package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"sync"
	"sync/atomic"
	"time"
)

// produceOptions are the flags of `fjord bench produce`.
type produceOptions struct {
	common
	Topic       string `json:"topic,omitempty"`
	Topics      int    `json:"topics,omitempty"`
	Partitions  int    `json:"partitions,omitempty"`
	Records     int64  `json:"records"`
	RecordSize  int    `json:"record_size"`
	Batch       int    `json:"batch"`
	Concurrency int    `json:"concurrency"`
	Acks        string `json:"acks"`
	Keys        string `json:"keys"`
	Format      string `json:"format"`
	RawPath     string `json:"raw_path,omitempty"`
}

func (o *produceOptions) register(fs *flag.FlagSet) {
	o.common.register(fs, true)
	fs.StringVar(&o.Topic, "topic", "bench", "topic to produce to (with --topics N: topics <topic>-0 … <topic>-N-1)")
	fs.IntVar(&o.Topics, "topics", 1, "number of topics; requests rotate over them")
	fs.IntVar(&o.Partitions, "partitions", 0, "create missing topics with this many partitions (0: leave creation to the broker)")
	fs.Int64Var(&o.Records, "records", 1_000_000, "records to produce in total (0 with --duration: no limit)")
	fs.IntVar(&o.RecordSize, "record-size", 100, "value size in bytes, as stored")
	fs.IntVar(&o.Batch, "batch", 1000, "records per request")
	fs.IntVar(&o.Concurrency, "concurrency", 4, "workers, each with its own connection and one request in flight")
	fs.StringVar(&o.Acks, "acks", "1", "0, 1 or all")
	fs.StringVar(&o.Keys, "keys", "none", "none, or random (16 hex digits per record)")
	fs.StringVar(&o.Format, "format", "json", "json (value is a JSON object or string of --record-size bytes) or base64 (value_base64)")
	fs.StringVar(&o.RawPath, "raw-path", "", "POST the same bodies to this path instead of a topic (baseline against `fjord bench echo-server`)")
}

func runProduce(ctx context.Context, fs *flag.FlagSet, args []string, stdout, stderr io.Writer) error {
	var o produceOptions
	o.register(fs)
	if err := parse(fs, args); err != nil {
		return err
	}
	if o.Duration > 0 && !isSet(fs, "records") {
		o.Records = 0
	}
	p := payload{size: o.RecordSize, format: o.Format, keys: o.Keys}
	if err := o.validate(p); err != nil {
		return err
	}
	c, err := newClient(o.URL, o.Concurrency, o.Timeout)
	if err != nil {
		return err
	}
	defer c.close()
	s := &Summary{Command: "produce", URL: o.URL, Params: &o}
	pr := &producer{c: c, batch: o.Batch, total: o.Records, payload: p, rawPath: o.RawPath != ""}
	if pr.rawPath {
		pr.urls = []string{c.base + o.RawPath}
	} else {
		s.Topics = topicNames(o.Topic, o.Topics)
		for _, t := range s.Topics {
			if o.Partitions > 0 {
				parts, err := c.ensureTopic(ctx, t, o.Partitions)
				if err != nil {
					return err
				}
				s.Partitions += len(parts)
			}
			pr.urls = append(pr.urls, c.base+"/topics/"+url.PathEscape(t)+"/records?acks="+url.QueryEscape(o.Acks))
		}
	}
	rng := rand.New(rand.NewPCG(1, 2))
	variants := 1
	if o.Keys == "random" {
		variants = min(o.Concurrency, 4)
	}
	for range variants {
		pr.bodies = append(pr.bodies, p.body(o.Batch, rng))
	}
	return o.measure(ctx, s, stdout, stderr, func(ctx context.Context, rec *Recorder) error {
		var wg sync.WaitGroup
		for w := range o.Concurrency {
			wg.Go(func() { pr.worker(ctx, w, rec) })
		}
		wg.Wait()
		return nil
	})
}

func (o *produceOptions) validate(p payload) error {
	switch {
	case o.Batch < 1:
		return errors.New("bench: --batch must be at least 1")
	case o.Concurrency < 1:
		return errors.New("bench: --concurrency must be at least 1")
	case o.Acks != "0" && o.Acks != "1" && o.Acks != "all":
		return fmt.Errorf("bench: --acks must be 0, 1 or all, got %q", o.Acks)
	case o.Records < 0 || (o.Records == 0 && o.Duration <= 0):
		return errors.New("bench: give --records or --duration")
	case o.Topics < 1 || o.Partitions < 0:
		return errors.New("bench: --topics must be at least 1 and --partitions not negative")
	case o.RawPath != "" && o.RawPath[0] != '/':
		return errors.New("bench: --raw-path must start with /")
	}
	return p.validate()
}

// producer sends prebuilt bodies from concurrent workers.
type producer struct {
	c       *client
	urls    []string
	bodies  [][]byte
	batch   int
	total   int64 // 0: no limit
	claimed atomic.Int64
	payload payload
	rawPath bool
}

// claim reserves the records of the next request; 0 means done.
func (p *producer) claim() int {
	if p.total == 0 {
		return p.batch
	}
	end := p.claimed.Add(int64(p.batch))
	start := end - int64(p.batch)
	if start >= p.total {
		return 0
	}
	return int(min(end, p.total) - start)
}

func (p *producer) worker(ctx context.Context, w int, rec *Recorder) {
	var buf bytes.Buffer
	for i := w; ctx.Err() == nil; i++ {
		n := p.claim()
		if n == 0 {
			return
		}
		body := p.bodies[i%len(p.bodies)]
		if n < p.batch { // the last request of a --records run
			body = p.payload.body(n, rand.New(rand.NewPCG(uint64(w), 3)))
		}
		start := time.Now()
		status, err := p.c.do(ctx, http.MethodPost, p.urls[i%len(p.urls)], "application/json", body, &buf)
		d := time.Since(start)
		if err != nil {
			rec.Fail(transportKey(err), int64(n), err.Error())
			backoff(ctx)
			continue
		}
		p.account(rec, status, buf.Bytes(), n, d, len(body))
	}
}

// account records the outcome of one answered produce request.
func (p *producer) account(rec *Recorder, status int, resp []byte, n int, d time.Duration, bodyLen int) {
	ok := status == http.StatusOK || status == http.StatusAccepted
	if p.rawPath {
		ok = status >= 200 && status < 300
	}
	switch {
	case ok:
		rec.Request(d, int64(n), int64(n*p.payload.size), int64(bodyLen+len(resp)))
	case status == http.StatusMultiStatus:
		var r struct {
			Offsets []struct {
				Error *struct {
					Code    string `json:"code"`
					Message string `json:"message"`
				} `json:"error"`
			} `json:"offsets"`
		}
		if err := json.Unmarshal(resp, &r); err != nil {
			rec.Fail("207 malformed", int64(n), err.Error())
			return
		}
		failed := map[string]int64{}
		msgs := map[string]string{}
		for _, o := range r.Offsets {
			if o.Error != nil {
				failed[o.Error.Code]++
				msgs[o.Error.Code] = o.Error.Message
			}
		}
		written := int64(n)
		for code, k := range failed {
			rec.Fail("207 "+code, k, msgs[code])
			written -= k
		}
		rec.records.Add(written)
		rec.payloadBytes.Add(written * int64(p.payload.size))
	default:
		key, msg := failureKey(status, resp)
		rec.Fail(key, int64(n), msg)
	}
}

// backoff pauses a worker after a request that got no answer, so that a
// broker that is down is not hammered in a tight loop.
func backoff(ctx context.Context) {
	t := time.NewTimer(50 * time.Millisecond)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}
