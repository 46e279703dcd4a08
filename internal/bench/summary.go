package bench

import (
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"
)

// Summary is the result of one run; --json prints it as one object.
// Throughput in MB/s counts 10^6 bytes.
type Summary struct {
	// Command is produce, consume, e2e or pebble; Mode refines it
	// (longpoll, ws, random).
	Command string `json:"command"`
	Mode    string `json:"mode,omitempty"`
	URL     string `json:"url,omitempty"`
	// Params are the command's flags as used.
	Params any `json:"params"`
	// Topics and Partitions are what the run used (partitions summed over
	// topics).
	Topics     []string  `json:"topics,omitempty"`
	Partitions int       `json:"partitions,omitempty"`
	StartedAt  time.Time `json:"started_at"`

	ElapsedSeconds float64 `json:"elapsed_seconds"`
	// Requests counts successful requests (WebSocket: record frames).
	Requests int64 `json:"requests"`
	// Records counts records acknowledged (produce), read (consume), or
	// received over WebSocket (e2e).
	Records int64 `json:"records"`
	// RecordsSent counts records the e2e producer had acknowledged.
	RecordsSent       int64   `json:"records_sent,omitempty"`
	RecordsSentPerSec float64 `json:"records_sent_per_sec,omitempty"`
	// RecordsFailed counts records of failed requests.
	RecordsFailed int64 `json:"records_failed"`
	// PayloadBytes counts value bytes for produce, body bytes read for
	// consume.
	PayloadBytes    int64   `json:"payload_bytes"`
	WireBytes       int64   `json:"wire_bytes"`
	RecordsPerSec   float64 `json:"records_per_sec"`
	RequestsPerSec  float64 `json:"requests_per_sec"`
	PayloadMBPerSec float64 `json:"payload_mb_per_sec"`
	WireMBPerSec    float64 `json:"wire_mb_per_sec"`
	// Latency is per request (produce and long-poll reads; pebble: per
	// commit), in milliseconds.
	Latency *Percentiles `json:"latency_ms,omitempty"`
	// E2ELatency is from the produce request's send to WebSocket receipt,
	// per record. E2EScheduleLatency counts from the time the record was due
	// to be sent, so it also holds the time a late producer spent catching
	// up (free of coordinated omission).
	E2ELatency         *Percentiles `json:"e2e_latency_ms,omitempty"`
	E2EScheduleLatency *Percentiles `json:"e2e_from_schedule_latency_ms,omitempty"`

	// Errors counts failures by "<status> <code>", "transport: <kind>",
	// "ws <code>" or "e2e missing"; ErrorCount is their sum.
	Errors       map[string]int64  `json:"errors"`
	ErrorCount   int64             `json:"error_count"`
	ErrorSamples map[string]string `json:"error_samples,omitempty"`

	// ClientCPUSeconds is the CPU time this tool used during the run, and
	// BrokerCPUSeconds the broker's (with --broker-pid): with both on one
	// machine, they show whether the tool took the cores it measures on.
	ClientCPUSeconds float64 `json:"client_cpu_seconds"`
	BrokerCPUSeconds float64 `json:"broker_cpu_seconds,omitempty"`

	// RSS is the broker's resident set size sampled with --broker-pid.
	RSS *RSSSummary `json:"broker_rss,omitempty"`
}

// writeJSON prints v as one indented JSON object, the --json summary of
// every subcommand.
func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// write prints s as JSON or as a human summary.
func (s *Summary) write(w io.Writer, asJSON bool) error {
	if asJSON {
		return writeJSON(w, s)
	}
	var b strings.Builder
	name := s.Command
	if s.Mode != "" {
		name += " " + s.Mode
	}
	fmt.Fprintf(&b, "%s: %s records in %.2fs = %s records/s, %.1f MB/s payload, %.1f MB/s wire, %s requests/s\n",
		name, group(s.Records), s.ElapsedSeconds, group(int64(s.RecordsPerSec)), s.PayloadMBPerSec, s.WireMBPerSec, group(int64(s.RequestsPerSec)))
	if len(s.Topics) > 0 {
		fmt.Fprintf(&b, "  topics %s (%d partitions)\n", strings.Join(s.Topics, ","), s.Partitions)
	}
	if s.RecordsSent > 0 {
		fmt.Fprintf(&b, "  records sent %s (%s/s), received %s\n", group(s.RecordsSent), group(int64(s.RecordsSentPerSec)), group(s.Records))
	}
	if s.Latency != nil {
		fmt.Fprintf(&b, "  request latency ms: %s\n", s.Latency)
	}
	if s.E2ELatency != nil {
		fmt.Fprintf(&b, "  end-to-end latency ms: %s\n", s.E2ELatency)
		fmt.Fprintf(&b, "  from schedule      ms: %s\n", s.E2EScheduleLatency)
	}
	fmt.Fprintf(&b, "  cpu: client %.2fs", s.ClientCPUSeconds)
	if s.RSS != nil {
		fmt.Fprintf(&b, ", broker %.2fs", s.BrokerCPUSeconds)
	}
	fmt.Fprintf(&b, " (%.2fs elapsed)\n", s.ElapsedSeconds)
	if s.RSS != nil {
		fmt.Fprintf(&b, "  broker RSS: max %.1f MB, last %.1f MB (%d samples; VmHWM %.1f MB)\n",
			float64(s.RSS.MaxBytes)/1e6, float64(s.RSS.LastBytes)/1e6, s.RSS.Samples, float64(s.RSS.HWMBytes)/1e6)
	}
	fmt.Fprintf(&b, "  errors: %d", s.ErrorCount)
	if s.ErrorCount > 0 {
		keys := make([]string, 0, len(s.Errors))
		for k := range s.Errors {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			fmt.Fprintf(&b, "\n    %-40s %d", k, s.Errors[k])
			if m := s.ErrorSamples[k]; m != "" {
				fmt.Fprintf(&b, "  (e.g. %s)", truncate(m, 120))
			}
		}
		fmt.Fprintf(&b, "\n  records in failed requests: %d", s.RecordsFailed)
	}
	b.WriteByte('\n')
	_, err := io.WriteString(w, b.String())
	return err
}

// String formats p on one line.
func (p *Percentiles) String() string {
	return fmt.Sprintf("p50 %.3f  p90 %.3f  p99 %.3f  p99.9 %.3f  max %.3f  (mean %.3f, n=%d)",
		p.P50, p.P90, p.P99, p.P999, p.Max, p.Mean, p.Count)
}

// group writes n with thousands separators.
func group(n int64) string {
	s := fmt.Sprint(n)
	neg := strings.HasPrefix(s, "-")
	if neg {
		s = s[1:]
	}
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

func truncate(s string, n int) string {
	s = strings.TrimSpace(s)
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
