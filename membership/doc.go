// Package membership knows which brokers form the cluster and how each is
// doing. It answers "who is there", never "who is a voter": gossip alone
// changes nothing durable, the controller does that through Raft.
//
// # Two views
//
// Local is the view of a one-broker cluster: this broker, always alive and
// always the controller. Serf is the real one, built on hashicorp/serf:
// every broker runs a Serf member on --gossip-addr, and Start returns it.
// Both offer Self and Brokers.
//
// # What a broker publishes
//
// Member name "fjord-<id>", and tags:
//
//	id    the broker id
//	http  the advertised HTTP address
//	raft  its Raft address: the same HTTP address (Raft rides on HTTP)
//	inc   the incarnation, a UUID made when the data dir was formatted
//
// Members without a parsable id tag, or whose name is not fjord-<id>, are
// not brokers and are ignored everywhere.
//
// # Statuses and how long brokers stay listed
//
// Brokers lists alive, failed (stopped without leaving: a crash, or a
// partition) and left (left gracefully, or is leaving) brokers. Failed and
// left brokers stay listed until Serf reaps them (24 h by default); EventReap
// says when. An alive broker shows as suspect while it has missed two of
// this broker's direct probes in a row (one per memberlist probe interval,
// each bounded by its probe timeout), until it answers again or memberlist
// declares it failed; Broker.Live counts suspect brokers as members, so a
// probe that flaps under load moves no decision.
//
// # Joining
//
// Start binds and returns at once; Config.Join is retried in the background
// with backoff (200 ms doubling to 5 s) until one address answers, so the
// brokers of a new cluster may start in any order and share one seed list
// (a broker skips its own address). Joined says when a join has succeeded.
//
// # Duplicate ids
//
// Two brokers with the same id and different disks must not both serve, so
// a second broker that claims a live broker's name from another gossip
// address with another incarnation is refused, not merged: Serf's merge
// delegate (also called for every memberlist alive message) rejects it on
// both sides. The newcomer, a broker not yet part of a cluster, reports an
// error wrapping ErrDuplicateID on Fatal, logs it at error level and stops
// joining; the original only logs a warning and carries on. Member events
// are checked again as a second line. Serf's own name-conflict resolution
// is off: its vote can shut down the original without telling anyone.
//
// A broker that restarts at the same gossip address with a new incarnation
// (its disk was wiped) is a restart, not a duplicate: memberlist refutes the
// stale record and Brokers shows the new incarnation once the restart has
// gossiped; the controller takes it out of every ISR.
//
// # Events
//
// Serf's event channel is drained by one goroutine that never waits on the
// consumer: events for Config.Events queue in order (up to 4096), and when a
// stuck consumer lets the queue fill, the oldest is dropped, counted
// (DroppedEvents) and logged once per stall. Consumers that need the full
// picture read Brokers after an event; an event is a nudge, Brokers is the
// truth.
package membership
