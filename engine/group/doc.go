// Package group is the pure logic of fjord consumer groups: membership,
// server-side partition assignment, the hand-over rule that keeps a partition
// from having two owners, committed offsets and Burrow-style lag status.
//
// It has no goroutines, no clock and no I/O. Every input carries the time it
// happens at, and every output is a value a driver acts on (answer a member,
// push an assignment frame, append a record to __consumer_offsets, arm a
// timer). The driver owns one Coordinator per group, serializes calls to it,
// and must not call it concurrently.
//
// # Generations and the hand-over rule
//
// The generation bumps on every membership change (Join, Leave, expiry in
// Tick) and whenever the partition count of a subscribed topic changes. Each
// bump recomputes the target assignment with the group's Assignor (range,
// roundrobin or sticky).
//
// A target is not handed out blindly. Every partition has at most one claim,
// held by one live member; a member's effective assignment (Assignment) is the
// part of its target it holds claims on. When a rebalance moves partition P
// from A to B, A's effective assignment loses P at once, but A keeps the claim
// until it has observed a generation that no longer gives it P (the driver
// reports that with Observe once a response carrying that generation has been
// handed to A), or until A leaves or expires. Only then does B get the claim,
// and P appears in B's effective assignment within the same generation. So a
// partition is never in the hands of two live members, and the group state is
// "rebalancing" exactly while some target partition waits for such a release.
//
//	gen 4: A owns P
//	join B -> gen 5: target(B) = {P}; A holds the claim, B's assignment lacks P
//	A's next response carries gen 5 -> Observe(A, 5): claim released, B gets P
//
// A member that still holds a claim may commit that partition, so an old owner
// can commit its last position before handing over.
//
// # Committed offsets
//
// Offsets are the next offset to read (Kafka semantics). A commit never moves
// an offset backwards unless the committing member did a Seek on that
// partition since its last commit of it; otherwise the larger offset is kept
// and returned as the effective value. ResetOffsets (only while the group is
// empty) and RestoreOffset (replay of __consumer_offsets) set offsets as given.
//
// # For the driver
//
//   - Member ids come from the driver (Join does not invent them); make them
//     unguessable and never reuse one.
//   - Every member call (fetch, heartbeat, commit) proves liveness: call
//     Heartbeat (Commit and Join do it themselves). Arm a timer at Deadline
//     and call Tick(now) after it; Tick returns the expired ids.
//   - Hand out Assignment, never Target. After a response (HTTP answer or
//     WebSocket assignment frame) carrying generation g has been written to
//     member m, call Observe(m, g). Observe returns the members whose
//     assignment grew; push them a frame (REST members learn it on their
//     next call). Clients must ignore a response whose generation is lower
//     than one they already have.
//   - The generation changed when Generation() differs from before a call
//     (Join, Leave, Tick, UpdateTopics, DeleteTopic); then every member's
//     assignment may have changed.
//   - Tell the coordinator every topic's partition count (UpdateTopics), not
//     only subscribed ones: commits, seeks and resets are checked against
//     them. On topic deletion call DeleteTopic.
//   - Commit updates memory at once and returns the effective offsets; append
//     exactly those to __consumer_offsets (in call order) before answering.
//     Replay a commit record with RestoreOffset, a reset with RestoreReset
//     and a topic deletion with DeleteTopic; members are never persisted.
//   - DELETE /groups/{g} is allowed when State() is StateEmpty; otherwise
//     answer with ErrGroupNotEmpty.
//
// # Lag
//
// lag.go holds the Burrow-style evaluation as pure functions: a Window of the
// last commits of a partition, Evaluate for the partition status and
// GroupStatus for the roll-up. Coordinator.Lag applies them to the group's
// offsets given high watermarks supplied by the driver.
//
// # The driver: Manager
//
// Manager (manager.go, members.go, fetch.go, commit.go, view.go,
// offsetlog.go) is the driver the paragraphs above describe; it is the only
// part of the package with goroutines, a clock and I/O. It keeps one
// Coordinator per group behind the group's mutex, plus per member the
// auto-offset-reset policy and the delivered positions. Run owns one timer
// at the earliest member deadline (and compaction); a fetch in flight keeps
// its member alive. Fetch long-polls the high-watermark channels of the
// member's partitions and the group's change channel, so it wakes on new
// records and on rebalances without polling. Topic hooks of the engine keep
// every coordinator's partition counts current and drop deleted topics.
// offsetlog.go documents the record format of __consumer_offsets, its
// replay and its compaction into snapshots. coordination.go follows the
// leadership of its partitions: a broker serves the groups of the
// partitions it leads once it has loaded them from the log, refuses their
// requests while loading (ErrCoordinatorLoading) and drops them when
// leadership moves away (ErrNotCoordinator); both are retriable.
package group
