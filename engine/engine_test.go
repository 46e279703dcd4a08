package engine_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"

	"github.com/fjord-streaming/fjord/engine"
	"github.com/fjord-streaming/fjord/storage"
)

// fakeClock is a settable clock for Config.Now.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func newClock() *fakeClock { return &fakeClock{now: time.UnixMilli(1767225600000)} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// env is an engine on real Pebble over an in-memory file system. reopen
// closes engine and storage and opens both again on the same files.
type env struct {
	t   testing.TB
	fs  vfs.FS
	cfg engine.Config
	db  *storage.DB
	e   *engine.Engine
}

func newEnv(t testing.TB, opts ...func(*engine.Config)) *env {
	t.Helper()
	v := &env{t: t, fs: vfs.NewMem(), cfg: engine.Config{BrokerID: 1}}
	for _, o := range opts {
		o(&v.cfg)
	}
	v.open()
	t.Cleanup(v.close)
	return v
}

func autoCreate(c *engine.Config) { c.AutoCreateTopics = true }

func withClock(clk *fakeClock) func(*engine.Config) {
	return func(c *engine.Config) { c.Now = clk.Now }
}

func (v *env) open() {
	v.t.Helper()
	db, err := storage.Open("db", storage.Options{FS: v.fs, CacheBytes: 1 << 20, MemTableBytes: 4 << 20})
	if err != nil {
		v.t.Fatal(err)
	}
	e, err := engine.Open(db, v.cfg)
	if err != nil {
		_ = db.Close()
		v.t.Fatal(err)
	}
	v.db, v.e = db, e
}

func (v *env) close() {
	if v.e == nil {
		return
	}
	v.e.Close()
	if err := v.db.Close(); err != nil {
		v.t.Error(err)
	}
	v.e, v.db = nil, nil
}

func (v *env) reopen() {
	v.t.Helper()
	v.close()
	v.open()
}

func (v *env) create(name string, partitions int32, config map[string]int64) engine.TopicInfo {
	v.t.Helper()
	ti, err := v.e.CreateTopic(engine.TopicSpec{Name: name, Partitions: partitions, Config: config})
	if err != nil {
		v.t.Fatal(err)
	}
	return ti
}

// value is a keyless record the partitioner places, stamped by the broker.
func value(json string) engine.ProduceRecord {
	return engine.ProduceRecord{Partition: -1, Record: storage.Record{Timestamp: -1, ValueFormat: storage.FormatJSON, Value: []byte(json)}}
}

func keyed(key, json string) engine.ProduceRecord {
	r := value(json)
	r.KeyFormat, r.Key = storage.FormatText, []byte(key)
	return r
}

func at(partition int32, json string) engine.ProduceRecord {
	r := value(json)
	r.Partition = partition
	return r
}

func stamped(partition int32, ts int64, json string) engine.ProduceRecord {
	r := at(partition, json)
	r.Timestamp = ts
	return r
}

func (v *env) produce(topic string, acks engine.Acks, recs ...engine.ProduceRecord) []engine.ProduceResult {
	v.t.Helper()
	res, err := v.e.Produce(context.Background(), topic, recs, acks)
	if err != nil {
		v.t.Fatalf("produce to %s: %v", topic, err)
	}
	for i, r := range res {
		if r.Err != nil {
			v.t.Fatalf("produce to %s: record %d: %v", topic, i, r.Err)
		}
	}
	return res
}

// readAll reads every committed record of a partition from offset from.
func (v *env) readAll(topic string, partition int32, from int64) []storage.Record {
	v.t.Helper()
	var out []storage.Record
	for {
		res, err := v.e.Fetch(context.Background(), topic, partition, engine.FetchRequest{Offset: from, MaxRecords: 1000, MaxBytes: 1 << 20})
		if err != nil {
			v.t.Fatalf("fetch %s/%d at %d: %v", topic, partition, from, err)
		}
		if len(res.Records) == 0 {
			return out
		}
		out = append(out, res.Records...)
		from = res.NextOffset
	}
}

func (v *env) offsets(topic string, partition int32) engine.Offsets {
	v.t.Helper()
	p, err := v.e.Partition(topic, partition)
	if err != nil {
		v.t.Fatal(err)
	}
	return p.Offsets()
}

func values(recs []storage.Record) []string {
	var out []string
	for _, r := range recs {
		out = append(out, string(r.Value))
	}
	return out
}

