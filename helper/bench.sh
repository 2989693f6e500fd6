#!/usr/bin/env bash
# Side-by-side benchmark: a real redis-server (no persistence) and a
# standalone DataNode get the same redis-benchmark workloads and the same
# 3-million-key load, and the DataNode/Redis ratios are printed.
#
# Needs redis-server, redis-benchmark and redis-cli (Debian: redis-server,
# redis-tools) and bin/datanode (make build). Ports are on loopback and can
# be moved with REDIS_PORT and CHKV_PORT. Sizes: REQUESTS (default 1000000),
# CLIENTS (50), KEYS (3000000) for the memory test, ROUNDS (3): each
# workload runs ROUNDS times, alternating Redis and the DataNode, and the
# medians are compared, because a shared machine's speed drifts.
# DATANODE_FLAGS adds flags to the DataNode, e.g. "--io-model epoll".
set -euo pipefail
cd "$(dirname "$0")/.."

REDIS_PORT=${REDIS_PORT:-16379}
CHKV_PORT=${CHKV_PORT:-16380}
REQUESTS=${REQUESTS:-1000000}
CLIENTS=${CLIENTS:-50}
KEYS=${KEYS:-3000000}
ROUNDS=${ROUNDS:-3}

for tool in redis-server redis-benchmark redis-cli; do
	command -v "$tool" >/dev/null || { echo "bench: $tool not found (apt-get install redis-server redis-tools)" >&2; exit 1; }
done
[ -x bin/datanode ] || { echo "bench: bin/datanode missing (make build)" >&2; exit 1; }

workdir=$(mktemp -d)
pids=()
cleanup() {
	for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
	wait 2>/dev/null || true
	rm -rf "$workdir"
}
trap cleanup EXIT

start_servers() {
	redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save '' --appendonly no --dir "$workdir" --logfile "$workdir/redis.log" &
	pids+=($!)
	REDIS_PID=$!
	# shellcheck disable=SC2086 # DATANODE_FLAGS is a list of flags
	./bin/datanode --listen "127.0.0.1:$CHKV_PORT" --log-level warn ${DATANODE_FLAGS:-} &
	pids+=($!)
	CHKV_PID=$!
	for port in "$REDIS_PORT" "$CHKV_PORT"; do
		for _ in $(seq 100); do redis-cli -p "$port" ping >/dev/null 2>&1 && break; sleep 0.1; done
		if ! redis-cli -p "$port" ping >/dev/null 2>&1; then
			echo "bench: nothing answers on port $port (set REDIS_PORT / CHKV_PORT to free ports)" >&2
			exit 1
		fi
	done
	# The ports must be ours, not a server left over from something else.
	for pid in "$REDIS_PID" "$CHKV_PID"; do
		kill -0 "$pid" 2>/dev/null || { echo "bench: a server exited at start (port in use?)" >&2; exit 1; }
	done
}

stop_servers() {
	kill "$REDIS_PID" "$CHKV_PID" 2>/dev/null || true
	wait "$REDIS_PID" "$CHKV_PID" 2>/dev/null || true
	pids=()
}

# bench PORT TEST PIPELINE prints "rps p99_ms" for one redis-benchmark run.
bench() {
	redis-benchmark -p "$1" -t "$2" -P "$3" -c "$CLIENTS" -n "$REQUESTS" -r 1000000 -d 32 --csv 2>/dev/null |
		awk -F'"' 'NR==2 {print $4, $14}'
}

rss_kb() { ps -o rss= -p "$1" | tr -d ' '; }

# median prints the median of its numeric arguments.
median() { printf '%s\n' "$@" | sort -g | awk '{v[NR] = $1} END {print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }

# calc EXPR evaluates a floating-point expression.
calc() { awk "BEGIN { print $1 }"; }

echo "== throughput: redis-benchmark -c $CLIENTS -n $REQUESTS -r 1000000 -d 32, median of $ROUNDS alternating rounds (rps, p99 ms) =="
start_servers
printf '%-12s %14s %10s %14s %10s %8s\n' test redis_rps p99_ms datanode_rps p99_ms ratio
for pipeline in 1 16; do
	for test in set get; do
		r_rps=() r_p99=() c_rps=() c_p99=()
		for _ in $(seq "$ROUNDS"); do
			read -r rps p99 <<<"$(bench "$REDIS_PORT" "$test" "$pipeline")"
			r_rps+=("$rps") r_p99+=("$p99")
			read -r rps p99 <<<"$(bench "$CHKV_PORT" "$test" "$pipeline")"
			c_rps+=("$rps") c_p99+=("$p99")
		done
		rr=$(median "${r_rps[@]}") cr=$(median "${c_rps[@]}")
		printf '%-12s %14.0f %10s %14.0f %10s %8.2f\n' "$test -P $pipeline" "$rr" "$(median "${r_p99[@]}")" \
			"$cr" "$(median "${c_p99[@]}")" "$(calc "$cr / $rr")"
	done
done
stop_servers

echo
echo "== memory: $KEYS keys of 16 bytes with 32-byte values, loaded with redis-cli --pipe =="
start_servers
base_redis=$(rss_kb "$REDIS_PID")
base_chkv=$(rss_kb "$CHKV_PID")
awk -v n="$KEYS" 'BEGIN {
	v = "vvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvv"
	for (i = 0; i < n; i++) {
		k = sprintf("key:%012d", i)
		printf "*3\r\n$3\r\nSET\r\n$16\r\n%s\r\n$32\r\n%s\r\n", k, v
	}
}' >"$workdir/load.resp"
for port in "$REDIS_PORT" "$CHKV_PORT"; do
	redis-cli -p "$port" --pipe <"$workdir/load.resp" >/dev/null
done
sleep 2
redis_keys=$(redis-cli -p "$REDIS_PORT" dbsize)
chkv_keys=$(redis-cli -p "$CHKV_PORT" dbsize)
redis_rss=$(rss_kb "$REDIS_PID")
chkv_rss=$(rss_kb "$CHKV_PID")
printf '%-10s %10s %14s %14s\n' server keys rss_mb bytes_per_key
printf '%-10s %10s %14.1f %14.1f\n' redis "$redis_keys" "$(calc "$redis_rss/1024")" "$(calc "($redis_rss-$base_redis)*1024/$redis_keys")"
printf '%-10s %10s %14.1f %14.1f\n' datanode "$chkv_keys" "$(calc "$chkv_rss/1024")" "$(calc "($chkv_rss-$base_chkv)*1024/$chkv_keys")"
printf 'RSS ratio datanode/redis: %.2f\n' "$(calc "$chkv_rss / $redis_rss")"
stop_servers
