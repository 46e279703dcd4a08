package controller

import (
	"slices"

	"github.com/fjord-streaming/fjord/controller/metadata"
	"github.com/fjord-streaming/fjord/membership"
)

// Self is this broker as the gossip knows it.
func (c *Controller) Self() membership.Broker { return c.members.Self() }

// Brokers lists every registered broker and every broker the gossip knows,
// by id, with the gossip's status; a registered broker the gossip no longer
// lists has failed.
func (c *Controller) Brokers() []membership.Broker {
	st := c.fsm.current()
	seen := map[int32]bool{}
	var out []membership.Broker
	for _, b := range c.members.Brokers() {
		seen[b.ID] = true
		out = append(out, b)
	}
	for id, b := range st.Brokers {
		if !seen[id] {
			out = append(out, membership.Broker{ID: id, HTTPAddr: b.HTTPAddr, Incarnation: b.Incarnation, Status: membership.StatusFailed})
		}
	}
	slices.SortFunc(out, func(a, b membership.Broker) int { return int(a.ID - b.ID) })
	return out
}

// Metadata is the metadata as last applied here. Callers must not change it.
func (c *Controller) Metadata() *metadata.State { return c.fsm.current() }

// Applied returns a channel closed at the next applied metadata entry.
func (c *Controller) Applied() <-chan struct{} { return c.fsm.applied() }
