package group

// The internal topic __consumer_offsets is the durable state of every group.
// One record per state change, keyed by the group name (a text key), so a
// group's records are in one partition: partition = toPositive(murmur2(group))
// mod the topic's partition count, Kafka's key hashing. The value is a JSON
// object, version 1:
//
//	{"v":1,"op":"commit","offsets":[{"topic":"orders","topic_id":7,"partition":0,"offset":42,"high_watermark":50}]}
//	{"v":1,"op":"reset","offsets":[{"topic":"orders","topic_id":7,"partition":0,"offset":0}]}
//	{"v":1,"op":"delete_topic","topic":"orders"}
//	{"v":1,"op":"delete_group"}
//	{"v":1,"op":"snapshot","offsets":[{"topic":"orders","topic_id":7,"partition":0,"offset":42,
//	                                   "window":[{"offset":40,"lag":2,"ts":1767225600000}]}]}
//
// The record timestamp is the time of the change: a commit enters the lag
// window at it, so lag status survives restarts. topic_id is the topic's
// incarnation: replay skips offsets of a topic that was deleted (and maybe
// created again) since, even if the delete_topic record was lost. A snapshot
// replaces all of a group's offsets and lag windows.
//
// Compaction: once CompactAfter records were appended to a partition since
// its last compaction, the partition is frozen (writers hold its lock
// shared, compaction exclusively), one snapshot record per group of the
// partition that has offsets is appended in one write, and the log start is
// advanced to the first snapshot (DeleteRecordsBefore). Everything before
// it is superseded, so a partition holds at most its groups' snapshots plus
// CompactAfter records. The topic is created with time and size retention
// off; only compaction removes records.
//
// Records that do not decode (the topic is writable like any other) are
// skipped with a warning at replay.
//
// Only the coordinator writes, as the partition's leader and with acks=all:
// a change is answered once every in-sync replica has it, so it survives
// the coordinator's failover; the new leader replays the partition
// (coordination.go). The topic is created with the default replication
// factor, min(3, live brokers).

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/fjord-streaming/fjord/engine"
	"github.com/fjord-streaming/fjord/engine/partitioner"
	"github.com/fjord-streaming/fjord/storage"
)

// OffsetsTopic is the internal topic holding committed offsets.
const OffsetsTopic = "__consumer_offsets"

const logVersion = 1

// Operations of __consumer_offsets records.
const (
	opCommit      = "commit"
	opReset       = "reset"
	opDeleteTopic = "delete_topic"
	opDeleteGroup = "delete_group"
	opSnapshot    = "snapshot"
)

// logEntry is the value of one __consumer_offsets record.
type logEntry struct {
	Version int         `json:"v"`
	Op      string      `json:"op"`
	Offsets []logOffset `json:"offsets,omitempty"`
	Topic   string      `json:"topic,omitempty"` // delete_topic
}

// logOffset is one partition's offset in a record.
type logOffset struct {
	Topic     string `json:"topic"`
	TopicID   uint64 `json:"topic_id"`
	Partition int32  `json:"partition"`
	Offset    int64  `json:"offset"`
	// HighWatermark (commit) is the partition's high watermark at commit time.
	HighWatermark *int64 `json:"high_watermark,omitempty"`
	// Window (snapshot) is the partition's lag window, oldest first.
	Window []logWindowEntry `json:"window,omitempty"`
}

type logWindowEntry struct {
	Offset int64 `json:"offset"`
	Lag    int64 `json:"lag"`
	Time   int64 `json:"ts"`
}

func (o logOffset) tp() TopicPartition { return TopicPartition{Topic: o.Topic, Partition: o.Partition} }

// offsetLog reads and writes __consumer_offsets.
type offsetLog struct {
	eng          *engine.Engine
	spec         engine.TopicSpec
	compactAfter int64
	// timeout bounds a write's wait for the in-sync replicas.
	timeout time.Duration
	parts   []logPartition
	// due is signalled when some partition needs compaction.
	due chan struct{}
}