func TestTopicLifecycle(t *testing.T) {
	v := newEnv(t)
	e := v.e
	v0 := e.MetadataVersion()
	ti := v.create("orders", 0, nil)
	if ti.Name != "orders" || len(ti.Partitions) != 1 || ti.ReplicationFactor != 1 || ti.Config != engine.DefaultTopicConfig() {
		t.Fatalf("created %+v", ti)
	}
	p := ti.Partitions[0]
	if p.Leader != 1 || fmt.Sprint(p.Replicas, p.ISR) != "[1] [1]" || len(p.ISR) != 1 || p.LogEnd != 0 || p.HighWatermark != 0 {
		t.Fatalf("partition %+v", p)
	}
	if _, err := e.CreateTopic(engine.TopicSpec{Name: "orders"}); !errors.Is(err, engine.ErrTopicExists) {
		t.Fatalf("create twice: %v", err)
	}
	v.create("b-topic", 3, map[string]int64{"retention.ms": -1})
	if _, err := e.CreateTopic(engine.TopicSpec{Name: "__internal", Internal: true}); err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, ti := range e.Topics(false) {
		names = append(names, ti.Name)
	}
	if fmt.Sprint(names) != "[b-topic orders]" {
		t.Fatalf("Topics(false) = %v", names)
	}
	if n := len(e.Topics(true)); n != 3 {
		t.Fatalf("Topics(true) has %d topics", n)
	}

	d, err := e.DescribeTopic("b-topic")
	if err != nil || len(d.Partitions) != 3 || d.Config.RetentionMs != -1 || d.Config.MaxMessageBytes != 1<<20 {
		t.Fatalf("describe: %+v, %v", d, err)
	}
	if _, err := e.DescribeTopic("nope"); !errors.Is(err, engine.ErrTopicNotFound) {
		t.Fatalf("describe missing: %v", err)
	}

	six := int32(6)
	d, err = e.UpdateTopic("b-topic", engine.TopicUpdate{Partitions: &six, Config: map[string]int64{"retention.bytes": 1000}})
	if err != nil || len(d.Partitions) != 6 || d.Config.RetentionBytes != 1000 || d.Config.RetentionMs != -1 {
		t.Fatalf("update: %+v, %v", d, err)
	}
	two := int32(2)
	if _, err := e.UpdateTopic("b-topic", engine.TopicUpdate{Partitions: &two}); !errors.Is(err, engine.ErrPartitionDecrease) {
		t.Fatalf("decrease: %v", err)
	}
	if _, err := e.UpdateTopic("nope", engine.TopicUpdate{Partitions: &six}); !errors.Is(err, engine.ErrTopicNotFound) {
		t.Fatalf("update missing: %v", err)
	}
	if d, _ = e.DescribeTopic("b-topic"); len(d.Partitions) != 6 {
		t.Fatalf("failed decrease changed the topic: %d partitions", len(d.Partitions))
	}
	if e.MetadataVersion() <= v0 {
		t.Fatalf("metadata version did not move: %d", e.MetadataVersion())
	}

	var deleted []string
	e.OnTopicDeleted(func(topic string) { deleted = append(deleted, topic) })
	if err := e.DeleteTopic("b-topic"); err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(deleted) != "[b-topic]" {
		t.Fatalf("delete hooks saw %v", deleted)
	}
	if _, err := e.Topic("b-topic"); !errors.Is(err, engine.ErrTopicNotFound) {
		t.Fatalf("after delete: %v", err)
	}
	if err := e.DeleteTopic("b-topic"); !errors.Is(err, engine.ErrTopicNotFound) {
		t.Fatalf("delete twice: %v", err)
	}
}

