#!/usr/bin/env bash
# Starts a local CHKV cluster on loopback from the binaries in bin/: a
# NameNode pair (gRPC 127.0.0.1:10101 and 10102, HTTP 10180 and 10182) and
# three DataNodes (RESP 10100, 10200, 10300; gRPC 10110, 10210, 10310).
# Ctrl-C stops it all.
# Logs go to $LOG_DIR (default: a temporary directory, printed below).
set -euo pipefail
cd "$(dirname "$0")/.."

LOG_DIR=${LOG_DIR:-$(mktemp -d -t chkv-run.XXXXXX)}
pids=()
cleanup() {
	trap - INT TERM EXIT
	for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
	wait 2>/dev/null || true
	echo "stopped; logs are in $LOG_DIR"
}
trap cleanup INT TERM EXIT

./bin/namenode --id namenode-1 --listen 127.0.0.1:10101 --http 127.0.0.1:10180 --peer 127.0.0.1:10102 \
	>"$LOG_DIR/namenode-1.log" 2>&1 &
pids+=($!)
./bin/namenode --id namenode-2 --listen 127.0.0.1:10102 --http 127.0.0.1:10182 --peer 127.0.0.1:10101 \
	>"$LOG_DIR/namenode-2.log" 2>&1 &
pids+=($!)
for i in 1 2 3; do
	./bin/datanode --id "datanode-$i" --listen "127.0.0.1:10${i}00" --grpc "127.0.0.1:10${i}10" \
		--drain-listen "127.0.0.1:10${i}66" --http "127.0.0.1:10${i}90" --http-api --namenodes 127.0.0.1:10101,127.0.0.1:10102 \
		>"$LOG_DIR/datanode-$i.log" 2>&1 &
	pids+=($!)
done

# Wait until the cluster serves every slot.
for _ in $(seq 150); do
	if ./bin/chkvctl --timeout 1s status 2>/dev/null | grep -c ' up ' | grep -q 3; then break; fi
	sleep 0.1
done
./bin/chkvctl --timeout 2s status || true

cat <<MSG

CHKV is running (Ctrl-C stops it). Logs: $LOG_DIR
  NameNodes  127.0.0.1:10101, 127.0.0.1:10102 (gRPC; one active, one standby)
             http://127.0.0.1:10180/status, http://127.0.0.1:10182/status
  DataNodes  127.0.0.1:10100, 127.0.0.1:10200, 127.0.0.1:10300 (RESP)
  Drain      127.0.0.1:10166, 127.0.0.1:10266, 127.0.0.1:10366 (telnet, then k)
  HTTP API   http://127.0.0.1:10190, :10290, :10390 (/v1/kv/{key}; /metrics, /healthz)

Try:
  redis-cli -c -p 10100 set greeting hello     # -c follows MOVED across nodes
  redis-cli -c -p 10100 get greeting
  redis-cli -p 10100 cluster nodes
  bin/chkvctl status
  bin/chkvctl ring
  bin/chkvctl set answer 42 && bin/chkvctl get answer
  curl -L -X PUT --data-binary hi 'http://127.0.0.1:10190/v1/kv/note?ttl=1h'   # -L follows 307 to the owner
  curl -L http://127.0.0.1:10190/v1/kv/note
  bin/chkvctl watch                            # prints each topology version
  telnet 127.0.0.1 10366                       # then k: drains datanode-3
  bin/chkvctl drain datanode-2                 # the same, with a progress bar
  bin/chkvctl undrain datanode-2               # it joins again and takes slots back
  bin/chkvctl remove datanode-3                # forget a drained (or down) node; stop it first or after
  kill <pid of the active namenode>            # the standby takes over in about 2s
  bin/chkvctl bench -c 50 --duration 10s       # load: throughput and latency percentiles
  open http://127.0.0.1:10180/                 # the status page; /metrics for Prometheus
  curl -s 127.0.0.1:10190/metrics | grep ^chkv_datanode_commands_total
MSG
wait
