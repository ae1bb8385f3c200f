#!/usr/bin/env bash
# `taraz reconcile` (dry run, --offline) over N top-ups against the bank's settlement report of
# ~N rows: wall time (JVM start, embedded PostgreSQL start, migrate check, load, match, detect,
# reports, PostgreSQL stop), reconcile's own "in N s", and peak heap. Target: under 60 s and
# under 512 MB of heap (the run has -Xmx512m, so an OutOfMemoryError fails it; the peak is
# measured from the GC log).
# The data directory is seeded once per size by taraz.bench.ReconcileSeeder (BrokenHistory: N
# healthy top-ups, N/4 trips, N/20 passengers, the planted faults) under target/bench-reconcile
# and reused by later runs (a dry run changes nothing); RESEED=1 seeds it again.
# Writes its figures to target/bench/reconcile-<UTC time>/result.json (bench/results.py).
# Usage: bench/reconcile.sh [payments=1000000]
# Env: RESEED=1, RECONCILE_XMX (default 512m), SEED_XMX (default 8g), MVN_FLAGS (e.g. -o).
set -euo pipefail
cd "$(dirname "$0")/.."
started_at=$(date -u +%Y-%m-%dT%H:%M:%SZ)
payments=${1:-1000000}
xmx=${RECONCILE_XMX:-512m}
root=target/bench-reconcile
data=$root/data-$payments
stl=$root/settlement-$payments
run=$root/run-$payments
read -ra mvn_flags <<< "${MVN_FLAGS:-}"
mvn=(mvn -B -q -ntp "${mvn_flags[@]}")

[ -f target/taraz.jar ] || "${mvn[@]}" package -DskipTests
if [ -n "${RESEED:-}" ] || [ ! -f "$data/seeded.txt" ]; then
  "${mvn[@]}" test-compile dependency:build-classpath -Dmdep.outputFile=target/bench-cp.txt
  flags=$(sed -n 's:.*<chronicle.jvm.flags>\(.*\)</chronicle.jvm.flags>.*:\1:p' pom.xml)
  rm -rf "$data" "$stl"
  mkdir -p "$data"
  # shellcheck disable=SC2086
  java $flags -Xmx"${SEED_XMX:-8g}" -Xlog:gc:file="$data/seed-gc.log" -cp "target/classes:target/test-classes:$(cat target/bench-cp.txt)" \
    taraz.bench.ReconcileSeeder "$data" "$payments" "$stl" > "$data/seed.log" 2>&1 \
    || { tail -50 "$data/seed.log"; exit 2; }
  seed_peak=$(grep -oE ' [0-9]+M->' "$data/seed-gc.log" | tr -d ' M>-' | sort -n | tail -1)
  { grep -v ' INFO \|^SLF4J' "$data/seed.log"; echo "  seeder JVM: -Xmx${SEED_XMX:-8g}, peak heap used before a GC ${seed_peak:-?} MB"; } > "$data/seeded.txt"
  cat "$data/seeded.txt"
else
  echo "reusing $data (seeded earlier; RESEED=1 to seed again):"
  cat "$data/seeded.txt"
fi

rm -rf "$run"; mkdir -p "$run"
settlements=()
for f in "$stl"/settlement-*.csv; do settlements+=(--settlement "$f"); done
timer=()
[ -x /usr/bin/time ] && timer=(/usr/bin/time -v -o "$run/time.txt")
set +e
echo "load average before the run: $(cut -d' ' -f1-3 /proc/loadavg)"
t0=$(date +%s%N)
env -u TARAZ_PG_URL TARAZ_DATA_DIR="$data" "${timer[@]}" java -Xmx"$xmx" -XX:+HeapDumpOnOutOfMemoryError \
  -XX:HeapDumpPath="$run" -Xlog:gc*:file="$run/gc.log":uptime,level,tags \
  -jar target/taraz.jar reconcile --offline "${settlements[@]}" --report-dir "$run/report" \
  > "$run/stdout.txt" 2> "$run/stderr.txt"
status=$?
t1=$(date +%s%N)
set -e
grep -v ' INFO ' "$run/stdout.txt" || true
if [ "$status" -ge 2 ]; then tail -30 "$run/stderr.txt"; fi
if grep -q OutOfMemoryError "$run/stderr.txt" "$run/stdout.txt"; then echo "OutOfMemoryError with -Xmx$xmx"; fi

