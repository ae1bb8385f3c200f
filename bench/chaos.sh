#!/usr/bin/env bash
# Soak: real gateways from target/taraz.jar under the harness's mixed load, killed at random
# moments (kill -9; SIGTERM every tenth time; now and then again while the restarted one boots)
# and restarted; after each restart the invariants are checked in the gateway's database against
# what the harness was answered 2xx (taraz bench --acks): the balances sum to 0 with no drift and
# no overdraft, every acknowledged payment is still there, no trip or top-up is charged twice, and
# every top-up paid at the PSP simulator is credited within --converge seconds. Not run in CI.
# Usage: bench/chaos.sh [--kills N] [--seed S] [--out DIR] [--rate R] [--interval MIN-MAX]
#          [--converge S] [--boot-kills PERCENT] [--wallets N] [--pg shared|embedded] [--java-opts OPTS]
#   --kills N: cycles, one signal to the serving gateway each (default 10)
#   --seed S: the draws of kill moments and kinds (default: random, printed)
#   --out DIR: where the results go (default target/bench/chaos-<UTC time>)
#   --rate R: the harness's open-model rate, operations per second (default 40)
#   --interval MIN-MAX: seconds of load between a gateway's readiness and its signal (default 0.2-3)
#   --converge S: the bound for a paid top-up to be credited after a restart (default 20)
#   --boot-kills PERCENT: of the kill -9 cycles, the share whose restarted gateway is killed -9
#     again at a random moment of its boot (recovery cut short), then restarted (default 10)
#   --wallets N: passengers the harness opens and funds per run (default 20)
#   --pg shared: one PostgreSQL for the whole run, the gateways on it through TARAZ_PG_URL (default; fast);
#     --pg embedded: every restart on the embedded defaults (the orphaned PostgreSQL found, stopped, started)
#   --java-opts OPTS: the gateway's JVM options (default -XX:TieredStopAtLevel=1; a class-data archive is added)
# Exit status: 0 every invariant held, 1 a violation, 2 a usage or setup error.
set -euo pipefail
cd "$(dirname "$0")/.."

usage() { sed -n '8,22p' "$0" | sed 's/^# \{0,1\}//'; }
kills=10; seed=; out=; rate=40; interval=0.2-3; converge=20; boot_kills=10; wallets=20; pg=shared
java_opts=-XX:TieredStopAtLevel=1
while [ $# -gt 0 ]; do
  case $1 in
    --kills) kills=${2:?--kills needs a number}; shift ;;
    --seed) seed=${2:?--seed needs a number}; shift ;;
    --out) out=${2:?--out needs a directory}; shift ;;
    --rate) rate=${2:?--rate needs a number}; shift ;;
    --interval) interval=${2:?--interval needs MIN-MAX seconds}; shift ;;
    --converge) converge=${2:?--converge needs seconds}; shift ;;
    --boot-kills) boot_kills=${2:?--boot-kills needs a percentage}; shift ;;
    --wallets) wallets=${2:?--wallets needs a number}; shift ;;
    --pg) pg=${2:?--pg needs shared or embedded}; shift ;;
    --java-opts) java_opts=${2?--java-opts needs options}; shift ;;
    -h|--help) usage; exit 0 ;;
    *) echo "chaos.sh: unknown option '$1'" >&2; usage >&2; exit 2 ;;
  esac
  shift
