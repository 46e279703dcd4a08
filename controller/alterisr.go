package controller

import (
	"context"
	"fmt"
	"slices"

	"github.com/fjord-streaming/fjord/controller/metadata"
	"github.com/fjord-streaming/fjord/engine"
)

var _ engine.ISRChanger = (*Controller)(nil)

// AlterISR changes a partition's ISR at its leader's request, through the
// controller: here when this broker is it, otherwise forwarded (one hop),
// retried at a new controller as the admin calls are (route). It returns
// the metadata version the change was committed at; the leader learns the
// new ISR when it applies that version. Refusals are those of
// AlterISRLocal.
func (c *Controller) AlterISR(ctx context.Context, req engine.AlterISR) (uint64, error) {
	return c.route(ctx, func(ctx context.Context) (uint64, error) { return c.AlterISRLocal(ctx, req) },
		func(ctx context.Context, to int32) (uint64, error) { return c.fwd.AlterISR(ctx, to, req) })
}

// AlterISRLocal validates a leader's ISR change against the metadata and
// commits it as a ChangePartition with the same leader and leader epoch,
// fenced by the partition epoch the leader saw. Refusals wrap
// engine.ErrStaleEpoch when the leader, its leader epoch or the partition
// epoch is no longer the current one, and engine.ErrInvalidRequest for an
// ISR without the leader, with a member outside the replicas or twice, or
// adding a broker that is not live under its registered incarnation or is
// shutting down (a shrink is always allowed). A request from an epoch this
// controller has not applied yet (it just took over) is
// engine.ErrLeaderNotAvailable, which route retries. An ISR equal to the
// current one commits nothing and returns the current version. It never
// forwards.
func (c *Controller) AlterISRLocal(_ context.Context, req engine.AlterISR) (uint64, error) {
	if !c.IsController() {
		return 0, errNotController
	}
	st := c.fsm.current()
	cmd, same, err := checkAlterISR(st, req, c.liveness(st))
	switch {
	case err != nil:
		return 0, err
	case same:
		return st.Version, nil
	}
	v, err := c.proposeCommand(cmd)
	return v, engineError(err)
}

// checkAlterISR validates req against st and who is live (AlterISRLocal's
// rules) and returns the command that makes the change; same is true when
// the ISR is already the one asked for.
func checkAlterISR(st *metadata.State, req engine.AlterISR, l metadata.Liveness) (cmd metadata.ChangePartition, same bool, err error) {
	where := fmt.Sprintf("alter ISR of %s/%d", req.Topic, req.Partition)
	t, ok := st.Topics[req.Topic]
	if !ok || t.ID != req.TopicID {
		return cmd, false, fmt.Errorf("%w: %s: topic id %d is not a current topic", engine.ErrTopicNotFound, where, req.TopicID)
	}
	if req.Partition < 0 || int(req.Partition) >= len(t.Partitions) {
		return cmd, false, fmt.Errorf("%w: %s: no such partition", engine.ErrPartitionNotFound, where)
	}
	p := t.Partitions[req.Partition]
	switch {
	case req.LeaderEpoch > p.LeaderEpoch || req.PartitionEpoch > p.PartitionEpoch:
		return cmd, false, fmt.Errorf("%w: %s: the controller has not applied leader epoch %d, partition epoch %d yet",
			engine.ErrLeaderNotAvailable, where, req.LeaderEpoch, req.PartitionEpoch)
	case req.Leader != p.Leader || req.LeaderEpoch != p.LeaderEpoch:
		return cmd, false, fmt.Errorf("%w: %s: broker %d at leader epoch %d asked; the leader is %d at epoch %d",
			engine.ErrStaleEpoch, where, req.Leader, req.LeaderEpoch, p.Leader, p.LeaderEpoch)
	case req.PartitionEpoch != p.PartitionEpoch:
		return cmd, false, fmt.Errorf("%w: %s: partition epoch %d asked, it is %d", engine.ErrStaleEpoch, where, req.PartitionEpoch, p.PartitionEpoch)
	case !slices.Contains(req.ISR, p.Leader):
		return cmd, false, fmt.Errorf("%w: %s: ISR %v without the leader %d", engine.ErrInvalidRequest, where, req.ISR, p.Leader)
	}
	for i, id := range req.ISR {
		switch {
		case !p.HasReplica(id):
			return cmd, false, fmt.Errorf("%w: %s: ISR member %d is not a replica %v", engine.ErrInvalidRequest, where, id, p.Replicas)
		case slices.Contains(req.ISR[:i], id):
			return cmd, false, fmt.Errorf("%w: %s: ISR member %d listed twice", engine.ErrInvalidRequest, where, id)
		case p.InISR(id):
		case !l.Live[id]:
			return cmd, false, fmt.Errorf("%w: %s: broker %d is not live under its registered incarnation", engine.ErrInvalidRequest, where, id)
		case l.ShuttingDown[id]:
			return cmd, false, fmt.Errorf("%w: %s: broker %d is shutting down", engine.ErrInvalidRequest, where, id)
		}
	}
	if slices.Equal(req.ISR, p.ISR) {
		return cmd, true, nil
	}
	return metadata.ChangePartition{Topic: t.Name, TopicID: t.ID, Partition: req.Partition, Leader: p.Leader,
		ISR: slices.Clone(req.ISR), LeaderEpoch: p.LeaderEpoch, ExpectPartitionEpoch: req.PartitionEpoch}, false, nil
}
