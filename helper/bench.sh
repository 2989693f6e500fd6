#!/usr/bin/env bash
# Side-by-side benchmark: a real redis-server (no persistence) and a
# standalone DataNode per I/O model get the same redis-benchmark workloads,
# and the DataNode/Redis ratios are printed; then Redis and a DataNode with
# the default I/O model get the same 3-million-key load and their memory is
# compared.
#
# Needs redis-server, redis-benchmark and redis-cli (Debian: redis-server,
# redis-tools) and bin/datanode (make build). Ports are on loopback and can
# be moved with REDIS_PORT and CHKV_PORT (the DataNodes take CHKV_PORT,
# CHKV_PORT+1, ...). Sizes: REQUESTS (default 1000000), CLIENTS (50), KEYS
# (3000000; 0 skips the memory test), ROUNDS (3): each workload runs ROUNDS
# times, alternating Redis and the DataNodes, and the medians are compared,
# because a shared machine's speed drifts.
#
# RAND_RANGE (default 1000000) is redis-benchmark's -r: keys, fields and members
# named __rand_int__ take that many values; 0 leaves them literal, so a
# collection test (sadd, hset, zadd) works on one member as redis-benchmark
# does by default.
#
# TESTS lists the redis-benchmark tests (default "set get"; e.g. "lpush rpush
# lpop rpop sadd hset spop zadd zpopmin lrange_100 mset" for the data
# types).
#
# IO_MODELS lists the DataNode I/O models to run side by side (default
# "goroutine epoll"; "default" is the DataNode without --io-model).
# DATANODE_FLAGS adds flags to every DataNode, e.g. "--event-loops 2".
# SERVER_CPUS and BENCH_CPUS pin the servers and redis-benchmark with
# taskset (a taskset -c list such as "0" or "0-3"); unset, they are not
# pinned. A DataNode pinned to k CPUs runs with GOMAXPROCS k, so its default
# of one event loop per core is k loops. NICE runs the servers and
# redis-benchmark at that niceness (e.g. -10, as root), so that other work
# on a shared machine disturbs the figures less.
set -euo pipefail
cd "$(dirname "$0")/.."

REDIS_PORT=${REDIS_PORT:-16379}
CHKV_PORT=${CHKV_PORT:-16380}
REQUESTS=${REQUESTS:-1000000}
CLIENTS=${CLIENTS:-50}
KEYS=${KEYS:-3000000}
ROUNDS=${ROUNDS:-3}
IO_MODELS=${IO_MODELS:-goroutine epoll}
TESTS=${TESTS:-set get}
RAND_RANGE=${RAND_RANGE:-1000000}
SERVER_CPUS=${SERVER_CPUS:-}
BENCH_CPUS=${BENCH_CPUS:-}
NICE=${NICE:-}

tools=(redis-server redis-benchmark redis-cli)
[ -z "$SERVER_CPUS$BENCH_CPUS" ] || tools+=(taskset)
for tool in "${tools[@]}"; do
	command -v "$tool" >/dev/null || { echo "bench: $tool not found (apt-get install redis-server redis-tools)" >&2; exit 1; }
done
[ -x bin/datanode ] || { echo "bench: bin/datanode missing (make build)" >&2; exit 1; }

# on_servers and on_bench prefix the commands that start the servers and
# redis-benchmark: nice and taskset, or nothing. (A command, not a shell function, so
# that $! is the server's own process.)
on_servers=() on_bench=()
[ -z "$NICE" ] || { on_servers=(nice -n "$NICE"); on_bench=(nice -n "$NICE"); }
[ -z "$SERVER_CPUS" ] || on_servers+=(taskset -c "$SERVER_CPUS")
[ -z "$BENCH_CPUS" ] || on_bench+=(taskset -c "$BENCH_CPUS")

workdir=$(mktemp -d)
pids=()
cleanup() {
	for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
	wait 2>/dev/null || true
	rm -rf "$workdir"
}
trap cleanup EXIT

# wait_port PORT PID waits until PORT answers PING and PID still runs (the
# port is ours, not a server left over from something else).
wait_port() {
	for _ in $(seq 100); do redis-cli -p "$1" ping >/dev/null 2>&1 && break; sleep 0.1; done
	if ! redis-cli -p "$1" ping >/dev/null 2>&1; then
		echo "bench: nothing answers on port $1 (set REDIS_PORT / CHKV_PORT to free ports)" >&2
		exit 1
	fi
	kill -0 "$2" 2>/dev/null || { echo "bench: the server for port $1 exited at start (port in use?)" >&2; exit 1; }
}

