package group

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/fjord-streaming/fjord/engine"
)

// Errors of the Manager, besides the Coordinator's.
var (
	// ErrGroupNotFound: a group that has neither members nor offsets.
	ErrGroupNotFound = errors.New("group: group not found")
	// ErrNoCommittedOffset: a fetch by a member with auto offset reset
	// "none" of a partition without committed offset.
	ErrNoCommittedOffset = errors.New("group: no committed offset")
	// ErrInvalidGroupName: a group name outside [A-Za-z0-9._-]{1,249}.
	ErrInvalidGroupName = errors.New("group: invalid group name")
	// ErrInvalidRequest: a malformed request to the Manager (an unknown
	// auto offset reset policy, a seek or reset without a target, ...).
	ErrInvalidRequest = errors.New("group: invalid request")
)

// Auto offset reset policies: where a member starts on a partition without
// committed offset (and when its position left the retained log).
const (
	ResetEarliest = "earliest"
	ResetLatest   = "latest"
	ResetNone     = "none"
)

// ManagerConfig configures a Manager. Zero fields take defaults.
type ManagerConfig struct {
	// Coordinator tunes every group's coordinator (lag window).
	Coordinator Config
	// OffsetsPartitions is the partition count __consumer_offsets is
	// created with (default 16). An existing topic keeps its count; it must
	// not change afterwards.
	OffsetsPartitions int32
	// CompactAfter is how many records one partition of __consumer_offsets
	// takes before it is compacted into snapshots (default 4096).
	CompactAfter int
	// MaxWait caps a fetch's long-poll (default 60 s).
	MaxWait time.Duration
	// CommitTimeout bounds how long a write to __consumer_offsets waits for
	// the in-sync replicas (acks=all) before its request fails with
	// engine.ErrTimeout; the record stays and may still commit (default
	// 5 s, Kafka's offsets.commit.timeout.ms).
	CommitTimeout time.Duration
	// LoadTimeout bounds one attempt of a new coordinator to wait until the
	// high watermark of a partition of __consumer_offsets reaches the log
	// end it had at the election; the load is then tried again (default
	// 60 s, above the 30 s after which a lagging follower leaves the ISR).
	LoadTimeout time.Duration
	// Now is the clock (default time.Now); tests replace it.
	Now func() time.Time
	// Logger receives the Manager's logs.
	Logger *slog.Logger
	// Registerer receives the lag gauges; nil disables them.
	Registerer prometheus.Registerer
}

