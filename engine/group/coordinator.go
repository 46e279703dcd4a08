package group

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"
)

// Session timeout bounds (API: session_timeout_ms).
const (
	DefaultSessionTimeout = 30 * time.Second
	MinSessionTimeout     = time.Second
	MaxSessionTimeout     = 300 * time.Second
)

// Config tunes a Coordinator. Zero fields take their defaults.
type Config struct {
	// LagWindowSize is the number of commits kept per partition for lag
	// status (default DefaultWindowSize).
	LagWindowSize int
	// LagMinDistance: a commit closer than this to the previous one replaces
	// it in the lag window (default DefaultMinDistance).
	LagMinDistance time.Duration
}

// EnsureDefaults fills zero fields with their defaults.
func (c *Config) EnsureDefaults() {
	if c.LagWindowSize == 0 {
		c.LagWindowSize = DefaultWindowSize
	}
	if c.LagMinDistance == 0 {
		c.LagMinDistance = DefaultMinDistance
	}
}

// Validate reports a configuration that cannot work.
func (c Config) Validate() error {
	if c.LagWindowSize < 0 || c.LagMinDistance < 0 {
		return fmt.Errorf("lag window %d, min distance %v: %w",
			c.LagWindowSize, c.LagMinDistance, ErrInvalidConfig)
	}
	return nil
}

// MemberSpec describes a member joining a group.
type MemberSpec struct {
	// ID is the member id, chosen by the driver (unguessable in production).
	ID string
	// Topics are the subscribed topics; at least one.
	Topics []string
	// SessionTimeout: the member expires when it neither heartbeats nor
	// fetches for this long. Zero means DefaultSessionTimeout.
	SessionTimeout time.Duration
	// Assignor names the group's assignor. The first member of an empty
	// group chooses it ("" is DefaultAssignor); later members must name the
	// same one or leave it empty.
	Assignor string
}

// member is one live member.
type member struct {
	id      string
	topics  []string // sorted, unique
	timeout time.Duration
	seen    int64 // highest generation the member has observed
	last    time.Time
	seeks   map[TopicPartition]bool // partitions sought since their last commit
}

func (m *member) deadline() time.Time { return m.last.Add(m.timeout) }

func (m *member) touch(now time.Time) {
	if now.After(m.last) {
		m.last = now
	}
}

// claim is the right to consume a partition, held by one member. releaseAt
// is 0 while the partition is in the holder's target; otherwise it is the
// first generation (of an unbroken run) whose target did not give the holder
// the partition. The claim is released once the holder has observed it.
type claim struct {
	member    string
	releaseAt int64
}

// Coordinator is the state machine of one consumer group. It is not safe for
// concurrent use; the driver serializes calls.
type Coordinator struct {
	group      string
	cfg        Config
	assignor   Assignor
	generation int64
	members    map[string]*member
	topics     map[string]int32 // topic -> partition count, as told by UpdateTopics
	target     map[string][]TopicPartition
	claims     map[TopicPartition]*claim
	offsets    map[TopicPartition]int64
	windows    map[TopicPartition]*Window
}

// NewCoordinator returns the coordinator of an empty group at generation 0.
func NewCoordinator(group string, cfg Config) (*Coordinator, error) {
	cfg.EnsureDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return &Coordinator{
		group:    group,
		cfg:      cfg,
		assignor: RangeAssignor{},
		members:  make(map[string]*member),
		topics:   make(map[string]int32),
		target:   make(map[string][]TopicPartition),
		claims:   make(map[TopicPartition]*claim),
		offsets:  make(map[TopicPartition]int64),
		windows:  make(map[TopicPartition]*Window),
	}, nil
}

// Group returns the group name.
func (c *Coordinator) Group() string { return c.group }

// Generation returns the current generation (0 before the first join).
func (c *Coordinator) Generation() int64 { return c.generation }

// AssignorName returns the name of the group's assignor.
func (c *Coordinator) AssignorName() string { return c.assignor.Name() }

// Join adds a member, bumps the generation and rebalances. It returns the
// new member's assignment, which may lack partitions still held by their
// previous owners. The member counts as alive at now and as having observed
// the returned generation.
func (c *Coordinator) Join(spec MemberSpec, now time.Time) (Assignment, error) {
	m, a, err := c.admit(spec)
	if err != nil {
		return Assignment{}, err
	}
	if len(c.members) == 0 {
		c.assignor = a
	}
	m.last = now
	c.members[m.id] = m
	c.rebalance()
	m.seen = c.generation
	return c.Assignment(m.id)
}

