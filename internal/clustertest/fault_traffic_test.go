package clustertest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/fjord-streaming/fjord/internal/brokertest"
)

// zombieTarget is the paused leader a zombie sender sends to, and its
// partition.
type zombieTarget struct{ broker, partition int }

// produce sends produce requests until ctx ends, one per producerPeriod at
// most, each with 1-3 records of unique values to one partition. Request
// seq goes to partition (client+seq) mod the partition count through the
// next usable broker; a zombie sender's (zombie not nil) go to its broker
// and partition, waiting up to zombieRequestTimeout. A request in flight
// when ctx ends still runs to its answer.
func (f *faultRun) produce(ctx context.Context, client int, zombie *zombieTarget) {
	tick := time.NewTicker(producerPeriod)
	defer tick.Stop()
	via := client%len(f.net.ids) + 1
	for seq := 0; ; seq++ {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		if zombie != nil {
			f.send(client, zombie.partition, seq, zombie.broker, true, zombieRequestTimeout)
			continue
		}
		via = f.net.pick(via)
		f.send(client, (client+seq)%faultPartitions, seq, via, false, faultRequestTimeout)
	}
}

// send sends one produce request and records it: in the history before it
// is sent, its answer once it is in.
func (f *faultRun) send(client, p, seq, via int, zombie bool, timeout time.Duration) *appendOp {
	n := seq%3 + 1
	op := &appendOp{client: client, partition: p, via: via, zombie: zombie}
	var body bytes.Buffer
	body.WriteString(`{"records":[`)
	for i := range n {
		v := fmt.Sprintf("c%d-%d-%d", client, seq, i)
		op.values = append(op.values, v)
		if i > 0 {
			body.WriteByte(',')
		}
		fmt.Fprintf(&body, `{"key":"c%d-%d","value":%q}`, client, seq, v)
	}
	body.WriteString(`]}`)
	path := fmt.Sprintf("/topics/%s/partitions/%d/records?%s", faultTopic, p, produceQuery)
	f.h.mu.Lock()
	op.call = f.h.now()
	f.h.appends = append(f.h.appends, op)
	f.h.mu.Unlock()

	r, err := f.net.do(context.Background(), via, http.MethodPost, path, body.String(), timeout)
	ret := f.h.now()
	res, base, answer := classify(r, err, p, n)
	if res == anomalous {
		f.h.anomaly("produce %v to %d via broker %d: answer %s does not match the request", op.values, p, via, r)
		res = unknown
	}
	f.h.mu.Lock()
	defer f.h.mu.Unlock()
	op.ret, op.outcome, op.base, op.by, op.answer = ret, res, base, r.BrokerID(), answer
	if res == acked && op.call > f.h.lastAck[p] {
		f.h.lastAck[p] = op.call
	}
	return op
}

// anomalous is a 200 answer that does not fit its request.
const anomalous outcome = -1

// classify reads a produce answer for n records to partition p. A 4xx
// writes nothing (API.md: bad input never changes state; an unknown topic
// or partition has nowhere to write). 503 not_enough_replicas is definite
// when the leader refused before appending; the problem carries
// "appended":true when the ISR shrank while the records waited, and then
// they may commit yet. Every other failure may or may not have written the
// records.
func classify(r brokertest.Response, err error, p, n int) (outcome, int64, string) {
	if err != nil {
		return unknown, -1, transportAnswer(err)
	}
	answer := fmt.Sprintf("%d %s", r.Status, r.Code())
	switch {
	case r.Status == http.StatusOK:
		var out struct {
			Offsets []struct {
				Partition int    `json:"partition"`
				Offset    *int64 `json:"offset"`
			} `json:"offsets"`
		}
		if json.Unmarshal(r.Body, &out) != nil || len(out.Offsets) != n || out.Offsets[0].Offset == nil {
			return anomalous, -1, answer
		}
		base := *out.Offsets[0].Offset
		for i, o := range out.Offsets {
			if o.Partition != p || o.Offset == nil || *o.Offset != base+int64(i) {
				return anomalous, -1, answer
			}
		}
		return acked, base, answer
	case r.Status >= 400 && r.Status < 500:
		return failed, -1, answer
	case r.Status == http.StatusServiceUnavailable && r.Code() == "not_enough_replicas" && !appended(r):
		return failed, -1, answer
	}
	return unknown, -1, answer
}

