#!/usr/bin/env bash
# Trip settlements per second, end to end over loopback: a gateway from target/taraz.jar on its
# embedded PostgreSQL in a fresh data directory, and the load from a second JVM. Also prints the
# gateway's start-up time to ready, first start (initdb) and restart.
# Usage: bench/settle.sh [settles=5000] [concurrency=32] [passengers=64]
set -euo pipefail
cd "$(dirname "$0")/.."
total=${1:-5000}; concurrency=${2:-32}; passengers=${3:-64}
port=${BENCH_PORT:-18181}
# Fresh credentials per run (48 hex characters each): the bench never uses a fixed secret.
token=$(od -An -tx1 -N24 /dev/urandom | tr -d ' \n'); key=$(od -An -tx1 -N24 /dev/urandom | tr -d ' \n')
data=$(mktemp -d /tmp/taraz-bench.XXXXXX)
[ -f target/taraz.jar ] || mvn -B -q -ntp package -DskipTests
mvn -B -q -ntp test-compile dependency:build-classpath -Dmdep.outputFile=target/bench-cp.txt
flags=$(sed -n 's:.*<chronicle.jvm.flags>\(.*\)</chronicle.jvm.flags>.*:\1:p' pom.xml)

start_gateway() {
  local t0; t0=$(date +%s%N)
  TARAZ_DATA_DIR=$data TARAZ_HTTP_PORT=$port TARAZ_ADMIN_TOKEN=$token TARAZ_API_KEYS=$key TARAZ_JOURNAL_SYNC=${TARAZ_JOURNAL_SYNC:-every} \
    java -jar target/taraz.jar > "$data/gateway.log" 2>&1 &
  gw=$!
  for _ in $(seq 1 600); do
    if curl -fs "http://127.0.0.1:$port/health/ready" > /dev/null; then break; fi
    sleep 0.1
  done
  echo "$1 to ready: $(( ($(date +%s%N) - t0) / 1000000 )) ms"
}
stop_gateway() { kill -TERM "$gw"; wait "$gw" || true; }
trap 'kill -9 ${gw:-0} 2>/dev/null || true; rm -rf "$data"' EXIT

start_gateway "first start (initdb)"
stop_gateway
start_gateway "restart"
java $flags -cp "target/classes:target/test-classes:$(cat target/bench-cp.txt)" taraz.bench.SettleBench \
  "http://127.0.0.1:$port" "$key" "$token" "$total" "$concurrency" "$passengers"
stop_gateway
