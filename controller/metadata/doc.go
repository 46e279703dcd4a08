// Package metadata is the cluster metadata state machine: the registered
// brokers, the topics with their ids and configuration, and every
// partition's replicas, leader, leader epoch, ISR and partition epoch.
//
// Every broker applies the committed metadata log to its own State (the
// controller package wraps it in a hashicorp/raft FSM), so the state must
// be a pure function of the log. The package has no goroutines, no I/O, no
// clock and no randomness: whatever is random (a topic id, a placement's
// start) or timed (a creation time) is chosen by the proposer and carried
// in the command. Map iteration never decides an outcome; where order
// matters (a refusal's message, a wiped broker's ISR changes) topics are
// visited by name.
//
// # Applying
//
// State.Apply(index, entry) decodes one entry and applies it. Version
// becomes the entry's Raft index even when the command is refused, so
// Version always says how far the log has been applied; a refused or
// undecodable command changes nothing else and returns an error wrapping a
// sentinel (ErrTopicExists, ErrStaleEpoch, ErrInvalid, ...), which the
// proposer reads as the entry's response. The rules are those of each
// Command's doc comment; after every entry the state satisfies Validate:
// the leader is in the ISR (or there is none, NoLeader), the ISR is
// within the replicas, the replicas are distinct registered brokers.
//
// Fencing: UpdateTopic, DeleteTopic and ChangePartition name the topic id
// they were computed against, so a proposal about a topic since deleted
// and recreated is refused (ErrTopicNotFound). ChangePartition also names
// the partition epoch it saw; every leader, ISR or replica change bumps
// it, so of two racing alter-ISR proposals only the first applies
// (ErrStaleEpoch). GrowReplication only adds replicas after a partition's
// current ones, outside the ISR, so it needs no partition epoch: whatever
// leader and ISR changes came first, the result keeps the invariants.
//
// Internal topics grow: the offsets topic gets min(3, brokers) replicas
// when it is created, and PlanInternalGrowth gives the GrowReplication
// that raises it to min(InternalReplication, live brokers) as brokers
// join. (Kafka instead refuses to create its offsets topic before
// offsets.topic.replication.factor brokers are there; fjord creates it at
// once, so that one broker works alone, and grows it.)
//
// A broker that registers with a new incarnation lost its disk. It leaves
// every ISR that has another member; where it led, the first remaining ISR
// member in replica order leads with the next leader epoch. Where it is an
// ISR's only member it stays, leader too if it was: its data is gone
// either way, and an ISR under a leader is never empty, so the partition
// keeps its (now empty) only in-sync copy rather than going offline with
// no way back short of an unclean election.
//
// # Command format
//
// An entry is one JSON object, the envelope, with the command's members
// beside the version and op:
//
//	{"v":1,"op":"register_broker","id":2,"http_addr":"10.0.0.2:8080","incarnation":"7d1c…"}
//	{"v":1,"op":"change_partition","topic":"orders","topic_id":81,"partition":0,
//	 "leader":2,"isr":[2,3],"leader_epoch":4,"expect_partition_epoch":9}
//
// The ops are set_cluster_id, register_broker, unregister_broker,
// create_topic, update_topic, delete_topic, change_partition and
// grow_replication; member
// names are those of the json tags on the command types. Decode is strict:
// unknown, duplicate, null or missing members are ErrMalformed (only
// update_topic's config may be absent, meaning unchanged), an unknown "v"
// or "op" ErrUnsupported.
//
// # Snapshot format
//
// MarshalBinary writes the whole state as one JSON object, brokers sorted
// by id and topics by name, so that equal states give equal bytes:
//
//	{"v":1,"cluster_id":"…","version":118,
//	 "brokers":[{"id":1,"http_addr":"…","incarnation":"…","registered":3},…],
//	 "topics":[{"name":"orders","id":81,"internal":false,"replication_factor":3,
//	            "config":{"retention.ms":604800000},"created_ms":…,
//	            "partitions":[{"replicas":[1,2,3],"leader":1,"leader_epoch":0,
//	                           "isr":[1,2,3],"partition_epoch":0},…]},…]}
//
// Restore is as strict as Decode and checks Validate on the result.
//
// # Versions
//
// Both formats carry "v". A broker refuses a version or op it does not
// know, and since every broker applies every entry, a broker that cannot
// read an entry falls out of step with the others. So an op's meaning
// never changes, and a new op or member, or a new version, is proposed
// only once every broker runs a build that reads it (a cluster-wide
// feature level, as Kafka's metadata.version). A new build keeps reading
// every older version: it decodes an old entry or snapshot into today's
// types, filling what the old version lacked as that version meant it.
//
// # Placement and the controller's choices
//
// AssignReplicas is Kafka's rack-unaware replica assignment. Voters and
// PreferredController are the controller's pure decisions about the Raft
// configuration: the lowest ids vote, and the controller role moves to the
// lowest-id voter that has been alive long enough.
//
// Partition leadership is decided the same way (election.go), from a
// Liveness (who is live under its registered incarnation, who is in a
// controlled shutdown) the controller supplies: Elect is failover and ISR
// cleanup (the first live in-sync replica in replica order takes over with
// the next leader epoch; with none the partition goes offline keeping its
// ISR, or, where the topic allows it, the first live replica leads alone);
// Preferred hands leadership back to the first replica once it is live and
// in sync; Shutdown moves a stopping broker's leaderships to in-sync
// replicas and takes it out of the ISRs it follows in. PlanFailover,
// PlanPreferred and PlanShutdown apply them to every partition and return
// Decisions, each a ChangePartition fenced by the partition epoch it was
// computed from, so a plan raced by an alter-ISR is refused, not applied
// over it. testdata/failover.txt tells a failover story with them.
package metadata
