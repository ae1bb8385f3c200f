#!/usr/bin/env bash
# Time from start to ready with N incomplete payments in the journal: a gateway from
# target/taraz.jar opens wallets and stops; N trip settlements announced but never finished
# are appended to its journal (taraz.bench.JournalSeeder); the next start must finish them all
# (boot recovery) before it reports ready.
# Writes its figures to target/bench/recovery-<UTC time>/result.json (bench/results.py).
# Usage: bench/recovery.sh [incomplete=1000]
set -euo pipefail
cd "$(dirname "$0")/.."
started_at=$(date -u +%Y-%m-%dT%H:%M:%SZ)
total=${1:-1000}
port=${BENCH_PORT:-18181}; passengers=32
# Fresh credentials per run (48 hex characters each): the bench never uses a fixed secret.
token=$(od -An -tx1 -N24 /dev/urandom | tr -d ' \n'); key=$(od -An -tx1 -N24 /dev/urandom | tr -d ' \n')
data=$(mktemp -d /tmp/taraz-bench.XXXXXX)
[ -f target/taraz.jar ] || mvn -B -q -ntp package -DskipTests
mvn -B -q -ntp test-compile dependency:build-classpath -Dmdep.outputFile=target/bench-cp.txt
flags=$(sed -n 's:.*<chronicle.jvm.flags>\(.*\)</chronicle.jvm.flags>.*:\1:p' pom.xml)
trap 'kill -9 ${gw:-0} 2>/dev/null || true; rm -rf "$data"' EXIT

start_gateway() {
  t0=$(date +%s%N)
  TARAZ_LOG_FORMAT=text TARAZ_DATA_DIR=$data TARAZ_HTTP_PORT=$port TARAZ_ADMIN_TOKEN=$token TARAZ_API_KEYS=$key java -jar target/taraz.jar > "$data/gateway-$1.log" 2>&1 &
  gw=$!
  for _ in $(seq 1 6000); do
    if curl -fs "http://127.0.0.1:$port/health/ready" > /dev/null; then break; fi
    sleep 0.1
  done
  ready_ms=$(( ($(date +%s%N) - t0) / 1000000 ))
}
# post PATH KEY-SUFFIX BODY [CREDENTIAL]: the API key, or the admin token for /v1/admin.
post() { curl -fs -XPOST "http://127.0.0.1:$port$1" -H 'Content-Type: application/json' -H "Idempotency-Key: bench-$RANDOM-$RANDOM-$2" \
  -H "Authorization: Bearer ${4:-$key}" -d "$3"; }
id() { python3 -c 'import json,sys; print(json.load(sys.stdin)["walletId"])'; }

start_gateway seed
driver=$(post /v1/wallets d '{"ownerId":"bench-driver","kind":"driver"}' | id)
wallets=()
for i in $(seq 1 $passengers); do
  w=$(post /v1/wallets "p$i" "{\"ownerId\":\"bench-p$i\",\"kind\":\"passenger\"}" | id)
  post /v1/admin/adjustments "f$i" "{\"walletId\":\"$w\",\"amount\":100000000000,\"reason\":\"bench\",\"ticket\":\"B\"}" "$token" > /dev/null
  wallets+=("$w")
done
kill -TERM "$gw"; wait "$gw" || true
# shellcheck disable=SC2086 # the flags are several words
java $flags -cp "target/classes:target/test-classes:$(cat target/bench-cp.txt)" taraz.bench.JournalSeeder "$data" "$total" "$driver" "${wallets[@]}"
start_gateway recover
done_line=$(grep -o 'recovery: done in [0-9]* ms: .*' "$data/gateway-recover.log" || true)
echo "incomplete=$total start-to-ready=${ready_ms}ms $done_line"
kill -TERM "$gw"; wait "$gw" || true
read -r recovery_ms found finished left <<< \
  "$(sed -E 's/.*done in ([0-9]+) ms: ([0-9]+) found, ([0-9]+) finished, ([0-9]+) left.*/\1 \2 \3 \4/' <<< "$done_line")"
python3 bench/results.py write recovery "$started_at" --setting incompletePayments="$total" --setting passengers=$passengers \
  --measured startToReadyMillis="$ready_ms" --measured recoveryMillis="${recovery_ms:-}" --measured found="${found:-}" \
  --measured finished="${finished:-}" --measured leftForLater="${left:-}"
