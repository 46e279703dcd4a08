package engine_test

import (
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/fjord-streaming/fjord/engine"
)

// TestReadsFromKeptBatchesMatchStorage reads every offset with several
// limits twice: right after producing, when the newest batches are served
// from memory, and after a reopen, when every read goes to Pebble. The
// answers must be the same.
func TestReadsFromKeptBatchesMatchStorage(t *testing.T) {
	v := newEnv(t)
	v.create("t", 1, map[string]int64{"max.message.bytes": 4 << 20})
	// Small batches (kept), then one larger than a partition may keep
	// (which empties the run), then small ones again.
	for i := range 40 {
		recs := make([]engine.ProduceRecord, i%5+1)
		for j := range recs {
			recs[j] = at(0, fmt.Sprintf(`{"batch":%d,"i":%d}`, i, j))
		}
		v.produce("t", engine.AcksLeader, recs...)
		if i == 20 {
			v.produce("t", engine.AcksLeader, at(0, `"`+strings.Repeat("x", 1100<<10)+`"`))
		}
	}
	type read struct{ from, maxRecords, maxBytes int }
	var reads []read
	leo := v.offsets("t", 0).LogEnd
	for from := range int(leo) {
		for _, lim := range [][2]int{{1, 1 << 20}, {3, 1 << 20}, {1000, 1 << 20}, {1000, 40}} {
			reads = append(reads, read{from, lim[0], lim[1]})
		}
	}
	readAllOf := func() []engine.ReadResult {
		p, err := v.e.Partition("t", 0)
		if err != nil {
			t.Fatal(err)
		}
		out := make([]engine.ReadResult, len(reads))
		for i, r := range reads {
			if out[i], err = p.Read(int64(r.from), r.maxRecords, r.maxBytes); err != nil {
				t.Fatalf("read %+v: %v", r, err)
			}
		}
		return out
	}
	warm := readAllOf()
	v.reopen()
	cold := readAllOf()
	for i := range reads {
		if !reflect.DeepEqual(warm[i], cold[i]) {
			t.Fatalf("read %+v:\nfrom memory %+v\nfrom storage %+v", reads[i], warm[i], cold[i])
		}
	}
}