# Peak heap used: the heap only grows between collections, so the peak is the largest "before"
# of any pause (G1: "Pause Young ... 300M->40M(512M)") or the heap in use at exit.
to_mb() { awk '{ v = $1; u = substr(v, length(v)); n = substr(v, 1, length(v) - 1);
  if (u == "K") n /= 1024; else if (u == "G") n *= 1024; else if (u == "B") n /= 1048576; printf "%.0f\n", n }'; }
# The largest "after" is the most the run kept alive (its live set plus floating garbage).
pause_lines=$(grep -E '\] GC\([0-9]+\) Pause.* [0-9]+[KMG]->[0-9]+[KMG]\([0-9]+[KMG]\)' "$run/gc.log" || true)
peak_before=$(grep -oE ' [0-9]+[KMG]->' <<< "$pause_lines" | tr -d ' >-' | to_mb | sort -n | tail -1)
peak_after=$(grep -oE -- '->[0-9]+[KMG]' <<< "$pause_lines" | tr -d '>-' | to_mb | sort -n | tail -1)
exit_used=$(grep -oE 'garbage-first heap +total [0-9]+K, used [0-9]+K' "$run/gc.log" | tail -1 | grep -oE '[0-9]+K$' | to_mb)
committed=$( { grep -oE '[KMG]\([0-9]+[KMG]\)' <<< "$pause_lines" | grep -oE '[0-9]+[KMG]';
  grep -oE 'garbage-first heap +total [0-9]+K' "$run/gc.log" | grep -oE '[0-9]+K'; } | to_mb | sort -n | tail -1)
pauses=$(grep -cE '\] GC\([0-9]+\) Pause' "$run/gc.log" || true)
peak=$(printf '%s\n%s\n' "${peak_before:-0}" "${exit_used:-0}" | sort -n | tail -1)
rss_mb=
if [ -f "$run/time.txt" ]; then rss_mb=$(awk -F': ' '/Maximum resident set size/ { printf "%.0f", $2 / 1024 }' "$run/time.txt"); fi
rss=${rss_mb:+$rss_mb MB}

rows=$(grep -oE 'settlement: [0-9]+ row\(s\) in [0-9]+ file' "$run/stdout.txt" | grep -oE '[0-9]+' | head -1 || true)
summary=$(grep -oE '[0-9]+ finding\(s\), [0-9]+ remaining, in [0-9.]+ s' "$run/stdout.txt" || true)
echo
echo "payments (healthy top-ups): $payments; settlement rows: ${rows:-?} in $(( ${#settlements[@]} / 2 )) files"
echo "findings: ${summary:-?}"
echo "wall time: $(awk -v n=$(( (t1 - t0) / 1000000 )) 'BEGIN { printf "%.1f s", n / 1000 }') (JVM + embedded PostgreSQL start and stop included); reconcile's own: $(grep -oE 'in [0-9.]+ s' <<< "$summary" || echo ?)"
echo "heap: -Xmx$xmx; peak used ${peak} MB (largest before a GC ${peak_before:-?} MB, at exit ${exit_used:-?} MB; garbage included),"
echo "      largest after a GC ${peak_after:-?} MB, max committed ${committed:-?} MB, $pauses GC pauses; max RSS of the JVM ${rss:-n/a}"
echo "exit status: $status (1 expected: the planted findings remain in a dry run)"
echo "logs: $run"

# "13 finding(s), 13 remaining, in 49.5 s"
read -r findings remaining own_seconds <<< "$(grep -oE '[0-9.]+' <<< "$summary" | tr '\n' ' ')"
oom=false
if grep -q OutOfMemoryError "$run/stderr.txt" "$run/stdout.txt"; then oom=true; fi
python3 bench/results.py write reconcile "$started_at" --setting payments="$payments" --setting heapMax="$xmx" \
  --setting settlementFiles=$(( ${#settlements[@]} / 2 )) \
  --measured settlementRows="${rows:-}" --measured findings="${findings:-}" --measured remaining="${remaining:-}" \
  --measured wallSeconds="$(awk -v n=$(( (t1 - t0) / 1000000 )) 'BEGIN { printf "%.1f", n / 1000 }')" \
  --measured reconcileSeconds="${own_seconds:-}" --measured heapPeakUsedMegabytes="$peak" \
  --measured heapLargestAfterGcMegabytes="${peak_after:-}" --measured heapCommittedMaxMegabytes="${committed:-}" \
  --measured gcPauses="$pauses" --measured rssMaxMegabytes="${rss_mb:-}" --measured outOfMemory=$oom --measured exitStatus="$status"