// appended reports whether a problem answer says the leader stored the
// records before it failed (the "appended" member). An answer that is not
// problem+json counts as appended: nothing says it was not.
func appended(r brokertest.Response) bool {
	var p struct {
		Appended bool `json:"appended"`
	}
	if json.Unmarshal(r.Body, &p) != nil {
		return true
	}
	return p.Appended
}

// transportAnswer names a request's failure without the addresses and
// ports in the error, so that the summary counts failures by kind.
func transportAnswer(err error) string {
	msg := err.Error()
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return "no answer in time"
	case strings.Contains(msg, "connection refused"):
		return "connection refused"
	case strings.Contains(msg, "connection reset"), strings.Contains(msg, "EOF"), strings.Contains(msg, "broken pipe"):
		return "connection lost"
	}
	return msg
}

// consume long-polls partition p from offset 0 on through the usable
// brokers (the default read: the leader's committed records) until ctx
// ends, and records every answer's records.
func (f *faultRun) consume(ctx context.Context, p int) {
	tick := time.NewTicker(producerPeriod)
	defer tick.Stop()
	next, via := int64(0), p%len(f.net.ids)+1
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		via = f.net.pick(via)
		path := fmt.Sprintf("/topics/%s/partitions/%d/records?offset=%d&max_records=1000&timeout_ms=1000", faultTopic, p, next)
		call := f.h.now()
		r, err := f.net.do(ctx, via, http.MethodGet, path, "", faultRequestTimeout)
		ret := f.h.now()
		if err != nil || r.Status != http.StatusOK {
			continue // 416 above a new leader's HW, a broker down: try the next
		}
		page, err := decodePage(r.Body)
		if err != nil {
			f.h.anomaly("consumer: partition %d at broker %d: %v", p, via, err)
			continue
		}
		if len(page.records) == 0 {
			continue
		}
		obs := readObs{partition: p, offset: next, call: call, ret: ret, via: via, by: r.BrokerID()}
		for i, rec := range page.records {
			if rec.Offset != next+int64(i) {
				f.h.anomaly("consumer: partition %d from offset %d at broker %d: record %d has offset %d", p, next, via, i, rec.Offset)
				break
			}
			obs.values = append(obs.values, rec.value)
		}
		f.h.mu.Lock()
		f.h.reads = append(f.h.reads, obs)
		f.h.mu.Unlock()
		next += int64(len(obs.values))
	}
}

// faultRecord is one record of a read answer, with its JSON as the broker
// wrote it, to compare replicas byte for byte.
type faultRecord struct {
	Offset    int64           `json:"offset"`
	Timestamp int64           `json:"timestamp"`
	Key       *string         `json:"key"`
	Value     json.RawMessage `json:"value"`
	raw       json.RawMessage
	value     string // Value as the string the producer sent
}

// faultPage is a read answer.
type faultPage struct {
	LogStart   int64             `json:"log_start_offset"`
	HW         int64             `json:"high_watermark"`
	NextOffset int64             `json:"next_offset"`
	Raw        []json.RawMessage `json:"records"`
	records    []faultRecord
}

func decodePage(b []byte) (faultPage, error) {
	var pg faultPage
	if err := json.Unmarshal(b, &pg); err != nil {
		return pg, fmt.Errorf("decoding read answer: %w", err)
	}
	for _, raw := range pg.Raw {
		rec := faultRecord{raw: raw}
		if err := json.Unmarshal(raw, &rec); err != nil {
			return pg, fmt.Errorf("decoding record %s: %w", raw, err)
		}
		if err := json.Unmarshal(rec.Value, &rec.value); err != nil {
			rec.value = "not a string: " + string(rec.Value)
		}
		pg.records = append(pg.records, rec)
	}
	return pg, nil
}

