package controller

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/fjord-streaming/fjord/controller/metadata"
	"github.com/fjord-streaming/fjord/engine"
)

var _ engine.Admin = (*Controller)(nil)

// CreateTopic creates a topic through the controller: here when this
// broker is it, otherwise forwarded to it (one hop).
func (c *Controller) CreateTopic(ctx context.Context, spec engine.TopicSpec) (uint64, error) {
	return c.route(ctx, func(ctx context.Context) (uint64, error) { return c.CreateTopicLocal(ctx, spec) },
		func(ctx context.Context, to int32) (uint64, error) { return c.fwd.CreateTopic(ctx, to, spec) })
}

// UpdateTopic changes a topic through the controller.
func (c *Controller) UpdateTopic(ctx context.Context, name string, u engine.TopicUpdate) (uint64, error) {
	return c.route(ctx, func(ctx context.Context) (uint64, error) { return c.UpdateTopicLocal(ctx, name, u) },
		func(ctx context.Context, to int32) (uint64, error) { return c.fwd.UpdateTopic(ctx, to, name, u) })
}

// DeleteTopic deletes a topic through the controller.
func (c *Controller) DeleteTopic(ctx context.Context, name string) (uint64, error) {
	return c.route(ctx, func(ctx context.Context) (uint64, error) { return c.DeleteTopicLocal(ctx, name) },
		func(ctx context.Context, to int32) (uint64, error) { return c.fwd.DeleteTopic(ctx, to, name) })
}

