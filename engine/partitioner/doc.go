// Package partitioner chooses the partition of a produced record when the
// producer did not name one.
//
// A record with a key goes to ForKey(key, partitions), which is
// toPositive(murmur2(key)) % partitions exactly as in Kafka's Java client
// (org.apache.kafka.common.utils.Utils.murmur2 and
// BuiltInPartitioner.partitionForKey). A key therefore lands in the same
// partition as it would in a Kafka topic with the same partition count, and a
// Kafka client that computes partitions itself agrees with fjord.
//
// Records without a key use a Sticky chooser: every record of one produce
// request goes to the same partition, and successive requests rotate over the
// partitions so that load spreads evenly (Kafka's "uniform sticky"
// partitioning, with the request playing the part of the batch).
//
// The package is pure computation: no goroutines, no clocks, no I/O.
package partitioner
