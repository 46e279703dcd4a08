package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"path/filepath"
	"testing"
	"time"

	"github.com/fjord-streaming/fjord/internal/brokertest"
)

// runCluster runs a subcommand that starts its own brokers (of the binary
// brokertest builds) with --json --quiet and decodes its summary into out.
func runCluster(t *testing.T, out any, args ...string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	dir := filepath.Join(t.TempDir(), "cluster")
	args = append(args, "--bin", brokertest.Binary(t), "--dir", dir, "--json", "--quiet")
	var stdout, stderr bytes.Buffer
	if err := Main(ctx, args, &stdout, &stderr); err != nil {
		t.Fatalf("bench %v: %v\n%s", args, err, stderr.String())
	}
	if err := json.Unmarshal(stdout.Bytes(), out); err != nil {
		t.Fatalf("bench %v: summary: %v\n%s", args, err, stdout.String())
	}
}

// TestFailover kills one partition leader of a three-broker cluster and
// checks that the run names a surviving new leader and a plausible time.
func TestFailover(t *testing.T) {
	var s FailoverSummary
	runCluster(t, &s, "failover", "--runs", "1")
	if len(s.Runs) != 1 {
		t.Fatalf("runs = %d, want 1: %+v", len(s.Runs), s)
	}
	r := s.Runs[0]
	if r.Killed < 1 || r.Killed > 3 || r.NewLeader < 1 || r.NewLeader > 3 || r.NewLeader == r.Killed || r.Via == r.Killed {
		t.Errorf("killed %d, via %d, new leader %d: want three distinct-enough brokers of 1..3", r.Killed, r.Via, r.NewLeader)
	}
	// Failure detection alone takes seconds; an instant "failover" would
	// mean the kill was not measured.
	if r.Seconds < 0.5 || r.Seconds > 60 || s.P50Seconds != r.Seconds {
		t.Errorf("failover took %.2f s (p50 %.2f): want seconds, as detection takes", r.Seconds, s.P50Seconds)
	}
}

// TestReplication runs one short RF=1/RF=3 round and a small catch-up.
func TestReplication(t *testing.T) {
	var s ReplicationSummary
	runCluster(t, &s, "replication", "--rounds", "1", "--duration", "1s", "--warmup", "300ms", "--backlog", "20000")
	if len(s.Rounds) != 1 || s.Rounds[0].RF1RecordsPerSec <= 0 || s.Rounds[0].RFNRecordsPerSec <= 0 || s.Rounds[0].Ratio <= 0 {
		t.Errorf("rounds = %+v, want one with both rates", s.Rounds)
	}
	if s.BacklogRecords != 20000 || s.CatchUpSeconds <= 0 || s.Follower < 1 || s.Follower > 3 {
		t.Errorf("catch-up: follower %d, backlog %d, %.2f s: want 20000 records caught up", s.Follower, s.BacklogRecords, s.CatchUpSeconds)
	}
}
