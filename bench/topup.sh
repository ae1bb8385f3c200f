#!/usr/bin/env bash
# Top-ups per second end to end through the PSP simulator, and the sweeper's latency for lost
# callbacks: the simulator and a gateway from target/taraz.jar on a fresh data directory, the
# load from a second JVM. The sweeper runs every second with a 1 s callback grace here (the
# defaults are 5 s and 60 s). Every callback comes from loopback, one address playing all the
# cardholders, so the callback's rate limits are lifted here; they are not what is measured.
# Usage: bench/topup.sh [topups=500] [concurrency=8] [lost-callbacks=10]
set -euo pipefail
cd "$(dirname "$0")/.."
total=${1:-500}; concurrency=${2:-8}; lost=${3:-10}
port=${BENCH_PORT:-18181}; sim_port=${BENCH_SIM_PORT:-19191}
data=$(mktemp -d /tmp/taraz-bench.XXXXXX)
# A fresh API key per run (48 hex characters): the bench never uses a fixed secret.
key=$(od -An -tx1 -N24 /dev/urandom | tr -d ' \n')
[ -f target/taraz.jar ] || mvn -B -q -ntp package -DskipTests
mvn -B -q -ntp test-compile dependency:build-classpath -Dmdep.outputFile=target/bench-cp.txt
flags=$(sed -n 's:.*<chronicle.jvm.flags>\(.*\)</chronicle.jvm.flags>.*:\1:p' pom.xml)
echo '{"topupSweepIntervalMillis": 1000, "topupCallbackGraceSeconds": 1,
  "callbackAddressRatePerSecond": 1000000, "callbackAddressBurstRequests": 1000000,
  "callbackTotalRatePerSecond": 1000000, "callbackTotalBurstRequests": 1000000}' > "$data/bench.json"

java -jar target/taraz.jar psp-sim --port "$sim_port" --data-dir "$data/psp-sim" > "$data/sim.log" 2>&1 &
sim=$!
TARAZ_DATA_DIR=$data TARAZ_HTTP_PORT=$port TARAZ_API_KEYS=$key TARAZ_PSP_URL=http://127.0.0.1:$sim_port TARAZ_CONFIG=$data/bench.json \
  java -jar target/taraz.jar > "$data/gateway.log" 2>&1 &
gw=$!
trap 'kill -9 $gw $sim 2>/dev/null || true; rm -rf "$data"' EXIT
for _ in $(seq 1 600); do
  if curl -fs "http://127.0.0.1:$port/health/ready" > /dev/null; then break; fi
  sleep 0.1
done
java $flags -cp "target/classes:target/test-classes:$(cat target/bench-cp.txt)" taraz.bench.TopupBench \
  "http://127.0.0.1:$port" "$key" "http://127.0.0.1:$sim_port" "$total" "$concurrency" "$lost"
kill -TERM "$gw" "$sim"; wait "$gw" "$sim" 2>/dev/null || true