func TestRecreatedTopicStartsEmpty(t *testing.T) {
	v := newEnv(t)
	v.create("t", 2, nil)
	for range 3 {
		v.produce("t", engine.AcksLeader, at(0, `"old"`), at(1, `"old"`))
	}
	old, err := v.e.Partition("t", 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := v.e.DeleteTopic("t"); err != nil {
		t.Fatal(err)
	}
	if !old.Closed() {
		t.Fatal("partition of a deleted topic is not closed")
	}
	if _, err := old.Append([]storage.Record{{Timestamp: 1}}); !errors.Is(err, engine.ErrTopicNotFound) {
		t.Fatalf("append to a deleted partition: %v", err)
	}
	v.create("t", 1, nil)
	if o := v.offsets("t", 0); o != (engine.Offsets{}) {
		t.Fatalf("recreated topic offsets %+v", o)
	}
	res := v.produce("t", engine.AcksLeader, at(0, `"new"`))
	if res[0].Offset != 0 {
		t.Fatalf("first offset of the recreated topic: %d", res[0].Offset)
	}
	if got := values(v.readAll("t", 0, 0)); fmt.Sprint(got) != `["new"]` {
		t.Fatalf("recreated topic holds %v", got)
	}
	if _, err := v.e.Partition("t", 1); !errors.Is(err, engine.ErrPartitionNotFound) {
		t.Fatalf("old partition count leaked: %v", err)
	}
	// The old incarnation's data is gone after a restart too.
	v.reopen()
	if got := values(v.readAll("t", 0, 0)); fmt.Sprint(got) != `["new"]` {
		t.Fatalf("after reopen the topic holds %v", got)
	}
}

func TestTopicNameValidation(t *testing.T) {
	v := newEnv(t)
	tests := []struct {
		name string
		ok   bool
	}{
		{"orders", true},
		{"a", true},
		{"A-Z_a.z-0.9", true},
		{"_single", true},
		{"a__b", true},
		{"...", true},
		{strings.Repeat("x", 249), true},
		{"", false},
		{".", false},
		{"..", false},
		{"__x", false},
		{"__consumer_offsets", false},
		{strings.Repeat("x", 250), false},
		{"a b", false},
		{"a/b", false},
		{"a:b", false},
		{"ü", false},
		{"orders\n", false},
		{"a*", false},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%.20q", tt.name), func(t *testing.T) {
			err := engine.ValidateTopicName(tt.name)
			_, cerr := v.e.CreateTopic(engine.TopicSpec{Name: tt.name})
			if tt.ok {
				if err != nil || cerr != nil {
					t.Fatalf("rejected: %v / %v", err, cerr)
				}
				return
			}
			if !errors.Is(err, engine.ErrInvalidTopicName) || !errors.Is(cerr, engine.ErrInvalidTopicName) {
				t.Fatalf("accepted or wrong error: %v / %v", err, cerr)
			}
		})
	}
	t.Run("internal", func(t *testing.T) {
		if _, err := v.e.CreateTopic(engine.TopicSpec{Name: "__consumer_offsets", Internal: true}); err != nil {
			t.Fatal(err)
		}
		if _, err := v.e.CreateTopic(engine.TopicSpec{Name: "plain", Internal: true}); !errors.Is(err, engine.ErrInvalidTopicName) {
			t.Fatalf("internal without __: %v", err)
		}
	})
}

func TestTopicConfigValidation(t *testing.T) {
	v := newEnv(t)
	tests := []struct {
		name   string
		spec   engine.TopicSpec
		errIs  error
		config func(engine.TopicConfig) bool
	}{
		{name: "defaults", spec: engine.TopicSpec{}, config: func(c engine.TopicConfig) bool { return c == engine.DefaultTopicConfig() }},
		{name: "unlimited retention", spec: engine.TopicSpec{Config: map[string]int64{"retention.ms": -1, "retention.bytes": -1}},
			config: func(c engine.TopicConfig) bool { return c.RetentionMs == -1 && c.RetentionBytes == -1 }},
		{name: "every key", spec: engine.TopicSpec{Config: map[string]int64{"retention.ms": 5, "retention.bytes": 0,
			"min.insync.replicas": 2, "max.message.bytes": 1, "replica.lag.time.max.ms": 1, "unclean.leader.election.enable": 1}},
			config: func(c engine.TopicConfig) bool {
				return c == engine.TopicConfig{RetentionMs: 5, RetentionBytes: 0, MinInsyncReplicas: 2, MaxMessageBytes: 1,
					ReplicaLagTimeMaxMs: 1, UncleanLeaderElectOK: 1}
			}},
		{name: "unknown key", spec: engine.TopicSpec{Config: map[string]int64{"cleanup.policy": 1}}, errIs: engine.ErrInvalidRequest},
		{name: "retention.ms -2", spec: engine.TopicSpec{Config: map[string]int64{"retention.ms": -2}}, errIs: engine.ErrInvalidRequest},
		{name: "retention.bytes -2", spec: engine.TopicSpec{Config: map[string]int64{"retention.bytes": -2}}, errIs: engine.ErrInvalidRequest},
		{name: "min.insync.replicas 0", spec: engine.TopicSpec{Config: map[string]int64{"min.insync.replicas": 0}}, errIs: engine.ErrInvalidRequest},
		{name: "max.message.bytes 0", spec: engine.TopicSpec{Config: map[string]int64{"max.message.bytes": 0}}, errIs: engine.ErrInvalidRequest},
		{name: "replica.lag.time.max.ms 0", spec: engine.TopicSpec{Config: map[string]int64{"replica.lag.time.max.ms": 0}}, errIs: engine.ErrInvalidRequest},
		{name: "unclean 2", spec: engine.TopicSpec{Config: map[string]int64{"unclean.leader.election.enable": 2}}, errIs: engine.ErrInvalidRequest},
		{name: "negative partitions", spec: engine.TopicSpec{Partitions: -1}, errIs: engine.ErrInvalidRequest},
		{name: "too many partitions", spec: engine.TopicSpec{Partitions: 10001}, errIs: engine.ErrInvalidRequest},
		{name: "replication above live brokers", spec: engine.TopicSpec{ReplicationFactor: 2}, errIs: engine.ErrInvalidRequest},
		{name: "negative replication", spec: engine.TopicSpec{ReplicationFactor: -1}, errIs: engine.ErrInvalidRequest},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.spec.Name = fmt.Sprintf("t%d", i)
			ti, err := v.e.CreateTopic(tt.spec)
			if tt.errIs != nil {
				if !errors.Is(err, tt.errIs) {
					t.Fatalf("err %v, want %v", err, tt.errIs)
				}
				if _, err := v.e.Topic(tt.spec.Name); !errors.Is(err, engine.ErrTopicNotFound) {
					t.Fatalf("a rejected create left a topic: %v", err)
				}
				return
			}
			if err != nil || !tt.config(ti.Config) {
				t.Fatalf("config %+v, %v", ti.Config, err)
			}
		})
	}
	t.Run("bad update changes nothing", func(t *testing.T) {
		v.create("upd", 1, map[string]int64{"retention.ms": 1000})
		three := int32(3)
		_, err := v.e.UpdateTopic("upd", engine.TopicUpdate{Partitions: &three, Config: map[string]int64{"retention.ms": 5, "nope": 1}})
		if !errors.Is(err, engine.ErrInvalidRequest) {
			t.Fatalf("err %v", err)
		}
		d, _ := v.e.DescribeTopic("upd")
		if d.Config.RetentionMs != 1000 || len(d.Partitions) != 1 {
			t.Fatalf("bad update applied: %+v", d)
		}
	})
	if keys := engine.ConfigKeys(); len(keys) != 6 || keys[0] != "max.message.bytes" {
		t.Fatalf("ConfigKeys = %v", keys)
	}
}

