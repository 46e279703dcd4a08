package bench

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fjord-streaming/fjord/internal/brokertest"
)

// runMain runs one bench subcommand in-process with --json --quiet and
// returns its summary.
func runMain(t *testing.T, args ...string) (Summary, error) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	err := Main(ctx, append(args, "--json", "--quiet"), &stdout, &stderr)
	var s Summary
	if jerr := json.Unmarshal(stdout.Bytes(), &s); jerr != nil {
		t.Fatalf("bench %s: no JSON summary (%v, run error %v)\nstdout: %s\nstderr: %s", strings.Join(args, " "), jerr, err, stdout.String(), stderr.String())
	}
	return s, err
}

// startEcho runs `fjord bench echo-server` in-process on an ephemeral port
// and returns its URL; it stops when the test ends.
func startEcho(t *testing.T) string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	var wg sync.WaitGroup
	wg.Go(func() {
		err := Main(ctx, []string{"echo-server", "--addr", "127.0.0.1:0"}, io.Discard, pw)
		pw.CloseWithError(errors.Join(err, io.EOF))
	})
	t.Cleanup(func() { cancel(); wg.Wait() })
	line, err := bufio.NewReader(pr).ReadString('\n')
	if err != nil {
		t.Fatalf("echo server: %v", err)
	}
	go func() { _, _ = io.Copy(io.Discard, pr) }()
	return strings.TrimSpace(strings.TrimPrefix(line, "echo server listening on "))
}

// TestSubcommands runs every subcommand briefly against a real broker and
// checks that the summary counts exactly what was sent, with no errors.
func TestSubcommands(t *testing.T) {
	b := brokertest.Start(t)
	echoURL := startEcho(t)
	pid := strconv.Itoa(b.PID())
	tests := []struct {
		name string
		args []string
		want func(t *testing.T, s Summary)
	}{
		{"produce json", []string{"produce", "--url", b.URL, "--topic", "two", "--partitions", "2", "--records", "2500", "--batch", "100", "--concurrency", "3", "--broker-pid", pid},
			func(t *testing.T, s Summary) {
				expect(t, "records", s.Records, 2500)
				expect(t, "requests", s.Requests, 25)
				expect(t, "payload bytes", s.PayloadBytes, 2500*100)
				expect(t, "partitions", int64(s.Partitions), 2)
				if s.Latency == nil || s.Latency.Count != 25 || s.Latency.P50 <= 0 {
					t.Errorf("latency = %+v, want 25 samples", s.Latency)
				}
				if s.RSS == nil || s.RSS.MaxBytes <= 0 || s.RSS.Samples < 1 {
					t.Errorf("broker_rss = %+v, want samples", s.RSS)
				}
			}},
		{"produce base64 random keys acks=all", []string{"produce", "--url", b.URL, "--topic", "two", "--records", "300", "--batch", "7", "--format", "base64", "--keys", "random", "--acks", "all", "--record-size", "33"},
			func(t *testing.T, s Summary) {
				expect(t, "records", s.Records, 300)
				expect(t, "requests", s.Requests, 43) // 42 of 7 and one of 6
			}},
		{"produce several topics", []string{"produce", "--url", b.URL, "--topic", "many", "--topics", "3", "--partitions", "4", "--records", "600", "--batch", "50", "--record-size", "5"},
			func(t *testing.T, s Summary) {
				expect(t, "records", s.Records, 600)
				expect(t, "partitions", int64(s.Partitions), 12)
			}},
		{"consume longpoll", []string{"consume", "--url", b.URL, "--topic", "two", "--max-records", "300", "--verify"},
			func(t *testing.T, s Summary) { expect(t, "records", s.Records, 2800) }},
		{"consume longpoll striped", []string{"consume", "--url", b.URL, "--topic", "two", "--max-records", "100", "--concurrency", "3"},
			func(t *testing.T, s Summary) { expect(t, "records", s.Records, 2800) }},
		{"consume random offsets", []string{"consume", "--url", b.URL, "--topic", "two", "--random-offsets", "--records", "500", "--max-records", "100"},
			func(t *testing.T, s Summary) {
				if s.Records < 500 || s.Mode != "random" {
					t.Errorf("records = %d mode %q, want >= 500, random", s.Records, s.Mode)
				}
			}},
		{"consume ws fan-out", []string{"consume", "--url", b.URL, "--topic", "two", "--mode", "ws", "--subscribers", "3", "--credits", "500", "--stalled", "1"},
			func(t *testing.T, s Summary) { expect(t, "records", s.Records, 3*2800) }},
		{"e2e", []string{"e2e", "--url", b.URL, "--rate", "200", "--duration", "1s", "--concurrency", "2"},
			func(t *testing.T, s Summary) {
				if s.RecordsSent < 100 {
					t.Errorf("records sent = %d, want about 200", s.RecordsSent)
				}
				expect(t, "records received", s.Records, s.RecordsSent)
				if s.E2ELatency == nil || s.E2ELatency.Count != s.RecordsSent || s.E2EScheduleLatency == nil {
					t.Errorf("e2e latency = %+v, want one sample per record", s.E2ELatency)
				}
			}},
		{"echo baseline", []string{"produce", "--url", echoURL, "--raw-path", "/", "--batch", "1", "--concurrency", "4", "--records", "200"},
			func(t *testing.T, s Summary) {
				expect(t, "records", s.Records, 200)
				expect(t, "requests", s.Requests, 200)
			}},
		{"pebble baseline", []string{"pebble", "--records", "3000", "--batch", "1000", "--concurrency", "2", "--dir", t.TempDir()},
			func(t *testing.T, s Summary) { expect(t, "records", s.Records, 3000) }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, err := runMain(t, tc.args...)
			if err != nil {
				t.Fatalf("bench %s: %v", strings.Join(tc.args, " "), err)
			}
			expect(t, "error_count", s.ErrorCount, 0)
			expect(t, "records_failed", s.RecordsFailed, 0)
			tc.want(t, s)
		})
	}
}