func (c *ManagerConfig) ensureDefaults() {
	c.Coordinator.EnsureDefaults()
	if c.OffsetsPartitions <= 0 {
		c.OffsetsPartitions = 16
	}
	if c.CompactAfter <= 0 {
		c.CompactAfter = 4096
	}
	if c.MaxWait <= 0 {
		c.MaxWait = 60 * time.Second
	}
	if c.CommitTimeout <= 0 {
		c.CommitTimeout = 5 * time.Second
	}
	if c.LoadTimeout <= 0 {
		c.LoadTimeout = 60 * time.Second
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
}

// Manager drives the consumer groups this broker coordinates: one
// Coordinator per group, member sessions and their expiry, fetch positions,
// and the durable offsets in __consumer_offsets. It follows the leadership
// of the partitions of __consumer_offsets (coordination.go). It is safe for
// concurrent use. Start its timers with Run and stop it with Close.
type Manager struct {
	eng *engine.Engine
	cfg ManagerConfig
	log *offsetLog

	// mu guards groups, coord and stopped. It is never held while taking a
	// group's lock.
	mu sync.Mutex
	// groups are the groups of the partitions this broker coordinates.
	groups map[string]*groupState
	// coord is the coordination of each partition of __consumer_offsets.
	coord []coordPartition
	// stopped is set by Close: no goroutine starts after it.
	stopped bool

	// ctx ends with Close; wg counts the Manager's goroutines (loads and
	// the wake-up of dropped groups).
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	// onLoadWait, set by tests only, is called when a load of a partition
	// starts waiting for its high watermark.
	onLoadWait func(p int32)

	// rearm tells Run that a member joined (a deadline may be earlier).
	rearm     chan struct{}
	closed    chan struct{}
	closeOnce sync.Once
}

// groupState is one group: its coordinator and what the Manager keeps per
// member.
type groupState struct {
	name string
	part int32 // partition of __consumer_offsets
	// term is the partition's coordination term the state belongs to.
	term uint64

	// mu guards the fields below and serializes calls to c. Writers of
	// __consumer_offsets take the partition's lock first (see offsetLog).
	mu      sync.Mutex
	c       *Coordinator
	members map[string]*memberState
	// changed is closed and replaced whenever the generation, an
	// assignment or a position changes, waking long polls.
	changed chan struct{}
	// deleted is set once the group left the map: DeleteGroup, or this
	// broker stopped coordinating its partition.
	deleted bool
}

// memberState is what the Manager keeps for one member.
type memberState struct {
	reset string
	// positions are the next offsets to deliver, per owned partition.
	positions map[TopicPartition]int64
	next      int // rotates the first partition a fetch reads
	polls     int // fetches in flight: they keep the member alive
	// handedGen and handed are the generation and assignment last handed
	// to the member; a fetch that would hand something else answers at once.
	handedGen int64
	handed    []TopicPartition
}

func (gs *groupState) notify() {
	close(gs.changed)
	gs.changed = make(chan struct{})
}

// NewManager loads the groups of the partitions of __consumer_offsets this
// broker leads, follows the leadership of the others, and hooks topic
// changes and deletions of eng.
func NewManager(eng *engine.Engine, cfg ManagerConfig) (*Manager, error) {
	cfg.ensureDefaults()
	if err := cfg.Coordinator.Validate(); err != nil {
		return nil, err
	}
	m := &Manager{eng: eng, cfg: cfg, groups: make(map[string]*groupState),
		rearm: make(chan struct{}, 1), closed: make(chan struct{})}
	m.ctx, m.cancel = context.WithCancel(context.Background())
	m.log = newOffsetLog(eng, cfg)
	m.coord = make([]coordPartition, len(m.log.parts))
	eng.OnLeadershipChanged(m.leadershipChanged)
	if err := m.loadLed(); err != nil {
		m.Close()
		return nil, fmt.Errorf("group: load %s: %w", OffsetsTopic, err)
	}
	if n := len(m.groupList()); n > 0 {
		m.cfg.Logger.Info("consumer groups restored", "groups", n)
	}
	eng.OnTopicChanged(m.topicChanged)
	eng.OnTopicDeleted(m.topicDeleted)
	if cfg.Registerer != nil {
		if err := cfg.Registerer.Register(lagCollector{m}); err != nil {
			m.Close()
			return nil, fmt.Errorf("group: register metrics: %w", err)
		}
	}
	return m, nil
}

// Run expires members whose session timed out, with one timer at the
// earliest deadline, and compacts __consumer_offsets when due. It returns
// when ctx ends or Close is called.
func (m *Manager) Run(ctx context.Context) {
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		timer.Stop()
		if next, ok := m.expire(); ok {
			// Tick expires a member strictly after its deadline.
			timer.Reset(max(next.Sub(m.cfg.Now())+time.Millisecond, time.Millisecond))
		}
		select {
		case <-ctx.Done():
			return
		case <-m.closed:
			return
		case <-timer.C:
		case <-m.rearm:
		case <-m.log.due:
			m.compactDue(ctx)
		}
	}
}

// Close stops Run and the loads of __consumer_offsets in flight, waits for
// the Manager's goroutines, and makes every long poll answer now. Calls
// after Close still work; they just do not wait.
func (m *Manager) Close() {
	m.closeOnce.Do(func() {
		close(m.closed)
		m.mu.Lock()
		m.stopped = true
		m.mu.Unlock()
		m.cancel()
		m.wg.Wait()
	})
}

// expire ticks every group and returns the earliest member deadline.
func (m *Manager) expire() (next time.Time, ok bool) {
	now := m.cfg.Now()
	for _, gs := range m.groupList() {
		gs.mu.Lock()
		m.tickLocked(gs, now)
		if d, has := gs.c.Deadline(); has && (!ok || d.Before(next)) {
			next, ok = d, true
		}
		gs.mu.Unlock()
	}
	return next, ok
}

// groupList returns the groups this broker coordinates, sorted by name.
func (m *Manager) groupList() []*groupState {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]*groupState, 0, len(m.groups))
	for _, gs := range m.groups {
		out = append(out, gs)
	}
	slices.SortFunc(out, func(a, b *groupState) int { return strings.Compare(a.name, b.name) })
	return out
}

// topicCounts returns every topic's partition count, internal ones included.
func (m *Manager) topicCounts() map[string]int32 {
	counts := make(map[string]int32)
	for _, t := range m.eng.Topics(true) {
		counts[t.Name] = int32(len(t.Partitions))
	}
	return counts
}

// newGroup builds an empty group of the given term that knows the topics'
// partition counts.
func (m *Manager) newGroup(name string, counts map[string]int32, term uint64) (*groupState, error) {
	c, err := NewCoordinator(name, m.cfg.Coordinator)
	if err != nil {
		return nil, err
	}
	c.UpdateTopics(counts)
	return &groupState{name: name, part: m.log.partition(name), term: term, c: c,
		members: make(map[string]*memberState), changed: make(chan struct{})}, nil
}

// lookup returns the group, or nil.
func (m *Manager) lookup(name string) *groupState {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.groups[name]
}