// admit validates spec and builds the member and assignor it asks for.
func (c *Coordinator) admit(spec MemberSpec) (*member, Assignor, error) {
	if spec.ID == "" {
		return nil, nil, ErrInvalidMemberID
	}
	if _, ok := c.members[spec.ID]; ok {
		return nil, nil, fmt.Errorf("member %q: %w", spec.ID, ErrMemberExists)
	}
	topics := slices.DeleteFunc(slices.Clone(spec.Topics), func(t string) bool { return t == "" })
	slices.Sort(topics)
	topics = slices.Compact(topics)
	if len(topics) == 0 {
		return nil, nil, fmt.Errorf("member %q: %w", spec.ID, ErrNoTopics)
	}
	timeout := spec.SessionTimeout
	if timeout == 0 {
		timeout = DefaultSessionTimeout
	}
	if timeout < MinSessionTimeout || timeout > MaxSessionTimeout {
		return nil, nil, fmt.Errorf("member %q: %v: %w", spec.ID, timeout, ErrInvalidSessionTimeout)
	}
	a := c.assignor
	if spec.Assignor != "" || len(c.members) == 0 {
		var err error
		if a, err = NewAssignor(spec.Assignor); err != nil {
			return nil, nil, err
		}
	}
	if len(c.members) > 0 && a.Name() != c.assignor.Name() {
		return nil, nil, fmt.Errorf("%q, group uses %q: %w", a.Name(), c.assignor.Name(), ErrAssignorMismatch)
	}
	m := &member{id: spec.ID, topics: topics, timeout: timeout, seeks: make(map[TopicPartition]bool)}
	return m, a, nil
}

// Leave removes a member at its request, bumps the generation and
// rebalances; its partitions are free for others at once.
func (c *Coordinator) Leave(id string) error {
	if _, err := c.member(id); err != nil {
		return err
	}
	c.remove(id)
	c.rebalance()
	return nil
}

// Heartbeat records that the member is alive at now. Fetches count as
// heartbeats; the driver calls Heartbeat for them too.
func (c *Coordinator) Heartbeat(id string, now time.Time) error {
	m, err := c.member(id)
	if err != nil {
		return err
	}
	m.touch(now)
	return nil
}

// Tick expires every member whose last heartbeat plus session timeout is
// before now, and returns their ids, sorted. Expiries found by one Tick
// make one rebalance (one generation bump).
func (c *Coordinator) Tick(now time.Time) []string {
	var expired []string
	for id, m := range c.members {
		if m.deadline().Before(now) {
			expired = append(expired, id)
		}
	}
	if len(expired) == 0 {
		return nil
	}
	slices.Sort(expired)
	for _, id := range expired {
		c.remove(id)
	}
	c.rebalance()
	return expired
}

// Deadline returns when the next member would expire without a heartbeat:
// a Tick at any time after it expires that member. ok is false without
// members.
func (c *Coordinator) Deadline() (deadline time.Time, ok bool) {
	for _, m := range c.members {
		if d := m.deadline(); !ok || d.Before(deadline) {
			deadline, ok = d, true
		}
	}
	return deadline, ok
}

// Observe records that the member has been handed a response carrying
// generation gen, so it no longer consumes partitions that generation took
// from it. Claims it thereby releases go to their new owners at once;
// Observe returns the ids (sorted) of members whose effective assignment
// grew, whom a push-based driver should tell. Observing an older generation
// than already observed changes nothing.
func (c *Coordinator) Observe(id string, gen int64) ([]string, error) {
	m, err := c.member(id)
	if err != nil {
		return nil, err
	}
	if gen < 0 || gen > c.generation {
		return nil, fmt.Errorf("member %q observed %d, group at %d: %w",
			id, gen, c.generation, ErrInvalidGeneration)
	}
	m.seen = max(m.seen, gen)
	return c.reconcile(), nil
}

// UpdateTopics tells the coordinator the partition counts of topics: each
// entry sets one topic's count, and a count <= 0 says the topic does not
// exist. Topics not named keep their count. The driver should tell it about
// every topic (commits and resets are checked against them). A change of a
// topic some member subscribes to bumps the generation and rebalances;
// UpdateTopics reports whether that happened. Offsets are kept (see
// DeleteTopic).
func (c *Coordinator) UpdateTopics(partitions map[string]int32) bool {
	changed := false
	for _, t := range slices.Sorted(maps.Keys(partitions)) {
		n := max(0, partitions[t])
		if c.topics[t] == n {
			continue
		}
		if n == 0 {
			delete(c.topics, t)
		} else {
			c.topics[t] = n
		}
		changed = changed || c.subscribed(t)
	}
	if changed {
		c.rebalance()
	}
	return changed
}

// Topics returns the partition counts the coordinator knows.
func (c *Coordinator) Topics() map[string]int32 { return maps.Clone(c.topics) }

// subscribed reports whether some member subscribes to topic.
func (c *Coordinator) subscribed(topic string) bool {
	for _, m := range c.members {
		if _, ok := slices.BinarySearch(m.topics, topic); ok {
			return true
		}
	}
	return false
}

func (c *Coordinator) member(id string) (*member, error) {
	m, ok := c.members[id]
	if !ok {
		return nil, fmt.Errorf("member %q: %w", id, ErrMemberNotFound)
	}
	return m, nil
}

// remove drops a member and every claim it holds.
func (c *Coordinator) remove(id string) {
	delete(c.members, id)
	delete(c.target, id)
	for tp, cl := range c.claims {
		if cl.member == id {
			delete(c.claims, tp)
		}
	}
}

// memberIDs returns the member ids, sorted.
func (c *Coordinator) memberIDs() []string {
	ids := slices.Collect(maps.Keys(c.members))
	slices.SortFunc(ids, strings.Compare)
	return ids
}
