package ws_test

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/fjord-streaming/fjord/engine"
	"github.com/fjord-streaming/fjord/storage"
	"github.com/fjord-streaming/fjord/ws"
)

// groupMember follows one group subscription: its latest assignment, the
// records it received and its last commit answer.
type groupMember struct {
	t         *testing.T
	c         *wsClient
	id        string
	gen       int64
	assigned  []wsPartition
	records   []wsRecord
	committed []map[string]any
}

func joinGroup(t *testing.T, addr, id, msg string) *groupMember {
	t.Helper()
	m := &groupMember{t: t, c: dialWS(t, addr, "", nil), id: id, gen: -1}
	m.c.send(msg)
	m.c.expect("subscribed", id)
	return m
}

// until applies frames until cond holds.
func (m *groupMember) until(what string, cond func() bool) {
	m.t.Helper()
	for !cond() {
		f := m.c.next()
		if f.ID != m.id {
			m.t.Fatalf("%s: frame of another id %s", what, f.raw)
		}
		switch f.Type {
		case "assignment":
			if f.Generation < m.gen {
				m.t.Fatalf("generation went back: %s after %d", f.raw, m.gen)
			}
			m.gen, m.assigned = f.Generation, f.Assignments
		case "records":
			for _, r := range f.Records {
				if !slices.Contains(m.assigned, wsPartition{Topic: r.Topic, Partition: r.Partition}) {
					m.t.Fatalf("%s: record of %s/%d, not assigned %v", what, r.Topic, r.Partition, m.assigned)
				}
			}
			m.records = append(m.records, f.Records...)
		case "committed":
			m.committed = f.Offsets
		default:
			m.t.Fatalf("%s: unexpected frame %s", what, f.raw)
		}
	}
}

func (m *groupMember) hasPartitions(n int) func() bool {
	return func() bool { return len(m.assigned) == n }
}

func (m *groupMember) hasRecords(n int) func() bool {
	return func() bool {
		if len(m.records) > n {
			m.t.Fatalf("%d records, want %d", len(m.records), n)
		}
		return len(m.records) == n
	}
}

// offsetsOf returns, per partition, the offsets received, in order.
func offsetsOf(recs []wsRecord) map[int32][]int64 {
	out := map[int32][]int64{}
	for _, r := range recs {
		out[r.Partition] = append(out[r.Partition], r.Offset)
	}
	return out
}

func span(from, to int64) []int64 {
	var out []int64
	for o := from; o < to; o++ {
		out = append(out, o)
	}
	return out
}

// produceEach appends n records to every partition of topic.
func produceEach(t *testing.T, eng *engine.Engine, topic string, partitions, n int) {
	t.Helper()
	var recs []engine.ProduceRecord
	for p := 0; p < partitions; p++ {
		for i := 0; i < n; i++ {
			recs = append(recs, engine.ProduceRecord{Partition: int32(p), Record: storage.Record{Timestamp: -1,
				ValueFormat: storage.FormatJSON, Value: fmt.Appendf(nil, `{"p":%d,"i":%d}`, p, i)}})
		}
	}
	if _, err := eng.Produce(t.Context(), topic, recs, engine.AcksLeader); err != nil {
		t.Fatal(err)
	}
}

// TestGroupSubscriptionRebalance plays a rebalance story with the real
// group manager: one member gets everything and commits; a second member
// joins and the partitions split; the second member's socket closes without
// a commit and the first gets its partitions back and re-reads them from the
// last commit (at-least-once).
func TestGroupSubscriptionRebalance(t *testing.T) {
	p := startInProcess(t, ws.Config{}, true)
	if _, err := p.engine.CreateTopic(engine.TopicSpec{Name: "gt", Partitions: 4}); err != nil {
		t.Fatal(err)
	}
	produceEach(t, p.engine, "gt", 4, 10)
	sub := `{"op":"subscribe","id":"%s","group":"g1","topics":["gt"],"auto_offset_reset":"earliest","session_timeout_ms":10000}`

	a := joinGroup(t, p.addr, "a", fmt.Sprintf(sub, "a"))
	a.until("a alone", func() bool { return len(a.assigned) == 4 && len(a.records) == 40 })
	for part, offs := range offsetsOf(a.records) {
		if !slices.Equal(offs, span(0, 10)) {
			t.Fatalf("partition %d: offsets %v", part, offs)
		}
	}
	a.c.send(`{"op":"commit","id":"a"}`)
	a.until("a commits", func() bool { return a.committed != nil })
	if len(a.committed) != 4 {
		t.Fatalf("committed %v", a.committed)
	}
	for _, o := range a.committed {
		if o["offset"].(float64) != 10 {
			t.Fatalf("committed %v, want offset 10 everywhere", a.committed)
		}
	}

	b := joinGroup(t, p.addr, "b", fmt.Sprintf(sub, "b"))
	a.until("a shrinks", a.hasPartitions(2))
	b.until("b grows", b.hasPartitions(2))
	if a.gen != b.gen {
		t.Fatalf("generations differ: a %d, b %d", a.gen, b.gen)
	}
	union := append(slices.Clone(a.assigned), b.assigned...)
	slices.SortFunc(union, func(x, y wsPartition) int { return int(x.Partition - y.Partition) })
	if len(slices.CompactFunc(union, func(x, y wsPartition) bool { return x == y })) != 4 {
		t.Fatalf("assignments overlap or miss: a %v, b %v", a.assigned, b.assigned)
	}

	a.records, b.records = nil, nil
	produceEach(t, p.engine, "gt", 4, 5)
	a.until("a reads its half", a.hasRecords(10))
	b.until("b reads its half", b.hasRecords(10))
	for _, m := range []*groupMember{a, b} {
		for part, offs := range offsetsOf(m.records) {
			if !slices.Equal(offs, span(10, 15)) {
				t.Fatalf("member %s partition %d: offsets %v", m.id, part, offs)
			}
		}
	}
	bParts := b.assigned

	// b disconnects without committing: its membership ends with the socket,
	// and a re-reads b's partitions from a's commit.
	b.c.conn.Close()
	a.records = nil
	a.until("a takes over", func() bool { return len(a.assigned) == 4 && len(a.records) == 10 })
	got := offsetsOf(a.records)
	for _, tp := range bParts {
		if !slices.Equal(got[tp.Partition], span(10, 15)) {
			t.Fatalf("taken-over partition %d: offsets %v", tp.Partition, got[tp.Partition])
		}
	}
	a.c.send(`{"op":"commit","id":"a"}`)
	a.committed = nil
	a.until("a commits all", func() bool { return a.committed != nil })
	for _, o := range a.committed {
		if o["offset"].(float64) != 15 {
			t.Fatalf("committed %v, want 15 everywhere", a.committed)
		}
	}
}

