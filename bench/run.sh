#!/usr/bin/env bash
# One command, side by side in one run: a fresh gateway from target/taraz.jar on its embedded
# defaults (a fresh data directory, random free loopback ports, a fresh admin token, the API key it
# generates), the PSP simulator when the scenario needs it, then pgbench against the gateway's own
# PostgreSQL (bench/pgbench/: one settlement per transaction, then 100 per transaction, in a schema
# of their own), then the harness (`taraz bench SCENARIO`) against the gateway; prints the ratio of
# the harness's throughput to pgbench's one-settlement figure. Everything stops on exit.
# Usage: bench/run.sh SCENARIO [harness options] [--jfr] [--pgbench-seconds S] [--pgbench-only] [--out DIR]
#   SCENARIO: settle | trip | hot-driver | topup | mixed
#   harness options (passed through): --connections N | --rate R, --duration 30s, --warmup 5s,
#     --wallets N, --find-peak, --slo 50ms, --at 70%, ... (java -jar target/taraz.jar bench --help)
#   --jfr: record the gateway with JFR (profile settings) and print its top 20 methods
#   --pgbench-seconds S: how long each pgbench script runs (default 20)
#   --pgbench-only: the gateway and pgbench, no harness (the database's figures alone)
#   --out DIR: where result.json and the rest go (default target/bench/<scenario>-<UTC time>)
# Env: BENCH_TIMEOUT_SECONDS bounds the harness (default 1800); TARAZ_* settings of the caller
# other than the ones set here (e.g. TARAZ_JOURNAL_SYNC, TARAZ_PG_POOL_SIZE) reach the gateway.
set -euo pipefail
cd "$(dirname "$0")/.."

usage() { sed -n '8,17p' "$0" | sed 's/^# \{0,1\}//'; }
scenarios="settle trip hot-driver topup mixed"
scenario=${1:-}
if [ -z "$scenario" ] || [ "$scenario" = --help ] || [ "$scenario" = -h ]; then usage; exit 2; fi
if [[ " $scenarios " != *" $scenario "* ]]; then echo "run.sh: unknown scenario '$scenario' (one of: $scenarios)" >&2; exit 2; fi
shift

jfr=false; pgbench_only=false; pgbench_seconds=20; out=; passthrough=()
while [ $# -gt 0 ]; do
  case $1 in
    --jfr) jfr=true ;;
    --pgbench-only) pgbench_only=true ;;
    --pgbench-seconds) pgbench_seconds=${2:?--pgbench-seconds needs a number}; shift ;;
    --out) out=${2:?--out needs a directory}; shift ;;
    --out=*) out=${1#--out=} ;;
    --url|--url=*|--api-key|--api-key=*|--admin-token|--admin-token=*|--psp-sim-url|--psp-sim-url=*)
      echo "run.sh: ${1%%=*} is set by run.sh for the gateway it starts; point the harness at another gateway with java -jar target/taraz.jar bench" >&2
      exit 2 ;;
    *) passthrough+=("$1") ;;
  esac
  shift
done
[[ $pgbench_seconds =~ ^[1-9][0-9]*$ ]] || { echo "run.sh: --pgbench-seconds must be a whole number of seconds" >&2; exit 2; }
harness_timeout=${BENCH_TIMEOUT_SECONDS:-1800}

# The jar is rebuilt when missing or older than anything it is built from: the sources and
# resources under src/main, the pom, and the defaults in conf/ that the jar carries.
if [ ! -f target/taraz.jar ] || [ -n "$(find src/main pom.xml conf/taraz.json conf/reconcile.json -newer target/taraz.jar -print -quit)" ]; then
  echo "building target/taraz.jar (missing or older than src/main, pom.xml or conf/)"
  mvn -B -q -ntp package -DskipTests
