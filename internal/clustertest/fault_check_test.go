package clustertest

import (
	"bytes"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/anishathalye/porcupine"

	"github.com/fjord-streaming/fjord/internal/brokertest"
)

// waitCaughtUp waits, once the producers stopped, until every ISR is whole,
// each partition's leader has HW == LEO, and every replica's own HW (a
// replica=local read) equals it; it returns each partition's HW.
func (f *faultRun) waitCaughtUp(t *testing.T) [faultPartitions]int64 {
	t.Helper()
	var hw [faultPartitions]int64
	d := f.waitWhole(t, "the end")
	brokertest.WaitFor(t, recoverTimeout, "every replica to hold the whole log", func() error {
		for _, pd := range d.Partitions {
			at, err := f.describeAt(pd.Leader)
			if err != nil {
				return err
			}
			lp := partOf(at, pd.Partition)
			if lp.Leader != pd.Leader || lp.HighWatermark != lp.LogEndOffset {
				return fmt.Errorf("partition %d at broker %d: leader %d, HW %d, LEO %d", pd.Partition, pd.Leader, lp.Leader, lp.HighWatermark, lp.LogEndOffset)
			}
			for _, id := range f.c.IDs() {
				path := fmt.Sprintf("/topics/%s/partitions/%d/records?offset=latest&replica=local", faultTopic, pd.Partition)
				r, err := try(f.c, id, http.MethodGet, path, "")
				if err != nil {
					return err
				}
				pg, err := decodePage(r.Body)
				if r.Status != http.StatusOK || err != nil {
					return fmt.Errorf("local read of %d at broker %d: %s", pd.Partition, id, r)
				}
				if pg.HW != lp.HighWatermark {
					return fmt.Errorf("partition %d: broker %d's HW %d, the leader's %d", pd.Partition, id, pg.HW, lp.HighWatermark)
				}
			}
			hw[pd.Partition] = lp.HighWatermark
		}
		return nil
	})
	return hw
}

// readAll reads partition p below hw at broker id: the leader's replica,
// or with local the broker's own.
func (f *faultRun) readAll(t *testing.T, id, p int, hw int64, local bool) []faultRecord {
	t.Helper()
	var recs []faultRecord
	next := int64(-1)
	for {
		q := "earliest"
		if next >= 0 {
			q = strconv.FormatInt(next, 10)
		}
		path := fmt.Sprintf("/topics/%s/partitions/%d/records?offset=%s&max_records=10000", faultTopic, p, q)
		if local {
			path += "&replica=local"
		}
		r := f.c.Call(t, id, http.MethodGet, path, "")
		if r.Status != http.StatusOK {
			t.Fatalf("GET %s at broker %d: %s", path, id, r)
		}
		pg, err := decodePage(r.Body)
		if err != nil {
			t.Fatal(err)
		}
		recs = append(recs, pg.records...)
		if pg.NextOffset >= hw || len(pg.records) == 0 {
			return recs
		}
		next = pg.NextOffset
	}
}