// logPartition is the write state of one partition of the topic.
type logPartition struct {
	// mu is held shared by every writer (with the group's lock inside it)
	// and exclusively by compaction, which so sees a frozen partition.
	mu sync.RWMutex
	// since counts records appended since the last compaction.
	since atomic.Int64
}

func newOffsetLog(eng *engine.Engine, cfg ManagerConfig) *offsetLog {
	n := cfg.OffsetsPartitions
	if t, err := eng.Topic(OffsetsTopic); err == nil {
		n = int32(len(t.Partitions()))
	}
	return &offsetLog{
		eng: eng,
		spec: engine.TopicSpec{Name: OffsetsTopic, Partitions: n, Internal: true, Config: map[string]int64{
			"retention.ms": -1, "retention.bytes": -1, "max.message.bytes": 64 << 20}},
		compactAfter: int64(cfg.CompactAfter),
		timeout:      cfg.CommitTimeout,
		parts:        make([]logPartition, n),
		due:          make(chan struct{}, 1),
	}
}

// partition is the partition holding group's records.
func (l *offsetLog) partition(group string) int32 {
	return partitioner.ForKey([]byte(group), int32(len(l.parts)))
}

// Coordinator returns the broker that coordinates group: the leader of the
// group's partition of __consumer_offsets, which it creates when missing
// (like Kafka's FindCoordinator, so a cluster that formed first spreads it
// over all its brokers).
func (m *Manager) Coordinator(group string) (int32, error) {
	if err := m.log.ensure(); err != nil {
		return -1, err
	}
	p, err := m.eng.Partition(OffsetsTopic, m.log.partition(group))
	if err != nil {
		return -1, err
	}
	leader := p.Placement().Leader
	if leader < 0 {
		return -1, fmt.Errorf("%w: the coordinator of group %q is offline", engine.ErrLeaderNotAvailable, group)
	}
	return leader, nil
}

// ensure creates the topic when missing. Call it before taking any group
// lock: creating a topic runs the engine's topic hooks, which take them.
func (l *offsetLog) ensure() error {
	if _, err := l.eng.Topic(OffsetsTopic); err == nil {
		return nil
	}
	if _, err := l.eng.EnsureTopic(l.spec); err != nil {
		return fmt.Errorf("create %s: %w", OffsetsTopic, err)
	}
	return nil
}

// keyedEntry is one record to write: a group and its entry.
type keyedEntry struct {
	group string
	entry logEntry
}

// appendLog writes records to partition p for state of the given term,
// which must still be the partition's current one (see offsetLog.append).
func (m *Manager) appendLog(ctx context.Context, p int32, term uint64, at time.Time, items ...keyedEntry) (int64, error) {
	m.mu.Lock()
	err := m.checkTermLocked(p, term)
	m.mu.Unlock()
	if err != nil {
		return 0, fmt.Errorf("group %q: %w", items[0].group, err)
	}
	return m.log.append(ctx, p, at, items...)
}

// append writes records to partition p as its leader, in order, in one
// write, and returns the offset of the first once every in-sync replica
// has them (acks=all), waiting at most the commit timeout (then
// engine.ErrTimeout; the records stay and may still commit). A broker that
// does not lead p fails with engine.ErrNotLeader: a coordinator never
// forwards its writes. The wait is not abandoned when ctx ends: memory
// already changed.
func (l *offsetLog) append(ctx context.Context, p int32, at time.Time, items ...keyedEntry) (int64, error) {
	recs := make([]storage.Record, len(items))
	for i := range items {
		items[i].entry.Version = logVersion
		v, err := json.Marshal(items[i].entry)
		if err != nil {
			return 0, err
		}
		recs[i] = storage.Record{Timestamp: at.UnixMilli(), KeyFormat: storage.FormatText, Key: []byte(items[i].group),
			ValueFormat: storage.FormatJSON, Value: v}
	}
	base, err := l.eng.AppendLeader(context.WithoutCancel(ctx), OffsetsTopic, p, recs, engine.AcksAll, l.timeout)
	if err != nil {
		return 0, fmt.Errorf("write %s/%d for group %q: %w", OffsetsTopic, p, items[0].group, err)
	}
	l.wrote(p, len(recs))
	return base, nil
}

