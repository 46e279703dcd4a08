package bench

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
)

// Histograms hold microseconds from 1 µs to 60 s with 3 significant digits;
// longer values are clamped to 60 s.
const (
	histMinMicros = 1
	histMaxMicros = 60_000_000
	histDigits    = 3
)

func newHistogram() *hdrhistogram.Histogram {
	return hdrhistogram.New(histMinMicros, histMaxMicros, histDigits)
}

func recordMicros(h *hdrhistogram.Histogram, d time.Duration) {
	us := d.Microseconds()
	if us < histMinMicros {
		us = histMinMicros
	}
	if us > histMaxMicros {
		us = histMaxMicros
	}
	_ = h.RecordValue(us) // cannot fail: us is within the range
}

// Recorder collects the figures of one run. Workers call its methods
// concurrently; the progress reporter reads interval snapshots.
type Recorder struct {
	start time.Time

	requests     atomic.Int64 // successful requests (or frames, for WebSocket reads)
	records      atomic.Int64 // records acknowledged, read or delivered
	sent         atomic.Int64 // e2e: records acknowledged by the producer
	failedRecs   atomic.Int64 // records of failed requests
	payloadBytes atomic.Int64 // value bytes (produce) or wire bytes (consume)
	wireBytes    atomic.Int64 // request plus response bodies on the wire

	mu         sync.Mutex // guards the fields below
	latency    *hdrhistogram.Histogram
	latencyInt *hdrhistogram.Histogram // since the last progress line
	e2e        *hdrhistogram.Histogram
	e2eInt     *hdrhistogram.Histogram
	e2eSched   *hdrhistogram.Histogram // e2e from the scheduled send time
	errors     map[string]int64
	samples    map[string]string // one example message per error key
}

func newRecorder() *Recorder {
	return &Recorder{
		start:      time.Now(),
		latency:    newHistogram(),
		latencyInt: newHistogram(),
		e2e:        newHistogram(),
		e2eInt:     newHistogram(),
		e2eSched:   newHistogram(),
		errors:     map[string]int64{},
		samples:    map[string]string{},
	}
}

// Request records one successful request of d carrying records records,
// payload bytes of values and wire bytes of bodies.
func (r *Recorder) Request(d time.Duration, records, payload, wire int64) {
	r.requests.Add(1)
	r.records.Add(records)
	r.payloadBytes.Add(payload)
	r.wireBytes.Add(wire)
	if d > 0 {
		r.mu.Lock()
		recordMicros(r.latency, d)
		recordMicros(r.latencyInt, d)
		r.mu.Unlock()
	}
}

// Delivered counts records received without a request of their own
// (WebSocket frames): one frame of records records and wire bytes.
func (r *Recorder) Delivered(records, wire int64) {
	r.requests.Add(1)
	r.records.Add(records)
	r.payloadBytes.Add(wire)
	r.wireBytes.Add(wire)
}

// E2E records the end-to-end latency of one record: d from its send, and
// fromSchedule from the time it was due to be sent.
func (r *Recorder) E2E(d, fromSchedule time.Duration) {
	r.mu.Lock()
	recordMicros(r.e2e, d)
	recordMicros(r.e2eInt, d)
	recordMicros(r.e2eSched, fromSchedule)
	r.mu.Unlock()
}

// Fail counts one failure under key (e.g. "404 topic_not_found" or
// "transport: connection refused") that lost records records; msg is kept
// as an example for the key's first occurrence.
func (r *Recorder) Fail(key string, records int64, msg string) {
	r.failedRecs.Add(records)
	r.mu.Lock()
	r.errors[key]++
	if _, ok := r.samples[key]; !ok && msg != "" {
		r.samples[key] = msg
	}
	r.mu.Unlock()
}

// tick is the figures of one progress interval.
type tick struct {
	elapsed           time.Duration
	records, requests int64
	payload           int64
	errors            int64
	lat, e2e          Percentiles
}

// interval returns the cumulative counters and the percentiles since the
// previous call, and resets the interval histograms.
func (r *Recorder) interval() tick {
	t := tick{
		elapsed:  time.Since(r.start),
		records:  r.records.Load(),
		requests: r.requests.Load(),
		payload:  r.payloadBytes.Load(),
	}
	r.mu.Lock()
	t.lat = percentiles(r.latencyInt)
	t.e2e = percentiles(r.e2eInt)
	r.latencyInt.Reset()
	r.e2eInt.Reset()
	for _, n := range r.errors {
		t.errors += n
	}
	r.mu.Unlock()
	return t
}

// Percentiles summarises a latency histogram in milliseconds.
type Percentiles struct {
	Count int64   `json:"count"`
	Min   float64 `json:"min"`
	Mean  float64 `json:"mean"`
	P50   float64 `json:"p50"`
	P90   float64 `json:"p90"`
	P99   float64 `json:"p99"`
	P999  float64 `json:"p99_9"`
	Max   float64 `json:"max"`
}

func percentiles(h *hdrhistogram.Histogram) Percentiles {
	n := h.TotalCount()
	if n == 0 {
		return Percentiles{}
	}
	ms := func(us int64) float64 { return float64(us) / 1000 }
	return Percentiles{
		Count: n,
		Min:   ms(h.Min()),
		Mean:  h.Mean() / 1000,
		P50:   ms(h.ValueAtQuantile(50)),
		P90:   ms(h.ValueAtQuantile(90)),
		P99:   ms(h.ValueAtQuantile(99)),
		P999:  ms(h.ValueAtQuantile(99.9)),
		Max:   ms(h.Max()),
	}
}

// fill writes the recorder's totals into s, with elapsed as the run's
// measured duration.
func (r *Recorder) fill(s *Summary, elapsed time.Duration) {
	s.ElapsedSeconds = elapsed.Seconds()
	s.Requests = r.requests.Load()
	s.Records = r.records.Load()
	s.RecordsSent = r.sent.Load()
	s.RecordsFailed = r.failedRecs.Load()
	s.PayloadBytes = r.payloadBytes.Load()
	s.WireBytes = r.wireBytes.Load()
	if sec := elapsed.Seconds(); sec > 0 {
		s.RecordsPerSec = float64(s.Records) / sec
		s.RequestsPerSec = float64(s.Requests) / sec
		s.PayloadMBPerSec = float64(s.PayloadBytes) / 1e6 / sec
		s.WireMBPerSec = float64(s.WireBytes) / 1e6 / sec
		s.RecordsSentPerSec = float64(s.RecordsSent) / sec
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.latency.TotalCount() > 0 {
		p := percentiles(r.latency)
		s.Latency = &p
	}
	if r.e2e.TotalCount() > 0 {
		p := percentiles(r.e2e)
		s.E2ELatency = &p
		q := percentiles(r.e2eSched)
		s.E2EScheduleLatency = &q
	}
	s.Errors = make(map[string]int64, len(r.errors))
	s.ErrorSamples = make(map[string]string, len(r.samples))
	for k, n := range r.errors {
		s.Errors[k] = n
		s.ErrorCount += n
	}
	for k, m := range r.samples {
		s.ErrorSamples[k] = m
	}
}
