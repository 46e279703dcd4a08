package main

import (
	"context"
	"time"

	"github.com/fjord-streaming/fjord/engine/group"
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