// checkPartition reads partition p whole from its leader and from every
// replica and checks the history against it.
func (f *faultRun) checkPartition(t *testing.T, p int, hw int64) {
	t.Helper()
	d, err := f.describeAt(1)
	if err != nil {
		t.Fatal(err)
	}
	leader := d.leaderOf(t, p)
	log := f.readAll(t, leader, p, hw, false)
	if int64(len(log)) != hw {
		t.Errorf("partition %d: the leader %d returned %d records below its HW %d", p, leader, len(log), hw)
	}
	// Offsets contiguous from the log start (0: nothing is retained away),
	// each value once.
	at := map[string]int64{}
	for i, rec := range log {
		if rec.Offset != int64(i) {
			t.Errorf("partition %d: record %d of the log has offset %d", p, i, rec.Offset)
		}
		if prev, dup := at[rec.value]; dup {
			t.Errorf("partition %d: value %s at offsets %d and %d", p, rec.value, prev, rec.Offset)
		}
		at[rec.value] = rec.Offset
	}
	// Every replica byte-identical to the leader up to the HW.
	for _, id := range f.c.IDs() {
		local := f.readAll(t, id, p, hw, true)
		if len(local) != len(log) {
			t.Errorf("partition %d: broker %d's replica holds %d records below the HW, the leader %d", p, id, len(local), len(log))
		}
		for i := range min(len(local), len(log)) {
			if !bytes.Equal(local[i].raw, log[i].raw) {
				t.Errorf("partition %d: broker %d's replica differs from the leader's at %d:\n  %s\n  %s", p, id, i, local[i].raw, log[i].raw)
				break
			}
		}
	}

	f.h.mu.Lock()
	defer f.h.mu.Unlock()
	end := f.h.now() + 1
	sent := map[string]bool{}
	var ops []porcupine.Operation
	for _, op := range f.h.appends {
		for _, v := range op.values {
			sent[v] = true
		}
		if op.partition != p {
			continue
		}
		offsets := make([]int64, len(op.values))
		present := 0
		for i, v := range op.values {
			o, ok := at[v]
			offsets[i] = o
			if ok {
				present++
			}
		}
		contiguous := present == len(op.values)
		for i := range offsets {
			contiguous = contiguous && offsets[i] == offsets[0]+int64(i)
		}
		switch {
		case op.outcome == acked:
			for i, v := range op.values {
				if o, ok := at[v]; !ok || o != op.base+int64(i) {
					t.Errorf("partition %d: acked %s (request to broker %d, answered by %d, zombie %v) at offset %d is %s in the final log",
						p, v, op.via, op.by, op.zombie, op.base+int64(i), where(ok, o))
				}
			}
			ops = append(ops, porcupine.Operation{ClientId: op.client, Input: appendInput{op.values}, Call: op.call, Output: op.base, Return: op.ret})
		case present == 0:
			// Not written (failed), or an unknown outcome that did not
			// commit: not part of the history.
		case op.outcome == failed:
			t.Errorf("partition %d: %v failed with %q (request to broker %d) but %d of its records are in the final log",
				p, op.values, op.answer, op.via, present)
		case !contiguous:
			t.Errorf("partition %d: request %v (%s, %q) is in the final log only partly or out of order: offsets %v (%d present)",
				p, op.values, op.outcome, op.answer, offsets, present)
		default: // unknown, in the log: it took effect some time after its call
			ops = append(ops, porcupine.Operation{ClientId: op.client, Input: appendInput{op.values}, Call: op.call, Output: offsets[0], Return: end})
		}
	}
	for _, rec := range log {
		if !sent[rec.value] {
			t.Errorf("partition %d: offset %d holds %s, which no producer sent", p, rec.Offset, rec.value)
		}
	}
	// Nothing the consumer saw was truncated later.
	for _, obs := range f.h.reads {
		if obs.partition != p {
			continue
		}
		for i, v := range obs.values {
			o := obs.offset + int64(i)
			if o >= int64(len(log)) || log[o].value != v {
				t.Errorf("partition %d: the consumer read %s at offset %d (via broker %d, from %d), the final log has %s",
					p, v, o, obs.via, obs.by, valueAt(log, o))
				break
			}
		}
		ops = append(ops, porcupine.Operation{ClientId: 5, Input: readInput{obs.offset}, Call: obs.call, Output: obs.values, Return: obs.ret})
	}
	if t.Failed() {
		return // the model check would only restate the errors above
	}
	began := time.Now()
	model := logModel(ops)
	res, info := porcupine.CheckOperationsVerbose(model, ops, checkTimeout)
	t.Logf("partition %d: %d records, porcupine on %d operations: %s in %v", p, len(log), len(ops), res, time.Since(began).Round(time.Millisecond))
	switch res {
	case porcupine.Illegal:
		dir, err := os.MkdirTemp("", "fjord-fault-")
		path := filepath.Join(dir, fmt.Sprintf("partition-%d.html", p))
		if err == nil {
			err = porcupine.VisualizePath(model, info, path)
		}
		t.Errorf("partition %d: the history is not a linearizable log (visualization: %s, %v)", p, path, err)
	case porcupine.Unknown:
		t.Logf("partition %d: porcupine gave up after %v; the history is not known to be illegal", p, checkTimeout)
	}
}

func where(ok bool, o int64) string {
	if !ok {
		return "missing"
	}
	return fmt.Sprintf("at offset %d", o)
}

func valueAt(log []faultRecord, o int64) string {
	if o < 0 || o >= int64(len(log)) {
		return "nothing there"
	}
	return log[o].value
}

// summary logs the counts of outcomes, the consumer's reads and the cycle
// and failover times, and fails on what the goroutines found odd.
func (f *faultRun) summary(t *testing.T) {
	f.h.mu.Lock()
	defer f.h.mu.Unlock()
	for _, a := range f.h.anomalies {
		t.Errorf("%s", a)
	}
	counts := map[string]int{}
	records := map[outcome]int{}
	for _, op := range f.h.appends {
		counts[fmt.Sprintf("%s %s", op.outcome, op.answer)]++
		records[op.outcome] += len(op.values)
	}
	seen := 0
	for _, obs := range f.h.reads {
		seen += len(obs.values)
	}
	t.Logf("produce requests: %d; records acked %d, unknown %d, failed %d; answers: %v",
		len(f.h.appends), records[acked], records[unknown], records[failed], summary(counts))
	t.Logf("consumer: %d read answers, %d records seen", len(f.h.reads), seen)
	if len(f.cycleTimes) > 0 {
		lo, p50, hi := durations(f.cycleTimes)
		t.Logf("kill cycles: %d, each min %v, p50 %v, max %v", len(f.cycleTimes), lo.Round(time.Millisecond), p50.Round(time.Millisecond), hi.Round(time.Millisecond))
	}
	if len(f.failovers) > 0 {
		lo, p50, hi := durations(f.failovers)
		t.Logf("partition failover (kill -9 of its leader -> first ack of a request sent after the kill): %d, min %v, p50 %v, max %v",
			len(f.failovers), lo.Round(time.Millisecond), p50.Round(time.Millisecond), hi.Round(time.Millisecond))
	}
}
