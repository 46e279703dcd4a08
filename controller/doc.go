// Package controller runs fjord's metadata log: cluster metadata (brokers,
// topics and their ids, partition replicas, leader, leader epoch, ISR,
// config) kept in a github.com/hashicorp/raft log over the brokers.
//
// Every broker applies the committed log to its own copy of the pure state
// machine of package metadata and hands the result to its engine, so every
// broker knows the same metadata at the same version, the Raft index. The
// Raft leader is the controller: it alone proposes changes. It registers
// brokers that Serf reports alive (a new incarnation too, which also takes
// a broker with a wiped disk out of the Raft configuration so it cannot vote
// with a log it lost), keeps the lowest MaxVoters ids as voters and the rest
// as non-voters, and hands leadership to the lowest-id voter once that one
// has been alive for a settling time (the card's rule: the controller is the
// lowest live id). Gossip never removes a broker: a failed broker is not a
// removed one. Topic changes made on another broker are forwarded to it.
//
// The controller also decides partition leadership (leadership.go, with
// the pure plans of package metadata): on every reconcile pass a partition
// whose leader is not live, or that is offline, fails over to the first
// live in-sync replica in replica order with the next leader epoch (or
// stays offline, or with unclean.leader.election.enable takes the first
// live replica), and followers that are not live leave the ISRs of live
// leaders; every RebalanceInterval leadership returns to preferred
// replicas that are in sync. A leader's ISR change (AlterISR, fenced by
// its leader and partition epochs) and a stopping broker's controlled
// shutdown reach the controller like topic changes, forwarded by any
// broker. The changes of a pass are proposed pipelined, and the state
// machine applies Raft's batches at once (fsm.ApplyBatch). Each pass also
// grows internal topics (__consumer_offsets) to min(3, live brokers)
// replicas (growth.go), so offsets committed on a cluster that started
// small end up on as many brokers as a new one would put them.
//
// The Raft log and stable store live in the broker's Pebble database
// (controller/raftstore), snapshots in the data directory, and Raft's
// transport runs over the broker's HTTP listener (controller/raftnet), so a
// broker needs no port besides --http-addr and --gossip-addr.
//
// Forming a cluster: a broker with no --join forms a one-broker cluster at
// once. A broker with --join and no metadata log waits until it has joined
// the gossip, asks every alive broker whether it belongs to a log, and forms
// one only when none does and it has the lowest id; otherwise the
// controller adds it. A minority side has no controller and changes
// nothing: admin requests there fail with leader_not_available.
//
// The first entries of a new log register the broker that formed it and
// import the topics it held before it was part of a cluster, with the same
// ids and data; the cluster id entry comes last, and brokers apply the
// metadata to their engines only from then on.
package controller
