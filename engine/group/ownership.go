package group

import "slices"

// rebalance bumps the generation, recomputes the target assignment, marks
// claims their holder is no longer targeted for as pending release, and
// grants what is free.
func (c *Coordinator) rebalance() {
	c.generation++
	subs := make([]MemberSubscription, 0, len(c.members))
	for _, id := range c.memberIDs() {
		subs = append(subs, MemberSubscription{ID: id, Topics: slices.Clone(c.members[id].topics)})
	}
	prev := c.target
	c.target = make(map[string][]TopicPartition, len(subs))
	if len(subs) > 0 {
		next := c.assignor.Assign(subs, c.topics, prev)
		for _, s := range subs {
			tps := slices.Clone(next[s.ID])
			sortTPs(tps) // the assignor promises order; targets relies on it
			c.target[s.ID] = tps
		}
	}
	for tp, cl := range c.claims {
		switch {
		case c.targets(cl.member, tp):
			cl.releaseAt = 0
		case cl.releaseAt == 0:
			cl.releaseAt = c.generation
		}
	}
	c.reconcile()
}

// targets reports whether tp is in member id's target assignment.
func (c *Coordinator) targets(id string, tp TopicPartition) bool {
	_, ok := slices.BinarySearchFunc(c.target[id], tp, compareTP)
	return ok
}

// reconcile releases the claims whose holders have observed the generation
// that took them away, then grants every targeted partition without a claim
// to its target member. It returns the members that were granted something.
func (c *Coordinator) reconcile() []string {
	for tp, cl := range c.claims {
		m := c.members[cl.member]
		if cl.releaseAt > 0 && m.seen >= cl.releaseAt {
			delete(c.claims, tp)
			delete(m.seeks, tp)
		}
	}
	var granted []string
	for _, id := range c.memberIDs() {
		got := false
		for _, tp := range c.target[id] {
			if _, held := c.claims[tp]; !held {
				c.claims[tp] = &claim{member: id}
				got = true
			}
		}
		if got {
			granted = append(granted, id)
		}
	}
	return granted
}

// owns reports whether member id holds the claim on tp: tp is in its
// effective assignment, or it is giving tp up and has not yet observed that.
func (c *Coordinator) owns(id string, tp TopicPartition) bool {
	cl, ok := c.claims[tp]
	return ok && cl.member == id
}

// effective is the part of member id's target it holds claims on.
func (c *Coordinator) effective(id string) []TopicPartition {
	out := []TopicPartition{}
	for _, tp := range c.target[id] {
		if c.owns(id, tp) {
			out = append(out, tp)
		}
	}
	return out
}

// releasing lists the partitions member id still holds but is no longer
// targeted for, sorted.
func (c *Coordinator) releasing(id string) []TopicPartition {
	var out []TopicPartition
	for tp, cl := range c.claims {
		if cl.member == id && cl.releaseAt > 0 {
			out = append(out, tp)
		}
	}
	sortTPs(out)
	return out
}

// Assignment returns the member's effective assignment: the partitions it
// may consume now, with the current generation. It lacks target partitions
// whose previous owner has not yet observed the generation that moved them.
func (c *Coordinator) Assignment(id string) (Assignment, error) {
	if _, err := c.member(id); err != nil {
		return Assignment{}, err
	}
	return Assignment{Generation: c.generation, Partitions: c.effective(id)}, nil
}

// Target returns the member's target assignment as computed by the
// assignor, for diagnostics; hand out Assignment, never Target.
func (c *Coordinator) Target(id string) (Assignment, error) {
	if _, err := c.member(id); err != nil {
		return Assignment{}, err
	}
	return Assignment{Generation: c.generation, Partitions: slices.Clone(c.target[id])}, nil
}

// State returns empty without members, rebalancing while some target
// partition waits for its previous owner to release it, stable otherwise.
func (c *Coordinator) State() State {
	if len(c.members) == 0 {
		return StateEmpty
	}
	for id, tps := range c.target {
		for _, tp := range tps {
			if !c.owns(id, tp) {
				return StateRebalancing
			}
		}
	}
	return StateStable
}