fi
# Fail before starting anything if the jar has no harness, rather than after a minute of pgbench.
# (picocli answers an unknown command's --help with the top-level usage and status 0, so the
# usage line is what tells.)
if ! $pgbench_only && [[ $(java -jar target/taraz.jar bench --help 2>&1) != "Usage: taraz bench"* ]]; then
  echo "run.sh: target/taraz.jar has no 'bench' command (java -jar target/taraz.jar bench --help shows no 'Usage: taraz bench'); --pgbench-only runs the rest" >&2
  exit 2
fi
pgbin=/usr/lib/postgresql/15/bin
if [ ! -x "$pgbin/pgbench" ]; then
  echo "installing pgbench (Debian package postgresql-client-15)"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql-client-15 > /dev/null
fi

started_at=$(date -u +%Y-%m-%dT%H:%M:%SZ)
out=${out:-$(python3 bench/results.py dir "$scenario" "$started_at")}
mkdir -p "$out"
out=$(cd "$out" && pwd)
# A result left in a reused --out directory must not pass for this run's.
rm -f "$out/result.json" "$out/pgbench.json"
data=$(mktemp -d /tmp/taraz-bench.XXXXXX)
gw=; sim=; child=

# Stops whatever is running, the gateway last but one and its embedded PostgreSQL last: a gateway
# that had to be killed leaves its PostgreSQL child holding the data directory.
# shellcheck disable=SC2317 # called by the EXIT trap, which shellcheck 0.9 does not follow
stop() {
  local pid
  for pid in $child $sim $gw; do
    kill -TERM "$pid" 2> /dev/null || continue
    # The gateway drains for at most its drainTimeoutMillis (30 s); then it is killed.
    for _ in $(seq 1 400); do kill -0 "$pid" 2> /dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2> /dev/null || true
    wait "$pid" 2> /dev/null || true
  done
  if [ -f "$data/postgres/postmaster.pid" ]; then
    pid=$(sed -n 1p "$data/postgres/postmaster.pid")
    # SIGQUIT is PostgreSQL's immediate shutdown; the data directory is thrown away anyway.
    if kill -QUIT "$pid" 2> /dev/null; then
      for _ in $(seq 1 100); do kill -0 "$pid" 2> /dev/null || break; sleep 0.1; done
      kill -KILL "$pid" 2> /dev/null || true
    fi
  fi
  rm -rf "$data"
}
trap stop EXIT
trap 'exit 130' INT TERM

