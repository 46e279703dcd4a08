#!/usr/bin/env bash
# Measures every target of docs/performance.md in one run on this machine:
# each scenario on a fresh broker, JSON summaries in $OUT, one line a figure.
# Usage: make perf  (or BIN=bin/fjord DUR=20s OUT=perf-results bash internal/bench/targets.sh)
# ONLY="1 6" runs just those sections (1 also measures 3a; 3 is 3b).
set -euo pipefail
BIN=${BIN:-bin/fjord}
DUR=${DUR:-20s}
OUT=${OUT:-perf-results}
BIG=${BIG:-50000000}          # retained records for target 5
ADDR=127.0.0.1:18080
U=http://$ADDR
mkdir -p "$OUT"
WORK=$(mktemp -d /tmp/fjord-perf.XXXXXX)
BROKER=
cleanup() { [ -n "$BROKER" ] && kill -9 "$BROKER" 2>/dev/null || true; rm -rf "$WORK"; }
trap cleanup EXIT

start_broker() {
  rm -rf "$WORK/data"
  "$BIN" serve --http-addr "$ADDR" --data-dir "$WORK/data" --log-level warn &
  BROKER=$!
  for _ in $(seq 200); do curl -sf "$U/readyz" >/dev/null && return; sleep 0.05; done
  echo "broker did not start" >&2; exit 1
}
stop_broker() { kill "$BROKER"; wait "$BROKER" || true; BROKER=; }
# field FILE KEY: the first numeric value of "KEY" in a JSON summary.
field() { grep -o "\"$2\": *[0-9.e+-]*" "$1" | head -1 | sed 's/.*: *//'; }
rss() { grep -A3 '"broker_rss"' "$1" | grep -o '"max_bytes": *[0-9]*' | sed 's/.*: *//' | awk '{printf "%.0f MB", $1/1e6}'; }
want() { [ -z "${ONLY:-}" ] || [[ " $ONLY " == *" $1 "* ]]; }
say() { printf '%-58s %s\n' "$1" "$2"; }
bench() { local name=$1; shift; "$BIN" bench "$@" --json --quiet > "$OUT/$name.json"; }

echo "fjord performance targets, $(date -u +%F), $(nproc) cores, duration $DUR"

if want 1; then
# 1. batched durable produce vs raw Pebble synced appends
bench 1-pebble pebble --batch 1000 --record-size 100 --concurrency 4 --duration "$DUR" --dir "$WORK/pebble"
rm -rf "$WORK/pebble"
start_broker
bench 1-produce produce --url $U --topic t1 --partitions 1 --batch 1000 --concurrency 4 --acks 1 --duration "$DUR" --broker-pid "$BROKER"
say "1 raw Pebble synced 1000-record batches (records/s)" "$(field "$OUT/1-pebble.json" records_per_sec)"
say "1 batched produce acks=1 (records/s)" "$(field "$OUT/1-produce.json" records_per_sec)"
say "7 RSS during 1" "$(rss "$OUT/1-produce.json")"
# 3. consume what target 1 wrote
bench 3-longpoll consume --url $U --topic t1 --mode longpoll --partition 0 --max-records 1000 --broker-pid "$BROKER"
bench 3-longpoll2 consume --url $U --topic t1 --mode longpoll --partition 0 --max-records 1000 --concurrency 2
say "3a long-poll reads, 1000/request (records/s)" "$(field "$OUT/3-longpoll.json" records_per_sec)"
say "3a long-poll, two requests in flight (records/s)" "$(field "$OUT/3-longpoll2.json" records_per_sec)"
say "7 RSS during 3a" "$(rss "$OUT/3-longpoll.json")"
stop_broker
fi
if want 3; then
start_broker
bench 3-fill produce --url $U --topic t3 --partitions 1 --records 2000000 --batch 1000 --concurrency 4
bench 3-ws consume --url $U --topic t3 --mode ws --subscribers 100 --duration "$DUR" --broker-pid "$BROKER"
say "3b 100 WebSocket subscribers (records/s delivered)" "$(field "$OUT/3-ws.json" records_per_sec)"
say "7 RSS during 3b" "$(rss "$OUT/3-ws.json")"
stop_broker
fi

