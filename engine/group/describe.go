package group

import (
	"maps"
	"slices"
	"time"
)

// MemberDescription is one member as Describe reports it.
type MemberDescription struct {
	ID             string
	Topics         []string // subscribed, sorted
	SessionTimeout time.Duration
	LastSeen       time.Time // last heartbeat, fetch, commit or join
	Observed       int64     // highest generation the member has observed
	// Assignment is the effective assignment (what the member is handed).
	Assignment []TopicPartition
	// Target is what the assignor gave the member; it differs from
	// Assignment while partitions wait for their previous owner.
	Target []TopicPartition
	// Releasing are partitions the member still holds although the current
	// generation took them away: it has not observed that yet.
	Releasing []TopicPartition
}

// Description is a snapshot of a group for GET /groups/{g}.
type Description struct {
	Group      string
	State      State
	Generation int64
	Assignor   string
	Members    []MemberDescription // sorted by id
	Offsets    []PartitionOffset   // committed, sorted
}

// Describe returns a snapshot of the group. Call Tick first so members past
// their deadline are gone.
func (c *Coordinator) Describe() Description {
	d := Description{
		Group:      c.group,
		State:      c.State(),
		Generation: c.generation,
		Assignor:   c.assignor.Name(),
		Members:    []MemberDescription{},
		Offsets:    c.Offsets(),
	}
	for _, id := range c.memberIDs() {
		m := c.members[id]
		d.Members = append(d.Members, MemberDescription{
			ID:             id,
			Topics:         slices.Clone(m.topics),
			SessionTimeout: m.timeout,
			LastSeen:       m.last,
			Observed:       m.seen,
			Assignment:     c.effective(id),
			Target:         slices.Clone(c.target[id]),
			Releasing:      c.releasing(id),
		})
	}
	return d
}

// Watermarks are the offsets of a partition's log the lag report needs,
// supplied by the driver.
type Watermarks struct {
	LogStart      int64
	HighWatermark int64
}

// PartitionLag is the lag of one partition.
type PartitionLag struct {
	TopicPartition
	Committed     int64 // -1 when nothing is committed
	HighWatermark int64
	Lag           int64 // high watermark - committed (or log start), never negative
	Status        Status
	Window        []WindowEntry // oldest first
}

// GroupLag is the lag report of a group (GET /groups/{g}/lag).
type GroupLag struct {
	Group      string
	Status     Status // OK, WARNING or ERROR
	TotalLag   int64
	MaxLag     *PartitionLag // the partition with the largest lag (first on ties); nil without partitions
	Partitions []PartitionLag
}

// LagPartitions lists, sorted, the partitions a lag report should cover:
// those with a committed offset and those of subscribed topics. The driver
// looks up their watermarks and passes them to Lag.
func (c *Coordinator) LagPartitions() []TopicPartition {
	set := make(map[TopicPartition]bool, len(c.offsets))
	for tp := range c.offsets {
		set[tp] = true
	}
	for _, m := range c.members {
		for _, t := range m.topics {
			for p := range c.topics[t] {
				set[TopicPartition{t, p}] = true
			}
		}
	}
	return slices.SortedFunc(maps.Keys(set), compareTP)
}

// Lag evaluates every partition in marks at time now (see Evaluate) and
// rolls the statuses up (see GroupStatus). Partitions are reported sorted.
func (c *Coordinator) Lag(now time.Time, marks map[TopicPartition]Watermarks) GroupLag {
	g := GroupLag{Group: c.group, Partitions: []PartitionLag{}}
	statuses := make([]Status, 0, len(marks))
	for _, tp := range slices.SortedFunc(maps.Keys(marks), compareTP) {
		wm := marks[tp]
		pl := PartitionLag{TopicPartition: tp, Committed: -1, HighWatermark: wm.HighWatermark}
		from := wm.LogStart
		if off, ok := c.offsets[tp]; ok {
			pl.Committed, from = off, off
		}
		pl.Lag = Lag(from, wm.HighWatermark)
		w := Window{Size: c.cfg.LagWindowSize, MinDistance: c.cfg.LagMinDistance}
		if cw, ok := c.windows[tp]; ok {
			w.Entries = slices.Clone(cw.Entries)
		}
		pl.Window = w.Entries
		if pl.Window == nil {
			pl.Window = []WindowEntry{}
		}
		pl.Status = Evaluate(w, from, wm.HighWatermark, now)
		statuses = append(statuses, pl.Status)
		g.TotalLag += pl.Lag
		g.Partitions = append(g.Partitions, pl)
	}
	for _, pl := range g.Partitions {
		if g.MaxLag == nil || pl.Lag > g.MaxLag.Lag {
			g.MaxLag = &pl
		}
	}
	g.Status = GroupStatus(statuses)
	return g
}
