package membership

import (
	"slices"
	"testing"
	"time"
)

func TestSuspicionRounds(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		rounds  []map[string]bool
		suspect []string
	}{
		{name: "no rounds"},
		{
			name:   "one miss is not suspicion",
			rounds: []map[string]bool{{"fjord-2": false, "fjord-3": true}},
		},
		{
			name:    "two misses in a row",
			rounds:  []map[string]bool{{"fjord-2": false}, {"fjord-2": false, "fjord-3": true}},
			suspect: []string{"fjord-2"},
		},
		{
			name:   "an answer clears the count",
			rounds: []map[string]bool{{"fjord-2": false}, {"fjord-2": true}, {"fjord-2": false}},
		},
		{
			name:   "a member gone from the round is forgotten",
			rounds: []map[string]bool{{"fjord-2": false}, {"fjord-2": false}, {}, {"fjord-2": false}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var sp suspicion
			for _, r := range tt.rounds {
				sp.record(r)
			}
			for _, name := range []string{"fjord-2", "fjord-3"} {
				if got, want := sp.suspect(name), slices.Contains(tt.suspect, name); got != want {
					t.Errorf("suspect(%s) = %v, want %v", name, got, want)
				}
			}
		})
	}
}

// TestSuspectBeforeFailed stops broker 3 without a leave and watches broker
// 1's view: alive, then suspect once its probes go unanswered, then failed
// when memberlist's own suspicion times out.
func TestSuspectBeforeFailed(t *testing.T) {
	t.Parallel()
	brokers := startThree(t, [3][]int{nil, {1}, {1}})
	waitFor(t, "all alive", allOf(brokers[:], func(s *Serf) bool {
		return statusOf(s, 1) == StatusAlive && statusOf(s, 2) == StatusAlive && statusOf(s, 3) == StatusAlive
	}), describeViews(brokers[:]...))
	_ = brokers[2].Close()

	var seen []string
	deadline := time.Now().Add(convergeTimeout)
	for time.Now().Before(deadline) {
		st := statusOf(brokers[0], 3)
		if len(seen) == 0 || seen[len(seen)-1] != st {
			seen = append(seen, st)
		}
		if st == StatusFailed {
			break
		}
		time.Sleep(10 * time.Millisecond) // polling a view; nothing to wait on
	}
	if want := []string{StatusAlive, StatusSuspect, StatusFailed}; !slices.Equal(seen, want) {
		t.Errorf("broker 1 saw broker 3 go %v, want %v", seen, want)
	}
	if b, ok := brokers[0].Broker(2); !ok || !b.Live() {
		t.Errorf("broker 2 = %+v, want live", b)
	}
}