if want 2; then
# 2. unbatched produce vs a trivial echo handler under the same tool
"$BIN" bench echo-server --addr 127.0.0.1:19090 & ECHO=$!
sleep 0.5
bench 2-echo produce --url http://127.0.0.1:19090 --raw-path / --batch 1 --concurrency 64 --duration "$DUR"
kill $ECHO; wait $ECHO 2>/dev/null || true
start_broker
bench 2-produce produce --url $U --topic t2 --partitions 1 --batch 1 --concurrency 64 --acks 1 --duration "$DUR" --broker-pid "$BROKER"
say "2 echo handler (requests/s)" "$(field "$OUT/2-echo.json" requests_per_sec)"
say "2 unbatched produce acks=1, 64 connections (requests/s)" "$(field "$OUT/2-produce.json" requests_per_sec)"
stop_broker
fi

if want 4; then
# 4. end-to-end latency at 10,000 records/s
start_broker
bench 4-e2e e2e --url $U --topic t4 --partitions 1 --rate 10000 --duration "$DUR" --broker-pid "$BROKER"
bench 4-e2e-batch10 e2e --url $U --topic t4b --partitions 1 --rate 10000 --batch 10 --duration "$DUR"
for f in 4-e2e 4-e2e-batch10; do
  say "4 $f e2e latency p50 / p99 (ms)" "$(grep -A8 '"e2e_latency_ms"' "$OUT/$f.json" | grep -o '"p50": *[0-9.]*\|"p99": *[0-9.]*' | sed 's/.*: *//' | paste -sd/)"
done
stop_broker
fi

if want 6; then
# 6. many partitions
start_broker
bench 6-many produce --url $U --topic t6 --topics 10 --partitions 100 --batch 1000 --concurrency 4 --acks 1 --duration "$DUR" --broker-pid "$BROKER"
say "6 1000 partitions over 10 topics (records/s)" "$(field "$OUT/6-many.json" records_per_sec)"
stop_broker
fi

if want 7; then
# 7. stalled WebSocket readers on a large backlog while producing
start_broker
bench 7-fill produce --url $U --topic t7 --partitions 1 --records 5000000 --batch 1000 --concurrency 4
bench 7-produce produce --url $U --topic t7 --duration "$DUR" --broker-pid "$BROKER" &
P=$!
bench 7-stalled consume --url $U --topic t7 --mode ws --subscribers 0 --stalled 10 --duration "$DUR" --broker-pid "$BROKER"
wait $P
say "7 RSS, 10 stalled readers on 5 M records + producing" "$(rss "$OUT/7-stalled.json")"
stop_broker
fi

if want 5; then
# 5. constant cost as the log grows: 1 M retained vs $BIG retained
start_broker
bench 5-fill1 produce --url $U --topic t5 --partitions 1 --records 1000000 --batch 1000 --concurrency 4
sync  # each append run starts with the fill's pages written back, not competing with them for the disk
bench 5-append1 produce --url $U --topic t5 --records 2000000 --batch 1000 --concurrency 4
bench 5-tail1 consume --url $U --topic t5 --partition 0 --offset -3000000
bench 5-fillbig produce --url $U --topic t5 --records $((BIG - 3000000)) --batch 1000 --concurrency 4
sync
bench 5-appendbig produce --url $U --topic t5 --records 2000000 --batch 1000 --concurrency 4
bench 5-tailbig consume --url $U --topic t5 --partition 0 --offset -3000000
bench 5-randombig consume --url $U --topic t5 --partition 0 --random-offsets --duration "$DUR"
bench 5-alignedbig consume --url $U --topic t5 --partition 0 --random-offsets --align 1000 --duration "$DUR"
say "5 append at ~1 M retained (records/s)" "$(field "$OUT/5-append1.json" records_per_sec)"
say "5 append at ~$BIG retained (records/s)" "$(field "$OUT/5-appendbig.json" records_per_sec)"
say "5 tail read (last 3 M) at ~1 M (records/s)" "$(field "$OUT/5-tail1.json" records_per_sec)"
say "5 tail read (last 3 M) at ~$BIG (records/s)" "$(field "$OUT/5-tailbig.json" records_per_sec)"
say "5 random old offsets at ~$BIG (records/s)" "$(field "$OUT/5-randombig.json" records_per_sec)"
say "5 random batch-aligned old offsets at ~$BIG (records/s)" "$(field "$OUT/5-alignedbig.json" records_per_sec)"
stop_broker
fi