done
bad() { echo "chaos.sh: $1" >&2; exit 2; }
[[ $kills =~ ^[1-9][0-9]{0,5}$ ]] || bad "--kills must be 1..999999"
[ -z "$seed" ] || [[ $seed =~ ^[0-9]{1,9}$ ]] || bad "--seed must be a whole number"
[[ $rate =~ ^[1-9][0-9]{0,3}$ ]] || bad "--rate must be 1..9999 operations per second"
[[ $interval =~ ^([0-9]+(\.[0-9]{1,3})?)-([0-9]+(\.[0-9]{1,3})?)$ ]] || bad "--interval must be MIN-MAX seconds, e.g. 0.2-3"
interval_min_ms=$(awk -v s="${BASH_REMATCH[1]}" 'BEGIN { printf "%d", s * 1000 }')
interval_max_ms=$(awk -v s="${BASH_REMATCH[3]}" 'BEGIN { printf "%d", s * 1000 }')
if [ "$interval_min_ms" -gt "$interval_max_ms" ] || [ "$interval_max_ms" -gt 600000 ]; then bad "--interval needs MIN <= MAX <= 600"; fi
[[ $converge =~ ^[1-9][0-9]{0,3}$ ]] || bad "--converge must be 1..9999 seconds"
[[ $boot_kills =~ ^([0-9]|[1-9][0-9]|100)$ ]] || bad "--boot-kills must be a percentage, 0..100"
[[ $wallets =~ ^[1-9][0-9]{0,3}$ ]] || bad "--wallets must be 1..9999"
[ "$pg" = shared ] || [ "$pg" = embedded ] || bad "--pg must be shared or embedded"
seed=${seed:-$(( $(od -An -tu4 -N4 /dev/urandom) % 1000000000 ))}
RANDOM=$seed

# Bounds of the waits: a start (initdb on the first, crash recovery after a kill), a graceful stop
# (the drain below plus the pool and the journal), the harness's setup, one check's SQL.
start_timeout_s=180; stop_timeout_s=60; setup_timeout_s=120; check_timeout_s=300
# Each harness run is this long; the script starts another when one ends.
bench_run_s=600
drain_timeout_ms=10000

if [ ! -f target/taraz.jar ] || [ -n "$(find src/main pom.xml conf/taraz.json conf/reconcile.json -newer target/taraz.jar -print -quit)" ]; then
  echo "building target/taraz.jar (missing or older than src/main, pom.xml or conf/)"
  mvn -B -q -o package -DskipTests
fi
if [[ $(java -jar target/taraz.jar bench --help 2>&1) != *"--acks"* ]]; then
  bad "target/taraz.jar's bench has no --acks (rebuild it from this tree)"
fi
pgbin=/usr/lib/postgresql/15/bin
if [ ! -x "$pgbin/psql" ]; then
  echo "installing psql (Debian package postgresql-client-15)"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql-client-15 > /dev/null
fi

started_at=$(date -u +%Y-%m-%dT%H:%M:%SZ)
out=${out:-$(python3 bench/results.py dir chaos "$started_at")}
mkdir -p "$out"
out=$(cd "$out" && pwd)
# Results of an earlier run in a reused --out directory must not pass for this run's.
rm -f "$out"/result.json "$out"/cycles.tsv "$out"/violations.tsv "$out"/acks.csv "$out"/gateway.log "$out"/bench-*.log
data=$(mktemp -d /tmp/taraz-chaos.XXXXXX)
acks=$out/acks.csv; cycles=$out/cycles.tsv; violations=$out/violations.tsv
: > "$acks"; : > "$violations"
printf 'cycle\tkind\tloadMillis\tstopMillis\texitStatus\tbootKills\treadyMillis\tacks\tcheckMillis\tcheckRounds\tnewViolations\tcycleMillis\n' > "$cycles"
gw=; sim=; bench=; bench_runs=0; keep_data=false

ms() { echo $(( $(date +%s%N) / 1000000 )); }
# pg_pid: the PostgreSQL serving the data directory, from its postmaster.pid (empty if none).
pg_pid() { if [ -f "$data/postgres/postmaster.pid" ]; then sed -n 1p "$data/postgres/postmaster.pid"; fi; }

