#!/usr/bin/env bash
# Hash benchmark, side by side: a real redis-server (no persistence) and a
# standalone DataNode get the same redis-benchmark HSET workloads, and the
# DataNode/Redis ratios are printed; then both get HASHES hashes of 10
# small fields and their memory is compared.
#
# Needs redis-server, redis-benchmark and redis-cli and bin/datanode (make
# build). Sizes: REQUESTS (default 1000000), CLIENTS (50), FIELDS_RANGE (the -r
# of redis-benchmark: HSET writes field element:<rand> of the one hash
# "myhash", so the hash grows to about FIELDS_RANGE fields; default 0, one
# field), HASHES (1000000; 0 skips the memory test), ROUNDS (3, medians of
# alternating runs). Ports: REDIS_PORT, CHKV_PORT.
set -euo pipefail
cd "$(dirname "$0")/.."

REDIS_PORT=${REDIS_PORT:-16379}
CHKV_PORT=${CHKV_PORT:-16380}
REQUESTS=${REQUESTS:-1000000}
CLIENTS=${CLIENTS:-50}
FIELDS_RANGE=${FIELDS_RANGE:-0}
HASHES=${HASHES:-1000000}
ROUNDS=${ROUNDS:-3}

for tool in redis-server redis-benchmark redis-cli; do
	command -v "$tool" >/dev/null || { echo "bench_hash: $tool not found" >&2; exit 1; }
done
[ -x bin/datanode ] || { echo "bench_hash: bin/datanode missing (make build)" >&2; exit 1; }

workdir=$(mktemp -d)
pids=()
cleanup() {
	for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
	wait 2>/dev/null || true
	rm -rf "$workdir"
}
trap cleanup EXIT

wait_port() {
	for _ in $(seq 100); do redis-cli -p "$1" ping >/dev/null 2>&1 && break; sleep 0.1; done
	redis-cli -p "$1" ping >/dev/null 2>&1 || { echo "bench_hash: nothing answers on port $1" >&2; exit 1; }
	kill -0 "$2" 2>/dev/null || { echo "bench_hash: the server for port $1 exited at start" >&2; exit 1; }
}

start_servers() {
	redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save '' --appendonly no \
		--dir "$workdir" --logfile "$workdir/redis.log" &
	REDIS_PID=$!
	pids+=("$REDIS_PID")
	wait_port "$REDIS_PORT" "$REDIS_PID"
	./bin/datanode --listen "127.0.0.1:$CHKV_PORT" --log-level warn &
	CHKV_PID=$!
	pids+=("$CHKV_PID")
	wait_port "$CHKV_PORT" "$CHKV_PID"
}

stop_servers() {
	for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
	for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
	pids=()
}

# bench PORT PIPELINE prints "rps p99_ms" for one redis-benchmark run.
bench() {
	local r=()
	[ "$FIELDS_RANGE" = 0 ] || r=(-r "$FIELDS_RANGE")
	redis-benchmark -p "$1" -t hset -P "$2" -c "$CLIENTS" -n "$REQUESTS" "${r[@]}" --csv 2>/dev/null |
		awk -F'"' 'NR==2 {print $4, $14}'
}

rss_kb() { ps -o rss= -p "$1" | tr -d ' '; }
median() { printf '%s\n' "$@" | sort -g | awk '{v[NR] = $1} END {print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }
calc() { awk "BEGIN { print $1 }"; }

echo "== redis-benchmark -t hset -c $CLIENTS -n $REQUESTS -r $FIELDS_RANGE, median of $ROUNDS alternating rounds (rps, p99 ms) =="
start_servers
printf '%-10s %10s %7s %10s %7s %6s\n' test redis p99 datanode p99 ratio
for pipeline in 1 16; do
	r_rps=() r_p99=() c_rps=() c_p99=()
	for _ in $(seq "$ROUNDS"); do
		redis-cli -p "$REDIS_PORT" del myhash >/dev/null
		redis-cli -p "$CHKV_PORT" del myhash >/dev/null
		read -r rps p99 <<<"$(bench "$REDIS_PORT" "$pipeline")"
		r_rps+=("$rps") r_p99+=("$p99")
		read -r rps p99 <<<"$(bench "$CHKV_PORT" "$pipeline")"
		c_rps+=("$rps") c_p99+=("$p99")
	done
	rr=$(median "${r_rps[@]}") cr=$(median "${c_rps[@]}")
	printf '%-10s %10.0f %7s %10.0f %7s %6.2f\n' "hset -P$pipeline" "$rr" "$(median "${r_p99[@]}")" "$cr" "$(median "${c_p99[@]}")" "$(calc "$cr / $rr")"
done
echo "fields in myhash: redis $(redis-cli -p "$REDIS_PORT" hlen myhash), datanode $(redis-cli -p "$CHKV_PORT" hlen myhash)"
stop_servers

[ "$HASHES" -gt 0 ] || exit 0
echo
echo "== memory: $HASHES hashes (16-byte keys) of 10 fields (6-byte names, 12-byte values), loaded with redis-cli --pipe =="
start_servers
base_redis=$(rss_kb "$REDIS_PID")
base_chkv=$(rss_kb "$CHKV_PID")
awk -v n="$HASHES" 'BEGIN {
	for (i = 0; i < n; i++) {
		printf "*22\r\n$4\r\nHSET\r\n$16\r\n%s\r\n", sprintf("hash:%011d", i)
		for (f = 0; f < 10; f++) printf "$6\r\nfield%d\r\n$12\r\n%s\r\n", f, sprintf("value%07d", i)
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
redis_used=$(redis-cli -p "$REDIS_PORT" info memory | awk -F: '/^used_memory:/ {print $2+0}')
chkv_used=$(redis-cli -p "$CHKV_PORT" info memory | awk -F: '/^used_memory:/ {print $2+0}')
printf '%-10s %10s %10s %14s %14s\n' server keys rss_mb bytes_per_hash used_memory_mb
printf '%-10s %10s %10.1f %14.1f %14.1f\n' redis "$redis_keys" "$(calc "$redis_rss/1024")" "$(calc "($redis_rss-$base_redis)*1024/$redis_keys")" "$(calc "$redis_used/1048576")"
printf '%-10s %10s %10.1f %14.1f %14.1f\n' datanode "$chkv_keys" "$(calc "$chkv_rss/1024")" "$(calc "($chkv_rss-$base_chkv)*1024/$chkv_keys")" "$(calc "$chkv_used/1048576")"
printf 'RSS ratio datanode/redis: %.2f\n' "$(calc "$chkv_rss / $redis_rss")"
echo "encodings: redis $(redis-cli -p "$REDIS_PORT" object encoding hash:00000000000), datanode $(redis-cli -p "$CHKV_PORT" object encoding hash:00000000000)"
stop_servers
