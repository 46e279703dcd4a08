package clustertest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/anishathalye/porcupine"

	"github.com/fjord-streaming/fjord/internal/brokertest"
)

// The fault test's knobs. The waits are bounds on recovery that a healthy
// cluster meets in a few seconds even on two loaded cores; each is polled,
// never slept.
const (
	faultTopic      = "fault"
	faultPartitions = 2
	// produceQuery is the only query string the test produces with. acks=1
	// records may be lost on failover (as in Kafka; DESIGN.md, honest
	// limits), so the test never uses it: every promise it checks is one
	// of acks=all (TestFault checks this constant first).
	produceQuery = "acks=all&timeout_ms=3000"
	// faultRequestTimeout bounds one client request: produce's timeout_ms
	// plus a forwarding hop, or a 1 s long poll, with room for a loaded
	// machine. A request to a paused broker hangs until it.
	faultRequestTimeout = 8 * time.Second
	// zombieRequestTimeout bounds a request sent to a paused leader: longer
	// than the pause, so that the leader handles it once resumed.
	zombieRequestTimeout = 60 * time.Second
	// producerPeriod paces each producer (and the consumer's retries), so a
	// refusing cluster is not flooded while it recovers.
	producerPeriod = 20 * time.Millisecond
	// recoverTimeout bounds each wait for the cluster to recover from a
	// fault: failure detection, election, ISR shrink after
	// replica.lag.time.max.ms (5 s), catch-up, ISR rejoin.
	recoverTimeout = 45 * time.Second
	// pauseTimeout bounds the failover away from a frozen leader. It is
	// longer than recoverTimeout: when the frozen leader is also the
	// controller, the next controller first tries to hand the role back to
	// it (the lowest id that gossip does not call failed yet), each try
	// waiting out Raft's 10 s I/O timeout, and fails partitions over only
	// after that (20-30 s seen on 2 cores).
	pauseTimeout = 90 * time.Second
	// checkTimeout bounds porcupine on one partition's history.
	checkTimeout = 60 * time.Second
)

// faultCycles is FJORD_FAULT_CYCLES, default 10: how many kill -9 and
// restart cycles TestFault runs (make fault-long runs 100).
func faultCycles(t *testing.T) int {
	s := os.Getenv("FJORD_FAULT_CYCLES")
	if s == "" {
		return 10
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 {
		t.Fatalf("FJORD_FAULT_CYCLES=%q: want a positive number", s)
	}
	return n
}

// TestFault is the fault-injection test of replication (issue 12): three
// brokers, a topic of two partitions with three replicas,
// min.insync.replicas 2 and replica.lag.time.max.ms 5000, two acks=all
// producers and a long-polling consumer per partition running throughout,
// all through whichever brokers are up. Meanwhile, in cycles, the leader of
// a partition (every third cycle the controller) is killed with kill -9 and
// restarted; once per run a leader is frozen with SIGSTOP until another
// broker leads its partition, and resumed, while requests are sent to it
// directly; once per run a broker is stopped, its disk wiped and it is
// restarted. Each fault waits for the cluster to recover (formed, every ISR
// whole, acks again) before the next.
//
// Afterwards, with every replica caught up, each partition is read whole
// from its leader and from each replica (replica=local), and checked:
// every acknowledged record is at its offset with its value; no value is
// written twice or lost from a definite failure; offsets are contiguous
// from the log start; every replica is byte-identical to the leader up to
// the HW; every record the consumer saw is in the final log at its offset;
// and the history of appends and reads is a linearizable log (porcupine,
// logModel). Records whose produce request got no definite answer
// (timeouts, lost connections, 503 after the append) may or may not be
// there; if there, they are checked like the others.
func TestFault(t *testing.T) {
	if testing.Short() {
		t.Skip("starts broker processes")
	}
	if q, err := url.ParseQuery(produceQuery); err != nil || q.Get("acks") != "all" {
		t.Fatalf("produceQuery %q: the fault test checks acks=all only (acks=1 may lose records on failover)", produceQuery)
	}
	cycles := faultCycles(t)
	began := time.Now()
	c := brokertest.StartCluster(t, 3, brokertest.WithBrokerOptions(
		// A produce that reaches a broker not knowing the topic yet (just
		// wiped) must not create it with defaults.
		brokertest.WithArgs("--auto-create-topics=false")))
	if dir := os.Getenv("FJORD_FAULT_LOG_DIR"); dir != "" {
		t.Cleanup(func() { saveLogs(t, c, dir) })
	}
	body := fmt.Sprintf(`{"name":%q,"partitions":%d,"replication_factor":3,`+
		`"config":{"min.insync.replicas":2,"replica.lag.time.max.ms":5000}}`, faultTopic, faultPartitions)
	want(t, c.Call(t, 1, http.MethodPost, "/topics", body), http.StatusCreated, "create "+faultTopic)
	f := newFaultRun(c)
	defer f.stopAll()
	f.waitWhole(t, "the new topic's ISRs")
	f.start()
	f.waitAcks(t, 0, "the first acks")
	t.Logf("cluster and topic ready, producing: %v", time.Since(began).Round(time.Millisecond))

	zombieAt, wipeAt := cycles/3, (2*cycles)/3
	for i := range cycles {
		if i == zombieAt {
			f.pauseLeader(t)
		}
		if i == wipeAt {
			f.wipeBroker(t)
		}
		f.killCycle(t, i)
	}

	f.stopProducers()
	hw := f.waitCaughtUp(t)
	f.stopConsumers()
	t.Logf("faults done, every replica caught up: %v", time.Since(began).Round(time.Millisecond))
	f.summary(t)
	for p := range faultPartitions {
		f.checkPartition(t, p, hw[p])
	}
	t.Logf("whole test: %v", time.Since(began).Round(time.Millisecond))
}

// saveLogs writes every broker's whole log, all its processes, to
// dir/broker-N.log: FJORD_FAULT_LOG_DIR asks for them, to study a run.
func saveLogs(t *testing.T, c *brokertest.Cluster, dir string) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Log(err)
		return
	}
	for _, id := range c.IDs() {
		path := filepath.Join(dir, fmt.Sprintf("broker-%d.log", id))
		if err := os.WriteFile(path, []byte(c.Broker(id).AllLogs()), 0o644); err != nil {
			t.Log(err)
		}
	}
	t.Logf("broker logs in %s", dir)
}

