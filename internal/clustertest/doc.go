// Package clustertest holds the cluster integration tests: three real
// `fjord serve` processes on 127.0.0.1 (random ports, temporary data dirs,
// stopped by PID), started with internal/brokertest.StartCluster, and the
// behaviour the cluster promises (docs: API.md "Cluster and health", the
// forwarding convention, DESIGN.md "Cluster"):
//
//   - formation from any join order, the same /cluster and topic metadata
//     at every broker, the lowest id as controller;
//   - topic admin, produce and read, and consumer groups through every
//     broker, whoever leads or coordinates;
//   - a broker restarted on a wiped disk comes back with a new incarnation;
//   - kill -9 of the controller: broker 2 takes over and admin works through
//     every survivor; the restarted broker 1 takes control back;
//   - a minority side changes no metadata and answers 503
//     leader_not_available, and recovers when the others return;
//   - kill -9 of a partition's leader: another broker describes a new
//     leader at a higher leader epoch within 15 s; SIGTERM of a leader runs
//     its controlled shutdown before it exits;
//   - replication under faults (TestFault, fault_test.go): acks=all
//     producers and a consumer run while leaders and the controller are
//     killed -9 and restarted, a leader is frozen with SIGSTOP and resumed,
//     and a broker comes back on a wiped disk; afterwards no acknowledged
//     record is lost, every replica is byte-identical to the leader up to
//     the HW, no consumer saw a record later truncated, and each partition's
//     history is a linearizable log (porcupine, logmodel_test.go).
//
// The package has no code of its own, only tests. Controller failover time
// (kill -9 to the first successful admin call through another broker) is
// measured by the failover subtest; FJORD_FAILOVER_RUNS sets how many times
// it repeats (default 1):
//
//	FJORD_FAILOVER_RUNS=10 go test -run 'TestCluster/controller_failover' -v ./internal/clustertest
//
// TestFault runs FJORD_FAULT_CYCLES kill -9 cycles (default 10, about 80 s
// on 2 cores; make fault-long runs 100), and FJORD_FAULT_LOG_DIR, when
// set, receives every broker's whole log:
//
//	FJORD_FAULT_CYCLES=30 FJORD_FAULT_LOG_DIR=/tmp/fault go test -run '^TestFault$' -v ./internal/clustertest
package clustertest
