#!/usr/bin/env bash
# The cost of one round of the gateway's checks (reconcile.Checks) over a ledger of N transfers: the full scan, a
# fast round with nothing new, a fast round after M new transfers (each fast round three times). The ledger is
# seeded once per size by taraz.bench.ChecksBench (SQL only: half credited top-ups, half settled trips, all within
# the last day) under target/bench-checks and reused by later runs (the rounds change nothing; the new transfers
# stay); RESEED=1 seeds it again. Writes its figures to target/bench/checks-<UTC time>/result.json (bench/results.py).
# Usage: bench/checks.sh [transfers=1000000] [new=1000]
# Env: RESEED=1, MVN_FLAGS (e.g. -o).
set -euo pipefail
cd "$(dirname "$0")/.."
transfers=${1:-1000000}
new=${2:-1000}
data=target/bench-checks/data-$transfers
read -ra mvn_flags <<< "${MVN_FLAGS:-}"
mvn=(mvn -B -q -ntp "${mvn_flags[@]}")

"${mvn[@]}" test-compile dependency:build-classpath -Dmdep.outputFile=target/bench-cp.txt
[ -n "${RESEED:-}" ] && rm -rf "$data"
mkdir -p "$data"
flags=$(sed -n 's:.*<chronicle.jvm.flags>\(.*\)</chronicle.jvm.flags>.*:\1:p' pom.xml)
started_at=$(date -u +%Y-%m-%dT%H:%M:%SZ)
load_before=$(cut -d' ' -f1 /proc/loadavg)
echo "load average before the run: $(cut -d' ' -f1-3 /proc/loadavg)"
out=$(mktemp)
# shellcheck disable=SC2086
TARAZ_LOG_FORMAT=text java $flags -Xmx512m -cp "target/classes:target/test-classes:$(cat target/bench-cp.txt)" \
  taraz.bench.ChecksBench "$data" "$transfers" "$new" > "$out" 2>&1 || { tail -50 "$out"; exit 2; }
grep -v ' INFO \| WARN \|^SLF4J\|^\s\+at \|Thread blocked\|^measured ' "$out" || true
load_after=$(cut -d' ' -f1 /proc/loadavg)
echo "load average after the run: $(cut -d' ' -f1-3 /proc/loadavg)"
measured=()
# One line "measured k=v k=v ...": its pairs, each a --measured option.
read -r -a pairs <<< "$(sed -n 's/^measured //p' "$out")"
for pair in "${pairs[@]}"; do measured+=(--measured "$pair"); done
rm -f "$out"
python3 bench/results.py write checks "$started_at" --setting transfers="$transfers" --setting newTransfers="$new" \
  --setting batchMax=10000 --measured loadAverageBefore="$load_before" --measured loadAverageAfter="$load_after" \
  "${measured[@]}"