// outcome is what a produce request's answer says about its records.
type outcome int

const (
	pending outcome = iota // no answer yet
	acked                  // 200: written at the offsets answered
	failed                 // definitely not written: a 4xx, or not_enough_replicas before the append
	unknown                // written or not: no answer, a timeout, a 5xx after the append
)

func (o outcome) String() string {
	return [...]string{"pending", "acked", "failed", "unknown"}[o]
}

// appendOp is one produce request of the test: records with unique values
// to one partition.
type appendOp struct {
	client    int // porcupine client: the producer or zombie sender
	partition int
	values    []string
	via       int  // the broker the request was sent to
	zombie    bool // sent on purpose to a paused or just resumed leader
	call      int64
	// Set once the answer is in, under faultHistory.mu.
	ret     int64
	outcome outcome
	base    int64  // acked: the first record's offset
	by      int    // X-Fjord-Broker of the answer
	answer  string // status and code, or the transport error
}

// readObs is one read answer the consumer got: values at offset, offset+1, …
type readObs struct {
	partition int
	offset    int64
	values    []string
	call, ret int64
	via, by   int
}

// faultHistory is everything the producers and consumers did, with times
// in nanoseconds since start (monotonic).
type faultHistory struct {
	start time.Time

	mu        sync.Mutex // guards the fields below
	appends   []*appendOp
	reads     []readObs
	anomalies []string
	// lastAck is the call time of the latest acked append per partition.
	lastAck [faultPartitions]int64
}

func (h *faultHistory) now() int64 { return time.Since(h.start).Nanoseconds() }

func (h *faultHistory) anomaly(format string, args ...any) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.anomalies = append(h.anomalies, fmt.Sprintf(format, args...))
}

// faultNet sends the producers' and consumers' requests. It keeps its own
// copy of the brokers' URLs, which stay the same across restarts (the
// Cluster fixes the ports), because the test goroutine rewrites
// brokertest.Broker fields on Restart.
type faultNet struct {
	urls   map[int]string
	ids    []int
	client *http.Client

	mu     sync.Mutex   // guards usable
	usable map[int]bool // brokers the producers and consumers may send to
}