# Two distinct free loopback ports, both held until both are known.
read -r port sim_port < <(python3 -c '
import socket
a, b = socket.socket(), socket.socket()
a.bind(("127.0.0.1", 0)); b.bind(("127.0.0.1", 0))
print(a.getsockname()[1], b.getsockname()[1])')
# A fresh admin token per run (48 hex characters): the bench never uses a fixed secret.
token=$(od -An -tx1 -N24 /dev/urandom | tr -d ' \n')

# wait_for URL PID NAME LOG: until URL answers 2xx, PID is gone, or 180 s (a first start runs initdb).
wait_for() {
  for _ in $(seq 1 1800); do
    if curl -fs -o /dev/null "$1"; then return 0; fi
    if ! kill -0 "$2" 2> /dev/null; then echo "run.sh: $3 exited during start; the end of $4:" >&2; tail -20 "$4" >&2; exit 1; fi
    sleep 0.1
  done
  echo "run.sh: $3 not ready after 180 s; the end of $4:" >&2; tail -20 "$4" >&2; exit 1
}

gateway_env=(env -u TARAZ_PG_URL -u TARAZ_API_KEYS TARAZ_DATA_DIR="$data" TARAZ_HTTP_PORT="$port" TARAZ_ADMIN_TOKEN="$token")
sim_url=
if [ "$scenario" = topup ] || [ "$scenario" = mixed ]; then
  sim_url=http://127.0.0.1:$sim_port
  java -jar target/taraz.jar psp-sim --port "$sim_port" --data-dir "$data/psp-sim" > "$out/psp-sim.log" 2>&1 &
  sim=$!
  # The simulator answers 404 on / once it listens: any HTTP answer means it is up.
  for _ in $(seq 1 300); do curl -s -o /dev/null "$sim_url/" && break; sleep 0.1; done
  curl -s -o /dev/null "$sim_url/" || { echo "run.sh: the PSP simulator is not up after 30 s; the end of $out/psp-sim.log:" >&2; tail -20 "$out/psp-sim.log" >&2; exit 1; }
  # Every callback comes from the simulator on loopback, one address playing all the cardholders,
  # so the callback rate limits (20/s per address by default) are lifted: they are not what is
  # measured. A caller's TARAZ_CONFIG is kept underneath.
  python3 - "${TARAZ_CONFIG:-}" "$data/bench.json" <<'PY'
import json, sys
settings = json.load(open(sys.argv[1])) if sys.argv[1] else {}
settings.update({"callbackAddressRatePerSecond": 1000000, "callbackAddressBurstRequests": 1000000,
                 "callbackTotalRatePerSecond": 1000000, "callbackTotalBurstRequests": 1000000})
json.dump(settings, open(sys.argv[2], "w"))
PY
  gateway_env+=(TARAZ_PSP_URL="$sim_url" TARAZ_CONFIG="$data/bench.json")
fi
jvm_flags=()
# The jar's manifest carries Chronicle's Add-Opens/Add-Exports, so JFR is the only flag needed.
if $jfr; then jvm_flags+=("-XX:StartFlightRecording=filename=$out/gateway.jfr,settings=profile"); fi
passed=$(env | grep -oE '^TARAZ_[A-Z_]+' | grep -vxE 'TARAZ_(PG_URL|API_KEYS|DATA_DIR|HTTP_PORT|ADMIN_TOKEN|PSP_URL)' | tr '\n' ' ' || true)
[ -z "$passed" ] || echo "the gateway gets the caller's ${passed% }"

t0=$(date +%s%N)
"${gateway_env[@]}" java "${jvm_flags[@]}" -jar target/taraz.jar > "$out/gateway.log" 2>&1 &
gw=$!
wait_for "http://127.0.0.1:$port/health/ready" "$gw" gateway "$out/gateway.log"
echo "gateway ready on 127.0.0.1:$port in $(( ($(date +%s%N) - t0) / 1000000 )) ms (first start: initdb and migrations); data in $data; logs in $out"
key=$(cat "$data/api-key")

# pgbench on the gateway's own PostgreSQL, over TCP like the gateway's pool.
PGHOST=127.0.0.1 PGPORT=$(sed -n 4p "$data/postgres/postmaster.pid") PGUSER=postgres PGDATABASE=postgres
PGPASSWORD=$(cat "$data/postgres-password")
# Without the NOTICEs of DROP ... IF EXISTS and CASCADE.
PGOPTIONS='-c client_min_messages=warning'
export PGHOST PGPORT PGUSER PGDATABASE PGPASSWORD PGOPTIONS
passengers=1000; drivers=100; clients=8; threads=2; batch=100
echo "pgbench $("$pgbin/pgbench" --version | grep -oE '[0-9]+\.[0-9]+' | head -1) against PostgreSQL $("$pgbin/psql" -qAt -c 'SHOW server_version'):" \
  "fsync=$("$pgbin/psql" -qAt -c 'SHOW fsync'), synchronous_commit=$("$pgbin/psql" -qAt -c 'SHOW synchronous_commit');" \
  "$clients clients, $threads threads, prepared statements, $pgbench_seconds s per script, $passengers passengers, $drivers drivers, one commission row"
echo "load average before pgbench: $(cut -d' ' -f1-3 /proc/loadavg)"
"$pgbin/psql" -q -v passengers=$passengers -v drivers=$drivers -f bench/pgbench/init.sql > /dev/null

# pgbench_run SCRIPT LOG [-D ...]: runs one script, in the background so that a signal stops it
# at once, and sets tps to its transactions per second.
pgbench_run() {
  local script=$1 log=$2; shift 2
  timeout $(( pgbench_seconds + 60 )) "$pgbin/pgbench" -n -M prepared -c $clients -j $threads -T "$pgbench_seconds" \
    -D passengers=$passengers -D drivers=$drivers "$@" -f "$script" > "$log" 2>&1 &
  child=$!
  wait "$child" || { echo "run.sh: pgbench $script failed; the end of $log:" >&2; tail -20 "$log" >&2; exit 1; }
  child=
  tps=$(grep -oE '^tps = [0-9.]+' "$log" | grep -oE '[0-9.]+$')
}
pgbench_run bench/pgbench/one-settlement.sql "$out/pgbench-one.log"
one_per_second=$(python3 -c "print(round($tps, 1))")
pgbench_run bench/pgbench/batch-settlements.sql "$out/pgbench-batch.log" -D batch=$batch
batch_tps=$(python3 -c "print(round($tps, 1))")
batch_per_second=$(python3 -c "print(round($tps * $batch, 1))")
# A fast number from a wrong ledger is worthless: every settlement wrote 3 entries summing to 0,
# and the balances still add up to what the passengers started with.
check=$("$pgbin/psql" -qAt -F ' ' -c "
  SELECT count(*) = 3 * count(DISTINCT settlement_id) AND coalesce(sum(amount_rials), 0) = 0,
         count(DISTINCT settlement_id),
         (SELECT sum(balance_rials) FROM pgbench_ledger.accounts) = $passengers * 1000000000000000::numeric
  FROM pgbench_ledger.entries")
"$pgbin/psql" -q -c 'DROP SCHEMA pgbench_ledger CASCADE'
read -r entries_ok settled balances_ok <<< "$check"
echo "pgbench one settlement per transaction: $one_per_second settlements/s"
echo "pgbench $batch settlements per transaction: $batch_per_second settlements/s ($batch_tps transactions/s)"
if [ "$entries_ok" = t ] && [ "$balances_ok" = t ]; then
  echo "pgbench ledger check: ok ($settled settlements, 3 entries each, balances add up)"
else
  echo "pgbench ledger check: FAILED (entries per settlement and zero sum: $entries_ok; balances add up: $balances_ok)" >&2
  exit 1
fi
python3 bench/results.py pgbench "$out" "$one_per_second" "$batch_per_second" $clients "$pgbench_seconds"

status=0
if ! $pgbench_only; then
  harness=(java -jar target/taraz.jar bench "$scenario" --url "http://127.0.0.1:$port" --api-key "$key" --admin-token "$token")
  [ -z "$sim_url" ] || harness+=(--psp-sim-url "$sim_url")
  harness+=(--out "$out" "${passthrough[@]}")
  echo "harness: java -jar target/taraz.jar bench $scenario --url http://127.0.0.1:$port ${sim_url:+--psp-sim-url $sim_url }--out $out ${passthrough[*]}"
  timeout --kill-after=30 "$harness_timeout" "${harness[@]}" &
  child=$!
  wait "$child" || status=$?
  child=
  if [ -f "$out/result.json" ]; then
    python3 bench/results.py pgbench "$out" "$one_per_second" "$batch_per_second" $clients "$pgbench_seconds"
    python3 bench/results.py ratio "$out"
  else
    echo "run.sh: the harness wrote no $out/result.json (exit status $status)" >&2
    [ "$status" -ne 0 ] || status=1
  fi
fi

if $jfr; then
  # The recording is written when the gateway's JVM exits, so stop it first.
  kill -TERM "$gw"; wait "$gw" || true; gw=
  if [ -f "$out/gateway.jfr" ]; then
    jfr_tool=$(dirname "$(readlink -f "$(command -v java)")")/jfr
    "$jfr_tool" print --events jdk.ExecutionSample "$out/gateway.jfr" | python3 bench/results.py jfr-top 20
    echo "recording: $out/gateway.jfr (jfr print, or JDK Mission Control)"
  else
    echo "run.sh: the gateway left no $out/gateway.jfr" >&2
    status=1
  fi
fi
echo "outputs: $out"
exit "$status"
