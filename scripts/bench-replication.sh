#!/usr/bin/env bash
# Measures issue 12's replication targets on this machine with three local
# brokers (ids 1-3, HTTP 127.0.0.1:18081-18083, data in a temp dir), each
# stopped by its PID at the end:
#
#   1. batched acks=all produce (1000 records of 100 bytes per request) to an
#      RF=1 and an RF=3 topic (min.insync.replicas 2), alternating, in one run;
#   2. follower catch-up: broker holding a follower replica stopped, a backlog of
#      BACKLOG records produced, the broker started again, and the time until
#      the leader reports its log end caught up.
#
#   make bench-replication        # builds bin/fjord, then runs this script
#   DUR=20s ROUNDS=3 BACKLOG=10000000 scripts/bench-replication.sh
#
# Leader failover (kill -9 to writes accepted again) is measured by the fault
# test: FJORD_FAULT_CYCLES=20 go test -v -run TestFault ./internal/clustertest/
set -euo pipefail

BIN=${BIN:-bin/fjord}
DUR=${DUR:-15s}
ROUNDS=${ROUNDS:-2}
BACKLOG=${BACKLOG:-10000000}
DATA=$(mktemp -d)
declare -A pid

stop() {
	for id in "${!pid[@]}"; do kill -TERM "${pid[$id]}" 2>/dev/null || true; done
	for id in "${!pid[@]}"; do wait "${pid[$id]}" 2>/dev/null || true; done
	rm -rf "$DATA"
}
trap stop EXIT

start() {
	local id=$1 join=()
	for o in 1 2 3; do ((o == id)) || join+=("127.0.0.1:$((17946 + o))"); done
	"$BIN" serve --id "$id" --http-addr "127.0.0.1:$((18080 + id))" --advertise-http "127.0.0.1:$((18080 + id))" \
		--data-dir "$DATA/$id" --gossip-addr "127.0.0.1:$((17946 + id))" --join "$(IFS=,; echo "${join[*]}")" \
		--gossip-profile local --cluster-secret bench --log-level warn >>"$DATA/$id.log" 2>&1 &
	pid[$id]=$!
}

ready() {
	for _ in $(seq 1 120); do
		curl -sf "127.0.0.1:$((18080 + $1))/readyz" >/dev/null && return 0
		sleep 0.5
	done
	echo "broker $1 not ready" >&2
	exit 1
}

# partition 0's field of GET /topics/$1 at broker 1.
field() { curl -s "127.0.0.1:18081/topics/$1" | grep -o "\"$2\":[^,]*" | head -1 | cut -d: -f2; }

# log end of broker $2's replica of partition 0 of $1, as its leader reports it.
replica_end() {
	local leader
	leader=$(field "$1" leader)
	curl -s "127.0.0.1:$((18080 + leader))/topics/$1" | grep -o "\"broker\":$2,[^}]*" |
		grep -o '"log_end_offset":[0-9]*' | cut -d: -f2
}

produce() {
	local leader
	leader=$(field "$1" leader)
	"$BIN" bench produce --url "http://127.0.0.1:$((18080 + leader))" --topic "$1" --batch 1000 \
		--concurrency 4 --acks "$2" "${@:3}" --json --quiet | grep -o '"records_per_sec": *[0-9.]*' | grep -o '[0-9.]*$'
}

for id in 1 2 3; do start "$id"; done
for id in 1 2 3; do ready "$id"; done
curl -sf -X POST 127.0.0.1:18081/topics -d '{"name":"rf1","partitions":1,"replication_factor":1}' >/dev/null
curl -sf -X POST 127.0.0.1:18081/topics -d '{"name":"rf3","partitions":1,"replication_factor":3,"config":{"min.insync.replicas":2}}' >/dev/null
until curl -s 127.0.0.1:18081/topics/rf3 | grep -q '"isr":\[[0-9]*,[0-9]*,[0-9]*\]'; do sleep 0.2; done

echo "acks=all batched produce, $DUR per run (records/s):"
for r in $(seq 1 "$ROUNDS"); do
	echo "  round $r: RF=1 $(produce rf1 all --duration "$DUR")   RF=3 $(produce rf3 all --duration "$DUR")"
done

leader=$(field rf3 leader)
follower=1
((follower == leader)) && follower=2
kill -TERM "${pid[$follower]}" && wait "${pid[$follower]}" 2>/dev/null || true
unset "pid[$follower]"
before=$(replica_end rf3 "$follower")
echo "backlog: $BACKLOG records while broker $follower is down (acks=1, $(produce rf3 1 --records "$BACKLOG") records/s)"
t0=$(date +%s%N)
start "$follower"
leo=$(field rf3 log_end_offset)
until [[ $(replica_end rf3 "$follower") == "$leo" ]]; do sleep 0.05; done
t1=$(date +%s%N)
ms=$(((t1 - t0) / 1000000))
echo "catch-up: $((leo - before)) records in ${ms} ms from restart: $(((leo - before) * 1000 / ms)) records/s"
