package group

import (
	"fmt"
	"strconv"

	"github.com/prometheus/client_golang/prometheus"
)

// GroupSummary is one group in a listing.
type GroupSummary struct {
	Group   string
	State   State
	Members int
}

// List returns every group, sorted by name.
func (m *Manager) List() []GroupSummary {
	now := m.cfg.Now()
	var out []GroupSummary
	for _, gs := range m.groupList() {
		gs.mu.Lock()
		if !gs.deleted {
			m.tickLocked(gs, now)
			out = append(out, GroupSummary{Group: gs.name, State: gs.c.State(), Members: gs.c.MemberCount()})
		}
		gs.mu.Unlock()
	}
	return out
}

// CommittedOffset is a committed offset with its partition's high watermark
// and the lag between them.
type CommittedOffset struct {
	TopicPartition
	Offset        int64
	HighWatermark int64
	Lag           int64
}

// GroupDescription is a snapshot of a group: the coordinator's description
// and the committed offsets with their lag.
type GroupDescription struct {
	Description
	Committed []CommittedOffset
}

// Describe returns a snapshot of the group, or ErrGroupNotFound.
func (m *Manager) Describe(group string) (GroupDescription, error) {
	gs, err := m.lockGroup(group, false)
	if err != nil {
		return GroupDescription{}, err
	}
	if gs == nil {
		return GroupDescription{}, fmt.Errorf("group %q: %w", group, ErrGroupNotFound)
	}
	defer gs.mu.Unlock()
	m.tickLocked(gs, m.cfg.Now())
	d := GroupDescription{Description: gs.c.Describe(), Committed: []CommittedOffset{}}
	for _, o := range d.Offsets {
		p, err := m.eng.Partition(o.Topic, o.Partition)
		if err != nil {
			continue
		}
		hw := p.Offsets().HighWatermark
		d.Committed = append(d.Committed, CommittedOffset{TopicPartition: o.TopicPartition, Offset: o.Offset,
			HighWatermark: hw, Lag: Lag(o.Offset, hw)})
	}
	return d, nil
}

// Lag returns the group's lag report (GET /groups/{g}/lag), or
// ErrGroupNotFound.
func (m *Manager) Lag(group string) (GroupLag, error) {
	gs, err := m.lockGroup(group, false)
	if err != nil {
		return GroupLag{}, err
	}
	if gs == nil {
		return GroupLag{}, fmt.Errorf("group %q: %w", group, ErrGroupNotFound)
	}
	defer gs.mu.Unlock()
	return m.lagLocked(gs), nil
}

// AllLag returns every group's lag report, sorted by group.
func (m *Manager) AllLag() []GroupLag {
	var out []GroupLag
	for _, gs := range m.groupList() {
		gs.mu.Lock()
		if !gs.deleted {
			out = append(out, m.lagLocked(gs))
		}
		gs.mu.Unlock()
	}
	return out
}

// lagLocked evaluates the group's lag now. gs.mu must be held.
func (m *Manager) lagLocked(gs *groupState) GroupLag {
	now := m.cfg.Now()
	m.tickLocked(gs, now)
	marks := make(map[TopicPartition]Watermarks)
	for _, tp := range gs.c.LagPartitions() {
		p, err := m.eng.Partition(tp.Topic, tp.Partition)
		if err != nil {
			continue
		}
		off := p.Offsets()
		marks[tp] = Watermarks{LogStart: off.LogStart, HighWatermark: off.HighWatermark}
	}
	return gs.c.Lag(now, marks)
}

// lagCollector exports the lag of every group's partitions at scrape time.
type lagCollector struct{ m *Manager }

var (
	lagDesc = prometheus.NewDesc("fjord_group_lag",
		"Consumer group lag: high watermark minus committed offset (the retained log when nothing is committed).",
		[]string{"group", "topic", "partition"}, nil)
	membersDesc = prometheus.NewDesc("fjord_group_members", "Live members of a consumer group.",
		[]string{"group"}, nil)
)

var _ prometheus.Collector = lagCollector{}

// Describe implements prometheus.Collector.
func (lagCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- lagDesc
	ch <- membersDesc
}

// Collect implements prometheus.Collector.
func (c lagCollector) Collect(ch chan<- prometheus.Metric) {
	for _, s := range c.m.List() {
		ch <- prometheus.MustNewConstMetric(membersDesc, prometheus.GaugeValue, float64(s.Members), s.Group)
	}
	for _, g := range c.m.AllLag() {
		for _, p := range g.Partitions {
			ch <- prometheus.MustNewConstMetric(lagDesc, prometheus.GaugeValue, float64(p.Lag),
				g.Group, p.Topic, strconv.Itoa(int(p.Partition)))
		}
	}
}
