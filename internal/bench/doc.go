// Package bench is fjord's load tool, run as `fjord bench`. Modelled on
// kafka-producer-perf-test and `nats bench`, it drives any running broker
// over its public HTTP and WebSocket API and reports what it measured:
//
//	fjord bench produce  --url http://127.0.0.1:8080 --topic t --partitions 1 --records 5000000 --batch 1000 --concurrency 4 --acks 1
//	fjord bench consume  --topic t --mode longpoll --partition 0 --max-records 1000
//	fjord bench consume  --topic t --mode ws --subscribers 100
//	fjord bench e2e      --rate 10000 --duration 30s
//	fjord bench echo-server --addr 127.0.0.1:9090      # baseline for unbatched produce:
//	fjord bench produce  --url http://127.0.0.1:9090 --raw-path / --batch 1 --concurrency 64 --duration 20s
//	fjord bench pebble   --batch 1000 --concurrency 4  # baseline for batched durable produce
//	fjord bench replication --rounds 2                 # starts 3 brokers: RF=1 vs RF=3 acks=all, follower catch-up
//	fjord bench failover --runs 20                     # starts 3 brokers: kill -9 of a leader to writes accepted again
//
// Every subcommand prints a progress line each second on stderr (records/s,
// MB/s, p50/p99 request latency, errors), then a summary on stdout, or with
// --json one JSON object (Summary) holding every figure. Latency
// percentiles come from HDR histograms (1 µs to 60 s, 3 significant
// digits). Every failed request is counted under its HTTP status and API
// code ("404 topic_not_found"), its transport failure ("transport:
// connection refused"), or its WebSocket failure ("ws topic_not_found");
// the command exits non-zero when any failed, unless --allow-errors.
// --broker-pid samples the broker's VmRSS during the run and reports the
// maximum.
//
// replication and failover start their own brokers of this binary on
// 127.0.0.1 (free ports, a temporary data dir, or --dir to keep it) and stop
// every one by PID when they end; their summaries are FailoverSummary and
// ReplicationSummary.
//
// The tool stays out of the way of what it measures: one kept-alive
// connection per worker, request bodies built once and sent from a
// bytes.Reader each time, answers read whole into a reused buffer, and
// records counted with a minimal scanner (jsonscan.go) instead of decoding
// them. WebSocket subscribers return credit when half their window is used,
// so flow control never throttles a reader that keeps up.
//
// docs/performance.md lists the performance targets and the exact commands
// that measure each.
package bench
