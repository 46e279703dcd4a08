package controller

import (
	"maps"
	"slices"
)

// growInternalTopics raises the replication factor of internal topics to
// min(3, live brokers) (metadata.PlanInternalGrowth): the offsets topic
// of a cluster that was started one broker at a time gets replicas on the
// brokers that joined later, which catch up and join the ISR as any
// follower. Brokers in a controlled shutdown get no new replica.
func (c *Controller) growInternalTopics() {
	if !c.members.Joined() {
		return
	}
	st := c.fsm.current()
	l := c.liveness(st)
	var live []int32
	for _, id := range slices.Sorted(maps.Keys(l.Live)) {
		if !l.ShuttingDown[id] {
			live = append(live, id)
		}
	}
	for _, g := range st.PlanInternalGrowth(live) {
		if _, err := c.proposeCommand(g); err != nil {
			c.cfg.Logger.Warn("growing an internal topic", "topic", g.Name, "replication_factor", g.ReplicationFactor, "err", err)
			return
		}
		c.cfg.Logger.Info("internal topic grown", "topic", g.Name, "replication_factor", g.ReplicationFactor)
	}
}