// pick returns the first usable broker after broker after in id order
// (wrapping), or the one right after it when none is usable.
func (n *faultNet) pick(after int) int {
	n.mu.Lock()
	defer n.mu.Unlock()
	i := slices.Index(n.ids, after)
	for k := 1; k <= len(n.ids); k++ {
		id := n.ids[(i+k)%len(n.ids)]
		if n.usable[id] {
			return id
		}
	}
	return n.ids[(i+1)%len(n.ids)]
}

func (n *faultNet) setUsable(id int, ok bool) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.usable[id] = ok
}

// do sends one request to broker id, abandoned after timeout or when ctx
// ends.
func (n *faultNet) do(ctx context.Context, id int, method, path, body string, timeout time.Duration) (brokertest.Response, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, n.urls[id]+path, r)
	if err != nil {
		return brokertest.Response{}, err
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := n.client.Do(req)
	if err != nil {
		return brokertest.Response{}, err
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	if err != nil {
		return brokertest.Response{}, err
	}
	return brokertest.Response{Status: resp.StatusCode, Header: resp.Header, Body: out}, nil
}

// faultRun is one run of TestFault: the cluster, the history, and the
// goroutines producing and consuming, which the test goroutine starts and
// stops. Only the test goroutine touches the Cluster.
type faultRun struct {
	c   *brokertest.Cluster
	h   *faultHistory
	net *faultNet

	produceStop, consumeStop context.CancelFunc
	producers, consumers     sync.WaitGroup

	// Counts for the summary, test goroutine only.
	cycleTimes []time.Duration
	failovers  []time.Duration
}

func newFaultRun(c *brokertest.Cluster) *faultRun {
	n := &faultNet{urls: map[int]string{}, ids: c.IDs(), usable: map[int]bool{},
		client: &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 16}}}
	for _, id := range c.IDs() {
		n.urls[id] = c.Broker(id).URL
		n.usable[id] = true
	}
	return &faultRun{c: c, h: &faultHistory{start: time.Now()}, net: n,
		produceStop: func() {}, consumeStop: func() {}}
}

// start starts two producers and one consumer per partition.
func (f *faultRun) start() {
	pctx, pcancel := context.WithCancel(context.Background())
	f.produceStop = pcancel
	for k := range 2 {
		f.producers.Go(func() { f.produce(pctx, k, nil) })
	}
	cctx, ccancel := context.WithCancel(context.Background())
	f.consumeStop = ccancel
	for p := range faultPartitions {
		f.consumers.Go(func() { f.consume(cctx, p) })
	}
}

func (f *faultRun) stopProducers() { f.produceStop(); f.producers.Wait() }
func (f *faultRun) stopConsumers() { f.consumeStop(); f.consumers.Wait() }

func (f *faultRun) stopAll() {
	f.stopProducers()
	f.stopConsumers()
	f.net.client.CloseIdleConnections()
}

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
// when the leader refused before appending; the engine says "after the
// append" when the ISR shrank while the records waited, and then they may
// commit yet. Every other failure may or may not have written the records.
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
	case r.Status == http.StatusServiceUnavailable && r.Code() == "not_enough_replicas" &&
		!strings.Contains(string(r.Body), "after the append"):
		return failed, -1, answer
	}
	return unknown, -1, answer
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

// restart restarts broker id and lets the producers use it again once it
// describes the topic.
func (f *faultRun) restart(t *testing.T, id int) {
	t.Helper()
	f.c.Restart(t, id)
	brokertest.WaitFor(t, recoverTimeout, fmt.Sprintf("broker %d to know topic %s", id, faultTopic), func() error {
		_, err := f.describeAt(id)
		return err
	})
	f.net.setUsable(id, true)
}