// wrote counts records appended to p outside compaction and signals due
// once p needs compacting.
func (l *offsetLog) wrote(p int32, n int) {
	if l.parts[p].since.Add(int64(n)) >= l.compactAfter {
		select {
		case l.due <- struct{}{}:
		default:
		}
	}
}

// replayRecord is one decoded record met during replay.
type replayRecord struct {
	group string
	entry logEntry
	at    time.Time
}

// read reads part from its log start up to end, which its HW must have
// reached, and hands each decodable record to fn in log order; undecodable
// ones are reported through skip. It returns the log start it read from.
func (l *offsetLog) read(part *engine.Partition, end int64, fn func(replayRecord), skip func(offset int64, err error)) (int64, error) {
	start := part.LocalOffsets().LogStart
	for from := start; from < end; {
		res, err := part.ReadLocal(from, int(min(1000, end-from)), 4<<20)
		if err != nil {
			return start, fmt.Errorf("read at %d: %w", from, err)
		}
		if len(res.Records) == 0 {
			return start, fmt.Errorf("read at %d: nothing below the high watermark %d, want records up to %d", from,
				res.HighWatermark, end)
		}
		for i := range res.Records {
			r := &res.Records[i]
			if r.Offset >= end {
				return start, nil
			}
			rr, err := decodeLogRecord(r)
			if err != nil {
				skip(r.Offset, err)
				continue
			}
			fn(rr)
		}
		from = res.NextOffset
	}
	return start, nil
}

func decodeLogRecord(r *storage.Record) (replayRecord, error) {
	if r.KeyFormat != storage.FormatText || len(r.Key) == 0 {
		return replayRecord{}, errors.New("key is not a group name")
	}
	var e logEntry
	if err := json.Unmarshal(r.Value, &e); err != nil {
		return replayRecord{}, err
	}
	if e.Version != logVersion {
		return replayRecord{}, fmt.Errorf("unknown version %d", e.Version)
	}
	switch e.Op {
	case opCommit, opReset, opDeleteTopic, opDeleteGroup, opSnapshot:
	default:
		return replayRecord{}, fmt.Errorf("unknown op %q", e.Op)
	}
	return replayRecord{group: string(r.Key), entry: e, at: time.UnixMilli(r.Timestamp)}, nil
}

// topicIDs maps the named topics (without names: every topic) to their
// incarnation ids; missing topics are left out.
func topicIDs(eng *engine.Engine, names ...string) map[string]uint64 {
	if len(names) == 0 {
		for _, ti := range eng.Topics(true) {
			names = append(names, ti.Name)
		}
	}
	ids := make(map[string]uint64, len(names))
	for _, n := range names {
		if _, ok := ids[n]; ok {
			continue
		}
		if t, err := eng.Topic(n); err == nil {
			ids[n] = t.ID()
		}
	}
	return ids
}

// offsetTopics lists the topics of offs.
func offsetTopics(offs []OffsetCommit) []string {
	names := make([]string, 0, 1)
	for _, o := range offs {
		if len(names) == 0 || names[len(names)-1] != o.Topic {
			names = append(names, o.Topic)
		}
	}
	return names
}

// apply replays one record onto c. ids are the current topic ids; offsets
// of other incarnations are skipped.
func (rr replayRecord) apply(c *Coordinator, ids map[string]uint64) {
	current := func(o logOffset) bool { id, ok := ids[o.Topic]; return ok && id == o.TopicID }
	e := rr.entry
	switch e.Op {
	case opCommit:
		for _, o := range e.Offsets {
			if current(o) {
				hw := int64(-1)
				if o.HighWatermark != nil {
					hw = *o.HighWatermark
				}
				c.RestoreOffset(OffsetCommit{TopicPartition: o.tp(), Offset: o.Offset, HighWatermark: hw}, rr.at)
			}
		}
	case opReset:
		var offs []PartitionOffset
		for _, o := range e.Offsets {
			if current(o) {
				offs = append(offs, PartitionOffset{TopicPartition: o.tp(), Offset: o.Offset})
			}
		}
		c.RestoreReset(offs)
	case opSnapshot:
		var states []OffsetState
		for _, o := range e.Offsets {
			if !current(o) {
				continue
			}
			s := OffsetState{PartitionOffset: PartitionOffset{TopicPartition: o.tp(), Offset: o.Offset}}
			for _, w := range o.Window {
				s.Window = append(s.Window, WindowEntry{Offset: w.Offset, Lag: w.Lag, Time: time.UnixMilli(w.Time)})
			}
			states = append(states, s)
		}
		c.RestoreOffsetStates(states)
	case opDeleteTopic:
		c.DeleteTopic(e.Topic)
	}
}

