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
			[[ -z $pid ]] || kill -TERM "$pid" 2>/dev/null || true
		done
		for pid in "${pids[@]}"; do
			[[ -z $pid ]] || wait "$pid" 2>/dev/null || true
		done
	fi
}
trap 'stop; exit 0' INT TERM
trap stop EXIT

if [[ ! -x $BIN ]]; then
	echo "no broker binary at $BIN: run 'make build' first (or set BIN)" >&2
	exit 1
fi

# start_broker ID starts broker ID in the background and records its PID.
start_broker() {
	local id=$1 join=() http
	for other in "${IDS[@]}"; do
		((other == id)) || join+=("127.0.0.1:$((7946 + other))")
	done
	http="127.0.0.1:$((8080 + id))"
	mkdir -p "$DATA/$id"
	"$BIN" serve --id "$id" --http-addr "$http" --advertise-http "$http" --data-dir "$DATA/$id" \
		--gossip-addr "127.0.0.1:$((7946 + id))" --join "$(IFS=,; echo "${join[*]}")" \
		--gossip-profile local --cluster-secret "$SECRET" >>"$DATA/$id.log" 2>&1 &
	pids[id - 1]=$!
}

for id in "${IDS[@]}"; do
	start_broker "$id"
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
	echo "  broker $id  http://127.0.0.1:$((8080 + id))   pid ${pids[id - 1]}  (gossip 127.0.0.1:$((7946 + id)), data $DATA/$id, log $DATA/$id.log)"
done
echo "try: curl -s http://127.0.0.1:8082/cluster"
echo "Ctrl-C stops all three. A broker that exits (say kill -9 <pid>, to watch a failover) is"
echo "started again when you press Enter here."

# Serve until Ctrl-C. When a broker exits, say so; Enter restarts every
# broker that is not running, with its data.
set +e
while true; do
	read -r -t 1
	rc=$?
	if ((rc > 0 && rc <= 128)); then
		sleep 1 # no terminal (end of input): nothing will press Enter
	elif ((rc == 0)); then
		for id in "${IDS[@]}"; do
			if [[ -z ${pids[id - 1]} ]]; then
				start_broker "$id"
				echo "broker $id started again (pid ${pids[id - 1]})"
			fi
		done
	fi
	for id in "${IDS[@]}"; do
		if [[ -n ${pids[id - 1]} ]] && ! kill -0 "${pids[id - 1]}" 2>/dev/null; then
			wait "${pids[id - 1]}" 2>/dev/null
			echo "broker $id exited (status $?); press Enter to start it again" >&2
			pids[id - 1]=""
		fi
	done
done
