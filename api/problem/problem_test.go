package problem

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"testing"

	"github.com/fjord-streaming/fjord/engine"
)

// TestAppendedMember checks the "appended" extension member: present for
// the failures that came after the leader appended the records, absent for
// the same codes refused before anything was written and for every other
// error, and never a change of status or code.
func TestAppendedMember(t *testing.T) {
	tooFew := fmt.Errorf("%w: t/0 has 1 in-sync replica(s), min.insync.replicas is 2", engine.ErrNotEnoughReplicas)
	tests := []struct {
		name     string
		err      error
		status   int
		code     string
		detail   string
		appended bool
	}{
		{"not enough replicas before the append", tooFew,
			http.StatusServiceUnavailable, NotEnoughReplicas, "t/0 has 1 in-sync replica(s), min.insync.replicas is 2", false},
		{"not enough replicas after the append", engine.MarkAppended(fmt.Errorf("%w, after the append", tooFew)),
			http.StatusServiceUnavailable, NotEnoughReplicas, "t/0 has 1 in-sync replica(s), min.insync.replicas is 2, after the append", true},
		{"acks=all wait timed out", engine.MarkAppended(fmt.Errorf("%w: t/0: not acknowledged in time", engine.ErrTimeout)),
			http.StatusGatewayTimeout, RequestTimeout, "t/0: not acknowledged in time", true},
		{"leadership moved after the append", engine.MarkAppended(fmt.Errorf("%w: t/0: leadership moved", engine.ErrNotLeader)),
			http.StatusServiceUnavailable, LeaderNotAvailable, "t/0: leadership moved", true},
		{"broker stopped after the append", engine.MarkAppended(fmt.Errorf("%w: t/0: the broker stopped", engine.ErrClosed)),
			http.StatusServiceUnavailable, LeaderNotAvailable, "t/0: the broker stopped", true},
		{"marked, then wrapped by a caller", fmt.Errorf("append t/0 at broker 2: %w", engine.MarkAppended(fmt.Errorf("%w: t/0", engine.ErrTimeout))),
			http.StatusGatewayTimeout, RequestTimeout, "append t/0 at broker 2: engine: request timed out: t/0", true},
		{"timeout of a call to another broker", fmt.Errorf("%w: call to broker 2: context deadline exceeded", engine.ErrTimeout),
			http.StatusGatewayTimeout, RequestTimeout, "call to broker 2: context deadline exceeded", false},
		{"leader not available", fmt.Errorf("%w: t/0 has no leader", engine.ErrLeaderNotAvailable),
			http.StatusServiceUnavailable, LeaderNotAvailable, "t/0 has no leader", false},
		{"topic not found", fmt.Errorf("%w: topic %q does not exist", engine.ErrTopicNotFound, "t"),
			http.StatusNotFound, TopicNotFound, `topic "t" does not exist`, false},
		{"an error with its code", New(http.StatusBadRequest, InvalidRequest, "bad"),
			http.StatusBadRequest, InvalidRequest, "bad", false},
		{"internal error", errors.New("disk on fire"),
			http.StatusInternalServerError, Internal, "internal error", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := From(tt.err)
			if d.Status != tt.status || d.Code != tt.code || d.Detail != tt.detail || d.Appended != tt.appended {
				t.Fatalf("From = %d %s %q appended=%v, want %d %s %q appended=%v",
					d.Status, d.Code, d.Detail, d.Appended, tt.status, tt.code, tt.detail, tt.appended)
			}
			if Appended(tt.err) != tt.appended {
				t.Fatalf("Appended = %v, want %v", !tt.appended, tt.appended)
			}
			b, err := json.Marshal(d)
			if err != nil {
				t.Fatal(err)
			}
			var members map[string]any
			if err := json.Unmarshal(b, &members); err != nil {
				t.Fatal(err)
			}
			v, present := members["appended"]
			if present != tt.appended || (present && v != true) {
				t.Fatalf("problem+json %s: appended member present=%v, want %v", b, present, tt.appended)
			}
		})
	}
}

// TestMarkKeepsTheCode checks every row of the error table: an error marked
// appended classifies exactly as the same error unmarked, whatever the
// table's first-match order.
func TestMarkKeepsTheCode(t *testing.T) {
	for _, m := range table {
		t.Run(m.Code+"/"+m.Err.Error(), func(t *testing.T) {
			err := fmt.Errorf("%w: t/0", m.Err)
			status, code := Classify(err)
			mstatus, mcode := Classify(engine.MarkAppended(err))
			if mstatus != status || mcode != code {
				t.Fatalf("marked classifies as %d %s, unmarked as %d %s", mstatus, mcode, status, code)
			}
			if got, want := Message(engine.MarkAppended(err)), Message(err); got != want {
				t.Fatalf("marked message %q, unmarked %q", got, want)
			}
		})
	}
	if engine.MarkAppended(nil) != nil {
		t.Fatal("MarkAppended(nil) is not nil")
	}
}