// offsetEntry builds a commit or reset record.
func offsetEntry(op string, ids map[string]uint64, offs []OffsetCommit) logEntry {
	e := logEntry{Op: op, Offsets: make([]logOffset, 0, len(offs))}
	for _, o := range offs {
		lo := logOffset{Topic: o.Topic, TopicID: ids[o.Topic], Partition: o.Partition, Offset: o.Offset}
		if op == opCommit && o.HighWatermark >= 0 {
			hw := o.HighWatermark
			lo.HighWatermark = &hw
		}
		e.Offsets = append(e.Offsets, lo)
	}
	return e
}

// snapshotEntry builds the snapshot record of c.
func snapshotEntry(c *Coordinator, ids map[string]uint64) logEntry {
	e := logEntry{Op: opSnapshot}
	for _, s := range c.OffsetStates() {
		lo := logOffset{Topic: s.Topic, TopicID: ids[s.Topic], Partition: s.Partition, Offset: s.Offset}
		for _, w := range s.Window {
			lo.Window = append(lo.Window, logWindowEntry{Offset: w.Offset, Lag: w.Lag, Time: w.Time.UnixMilli()})
		}
		e.Offsets = append(e.Offsets, lo)
	}
	return e
}

// compact snapshots every group of partition p that has offsets and drops
// the records the snapshots supersede, while this broker coordinates p.
func (m *Manager) compact(ctx context.Context, p int32) error {
	if err := m.log.ensure(); err != nil {
		return err
	}
	lp := &m.log.parts[p]
	lp.mu.Lock()
	defer lp.mu.Unlock()
	m.mu.Lock()
	term, err := m.gateLocked(p)
	m.mu.Unlock()
	if err != nil {
		return nil // not coordinating p: its coordinator compacts it
	}
	part, err := m.eng.Partition(OffsetsTopic, p)
	if err != nil {
		return err
	}
	ids := topicIDs(m.eng)
	now := m.cfg.Now()
	cut := part.Offsets().HighWatermark
	// The partition is frozen: no writer holds lp.mu, so every group's
	// offsets equal what its records say. Groups are written in name order.
	var groups []*groupState
	for _, gs := range m.groupList() {
		if gs.part == p && gs.term == term {
			groups = append(groups, gs)
		}
	}
	var snaps []keyedEntry
	for _, gs := range groups {
		gs.mu.Lock()
		if !gs.deleted && gs.c.HasOffsets("") {
			snaps = append(snaps, keyedEntry{gs.name, snapshotEntry(gs.c, ids)})
		}
		gs.mu.Unlock()
	}
	if len(snaps) > 0 {
		if cut, err = m.appendLog(ctx, p, term, now, snaps...); err != nil {
			return err
		}
	}
	before := part.Offsets().LogStart
	start, err := part.DeleteRecordsBefore(cut)
	if err != nil {
		return err
	}
	lp.since.Store(0)
	m.cfg.Logger.Debug("compacted consumer offsets", "partition", p, "groups", len(snaps),
		"dropped", start-before, "log_start", start)
	return nil
}

// compactDue compacts every partition that reached CompactAfter.
func (m *Manager) compactDue(ctx context.Context) {
	for p := range m.log.parts {
		if m.log.parts[p].since.Load() < m.log.compactAfter {
			continue
		}
		if err := m.compact(ctx, int32(p)); err != nil {
			m.cfg.Logger.Error("compacting consumer offsets failed", "partition", p, "err", err)
		}
	}
}
