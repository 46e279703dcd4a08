package engine

import "time"

// ReplicaState is one replica of a partition as the answering broker sees
// it. The leader's view is the complete and authoritative one: it knows
// every follower's log end from the follower's fetches. Any other broker
// knows the placement (who leads, who is in sync) and its own log end only;
// what it does not know is -1.
type ReplicaState struct {
	Broker int32
	InSync bool
	Leader bool
	// LogEnd is the replica's log end offset, -1 when unknown. For a
	// follower, on the leader, it is the follower's durable log end: the
	// offset of its last fetch.
	LogEnd int64
	// LagRecords is how many records of the leader's log the replica lacks
	// (the leader's log end minus LogEnd, never negative); 0 for the leader,
	// -1 when unknown (LogEnd unknown, or this broker does not lead).
	LagRecords int64
	// LagMs is how long the replica has been behind the leader's log end:
	// now minus the last time it was caught up (or minus when this broker
	// became leader, if later), the measure replica.lag.time.max.ms is
	// compared with to drop it from the ISR. 0 for the leader and for a
	// caught-up follower; -1 when this broker does not lead.
	LagMs int64
	// LastFetchMs is when the follower last fetched from this broker as the
	// leader (Unix ms), 0 when unknown.
	LastFetchMs int64
}

// replicaView is one consistent look at a partition's replicas and this
// broker's own offsets, taken under p.mu (the metrics collector reads
// everything from it).
type replicaView struct {
	states []ReplicaState
	// local are this broker's own replica's offsets.
	local Offsets
	// leading says this broker leads; replica that it holds a replica.
	leading, replica bool
	// isr and replicas are the lengths of the ISR and the replica list.
	isr, replicas int
}

// Replicas returns the state of each of the partition's replicas, in the
// order of Placement().Replicas. See ReplicaState for what is known where.
func (p *Partition) Replicas() []ReplicaState {
	return p.replicaView(time.Now()).states
}

// replicaView takes the view at now. now must come from the same clock as
// the followers' fetch times (time.Now, replica.go).
func (p *Partition) replicaView(now time.Time) replicaView {
	p.mu.Lock()
	defer p.mu.Unlock()
	pl, self, leo := p.place, p.env.self, p.tail.EndOffset
	v := replicaView{
		local: p.offsetsLocked(), leading: p.leadingLocked(),
		replica: contains(pl.Replicas, self), isr: len(pl.ISR), replicas: len(pl.Replicas),
		states: make([]ReplicaState, len(pl.Replicas)),
	}
	for i, id := range pl.Replicas {
		rs := ReplicaState{Broker: id, InSync: contains(pl.ISR, id), Leader: id == pl.Leader,
			LogEnd: -1, LagRecords: -1, LagMs: -1}
		switch {
		case id == self && v.leading:
			rs.LogEnd, rs.LagRecords, rs.LagMs = leo, 0, 0
		case id == self:
			rs.LogEnd = leo
		case v.leading:
			followerLag(&rs, p.followers[id], leo, p.leaderSince, now)
		}
		v.states[i] = rs
	}
	return v
}

// followerLag fills in what a leader whose log ends at leo, leading since
// since, knows of a follower from its fetches fs (nil when the follower has
// not fetched since). A follower not heard from counts as behind since the
// leader took over, as the ISR check counts it (outOfSync).
func followerLag(rs *ReplicaState, fs *followerState, leo int64, since, now time.Time) {
	rs.LagMs = max(0, behindFor(fs, leo, since, now).Milliseconds())
	if fs == nil {
		return
	}
	rs.LogEnd = fs.leo
	rs.LagRecords = max(0, leo-fs.leo)
	if fs.fetchedBefore {
		rs.LastFetchMs = fs.lastFetch.UnixMilli()
	}
}
