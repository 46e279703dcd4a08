package group

import (
	"context"
	"fmt"
	"slices"
	"time"
)

// JoinRequest is a member joining a group.
type JoinRequest struct {
	// Topics to subscribe to; each must exist.
	Topics []string
	// AutoOffsetReset is where to start on a partition without committed
	// offset: ResetEarliest, ResetLatest (the default, "") or ResetNone.
	AutoOffsetReset string
	// SessionTimeout: the member expires after this long without a fetch,
	// heartbeat or commit (0: DefaultSessionTimeout).
	SessionTimeout time.Duration
	// Assignor is range (default), roundrobin or sticky; the first member
	// of an empty group chooses.
	Assignor string
}

// MemberState is a member's id, the group generation and its assignment.
type MemberState struct {
	MemberID    string
	Generation  int32
	Assignments []TopicPartition
}

// Join adds a member to group, creating the group if needed. The member's
// assignment may lack partitions whose previous owner has not yet seen the
// new generation.
func (m *Manager) Join(ctx context.Context, group string, req JoinRequest) (MemberState, error) {
	if err := ValidateGroupName(group); err != nil {
		return MemberState{}, err
	}
	switch req.AutoOffsetReset {
	case "":
		req.AutoOffsetReset = ResetLatest
	case ResetEarliest, ResetLatest, ResetNone:
	default:
		return MemberState{}, fmt.Errorf("%w: auto_offset_reset %q must be earliest, latest or none",
			ErrInvalidRequest, req.AutoOffsetReset)
	}
	if len(req.Topics) == 0 {
		return MemberState{}, ErrNoTopics
	}
	for _, t := range req.Topics {
		if _, err := m.eng.Topic(t); err != nil {
			return MemberState{}, err
		}
	}
	if err := m.log.ensure(); err != nil { // before any group lock
		return MemberState{}, err
	}
	gs, err := m.lockGroup(group, true)
	if err != nil {
		return MemberState{}, err
	}
	defer gs.mu.Unlock()
	now := m.cfg.Now()
	m.tickLocked(gs, now)
	id := newMemberID()
	a, err := gs.c.Join(MemberSpec{ID: id, Topics: req.Topics, SessionTimeout: req.SessionTimeout,
		Assignor: req.Assignor}, now)
	if err != nil {
		m.dropIfUnused(gs)
		return MemberState{}, fmt.Errorf("join group %q: %w", group, err)
	}
	gs.members[id] = &memberState{reset: req.AutoOffsetReset, positions: make(map[TopicPartition]int64),
		handedGen: a.Generation, handed: slices.Clone(a.Partitions)}
	gs.notify()
	select {
	case m.rearm <- struct{}{}:
	default:
	}
	m.cfg.Logger.Debug("group member joined", "group", group, "member", id, "generation", a.Generation)
	return MemberState{MemberID: id, Generation: int32(a.Generation), Assignments: a.Partitions}, nil
}

// Heartbeat keeps the member alive and returns its current assignment,
// which counts as delivered to it.
func (m *Manager) Heartbeat(ctx context.Context, group, member string) (MemberState, error) {
	gs, ms, err := m.lockMember(group, member)
	if err != nil {
		return MemberState{}, err
	}
	defer gs.mu.Unlock()
	a, err := gs.c.Assignment(member)
	if err != nil {
		return MemberState{}, err
	}
	m.observeLocked(gs, member, ms, a)
	return MemberState{MemberID: member, Generation: int32(a.Generation), Assignments: a.Partitions}, nil
}

// Leave removes the member now; its partitions go to the others at once.
// Uncommitted deliveries are not committed.
func (m *Manager) Leave(ctx context.Context, group, member string) error {
	gs, _, err := m.lockMember(group, member)
	if err != nil {
		return err
	}
	defer gs.mu.Unlock()
	if err := gs.c.Leave(member); err != nil {
		return err
	}
	delete(gs.members, member)
	gs.notify()
	m.cfg.Logger.Debug("group member left", "group", group, "member", member, "generation", gs.c.Generation())
	return nil
}
