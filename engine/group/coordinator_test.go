package group

import (
	"errors"
	"slices"
	"testing"
	"time"
)

func newTestCoordinator(t *testing.T) *Coordinator {
	t.Helper()
	c, err := NewCoordinator("g", Config{})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestConfig(t *testing.T) {
	var cfg Config
	cfg.EnsureDefaults()
	if cfg.LagWindowSize != DefaultWindowSize || cfg.LagMinDistance != DefaultMinDistance {
		t.Fatalf("defaults: %+v", cfg)
	}
	if _, err := NewCoordinator("g", Config{LagWindowSize: -1}); !errors.Is(err, ErrInvalidConfig) {
		t.Fatalf("negative window: %v", err)
	}
}

func TestNewCoordinatorIsEmpty(t *testing.T) {
	c := newTestCoordinator(t)
	d := c.Describe()
	if d.State != StateEmpty || d.Generation != 0 || d.Assignor != AssignorRange ||
		len(d.Members) != 0 || len(d.Offsets) != 0 {
		t.Fatalf("new group: %+v", d)
	}
	if _, ok := c.Deadline(); ok {
		t.Fatal("deadline without members")
	}
	if g := c.Lag(time.UnixMilli(0), nil); g.Status != StatusOK || g.MaxLag != nil || len(g.Partitions) != 0 {
		t.Fatalf("lag of new group: %+v", g)
	}
}

func TestJoinRejectsEmptyID(t *testing.T) {
	c := newTestCoordinator(t)
	if _, err := c.Join(MemberSpec{Topics: []string{"t"}}, time.UnixMilli(0)); !errors.Is(err, ErrInvalidMemberID) {
		t.Fatalf("empty id: %v", err)
	}
	if c.Generation() != 0 {
		t.Fatal("failed join bumped the generation")
	}
}

func TestDeadline(t *testing.T) {
	c := newTestCoordinator(t)
	at := time.UnixMilli(1000)
	for id, timeout := range map[string]time.Duration{"a": 5 * time.Second, "b": 2 * time.Second} {
		if _, err := c.Join(MemberSpec{ID: id, Topics: []string{"t"}, SessionTimeout: timeout}, at); err != nil {
			t.Fatal(err)
		}
	}
	d, ok := c.Deadline()
	if !ok || !d.Equal(time.UnixMilli(3000)) {
		t.Fatalf("deadline %v %v", d, ok)
	}
	if got := c.Tick(d); got != nil {
		t.Fatalf("expired at the deadline: %v", got)
	}
	if got := c.Tick(d.Add(time.Millisecond)); !slices.Equal(got, []string{"b"}) {
		t.Fatalf("expired %v", got)
	}
	// A heartbeat from the past does not move last-seen back.
	must(t, c.Heartbeat("a", time.UnixMilli(0)))
	if d, _ := c.Deadline(); !d.Equal(time.UnixMilli(6000)) {
		t.Fatalf("deadline after old heartbeat %v", d)
	}
}

func TestObserveReportsGrants(t *testing.T) {
	c := newTestCoordinator(t)
	c.UpdateTopics(map[string]int32{"t": 2})
	at := time.UnixMilli(0)
	for _, id := range []string{"a", "b"} {
		if _, err := c.Join(MemberSpec{ID: id, Topics: []string{"t"}}, at); err != nil {
			t.Fatal(err)
		}
	}
	granted, err := c.Observe("b", c.Generation())
	if err != nil || len(granted) != 0 {
		t.Fatalf("b observing: %v %v", granted, err)
	}
	granted, err = c.Observe("a", c.Generation())
	if err != nil || !slices.Equal(granted, []string{"b"}) {
		t.Fatalf("a observing: %v %v", granted, err)
	}
	if _, err := c.Observe("a", -1); !errors.Is(err, ErrInvalidGeneration) {
		t.Fatalf("negative generation: %v", err)
	}
}

func TestRestoreOffsetFeedsLagWindow(t *testing.T) {
	c := newTestCoordinator(t)
	tp := TopicPartition{"t", 0}
	c.RestoreOffset(OffsetCommit{TopicPartition: tp, Offset: 5, HighWatermark: 9}, time.UnixMilli(0))
	c.RestoreOffset(OffsetCommit{TopicPartition: tp, Offset: 3, HighWatermark: -1}, time.UnixMilli(5000))
	if off, ok := c.Offset(tp); !ok || off != 3 {
		t.Fatalf("offset %d %v", off, ok)
	}
	g := c.Lag(time.UnixMilli(5000), map[TopicPartition]Watermarks{tp: {HighWatermark: 10}})
	p := g.Partitions[0]
	if p.Committed != 3 || p.Lag != 7 || len(p.Window) != 1 || p.Window[0].Lag != 4 {
		t.Fatalf("lag %+v", p)
	}
	if g.MaxLag == nil || g.MaxLag.TopicPartition != tp || g.TotalLag != 7 {
		t.Fatalf("group lag %+v", g)
	}
}

func TestLagPartitions(t *testing.T) {
	c := newTestCoordinator(t)
	c.UpdateTopics(map[string]int32{"a": 2, "b": 1})
	c.RestoreOffset(OffsetCommit{TopicPartition: TopicPartition{"old", 3}, Offset: 1, HighWatermark: -1}, time.UnixMilli(0))
	if _, err := c.Join(MemberSpec{ID: "m", Topics: []string{"a"}}, time.UnixMilli(0)); err != nil {
		t.Fatal(err)
	}
	want := []TopicPartition{{"a", 0}, {"a", 1}, {"old", 3}}
	if got := c.LagPartitions(); !slices.Equal(got, want) {
		t.Fatalf("LagPartitions %v, want %v", got, want)
	}
}

func TestErrorsMatch(t *testing.T) {
	c := newTestCoordinator(t)
	for _, err := range []error{
		c.Leave("x"),
		c.Heartbeat("x", time.UnixMilli(0)),
		c.Seek("x", TopicPartition{"t", 0}),
	} {
		if !errors.Is(err, ErrMemberNotFound) {
			t.Errorf("got %v, want ErrMemberNotFound", err)
		}
	}
	if _, err := c.Assignment("x"); !errors.Is(err, ErrMemberNotFound) {
		t.Errorf("Assignment: %v", err)
	}
}

func TestRestoreResetClearsWindow(t *testing.T) {
	c := newTestCoordinator(t)
	tp := TopicPartition{"gone", 0}
	c.RestoreOffset(OffsetCommit{TopicPartition: tp, Offset: 5, HighWatermark: 9}, time.UnixMilli(0))
	c.RestoreReset([]PartitionOffset{{tp, 1}}) // unchecked: the topic is unknown
	g := c.Lag(time.UnixMilli(0), map[TopicPartition]Watermarks{tp: {HighWatermark: 9}})
	if p := g.Partitions[0]; p.Committed != 1 || len(p.Window) != 0 {
		t.Fatalf("after reset replay: %+v", p)
	}
}