start_redis() {
	"${on_servers[@]}" redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save '' --appendonly no \
		--dir "$workdir" --logfile "$workdir/redis.log" &
	REDIS_PID=$!
	pids+=("$REDIS_PID")
	wait_port "$REDIS_PORT" "$REDIS_PID"
}

# start_datanode PORT MODEL starts a DataNode with I/O model MODEL
# ("default": no --io-model flag) and sets CHKV_PID.
start_datanode() {
	local flags=()
	[ "$2" = default ] || flags=(--io-model "$2")
	# shellcheck disable=SC2086 # DATANODE_FLAGS is a list of flags
	"${on_servers[@]}" ./bin/datanode --listen "127.0.0.1:$1" --log-level warn "${flags[@]}" ${DATANODE_FLAGS:-} &
	CHKV_PID=$!
	pids+=("$CHKV_PID")
	wait_port "$1" "$CHKV_PID"
}

stop_servers() {
	for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
	for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
	pids=()
}

# bench PORT TEST PIPELINE prints "rps p99_ms" for one redis-benchmark run.
bench() {
	"${on_bench[@]}" redis-benchmark -p "$1" -t "$2" -P "$3" -c "$CLIENTS" -n "$REQUESTS" "${random_flag[@]}" -d 32 --csv 2>/dev/null |
		awk -F'"' 'NR==2 {print $4, $14}'
}

rss_kb() { ps -o rss= -p "$1" | tr -d ' '; }

# median prints the median of its numeric arguments.
median() { printf '%s\n' "$@" | sort -g | awk '{v[NR] = $1} END {print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }

# calc EXPR evaluates a floating-point expression.
calc() { awk "BEGIN { print $1 }"; }

random_flag=()
[ "$RAND_RANGE" = 0 ] || random_flag=(-r "$RAND_RANGE")
read -r -a models <<<"$IO_MODELS"
echo "== throughput: redis-benchmark -c $CLIENTS -n $REQUESTS ${random_flag[*]} -d 32, median of $ROUNDS alternating rounds (rps, p99 ms) =="
echo "   servers on CPUs ${SERVER_CPUS:-any}, redis-benchmark on CPUs ${BENCH_CPUS:-any}; ratio = DataNode rps / Redis rps"
start_redis
ports=()
for i in "${!models[@]}"; do
	ports+=($((CHKV_PORT + i)))
	start_datanode "${ports[$i]}" "${models[$i]}"
done
printf '%-14s %10s %7s' test redis p99
for m in "${models[@]}"; do printf ' %10s %7s %6s' "$m" p99 ratio; done
echo
for pipeline in 1 16; do
	for test in $TESTS; do
		r_rps=() r_p99=()
		for i in "${!models[@]}"; do eval "c_rps_$i=() c_p99_$i=()"; done
		for _ in $(seq "$ROUNDS"); do
			read -r rps p99 <<<"$(bench "$REDIS_PORT" "$test" "$pipeline")"
			r_rps+=("$rps") r_p99+=("$p99")
			for i in "${!models[@]}"; do
				read -r rps p99 <<<"$(bench "${ports[$i]}" "$test" "$pipeline")"
				eval "c_rps_$i+=(\"\$rps\") c_p99_$i+=(\"\$p99\")"
			done
		done
		rr=$(median "${r_rps[@]}")
		printf '%-14s %10.0f %7s' "$test -P$pipeline" "$rr" "$(median "${r_p99[@]}")"
		for i in "${!models[@]}"; do
			eval "cr=\$(median \"\${c_rps_$i[@]}\") cp=\$(median \"\${c_p99_$i[@]}\")"
			printf ' %10.0f %7s %6.2f' "$cr" "$cp" "$(calc "$cr / $rr")"
		done
		echo
	done
done
stop_servers

[ "$KEYS" -gt 0 ] || exit 0
echo
echo "== memory: $KEYS keys of 16 bytes with 32-byte values, loaded with redis-cli --pipe (DataNode with the default I/O model) =="
start_redis
start_datanode "$CHKV_PORT" default
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