// lockGroup returns the group locked. With create a missing group is
// created; without, a missing one is nil. A group this broker does not
// coordinate now is ErrNotCoordinator, one it is loading
// ErrCoordinatorLoading.
func (m *Manager) lockGroup(name string, create bool) (*groupState, error) {
	p := m.log.partition(name)
	for {
		m.mu.Lock()
		term, err := m.gateLocked(p)
		var gs *groupState
		if err == nil {
			gs = m.groups[name]
			if gs == nil && create {
				if gs, err = m.newGroup(name, m.topicCounts(), term); err == nil {
					m.groups[name] = gs
				}
			}
		}
		m.mu.Unlock()
		if errors.Is(err, errNoOffsetsTopic) {
			if !create {
				return nil, nil // no group has state anywhere yet
			}
			err = ErrCoordinatorLoading // created elsewhere, not known here yet
		}
		if err != nil {
			return nil, fmt.Errorf("group %q: %w", name, err)
		}
		if gs == nil {
			return nil, nil
		}
		gs.mu.Lock()
		if m.currentErr(gs) == nil {
			return gs, nil
		}
		gs.mu.Unlock() // deleted or dropped meanwhile: look again
	}
}

// dropIfUnused forgets a group that never got a member or an offset (a
// failed first join or reset). gs.mu must be held.
func (m *Manager) dropIfUnused(gs *groupState) {
	if gs.c.Generation() > 0 || gs.c.MemberCount() > 0 || gs.c.HasOffsets("") {
		return
	}
	gs.deleted = true
	m.mu.Lock()
	if m.groups[gs.name] == gs {
		delete(m.groups, gs.name)
	}
	m.mu.Unlock()
}

// tickLocked keeps members with a fetch in flight alive, expires the others
// whose session ran out, and wakes waiters if that rebalanced. gs.mu must
// be held.
func (m *Manager) tickLocked(gs *groupState, now time.Time) {
	for id, ms := range gs.members {
		if ms.polls > 0 {
			_ = gs.c.Heartbeat(id, now)
		}
	}
	expired := gs.c.Tick(now)
	for _, id := range expired {
		delete(gs.members, id)
		m.cfg.Logger.Info("group member expired", "group", gs.name, "member", id, "generation", gs.c.Generation())
	}
	if len(expired) > 0 {
		gs.notify()
	}
}

// memberLocked expires what is due, then returns the live member and
// records its heartbeat. gs.mu must be held.
func (m *Manager) memberLocked(gs *groupState, id string, now time.Time) (*memberState, error) {
	if err := m.currentErr(gs); err != nil {
		return nil, fmt.Errorf("group %q member %q: %w", gs.name, id, err)
	}
	m.tickLocked(gs, now)
	ms := gs.members[id]
	if ms == nil {
		return nil, fmt.Errorf("group %q member %q: %w", gs.name, id, ErrMemberNotFound)
	}
	if err := gs.c.Heartbeat(id, now); err != nil {
		return nil, err
	}
	return ms, nil
}

// lockMember returns the member's group locked, and the member.
func (m *Manager) lockMember(group, id string) (*groupState, *memberState, error) {
	gs, err := m.lockGroup(group, false)
	if err != nil {
		return nil, nil, err
	}
	if gs == nil {
		return nil, nil, fmt.Errorf("group %q member %q: %w", group, id, ErrMemberNotFound)
	}
	ms, err := m.memberLocked(gs, id, m.cfg.Now())
	if err != nil {
		gs.mu.Unlock()
		return nil, nil, err
	}
	return gs, ms, nil
}

// observeLocked reports that the member was handed its assignment at the
// current generation, drops positions of partitions it no longer owns, and
// wakes members the hand-over granted partitions. gs.mu must be held.
func (m *Manager) observeLocked(gs *groupState, id string, ms *memberState, a Assignment) {
	granted, err := gs.c.Observe(id, a.Generation)
	if err != nil {
		return
	}
	ms.handedGen, ms.handed = a.Generation, slices.Clone(a.Partitions)
	for tp := range ms.positions {
		if !gs.c.Owns(id, tp) {
			delete(ms.positions, tp)
		}
	}
	if len(granted) > 0 {
		gs.notify()
	}
}

var groupNameRE = regexp.MustCompile(`^[A-Za-z0-9._-]{1,249}$`)

// ValidateGroupName checks a group name: [A-Za-z0-9._-]{1,249}.
func ValidateGroupName(name string) error {
	if !groupNameRE.MatchString(name) {
		return fmt.Errorf("%w: %q must match [A-Za-z0-9._-]{1,249}", ErrInvalidGroupName, name)
	}
	return nil
}

// newMemberID returns an unguessable id: 16 random bytes in hex.
func newMemberID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