// TestFailuresCounted runs the real binary against a broker that does not
// create topics on produce: every request fails, each is counted under its
// status and code, and the command exits non-zero unless --allow-errors.
func TestFailuresCounted(t *testing.T) {
	b := brokertest.Start(t, brokertest.WithArgs("--auto-create-topics=false"))
	bin := brokertest.Binary(t)
	tests := []struct {
		name     string
		extra    []string
		exitZero bool
	}{
		{"fails", nil, false},
		{"allowed", []string{"--allow-errors"}, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			args := append([]string{"bench", "produce", "--url", b.URL, "--topic", "missing", "--records", "50", "--batch", "10", "--json"}, tc.extra...)
			cmd := exec.Command(bin, args...)
			var stdout, stderr bytes.Buffer
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			err := cmd.Run()
			var exit *exec.ExitError
			switch {
			case tc.exitZero && err != nil:
				t.Fatalf("exit: %v, want 0\n%s", err, stderr.String())
			case !tc.exitZero && !errors.As(err, &exit):
				t.Fatalf("exit: %v, want a non-zero status\n%s", err, stderr.String())
			}
			var s Summary
			if err := json.Unmarshal(stdout.Bytes(), &s); err != nil {
				t.Fatalf("summary: %v\n%s", err, stdout.String())
			}
			expect(t, "records", s.Records, 0)
			expect(t, "records_failed", s.RecordsFailed, 50)
			expect(t, "error_count", s.ErrorCount, 5)
			expect(t, `errors["404 topic_not_found"]`, s.Errors["404 topic_not_found"], 5)
			if !tc.exitZero && !strings.Contains(stderr.String(), "404 topic_not_found: 5") {
				t.Errorf("stderr does not name the failures:\n%s", stderr.String())
			}
		})
	}
}

func expect(t *testing.T, what string, got, want int64) {
	t.Helper()
	if got != want {
		t.Errorf("%s = %d, want %d", what, got, want)
	}
}
