package ws

import (
	"encoding/json"
	"fmt"
	"testing"

	"github.com/fjord-streaming/fjord/engine"
)

// TestFramesAppendedMember checks that error and ack frames say
// "appended":true exactly where REST does: for a produce that failed after
// the leader stored the records, not for one refused before.
func TestFramesAppendedMember(t *testing.T) {
	refused := fmt.Errorf("%w: t/0 has 1 in-sync replica(s), min.insync.replicas is 2", engine.ErrNotEnoughReplicas)
	afterAppend := engine.MarkAppended(fmt.Errorf("%w: t/0: not acknowledged in time", engine.ErrTimeout))
	tests := []struct {
		name     string
		err      error
		code     string
		appended bool
	}{
		{"refused before the append", refused, "not_enough_replicas", false},
		{"timed out after the append", afterAppend, "request_timeout", true},
	}
	type entry struct {
		Code     string `json:"code"`
		Appended *bool  `json:"appended"`
	}
	check := func(t *testing.T, what string, e entry, code string, appended bool) {
		t.Helper()
		if e.Code != code || (e.Appended != nil) != appended || (e.Appended != nil && !*e.Appended) {
			t.Fatalf("%s: code %s appended %v, want %s appended=%v", what, e.Code, e.Appended, code, appended)
		}
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var ef entry
			if err := json.Unmarshal(*errorFrame("p1", tt.err), &ef); err != nil {
				t.Fatal(err)
			}
			check(t, "error frame", ef, tt.code, tt.appended)
			var ack struct {
				Offsets []struct {
					Error *entry `json:"error"`
				} `json:"offsets"`
			}
			results := []engine.ProduceResult{{Partition: 0, Offset: 4}, {Partition: 1, Offset: -1, Err: tt.err}}
			if err := json.Unmarshal(*ackFrame("p1", engine.AcksAll, results), &ack); err != nil {
				t.Fatal(err)
			}
			if len(ack.Offsets) != 2 || ack.Offsets[0].Error != nil || ack.Offsets[1].Error == nil {
				t.Fatalf("ack frame offsets %+v", ack.Offsets)
			}
			check(t, "ack frame entry", *ack.Offsets[1].Error, tt.code, tt.appended)
		})
	}
}