func TestReopenKeepsEverything(t *testing.T) {
	v := newEnv(t)
	v.create("keep", 3, map[string]int64{"retention.ms": 123456, "max.message.bytes": 4096})
	v.create("gone", 1, nil)
	for i := range 10 {
		v.produce("keep", engine.AcksLeader, at(int32(i%3), fmt.Sprintf(`{"i":%d, "f":1.0}`, i)))
	}
	if err := v.e.DeleteTopic("gone"); err != nil {
		t.Fatal(err)
	}
	clusterID, version := v.e.ClusterID(), v.e.MetadataVersion()
	before := map[int32][]string{}
	for p := range int32(3) {
		before[p] = values(v.readAll("keep", p, 0))
	}
	// acks=0 records are written in the background; Close waits for them.
	v.produce("keep", engine.AcksNone, at(0, `"fire-and-forget"`))
	before[0] = append(before[0], `"fire-and-forget"`)

	v.reopen()
	if v.e.ClusterID() != clusterID || v.e.MetadataVersion() != version {
		t.Fatalf("cluster id / version %s/%d, want %s/%d", v.e.ClusterID(), v.e.MetadataVersion(), clusterID, version)
	}
	if _, err := v.e.Topic("gone"); !errors.Is(err, engine.ErrTopicNotFound) {
		t.Fatalf("deleted topic came back: %v", err)
	}
	d, err := v.e.DescribeTopic("keep")
	if err != nil || len(d.Partitions) != 3 || d.Config.RetentionMs != 123456 || d.Config.MaxMessageBytes != 4096 {
		t.Fatalf("after reopen: %+v, %v", d, err)
	}
	for p := range int32(3) {
		got := values(v.readAll("keep", p, 0))
		if fmt.Sprint(got) != fmt.Sprint(before[p]) {
			t.Fatalf("partition %d after reopen: %v, want %v", p, got, before[p])
		}
	}
	if got := before[0]; len(got) != 5 || got[4] != `"fire-and-forget"` {
		t.Fatalf("partition 0 before reopen: %v", got)
	}
	res := v.produce("keep", engine.AcksLeader, at(0, `"next"`))
	if res[0].Offset != 5 {
		t.Fatalf("append after reopen at offset %d, want 5", res[0].Offset)
	}
	if o := v.offsets("keep", 0); o.LogEnd != 6 || o.HighWatermark != 6 || o.LogStart != 0 {
		t.Fatalf("offsets after reopen and append: %+v", o)
	}
}
