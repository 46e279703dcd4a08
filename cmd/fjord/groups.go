package main

import (
	"context"
	"time"

	"github.com/fjord-streaming/fjord/engine/group"
	"github.com/fjord-streaming/fjord/ws"
)

// mountGroups replays the consumer groups from __consumer_offsets, serves
// the group and lag endpoints, and runs the group timers until shutdown.
func (b *broker) mountGroups() (*group.Manager, error) {
	minDistance := b.cfg.LagMinDistance
	if minDistance == 0 {
		minDistance = time.Nanosecond // 0 would mean the default; keep every commit apart
	}
	m, err := group.NewManager(b.engine, group.ManagerConfig{
		Coordinator: group.Config{LagWindowSize: b.cfg.LagWindow, LagMinDistance: minDistance},
		Logger:      b.log,
		Registerer:  b.registry,
	})
	if err != nil {
		return nil, err
	}
	b.api.MountGroups(m)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		m.Run(ctx)
	}()
	b.closers = append(b.closers, func() {
		m.Close() // long polls answer now
		cancel()
		<-done
	})
	return m, nil
}

// wsGroups adapts the group Manager to the WebSocket's group subscriptions.
type wsGroups struct{ m *group.Manager }

var _ ws.Groups = wsGroups{}

func wsMember(st group.MemberState) ws.GroupMember {
	return ws.GroupMember{MemberID: st.MemberID, Generation: int64(st.Generation), Assignments: wsPartitions(st.Assignments)}
}

func wsPartitions(tps []group.TopicPartition) []ws.TopicPartition {
	out := make([]ws.TopicPartition, len(tps))
	for i, tp := range tps {
		out[i] = ws.TopicPartition{Topic: tp.Topic, Partition: tp.Partition}
	}
	return out
}

func (g wsGroups) Join(ctx context.Context, name string, req ws.GroupJoin) (ws.GroupMember, error) {
	st, err := g.m.Join(ctx, name, group.JoinRequest{Topics: req.Topics, AutoOffsetReset: req.AutoOffsetReset,
		SessionTimeout: req.SessionTimeout, Assignor: req.Assignor})
	if err != nil {
		return ws.GroupMember{}, err
	}
	return wsMember(st), nil
}

func (g wsGroups) Fetch(ctx context.Context, name, member string, maxRecords, maxBytes int, wait time.Duration) (ws.GroupFetch, error) {
	res, err := g.m.Fetch(ctx, name, member, maxRecords, maxBytes, wait)
	if err != nil {
		return ws.GroupFetch{}, err
	}
	out := ws.GroupFetch{Generation: int64(res.Generation), Assignments: wsPartitions(res.Assignments),
		Records: make([]ws.GroupRecord, len(res.Records))}
	for i, r := range res.Records {
		out.Records[i] = ws.GroupRecord{Topic: r.Topic, Partition: r.Partition, Record: r.Record}
	}
	return out, nil
}

func (g wsGroups) Heartbeat(ctx context.Context, name, member string) (ws.GroupMember, error) {
	st, err := g.m.Heartbeat(ctx, name, member)
	if err != nil {
		return ws.GroupMember{}, err
	}
	return wsMember(st), nil
}

func (g wsGroups) Commit(ctx context.Context, name, member string, offsets []ws.PartitionOffset) ([]ws.PartitionOffset, error) {
	var in []group.OffsetCommit // nil commits what the member was delivered
	if offsets != nil {
		in = make([]group.OffsetCommit, len(offsets))
		for i, o := range offsets {
			in[i] = group.OffsetCommit{TopicPartition: group.TopicPartition{Topic: o.Topic, Partition: o.Partition},
				Offset: o.Offset}
		}
	}
	out, err := g.m.Commit(ctx, name, member, in)
	if err != nil {
		return nil, err
	}
	res := make([]ws.PartitionOffset, len(out))
	for i, o := range out {
		res[i] = ws.PartitionOffset{TopicPartition: ws.TopicPartition{Topic: o.Topic, Partition: o.Partition}, Offset: o.Offset}
	}
	return res, nil
}

func (g wsGroups) Leave(ctx context.Context, name, member string) error {
	return g.m.Leave(ctx, name, member)
}