// killCycle kills -9 the leader of partition i mod the partition count, or
// every third cycle the controller, waits for acks on every partition
// without it, restarts it and waits until the cluster is whole again.
func (f *faultRun) killCycle(t *testing.T, i int) {
	t.Helper()
	began := time.Now()
	d := f.waitWhole(t, fmt.Sprintf("cycle %d", i))
	p := i % faultPartitions
	victim, role := d.leaderOf(t, p), fmt.Sprintf("leader of partition %d", p)
	if i%3 == 2 {
		victim, role = f.c.Info(t, f.c.IDs()[0]).ControllerID, "controller"
	}
	led := []int{}
	for _, pd := range d.Partitions {
		if pd.Leader == victim {
			led = append(led, pd.Partition)
		}
	}
	f.net.setUsable(victim, false)
	killed := f.h.now()
	f.c.Kill(t, victim)
	f.c.WaitFormed(t, recoverTimeout)
	witness := others(f.c, victim)[0]
	var after []string
	for _, lp := range led {
		got := newLeader(t, f.c, witness, faultTopic, lp, victim, partOf(d, lp).LeaderEpoch, recoverTimeout)
		after = append(after, fmt.Sprintf("partition %d led by %d at epoch %d with ISR %v %v after the kill",
			lp, got.Leader, got.LeaderEpoch, got.ISR, time.Duration(f.h.now()-killed).Round(time.Millisecond)))
	}
	f.waitAcks(t, killed, fmt.Sprintf("cycle %d, broker %d killed", i, victim))
	for _, lp := range led {
		f.failovers = append(f.failovers, f.waitAck(t, lp, killed, "an ack after the failover"))
	}
	f.restart(t, victim)
	restarted := f.h.now()
	f.waitWhole(t, fmt.Sprintf("cycle %d, broker %d restarted", i, victim))
	f.waitAcks(t, restarted, fmt.Sprintf("cycle %d, broker %d restarted", i, victim))
	f.cycleTimes = append(f.cycleTimes, time.Since(began))
	t.Logf("cycle %d: kill -9 of broker %d (%s, led partitions %v; then %v) and restart: %v",
		i, victim, role, led, after, time.Since(began).Round(time.Millisecond))
}

// pauseLeader freezes the leader of partition 0 with SIGSTOP until another
// broker describes a new leader and the new leader acknowledges writes,
// then resumes it. Three senders send to the frozen leader directly all
// along, their requests waiting in its socket buffers while it is frozen,
// until it has resumed, learnt that it lost the lead and answered four
// requests sent after the resume. Every ack it gives must hold in the end
// (checkPartition); it is counted here.
func (f *faultRun) pauseLeader(t *testing.T) {
	t.Helper()
	began := time.Now()
	d := f.waitWhole(t, "before the pause")
	const p = 0
	old := partOf(d, p)
	zombie := old.Leader
	witness := others(f.c, zombie)[0]
	controller := f.c.Info(t, witness).ControllerID
	f.net.setUsable(zombie, false)
	f.c.Pause(t, zombie)
	paused := f.h.now()
	ctx, stop := context.WithCancel(context.Background())
	var senders sync.WaitGroup
	for k := range 3 {
		senders.Go(func() { f.produce(ctx, 2+k, &zombieTarget{broker: zombie, partition: p}) })
	}
	// Resume before any failure below, so the cleanup's kill is not all
	// the zombie ever sees.
	resumed := false
	defer func() {
		if !resumed {
			f.c.Resume(t, zombie)
		}
		stop()
		senders.Wait()
	}()
	// GET /topics/{t} at the witness asks the frozen leader for its
	// offsets and waits for it (engine's remoteCallTimeout); the attempts
	// are logged to show it.
	var got partitionDesc
	var attempts []string
	brokertest.WaitFor(t, pauseTimeout, fmt.Sprintf("broker %d to describe a new leader of %d", witness, p), func() error {
		sent := time.Now()
		d, err := f.describeAt(witness)
		took := time.Since(sent)
		if took > time.Second {
			attempts = append(attempts, fmt.Sprintf("%v after the pause: took %v (%v)",
				time.Duration(f.h.now()-paused).Round(time.Millisecond), took.Round(time.Millisecond), err))
		}
		if err != nil {
			return err
		}
		got = partOf(d, p)
		if got.Leader == zombie || got.Leader <= 0 || got.LeaderEpoch <= old.LeaderEpoch {
			return fmt.Errorf("partition %d: leader %d at epoch %d, ISR %v", p, got.Leader, got.LeaderEpoch, got.ISR)
		}
		return nil
	})
	if len(attempts) > 0 {
		t.Logf("slow GET /topics/%s at broker %d while broker %d was frozen: %v", faultTopic, witness, zombie, attempts)
	}
	f.waitAck(t, p, paused, "an ack from the new leader while the old one is frozen")
	f.c.Resume(t, zombie)
	resumed = true
	resumedAt := f.h.now()
	t.Logf("broker %d (leader of %d at epoch %d; the controller was %d) frozen for %v; broker %d describes leader %d at epoch %d",
		zombie, p, old.LeaderEpoch, controller, time.Duration(resumedAt-paused).Round(time.Millisecond), witness, got.Leader, got.LeaderEpoch)
	brokertest.WaitFor(t, recoverTimeout, fmt.Sprintf("broker %d to learn it no longer leads partition %d", zombie, p), func() error {
		d, err := f.describeAt(zombie)
		if err != nil {
			return err
		}
		if l := d.leaderOf(t, p); l == zombie {
			return fmt.Errorf("broker %d still describes itself as leader of %d", zombie, p)
		}
		return nil
	})
	brokertest.WaitFor(t, recoverTimeout, "four answers to requests sent to the resumed broker", func() error {
		f.h.mu.Lock()
		defer f.h.mu.Unlock()
		n := 0
		for _, op := range f.h.appends {
			if op.zombie && op.call > resumedAt && op.outcome != pending {
				n++
			}
		}
		if n < 4 {
			return fmt.Errorf("%d answered", n)
		}
		return nil
	})
	stop()
	senders.Wait()
	f.net.setUsable(zombie, true)
	f.h.mu.Lock()
	counts := map[string]int{}
	for _, op := range f.h.appends {
		if op.zombie {
			when := "sent while frozen"
			if op.call > resumedAt {
				when = "sent after the resume"
			}
			counts[fmt.Sprintf("%s: %s %s by broker %d", when, op.outcome, op.answer, op.by)]++
		}
	}
	f.h.mu.Unlock()
	f.waitWhole(t, "after the pause")
	t.Logf("pause of broker %d: requests sent to it directly: %v; took %v", zombie, summary(counts), time.Since(began).Round(time.Millisecond))
}