# Stops every child: the harness, the gateway, the simulator, and the PostgreSQL of the data
# directory (left running on purpose with --pg shared, orphaned by a kill -9 with --pg embedded).
# shellcheck disable=SC2317 # called by the EXIT trap, which shellcheck 0.9 does not follow
cleanup() {
  local pid
  for pid in $bench $gw $sim; do
    {
      kill -TERM "$pid" || continue
      for _ in $(seq 1 100); do kill -0 "$pid" || break; sleep 0.1; done
      kill -KILL "$pid" || true
      wait "$pid" || true
    } 2> /dev/null
  done
  pid=$(pg_pid)
  # SIGQUIT is PostgreSQL's immediate shutdown, SIGKILL if that hangs.
  if [ -n "$pid" ] && kill -QUIT "$pid" 2> /dev/null; then
    for _ in $(seq 1 100); do kill -0 "$pid" 2> /dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2> /dev/null || true
  fi
  if $keep_data; then
    echo "data directory kept for inspection: $data (its PostgreSQL is stopped; start a gateway on it with TARAZ_DATA_DIR)"
  else
    rm -rf "$data"
  fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

read -r port sim_port < <(python3 -c '
import socket
a, b = socket.socket(), socket.socket()
a.bind(("127.0.0.1", 0)); b.bind(("127.0.0.1", 0))
print(a.getsockname()[1], b.getsockname()[1])')
token=$(od -An -tx1 -N24 /dev/urandom | tr -d ' \n')
url=http://127.0.0.1:$port
sim_url=http://127.0.0.1:$sim_port

java -jar target/taraz.jar psp-sim --port "$sim_port" --data-dir "$data/psp-sim" > "$out/psp-sim.log" 2>&1 &
sim=$!
for _ in $(seq 1 300); do curl -s -o /dev/null "$sim_url/" && break; sleep 0.1; done
curl -s -o /dev/null "$sim_url/" || { echo "chaos.sh: the PSP simulator is not up after 30 s; see $out/psp-sim.log" >&2; exit 2; }

# The gateway's settings on top of the caller's TARAZ_CONFIG: the callback limits lifted (every
# callback comes from the simulator on loopback), and, unless the caller set them, the top-up
# timers shortened so that a paid top-up whose callback a kill lost is swept within a cycle
# (defaults: 60 s of callback grace, a 5 s round, a 15 s lease), and the drain bounded.
python3 - "${TARAZ_CONFIG:-}" "$data/chaos.json" "$drain_timeout_ms" <<'PY'
import json, sys
settings = json.load(open(sys.argv[1])) if sys.argv[1] else {}
settings.update({"callbackAddressRatePerSecond": 1000000, "callbackAddressBurstRequests": 1000000,
                 "callbackTotalRatePerSecond": 1000000, "callbackTotalBurstRequests": 1000000})
for key, value in {"topupCallbackGraceSeconds": 1, "topupSweepIntervalMillis": 500, "topupLeaseMillis": 2000,
                   "drainTimeoutMillis": int(sys.argv[3])}.items():
    settings.setdefault(key, value)
json.dump(settings, open(sys.argv[2], "w"))
PY
# A class-data archive of the gateway's own classes, written by the first gateway's JVM at its
# (graceful) exit and mapped by every later one: a restart spends most of its time loading classes.
cds=$data/gateway.jsa
gateway_env=(env -u TARAZ_PG_URL -u TARAZ_API_KEYS TARAZ_DATA_DIR="$data" TARAZ_HTTP_PORT="$port"
  TARAZ_ADMIN_TOKEN="$token" TARAZ_PSP_URL="$sim_url" TARAZ_CONFIG="$data/chaos.json")
read -ra jvm <<< "$java_opts"

# start_gateway [JVM options...]: starts one in the background (gw, gw_started).
start_gateway() {
  echo "=== $(date -u +%H:%M:%S.%3N) start" >> "$out/gateway.log"
  gw_started=$(ms)
  "${gateway_env[@]}" ${pg_url:+TARAZ_PG_URL="$pg_url"} java "${jvm[@]}" "$@" -jar target/taraz.jar >> "$out/gateway.log" 2>&1 &
  gw=$!
}
# await_ready: until /health/ready answers 2xx (ready_ms), or the gateway exits (status 1), or the bound.
await_ready() {
  local deadline=$(( $(ms) + start_timeout_s * 1000 ))
  while [ "$(ms)" -lt "$deadline" ]; do
    if curl -fs -o /dev/null --max-time 1 "$url/health/ready"; then ready_ms=$(( $(ms) - gw_started )); return 0; fi
    kill -0 "$gw" 2> /dev/null || return 1
    sleep 0.05
  done
  return 1
}
# stop_gateway SIGNAL: sends it, waits for the exit (stop_ms, exit_status); kill -9 past the bound.
stop_gateway() {
  local t0 deadline
  t0=$(ms); deadline=$(( t0 + stop_timeout_s * 1000 ))
  exit_status=0
  # Without bash's "Killed" notice, which it prints on its stderr when it reaps the job.
  {
    kill "-$1" "$gw" || true
    while kill -0 "$gw" && [ "$(ms)" -lt "$deadline" ]; do sleep 0.02; done
    if kill -0 "$gw"; then kill -KILL "$gw"; fi
    wait "$gw" || exit_status=$?
  } 2> /dev/null
  stop_ms=$(( $(ms) - t0 ))
  gw=
}

# violation CYCLE KIND ID DETAIL: recorded once per (kind, id); prints it when new.
new_violations=0
violation() {
  if ! cut -f2,3 "$violations" | grep -qxF "$2"$'\t'"$3"; then
    printf '%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$4" >> "$violations"
    echo "  VIOLATION $2 $3: $4"
    new_violations=$(( new_violations + 1 ))
  fi
}

# The first start makes the data directory (initdb, migrations) and the class-data archive.
echo "chaos: seed $seed, $kills kills, mixed at $rate/s, $wallets wallets per harness run, kill after ${interval} s of load," \
  "boot kills ${boot_kills}%, converge ${converge} s, PostgreSQL $pg; gateway JVM: ${java_opts:-(defaults)}; out $out"
# Times per cycle say little without the machine's other load beside them.
load_start=$(cut -d' ' -f1 /proc/loadavg)
echo "load average at the start: $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) cores"
pg_url=
start_gateway -XX:ArchiveClassesAtExit="$cds"
await_ready || { echo "chaos.sh: the first gateway did not start; the end of $out/gateway.log:" >&2; tail -20 "$out/gateway.log" >&2; exit 2; }
echo "first start (initdb, migrations) ready in $ready_ms ms"
stop_gateway TERM
jvm+=(-XX:SharedArchiveFile="$cds" -Xshare:auto)
if [ "$pg" = shared ]; then
  # One PostgreSQL for the whole run: a gateway on the embedded defaults starts it, and a kill -9
  # leaves it running, as after any kill -9; every later gateway reaches it through TARAZ_PG_URL,
  # as replicas reach an external one, so a restart is the JVM alone.
  start_gateway
  await_ready || { echo "chaos.sh: the second gateway did not start; see $out/gateway.log" >&2; exit 2; }
  stop_gateway KILL
  pg_url="postgresql://postgres:$(cat "$data/postgres-password")@127.0.0.1:$(sed -n 4p "$data/postgres/postmaster.pid")/postgres"
  kill -0 "$(pg_pid)" || { echo "chaos.sh: no PostgreSQL left running on $data/postgres" >&2; exit 2; }
fi
start_gateway
await_ready || { echo "chaos.sh: the gateway did not start; see $out/gateway.log" >&2; exit 2; }
echo "gateway ready in $ready_ms ms (${pg} PostgreSQL, class-data archive)"
key=$(cat "$data/api-key")

# psql_run ARGS...: psql on the data directory's PostgreSQL (its port changes with --pg embedded).
psql_run() {
  PGHOST=127.0.0.1 PGPORT=$(sed -n 4p "$data/postgres/postmaster.pid") PGUSER=postgres PGDATABASE=postgres \
    PGPASSWORD=$(cat "$data/postgres-password") PGOPTIONS='-c client_min_messages=warning' \
    timeout "$check_timeout_s" "$pgbin/psql" -X -q -v ON_ERROR_STOP=1 "$@"
}
psql_run -f bench/chaos/acks.sql

# check CYCLE CUTOFF: waits (every 0.5 s, at most --converge seconds) until every top-up paid at the
# simulator since the last check and by acks line CUTOFF is credited (bench/chaos/pending.sql: one
# paid before the last check was credited then or reported), then checks every invariant
# once (bench/chaos/check.sql), which reports a top-up still not credited as paid_not_credited
# (check_ms, check_rounds: the rounds of waiting). Each psql session first loads the whole acks lines
# written since the last one into chaos.acks (committed before the check's snapshot).
acks_loaded=0; checked_cutoff=0
# acks_then FILE [psql options]: one session: the new acks lines, then FILE; its output in
# $data/psql.out (not captured with $(...): acks_loaded must be set in this shell).
acks_then() {
  local total sql=$1
  shift
  total=$(wc -l < "$acks")
  # A check that cannot run is the tool's failure, not the gateway's: exit 2, not a violation.
  awk -v from="$acks_loaded" -v to="$total" 'NR > from && NR <= to { print NR "," $0 }' "$acks" \
    | psql_run -At -F $'\t' "$@" -c '\copy chaos.acks FROM pstdin WITH (FORMAT csv)' -f "$sql" > "$data/psql.out" \
    || { echo "chaos.sh: loading the acks or $sql failed" >&2; exit 2; }
  acks_loaded=$total
}
check() {
  local t0 deadline
  t0=$(ms); deadline=$(( t0 + converge * 1000 )); check_rounds=0
  while true; do
    check_rounds=$(( check_rounds + 1 ))
    acks_then bench/chaos/pending.sql -v from="$checked_cutoff" -v cutoff="$2"
    if [ "$(cat "$data/psql.out")" -eq 0 ] || [ "$(ms)" -ge "$deadline" ]; then break; fi
    sleep 0.5
  done
  acks_then bench/chaos/check.sql -v cutoff="$2"
  while IFS=$'\t' read -r kind id detail; do
    violation "$1" "$kind" "$id" "$detail"
  done < "$data/psql.out"
  checked_cutoff=$2
  check_ms=$(( $(ms) - t0 ))
}

# ensure_bench: a harness run is going (one ends every bench_run_s; the next starts on the live gateway).
ensure_bench() {
  if [ -n "$bench" ] && kill -0 "$bench" 2> /dev/null; then return 0; fi
  if [ -n "$bench" ]; then
    local status=0
    wait "$bench" || status=$?
    # Status 2 is the harness's usage or setup error, an acks line it could not write among them.
    if [ "$status" -eq 2 ]; then echo "chaos.sh: harness run $bench_runs ended with status 2; see $out/bench-$bench_runs.log" >&2; exit 2; fi
  fi
  bench_runs=$(( bench_runs + 1 ))
  local log=$out/bench-$bench_runs.log
  java -jar target/taraz.jar bench mixed --url "$url" --api-key "$key" --admin-token "$token" --psp-sim-url "$sim_url" \
    --rate "$rate" --duration "${bench_run_s}s" --warmup 0s --wallets "$wallets" --acks "$acks" --no-ledger-check \
    --out "$out/bench-$bench_runs" > "$log" 2>&1 &
  bench=$!
  local deadline=$(( $(ms) + setup_timeout_s * 1000 ))
  until grep -q ': setup: ' "$log"; do
    if ! kill -0 "$bench" 2> /dev/null || [ "$(ms)" -ge "$deadline" ]; then
      echo "chaos.sh: harness run $bench_runs did not get through its setup; the end of $log:" >&2; tail -5 "$log" >&2; exit 2
    fi
    sleep 0.1
  done
}

# restart: starts a gateway until one is ready; a gateway that exits during its start is a violation.
restart() {
  local tries
  for tries in 1 2 3; do
    start_gateway
    if await_ready; then return 0; fi
    local status=0
    { if kill -0 "$gw"; then kill -KILL "$gw"; fi; wait "$gw" || status=$?; } 2> /dev/null
    gw=
    violation "$1" start_failed "start-$tries" "the gateway exited with status $status during its start (see gateway.log)"
  done
  echo "chaos.sh: no gateway started three times in a row; stopping" >&2
  exit 1
}

# rand_ms MIN MAX: uniform from the seeded RANDOM.
rand_ms() { echo $(( $1 + (RANDOM * 32768 + RANDOM) % ($2 - $1 + 1) )); }

for cycle in $(seq 1 "$kills"); do
  cycle_t0=$(ms); new_violations=0
  ensure_bench
  if [ $(( cycle % 10 )) -eq 0 ]; then kind=TERM; else kind=KILL; fi
  boot=0
  if [ "$kind" = KILL ] && [ $(( RANDOM % 100 )) -lt "$boot_kills" ]; then boot=1; fi
  load_ms=$(rand_ms "$interval_min_ms" "$interval_max_ms")
  sleep "$(awk -v m="$load_ms" 'BEGIN { printf "%.3f", m / 1000 }')"
  boot_after_ms=$(rand_ms 0 "$ready_ms")
  if ! kill -0 "$gw" 2> /dev/null; then
    # Nobody signalled it: reap it, and that is a violation of its own.
    stop_gateway KILL
    violation "$cycle" gateway_died "cycle-$cycle" "the gateway exited by itself with status $exit_status before its signal (see gateway.log)"
  else
    stop_gateway "$kind"
    if [ "$kind" = TERM ]; then
      # The stop sequence ends with status 0; anything else is a stop that went wrong.
      [ "$exit_status" -eq 0 ] || violation "$cycle" sigterm_exit "cycle-$cycle" "SIGTERM ended the gateway with status $exit_status after $stop_ms ms"
    fi
  fi
  label=$kind
  if [ "$boot" = 1 ]; then
    # Killed again at a random moment before the last start's time to ready: during its boot or recovery.
    start_gateway
    sleep "$(awk -v m="$boot_after_ms" 'BEGIN { printf "%.3f", m / 1000 }')"
    if curl -fs -o /dev/null --max-time 1 "$url/health/ready"; then label="KILL+late"; else label="KILL+boot"; fi
    stop_gateway KILL
  fi
  restart "$cycle"
  cutoff=$(wc -l < "$acks")
  check "$cycle" "$cutoff"
  cycle_ms=$(( $(ms) - cycle_t0 ))
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$cycle" "$label" "$load_ms" "$stop_ms" "$exit_status" "$boot" \
    "$ready_ms" "$cutoff" "$check_ms" "$check_rounds" "$new_violations" "$cycle_ms" >> "$cycles"
  verdict=ok; [ "$new_violations" -eq 0 ] || verdict="VIOLATION ($new_violations new)"
  printf 'cycle %d/%d %-9s after %5.2f s of load; stopped in %d ms; ready in %d ms; acks %d; invariants %s (%d ms, %d rounds); cycle %.1f s\n' \
    "$cycle" "$kills" "$label" "$(awk -v m="$load_ms" 'BEGIN { print m / 1000 }')" "$stop_ms" "$ready_ms" "$cutoff" "$verdict" \
    "$check_ms" "$check_rounds" "$(awk -v m="$cycle_ms" 'BEGIN { print m / 1000 }')"
done

# The end: the load stops, and then every top-up paid at the simulator, acknowledged or not (the
# harness may have been stopped between the bank's answer and its line), must be credited: the
# simulator's list of paid but unverified payments must empty within the bound.
kill -TERM "$bench" 2> /dev/null || true
wait "$bench" || true
bench=
new_violations=0
check final "$(wc -l < "$acks")"
deadline=$(( $(ms) + converge * 1000 ))
while true; do
  unverified=$(curl -fs --max-time 10 -H 'Content-Type: application/json' -d '{"merchant_id":"00000000-0000-4000-8000-000000000000"}' \
    "$sim_url/pg/v4/payment/unVerified.json" | python3 -c 'import json, sys; print(" ".join(a["authority"] for a in json.load(sys.stdin)["data"]["authorities"]))')
  if [ -z "$unverified" ] || [ "$(ms)" -ge "$deadline" ]; then break; fi
  sleep 0.5
done
for authority in $unverified; do violation final paid_not_verified "$authority" "paid at the simulator, still unverified ${converge} s after the load stopped"; done
echo "final check (load stopped): $([ "$new_violations" -eq 0 ] && echo "no new violation" || echo "VIOLATION ($new_violations new)")"

status=0
[ ! -s "$violations" ] || { status=1; keep_data=true; }
python3 bench/results.py chaos "$out" "$started_at" --setting kills="$kills" --setting seed="$seed" --setting rate="$rate" \
  --setting interval="$interval" --setting convergeSeconds="$converge" --setting bootKillPercent="$boot_kills" \
  --setting wallets="$wallets" --setting pg="$pg" --setting javaOpts="$java_opts" --measured harnessRuns="$bench_runs" \
  --measured loadAverageAtStart="$load_start" --measured loadAverageAtEnd="$(cut -d' ' -f1 /proc/loadavg)"
echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
exit "$status"