// route runs a change here when this broker controls the cluster, or
// forwards it to the controller. While there is no controller (an
// election), it waits for one within ctx, a few seconds at most.
func (c *Controller) route(ctx context.Context, local func(context.Context) (uint64, error), forward func(context.Context, int32) (uint64, error)) (uint64, error) {
	wait, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	for {
		var v uint64
		var err error
		switch id := c.ControllerID(); {
		case c.IsController():
			v, err = local(ctx)
		case id >= 0 && id != c.cfg.ID:
			v, err = forward(ctx, id)
		default:
			err = errNotController
		}
		// The role moved meanwhile (an election, a hand-over to a lower id):
		// the change was not made, so it is tried at the new controller.
		if !errors.Is(err, engine.ErrLeaderNotAvailable) || wait.Err() != nil {
			return v, err
		}
		select {
		case <-wait.Done():
			return 0, fmt.Errorf("%w: no controller: fewer than a majority of the metadata log's voters are reachable", engine.ErrLeaderNotAvailable)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// LiveBrokers is how many registered brokers are alive now.
func (c *Controller) LiveBrokers() int32 { return int32(len(c.placeable())) }

// placeable are the ids of the brokers placement may use: registered and
// alive, and not in a controlled shutdown.
func (c *Controller) placeable() []int32 {
	st := c.fsm.current()
	shutting := c.shuttingDown(time.Now())
	var ids []int32
	for _, b := range c.members.Brokers() {
		if _, ok := st.Brokers[b.ID]; ok && b.Live() && !shutting[b.ID] {
			ids = append(ids, b.ID)
		}
	}
	return ids
}

// CreateTopicLocal validates, places and commits a new topic. It never
// forwards: on a broker that is not the controller it fails.
func (c *Controller) CreateTopicLocal(ctx context.Context, spec engine.TopicSpec) (uint64, error) {
	c.adminMu.Lock()
	defer c.adminMu.Unlock()
	live := c.placeable()
	spec, cfg, err := c.eng.ResolveTopic(spec, int32(len(live)))
	if err != nil {
		return 0, err
	}
	st := c.fsm.current()
	if _, ok := st.Topics[spec.Name]; ok {
		return 0, fmt.Errorf("%w: topic %q already exists", engine.ErrTopicExists, spec.Name)
	}
	n := len(live)
	replicas, err := metadata.AssignReplicas(live, int(spec.Partitions), int(spec.ReplicationFactor), 0, rand.IntN(n), rand.IntN(n))
	if err != nil {
		return 0, fmt.Errorf("%w: %v", engine.ErrInvalidRequest, err)
	}
	t := metadata.Topic{Name: spec.Name, ID: newTopicID(st), Internal: spec.Internal, ReplicationFactor: spec.ReplicationFactor,
		Config: cfg.Map(), CreatedMs: time.Now().UnixMilli(), Partitions: newPartitions(replicas)}
	v, err := c.proposeCommand(metadata.CreateTopic{Topic: t})
	return v, engineError(err)
}

// UpdateTopicLocal validates and commits a topic change; added partitions
// are placed like a new topic's, continuing its round robin. A larger
// replication factor is committed first, as its own GrowReplication
// (replicas added by metadata.ExtendReplicas over the live brokers), so
// that added partitions get as many replicas; then the configuration and
// partitions, unless the change was only the replication factor.
func (c *Controller) UpdateTopicLocal(ctx context.Context, name string, u engine.TopicUpdate) (uint64, error) {
	c.adminMu.Lock()
	defer c.adminMu.Unlock()
	st := c.fsm.current()
	t, ok := st.Topics[name]
	if !ok {
		return 0, fmt.Errorf("%w: topic %q does not exist", engine.ErrTopicNotFound, name)
	}
	live := c.placeable()
	res, err := engine.ResolveUpdate(engineTopic(t), u, int32(len(live)))
	if err != nil {
		return 0, err
	}
	var v uint64
	grow := res.ReplicationFactor > t.ReplicationFactor
	if grow {
		replicas, err := metadata.ExtendReplicas(t, res.ReplicationFactor, live)
		if err != nil {
			return 0, fmt.Errorf("%w: %v", engine.ErrInvalidRequest, err)
		}
		if v, err = c.proposeCommand(metadata.GrowReplication{Name: name, ID: t.ID, ReplicationFactor: res.ReplicationFactor, Replicas: replicas}); err != nil {
			return v, engineError(err)
		}
		c.cfg.Logger.Info("replication factor grown", "topic", name, "replication_factor", res.ReplicationFactor)
	}
	add := int(res.Partitions) - len(t.Partitions)
	if grow && u.Config == nil && add <= 0 {
		return v, nil
	}
	cmd := metadata.UpdateTopic{Name: name, ID: t.ID, Config: res.Config.Map()}
	if add > 0 {
		rf := int(res.ReplicationFactor)
		if len(live) < rf {
			return v, fmt.Errorf("%w: %s has replication factor %d, %d broker(s) are live", engine.ErrInvalidRequest, name, rf, len(live))
		}
		replicas, err := metadata.AssignReplicas(live, add, rf, len(t.Partitions), rand.IntN(len(live)), rand.IntN(len(live)))
		if err != nil {
			return v, fmt.Errorf("%w: %v", engine.ErrInvalidRequest, err)
		}
		cmd.AddPartitions = newPartitions(replicas)
	}
	v, err = c.proposeCommand(cmd)
	return v, engineError(err)
}

// DeleteTopicLocal commits a topic's deletion.
func (c *Controller) DeleteTopicLocal(ctx context.Context, name string) (uint64, error) {
	c.adminMu.Lock()
	defer c.adminMu.Unlock()
	t, ok := c.fsm.current().Topics[name]
	if !ok {
		return 0, fmt.Errorf("%w: topic %q does not exist", engine.ErrTopicNotFound, name)
	}
	if t.Internal {
		return 0, fmt.Errorf("%w: %q is internal to the broker", engine.ErrInvalidTopicName, name)
	}
	v, err := c.proposeCommand(metadata.DeleteTopic{Name: name, ID: t.ID})
	return v, engineError(err)
}

// newPartitions makes partitions led by their first replica, with every
// replica in the ISR, as Kafka does: all of them hold the same empty log.
// The HW waits for each follower's first fetch, and a follower that never
// fetches leaves the ISR (not live: at once; live: after
// replica.lag.time.max.ms).
func newPartitions(replicas [][]int32) []metadata.Partition {
	out := make([]metadata.Partition, len(replicas))
	for i, r := range replicas {
		out[i] = metadata.Partition{Replicas: r, Leader: r[0], ISR: append([]int32(nil), r...)}
	}
	return out
}

// newTopicID picks a random id no topic has.
func newTopicID(st *metadata.State) uint64 {
	for {
		id := rand.Uint64() | 1
		if _, taken := st.TopicByID(id); !taken {
			return id
		}
	}
}

// metadataTopic converts an engine topic for the metadata log.
func metadataTopic(md engine.TopicMetadata) metadata.Topic {
	t := metadata.Topic{Name: md.Name, ID: md.ID, Internal: engine.IsInternalTopic(md.Name), ReplicationFactor: md.ReplicationFactor,
		Config: md.Config.Map(), CreatedMs: md.CreatedMs, Partitions: make([]metadata.Partition, len(md.Partitions))}
	for i, p := range md.Partitions {
		t.Partitions[i] = metadata.Partition{Replicas: p.Replicas, Leader: p.Leader, LeaderEpoch: p.LeaderEpoch, ISR: p.ISR}
	}
	return t
}

// engineError maps the state machine's refusals to the engine's errors.
func engineError(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, metadata.ErrTopicExists):
		return fmt.Errorf("%w: %v", engine.ErrTopicExists, err)
	case errors.Is(err, metadata.ErrTopicNotFound):
		return fmt.Errorf("%w: %v", engine.ErrTopicNotFound, err)
	case errors.Is(err, metadata.ErrStaleEpoch):
		return fmt.Errorf("%w: %v", engine.ErrStaleEpoch, err)
	case errors.Is(err, metadata.ErrInvalid):
		return fmt.Errorf("%w: %v", engine.ErrInvalidRequest, err)
	}
	return err
}
