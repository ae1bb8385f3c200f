#!/usr/bin/env bash
# The gateway's start-up time by phase, in three cases: fresh (a new data directory each time:
# initdb and every migration), restart (the same directory after a graceful stop) and crash (the
# same directory after kill -9 of a ready gateway: an orphaned PostgreSQL to stop, the journal left
# open). Each start of the jar, on its embedded defaults, is read from its ready line ("taraz ready
# in … (jvm … ms, setup … ms, postgresql … ms, …; … ms since the JVM started)"), timed from launch
# to that line, and charged the CPU time its JVM had used by then; the script prints each case's
# median per phase. Given several jars (a build from before a change, one from after), it starts
# them in turn, start by start, so that whatever else the machine is doing weighs on each alike.
# Writes its figures to target/bench/boot-<UTC time>/result.json (bench/results.py).
# Usage: bench/boot.sh [--starts N] [JAR ...]      (defaults: 5 starts of target/taraz.jar per case)
set -euo pipefail
cd "$(dirname "$0")/.."
started_at=$(date -u +%Y-%m-%dT%H:%M:%SZ)
starts=5; jars=()
while [ $# -gt 0 ]; do
  case $1 in
    --starts) starts=${2:?--starts needs a number}; shift ;;
    -h|--help) sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) jars+=("$1") ;;
  esac
  shift
done
if [ ${#jars[@]} -eq 0 ]; then
  [ -f target/taraz.jar ] || mvn -B -q -ntp package -DskipTests
  jars=(target/taraz.jar)
fi
for jar in "${jars[@]}"; do [ -f "$jar" ] || { echo "boot.sh: no jar at $jar" >&2; exit 2; }; done
port=${BENCH_PORT:-18182}
# Fresh credentials per run (48 hex characters each): the bench never uses a fixed secret.
token=$(od -An -tx1 -N24 /dev/urandom | tr -d ' \n'); key=$(od -An -tx1 -N24 /dev/urandom | tr -d ' \n')
work=$(mktemp -d /tmp/taraz-boot.XXXXXX)
# A killed gateway leaves its PostgreSQL behind: stop those too on the way out.
cleanup() {
  kill -9 "${gw:-0}" 2>/dev/null || true
  for pidfile in "$work"/*/postgres/postmaster.pid; do
    if [ -f "$pidfile" ]; then kill -INT "$(head -1 "$pidfile")" 2>/dev/null || true; fi
  done
  sleep 1
  rm -rf "$work"
}
trap cleanup EXIT
phases="jvm setup postgresql migrations journal openapi http recovery"
columns="wall cpu total ready $phases"

# start JAR DATA LOG: launches the jar and waits (bounded) for its ready line; sets gw, wall_ms and cpu_ms.
start() {
  local t0 i ticks
  t0=$(date +%s%N)
  TARAZ_LOG_FORMAT=text TARAZ_DATA_DIR=$2 TARAZ_HTTP_PORT=$port TARAZ_ADMIN_TOKEN=$token TARAZ_API_KEYS=$key java -jar "$1" > "$3" 2>&1 &
  gw=$!
  for i in $(seq 1 30000); do
    if grep -q 'taraz ready in' "$3"; then break; fi
    if ! kill -0 "$gw" 2>/dev/null; then echo "boot.sh: the gateway exited before ready; the end of $3:" >&2; tail -20 "$3" >&2; exit 1; fi
    sleep 0.01
  done
  [ "$i" -lt 30000 ] || { echo "boot.sh: not ready after 300 s; the end of $3:" >&2; tail -20 "$3" >&2; exit 1; }
  wall_ms=$(( ($(date +%s%N) - t0) / 1000000 ))
  # utime + stime of the JVM, in clock ticks.
  ticks=$(awk '{ print $14 + $15 }' "/proc/$gw/stat")
  cpu_ms=$(( ticks * 1000 / $(getconf CLK_TCK) ))
}
stop() { kill -TERM "$gw"; wait "$gw" || true; }
crash() { kill -9 "$gw"; wait "$gw" 2>/dev/null || true; }

# record FILE LOG: appends "wall=… cpu=… total=… ready=… jvm=… …" of that start to FILE.
record() {
  local line fields p
  line=$(grep -o 'taraz ready in .*' "$2")
  fields="wall=$wall_ms cpu=$cpu_ms ready=$(sed -E 's/taraz ready in ([0-9]+) ms.*/\1/' <<< "$line")"
  fields="$fields total=$(grep -oE '[0-9]+ ms since the JVM started' <<< "$line" | grep -oE '^[0-9]+' || true)"
  for p in $phases; do
    fields="$fields $p=$(grep -oE "[(, ]$p [0-9]+ ms" <<< "$line" | grep -oE '[0-9]+' || true)"
  done
  echo "$fields" >> "$1"
}

for i in $(seq 1 "$starts"); do
  for j in "${!jars[@]}"; do
    start "${jars[$j]}" "$work/fresh-$j-$i" "$work/fresh-$j-$i.log"; record "$work/fresh-$j.txt" "$work/fresh-$j-$i.log"; stop
    rm -rf "$work/fresh-$j-$i"
  done
done
for j in "${!jars[@]}"; do start "${jars[$j]}" "$work/restart-$j" "$work/restart-$j-0.log"; stop; done
for i in $(seq 1 "$starts"); do
  for j in "${!jars[@]}"; do
    start "${jars[$j]}" "$work/restart-$j" "$work/restart-$j-$i.log"; record "$work/restart-$j.txt" "$work/restart-$j-$i.log"; stop
  done
done
for j in "${!jars[@]}"; do start "${jars[$j]}" "$work/crash-$j" "$work/crash-$j-0.log"; crash; done
for i in $(seq 1 "$starts"); do
  for j in "${!jars[@]}"; do
    start "${jars[$j]}" "$work/crash-$j" "$work/crash-$j-$i.log"; record "$work/crash-$j.txt" "$work/crash-$j-$i.log"; crash
  done
done

median() { sort -n | awk '{ v[NR] = $1 } END { if (NR == 0) print ""; else if (NR % 2) print v[(NR + 1) / 2]; else print int((v[NR / 2] + v[NR / 2 + 1]) / 2) }'; }
measured=()
settings=(--setting starts="$starts")
echo "medians of $starts starts, in ms (wall: launch to the ready line; cpu: the JVM's CPU time by then;"
echo "total: the JVM's start to ready; ready: the gateway's boot to ready; phases may overlap)"
for j in "${!jars[@]}"; do
  echo "jar $j: ${jars[$j]}"
  settings+=(--setting "jar$j=${jars[$j]}")
  printf '  %-8s' case; for col in $columns; do printf '%11s' "$col"; done; echo
  for c in fresh restart crash; do
    printf '  %-8s' "$c"
    for col in $columns; do
      m=$(grep -oE "(^| )$col=[0-9]*" "$work/$c-$j.txt" | cut -d= -f2 | grep . | median || true)
      printf '%11s' "${m:--}"
      measured+=(--measured "jar$j.$c.${col}Millis=$m")
    done
    echo
  done
done
python3 bench/results.py write boot "$started_at" "${settings[@]}" "${measured[@]}"
