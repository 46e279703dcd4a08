package group

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"

	"github.com/fjord-streaming/fjord/engine"
	"github.com/fjord-streaming/fjord/storage"
)

// clock is a controllable clock shared by the engine and the Manager.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.UnixMilli(1767225600000)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// env is a real engine on Pebble in memory with a Manager on top.
type env struct {
	fs    vfs.FS
	clock *clock
	cfg   ManagerConfig
	// broker is the engine's broker id.
	broker int32
	db     *storage.DB
	eng    *engine.Engine
	m      *Manager
}

func newEnv(t *testing.T, cfg ManagerConfig) *env {
	t.Helper()
	return newBrokerEnv(t, cfg, 0)
}

// newBrokerEnv is newEnv on an engine with the given broker id.
func newBrokerEnv(t *testing.T, cfg ManagerConfig, broker int32) *env {
	t.Helper()
	e := &env{fs: vfs.NewMem(), clock: newClock(), cfg: cfg, broker: broker}
	if e.cfg.Now == nil {
		e.cfg.Now = e.clock.Now
	}
	e.open(t)
	t.Cleanup(func() { e.close() })
	return e
}

func (e *env) open(t *testing.T) {
	t.Helper()
	db, err := storage.Open("db", storage.Options{FS: e.fs, CacheBytes: 1 << 20, MemTableBytes: 4 << 20})
	if err != nil {
		t.Fatal(err)
	}
	eng, err := engine.Open(db, engine.Config{BrokerID: e.broker, Now: e.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	m, err := NewManager(eng, e.cfg)
	if err != nil {
		t.Fatal(err)
	}
	e.db, e.eng, e.m = db, eng, m
}

func (e *env) close() {
	if e.m == nil {
		return
	}
	e.m.Close()
	e.eng.Close()
	_ = e.db.Close()
	e.m = nil
}

// reopen closes everything and opens the same data again, as a restart.
func (e *env) reopen(t *testing.T) {
	t.Helper()
	e.close()
	e.open(t)
}

func (e *env) createTopic(t *testing.T, name string, partitions int32) {
	t.Helper()
	if _, err := e.eng.CreateTopic(engine.TopicSpec{Name: name, Partitions: partitions}); err != nil {
		t.Fatal(err)
	}
}

// produce writes n records to each partition of topic, values "p<partition>-<i>".
func (e *env) produce(t *testing.T, topic string, partitions int32, n int) {
	t.Helper()
	var recs []engine.ProduceRecord
	for p := range partitions {
		for i := range n {
			v := fmt.Appendf(nil, `"p%d-%d"`, p, i)
			recs = append(recs, engine.ProduceRecord{Partition: p, Record: storage.Record{Timestamp: -1,
				ValueFormat: storage.FormatJSON, Value: v}})
		}
	}
	if _, err := e.eng.Produce(context.Background(), topic, recs, engine.AcksAll); err != nil {
		t.Fatal(err)
	}
}

func (e *env) join(t *testing.T, group string, req JoinRequest) MemberState {
	t.Helper()
	ms, err := e.m.Join(context.Background(), group, req)
	if err != nil {
		t.Fatalf("join %s: %v", group, err)
	}
	return ms
}

func (e *env) fetch(t *testing.T, group, member string, max int) FetchResult {
	t.Helper()
	res, err := e.m.Fetch(context.Background(), group, member, max, 1<<20, 0)
	if err != nil {
		t.Fatalf("fetch %s/%s: %v", group, member, err)
	}
	return res
}

// drain fetches until a fetch returns no records and returns all delivered.
func (e *env) drain(t *testing.T, group, member string) []TopicRecord {
	t.Helper()
	var all []TopicRecord
	for {
		res := e.fetch(t, group, member, 1000)
		if len(res.Records) == 0 {
			return all
		}
		all = append(all, res.Records...)
	}
}

func (e *env) commit(t *testing.T, group, member string, offs []OffsetCommit) []OffsetCommit {
	t.Helper()
	out, err := e.m.Commit(context.Background(), group, member, offs)
	if err != nil {
		t.Fatalf("commit %s/%s: %v", group, member, err)
	}
	return out
}

// committed returns the group's committed offsets as "topic/partition" -> offset.
func (e *env) committed(t *testing.T, group string) map[string]int64 {
	t.Helper()
	d, err := e.m.Describe(group)
	if err != nil {
		t.Fatalf("describe %s: %v", group, err)
	}
	out := map[string]int64{}
	for _, o := range d.Offsets {
		out[o.TopicPartition.String()] = o.Offset
	}
	return out
}

func parts(topic string, parts ...int32) []TopicPartition {
	out := make([]TopicPartition, 0, len(parts))
	for _, p := range parts {
		out = append(out, TopicPartition{Topic: topic, Partition: p})
	}
	return out
}

func recordKeys(recs []TopicRecord) []string {
	out := make([]string, 0, len(recs))
	for _, r := range recs {
		out = append(out, fmt.Sprintf("%s/%d@%d", r.Topic, r.Partition, r.Record.Offset))
	}
	slices.Sort(out)
	return out
}