// TestGroupSubscriptionCreditsAndUnsubscribe: credits bound a group
// subscription too, and unsubscribe leaves the group.
func TestGroupSubscriptionCreditsAndUnsubscribe(t *testing.T) {
	p := startInProcess(t, ws.Config{}, true)
	if _, err := p.engine.CreateTopic(engine.TopicSpec{Name: "gc", Partitions: 1}); err != nil {
		t.Fatal(err)
	}
	produceEach(t, p.engine, "gc", 1, 20)
	m := joinGroup(t, p.addr, "m", `{"op":"subscribe","id":"m","group":"g2","topics":["gc"],"auto_offset_reset":"earliest","credits":5}`)
	m.until("five", func() bool { return len(m.assigned) == 1 && len(m.records) == 5 })
	m.c.quiet(300 * time.Millisecond)
	m.c.send(`{"op":"credit","id":"m","records":10}`)
	m.until("fifteen", m.hasRecords(15))
	if !slices.Equal(offsetsOf(m.records)[0], span(0, 15)) {
		t.Fatalf("offsets %v", offsetsOf(m.records)[0])
	}
	m.c.send(`{"op":"unsubscribe","id":"m"}`)
	m.c.expect("unsubscribed", "m")
	d, err := p.groups.Describe("g2")
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Members) != 0 {
		t.Fatalf("members after unsubscribe: %+v", d.Members)
	}
	// A missing topic is refused before joining, and creates nothing.
	m.c.send(`{"op":"subscribe","id":"x","group":"g2","topics":["gc","nosuch"]}`)
	if f := m.c.expect("error", "x"); f.Code != "topic_not_found" {
		t.Fatalf("missing topic: %s", f.raw)
	}
	if _, err := p.engine.Topic("nosuch"); err == nil {
		t.Fatal("subscribing created the topic")
	}
}

// TestDeadSocketEndsMembership: a client that stops answering pings is
// closed with a reason, and its group membership ends with the socket.
func TestDeadSocketEndsMembership(t *testing.T) {
	p := startInProcess(t, ws.Config{PingInterval: 50 * time.Millisecond, PongWait: 300 * time.Millisecond}, true)
	if _, err := p.engine.CreateTopic(engine.TopicSpec{Name: "dead", Partitions: 2}); err != nil {
		t.Fatal(err)
	}
	// A raw connection that reads nothing, so it never answers a ping.
	conn, _, err := dialRaw(p.addr, "topic=dead&group=g3&offset=earliest", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	members := func() int {
		d, err := p.groups.Describe("g3")
		if err != nil {
			return -1
		}
		return len(d.Members)
	}
	// Nothing notifies a test of a membership change: poll with a deadline.
	waitFor := func(what string, cond func() bool) {
		t.Helper()
		for end := time.Now().Add(waitFrame); !cond(); time.Sleep(10 * time.Millisecond) {
			if time.Now().After(end) {
				t.Fatalf("timed out waiting until %s", what)
			}
		}
	}
	waitFor("the member joined", func() bool { return members() == 1 })
	waitFor("the member left", func() bool { return members() == 0 })
	// Read what the broker sent without answering its pings: it is gone.
	conn.SetPingHandler(func(string) error { return nil })
	var ce *websocket.CloseError
	for {
		_ = conn.SetReadDeadline(time.Now().Add(waitFrame))
		if _, _, err = conn.ReadMessage(); err != nil {
			break
		}
	}
	if !errors.As(err, &ce) || ce.Code != websocket.CloseGoingAway || !strings.Contains(ce.Text, "pong") {
		t.Fatalf("want close 1001 about the missing pong, got %v", err)
	}
}