// describeAt returns GET /topics/{faultTopic} at broker id.
func (f *faultRun) describeAt(id int) (topicDesc, error) {
	var d topicDesc
	r, err := try(f.c, id, http.MethodGet, "/topics/"+faultTopic, "")
	if err != nil {
		return d, err
	}
	if r.Status != http.StatusOK {
		return d, fmt.Errorf("GET /topics/%s at broker %d: %s", faultTopic, id, r)
	}
	return d, json.Unmarshal(r.Body, &d)
}

// waitWhole waits until the cluster is formed with every broker up, every
// broker describes the same leaders, epochs and ISRs, and every ISR holds
// all three replicas; it returns that description.
func (f *faultRun) waitWhole(t *testing.T, what string) topicDesc {
	t.Helper()
	f.c.WaitFormed(t, recoverTimeout)
	var d topicDesc
	brokertest.WaitFor(t, recoverTimeout, what+": every ISR whole at every broker", func() error {
		var first *topicDesc
		for _, id := range f.c.IDs() {
			got, err := f.describeAt(id)
			if err != nil {
				return err
			}
			m := got.metadata()
			if first == nil {
				first = &m
			} else if fmt.Sprint(*first) != fmt.Sprint(m) {
				return fmt.Errorf("broker %d describes %+v, broker 1 %+v", id, m.Partitions, first.Partitions)
			}
		}
		for _, p := range first.Partitions {
			if p.Leader <= 0 || len(p.ISR) != 3 {
				return fmt.Errorf("partition %d: leader %d, ISR %v", p.Partition, p.Leader, p.ISR)
			}
		}
		d = *first
		return nil
	})
	return d
}

// partOf returns partition p of d (the zero description if d lacks it).
func partOf(d topicDesc, p int) partitionDesc {
	for _, pd := range d.Partitions {
		if pd.Partition == p {
			return pd
		}
	}
	return partitionDesc{Partition: p, Leader: -1}
}

// waitAny waits until the running brokers agree on the topic's leaders and
// every partition has one, and returns the description.
func (f *faultRun) waitAny(t *testing.T) topicDesc {
	t.Helper()
	return sameTopic(t, f.c, faultTopic, func(d topicDesc) error {
		for _, p := range d.Partitions {
			if p.Leader <= 0 {
				return fmt.Errorf("partition %d has no leader", p.Partition)
			}
		}
		return nil
	})
}

// waitAcks waits until every partition has an acked append sent after
// since (history time).
func (f *faultRun) waitAcks(t *testing.T, since int64, what string) {
	t.Helper()
	brokertest.WaitFor(t, recoverTimeout, what+": acks on every partition", func() error {
		f.h.mu.Lock()
		defer f.h.mu.Unlock()
		for p, last := range f.h.lastAck {
			if last <= since {
				return fmt.Errorf("partition %d: no ack for a request sent in the last %v", p,
					time.Duration(f.h.now()-since).Round(time.Millisecond))
			}
		}
		return nil
	})
}

// waitAck waits until partition p has an acked append sent after since and
// returns how long after since that request was answered.
func (f *faultRun) waitAck(t *testing.T, p int, since int64, what string) time.Duration {
	t.Helper()
	var took time.Duration
	brokertest.WaitFor(t, recoverTimeout, what, func() error {
		f.h.mu.Lock()
		defer f.h.mu.Unlock()
		for _, op := range slices.Backward(f.h.appends) {
			if op.call <= since {
				break
			}
			if op.partition == p && op.outcome == acked && (took == 0 || time.Duration(op.ret-since) < took) {
				took = time.Duration(op.ret - since)
			}
		}
		if took == 0 {
			return fmt.Errorf("partition %d: no ack yet", p)
		}
		return nil
	})
	return took
}
