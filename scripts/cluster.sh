#!/usr/bin/env bash
# Starts a three-broker fjord cluster on this machine for trying things out:
# ids 1-3, HTTP on 127.0.0.1:8081-8083, gossip on 127.0.0.1:7947-7949, data in
# ./data/cluster/N and logs in ./data/cluster/N.log. Ctrl-C (or SIGTERM) stops
# the three brokers gracefully, each by its PID.
#
#   make cluster                  # builds bin/fjord, then runs this script
#   BIN=./fjord scripts/cluster.sh
#
# FJORD_CLUSTER_SECRET sets the brokers' shared secret (default: a fixed
# development value; set your own anywhere but a laptop).
set -euo pipefail

BIN=${BIN:-bin/fjord}
DATA=${DATA:-data/cluster}
SECRET=${FJORD_CLUSTER_SECRET:-fjord-local-cluster}
IDS=(1 2 3)
pids=()

stop() {
	trap - INT TERM EXIT
	if ((${#pids[@]})); then
		echo "stopping brokers (pids ${pids[*]})"
		for pid in "${pids[@]}"; do
			kill -TERM "$pid" 2>/dev/null || true
		done
		for pid in "${pids[@]}"; do
			wait "$pid" 2>/dev/null || true
		done
	fi
}
trap 'stop; exit 0' INT TERM
trap stop EXIT

if [[ ! -x $BIN ]]; then
	echo "no broker binary at $BIN: run 'make build' first (or set BIN)" >&2
	exit 1
fi

for id in "${IDS[@]}"; do
	join=()
	for other in "${IDS[@]}"; do
		((other == id)) || join+=("127.0.0.1:$((7946 + other))")
	done
	http="127.0.0.1:$((8080 + id))"
	mkdir -p "$DATA/$id"
	"$BIN" serve --id "$id" --http-addr "$http" --advertise-http "$http" --data-dir "$DATA/$id" \
		--gossip-addr "127.0.0.1:$((7946 + id))" --join "$(IFS=,; echo "${join[*]}")" \
		--gossip-profile local --cluster-secret "$SECRET" >"$DATA/$id.log" 2>&1 &
	pids+=($!)
done

# Wait until every broker is ready (it has applied metadata that registers it).
for id in "${IDS[@]}"; do
	url="http://127.0.0.1:$((8080 + id))"
	for ((i = 0; i < 600; i++)); do
		if curl -fsS -o /dev/null "$url/readyz" 2>/dev/null; then
			break
		fi
		if ! kill -0 "${pids[id - 1]}" 2>/dev/null; then
			echo "broker $id exited; its log ($DATA/$id.log) ends with:" >&2
			tail -n 20 "$DATA/$id.log" >&2
			exit 1
		fi
		sleep 0.1
	done
done

echo "fjord cluster of three brokers is up:"
for id in "${IDS[@]}"; do
	echo "  broker $id  http://127.0.0.1:$((8080 + id))   (gossip 127.0.0.1:$((7946 + id)), data $DATA/$id, log $DATA/$id.log)"
done
echo "try: curl -s http://127.0.0.1:8082/cluster"
echo "Ctrl-C stops all three."

# Serve until Ctrl-C, or until a broker exits on its own.
set +e
wait -n "${pids[@]}"
status=$?
echo "a broker exited (status $status); stopping the others" >&2
exit "$status"