// wipeBroker stops the highest-id broker that is not the controller with
// SIGTERM, wipes its data dir and restarts it: it must come back with a new
// incarnation, catch up from nothing and rejoin every ISR.
func (f *faultRun) wipeBroker(t *testing.T) {
	t.Helper()
	began := time.Now()
	f.waitWhole(t, "before the wipe")
	controller := f.c.Info(t, 1).ControllerID
	victim := slices.Max(others(f.c, controller))
	before := incarnation(t, f.c.Broker(victim))
	f.net.setUsable(victim, false)
	if err := f.c.Stop(t, victim); err != nil {
		t.Fatalf("SIGTERM broker %d: exit %v", victim, err)
	}
	// Out of every ISR first (controlled shutdown, or the leaders' lag
	// check while the producers write), so that coming back in means
	// catching up from nothing.
	brokertest.WaitFor(t, recoverTimeout, fmt.Sprintf("broker %d out of every ISR", victim), func() error {
		for _, id := range others(f.c, victim) {
			d, err := f.describeAt(id)
			if err != nil {
				return err
			}
			for _, p := range d.Partitions {
				if slices.Contains(p.ISR, victim) {
					return fmt.Errorf("broker %d describes partition %d with ISR %v", id, p.Partition, p.ISR)
				}
			}
		}
		return nil
	})
	f.c.Wipe(t, victim)
	var hw [faultPartitions]int64
	d := f.waitAny(t)
	for _, p := range d.Partitions {
		at, err := f.describeAt(p.Leader)
		if err != nil {
			t.Fatal(err)
		}
		hw[p.Partition] = partOf(at, p.Partition).HighWatermark
	}
	f.restart(t, victim)
	if after := incarnation(t, f.c.Broker(victim)); after == "" || after == before {
		t.Fatalf("broker %d's incarnation after the wipe %q, before %q: want a new one", victim, after, before)
	}
	f.waitWhole(t, fmt.Sprintf("broker %d wiped and restarted", victim))
	for p := range faultPartitions {
		path := fmt.Sprintf("/topics/%s/partitions/%d/records?offset=latest&replica=local", faultTopic, p)
		r := f.c.Call(t, victim, http.MethodGet, path, "")
		pg, err := decodePage(r.Body)
		if r.Status != http.StatusOK || err != nil || pg.HW < hw[p] {
			t.Fatalf("broker %d back in the ISR of %d after the wipe, but its replica answers %s; the HW before its restart was %d", victim, p, r, hw[p])
		}
	}
	t.Logf("wipe of broker %d: stopped, out of every ISR, wiped, restarted with a new incarnation, caught up past HWs %v, back in every ISR: %v",
		victim, hw, time.Since(began).Round(time.Millisecond))
}

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
