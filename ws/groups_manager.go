package ws

import (
	"context"
	"time"

	"github.com/fjord-streaming/fjord/engine/group"
)

// ManagerGroups serves group subscriptions with the broker's consumer-group
// manager.
func ManagerGroups(m *group.Manager) Groups { return managerGroups{m} }

type managerGroups struct{ m *group.Manager }

var _ Groups = managerGroups{}

func (g managerGroups) Join(ctx context.Context, name string, req GroupJoin) (GroupMember, error) {
	st, err := g.m.Join(ctx, name, group.JoinRequest{Topics: req.Topics, AutoOffsetReset: req.AutoOffsetReset,
		SessionTimeout: req.SessionTimeout, Assignor: req.Assignor})
	if err != nil {
		return GroupMember{}, err
	}
	return memberOf(st), nil
}

func (g managerGroups) Fetch(ctx context.Context, name, member string, maxRecords, maxBytes int, wait time.Duration) (GroupFetch, error) {
	res, err := g.m.Fetch(ctx, name, member, maxRecords, maxBytes, wait)
	if err != nil {
		return GroupFetch{}, err
	}
	out := GroupFetch{Generation: int64(res.Generation), Assignments: partitionsOf(res.Assignments),
		Records: make([]GroupRecord, len(res.Records))}
	for i, r := range res.Records {
		out.Records[i] = GroupRecord{Topic: r.Topic, Partition: r.Partition, Record: r.Record}
	}
	return out, nil
}

func (g managerGroups) Heartbeat(ctx context.Context, name, member string) (GroupMember, error) {
	st, err := g.m.Heartbeat(ctx, name, member)
	if err != nil {
		return GroupMember{}, err
	}
	return memberOf(st), nil
}

func (g managerGroups) Commit(ctx context.Context, name, member string, offsets []PartitionOffset) ([]PartitionOffset, error) {
	in := make([]group.OffsetCommit, len(offsets))
	for i, o := range offsets {
		in[i] = group.OffsetCommit{TopicPartition: group.TopicPartition{Topic: o.Topic, Partition: o.Partition},
			Offset: o.Offset, HighWatermark: -1}
	}
	res, err := g.m.Commit(ctx, name, member, in)
	if err != nil {
		return nil, err
	}
	out := make([]PartitionOffset, len(res))
	for i, o := range res {
		out[i] = PartitionOffset{TopicPartition: TopicPartition{Topic: o.Topic, Partition: o.Partition}, Offset: o.Offset}
	}
	return out, nil
}

func (g managerGroups) Leave(ctx context.Context, name, member string) error {
	return g.m.Leave(ctx, name, member)
}

func memberOf(st group.MemberState) GroupMember {
	return GroupMember{MemberID: st.MemberID, Generation: int64(st.Generation), Assignments: partitionsOf(st.Assignments)}
}

func partitionsOf(tps []group.TopicPartition) []TopicPartition {
	out := make([]TopicPartition, len(tps))
	for i, tp := range tps {
		out[i] = TopicPartition{Topic: tp.Topic, Partition: tp.Partition}
	}
	return out
}
