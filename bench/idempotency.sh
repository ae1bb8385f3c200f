#!/usr/bin/env bash
# Idempotency-key retention at a given request rate: a gateway from target/taraz.jar on a fresh
# data directory; an old day's partition seeded with ROWS keys (a day of traffic at a lower rate,
# or part of one at the full rate); then pgbench claims new keys through idempotency_claim() at
# RATE per second (what the gateway does once per keyed request) while the retention drops the
# old day. Prints the claim rate and latency pgbench saw, and how long the drop took; then the
# same rate as plain INSERTs, the claim's cost before the partitions, for comparison.
# Writes its figures to target/bench/idempotency-<UTC time>/result.json (bench/results.py).
# Usage: bench/idempotency.sh [rate=2000] [seconds=60] [rows=5000000]
set -euo pipefail
cd "$(dirname "$0")/.."
started_at=$(date -u +%Y-%m-%dT%H:%M:%SZ)
rate=${1:-2000}; seconds=${2:-60}; rows=${3:-5000000}
port=${BENCH_PORT:-18181}
pgbin=/usr/lib/postgresql/15/bin
[ -x "$pgbin/pgbench" ] || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql-client-15 > /dev/null; }
data=$(mktemp -d /tmp/taraz-bench.XXXXXX)
[ -f target/taraz.jar ] || mvn -B -q -ntp package -DskipTests
trap 'kill -9 ${gw:-0} 2>/dev/null || true; rm -rf "$data"' EXIT

TARAZ_DATA_DIR=$data TARAZ_HTTP_PORT=$port java -jar target/taraz.jar > "$data/gateway.log" 2>&1 &
gw=$!
for _ in $(seq 1 600); do
  if curl -fs "http://127.0.0.1:$port/health/ready" > /dev/null; then break; fi
  sleep 0.1
done
pgport=$(sed -n 4p "$data/postgres/postmaster.pid")
export PGHOST=127.0.0.1 PGPORT=$pgport PGUSER=postgres PGDATABASE=postgres
if [ -f "$data/postgres-password" ]; then PGPASSWORD=$(cat "$data/postgres-password"); export PGPASSWORD; fi

old_day="(current_date - 4)"
t0=$(date +%s%N)
"$pgbin/psql" -qAt -c "SELECT idempotency_partition($old_day);" > /dev/null
"$pgbin/psql" -qAt -c "INSERT INTO idempotency_keys (key, request_hash, method, path, state, owner, locked_until,
    response_status, response_body, created_at)
  SELECT 'old-' || g, md5(g::text), 'POST', '/v1/trips/t/settle', CASE WHEN g % 100 = 0 THEN 'in_progress' ELSE 'done' END,
    'old-node', $old_day::timestamp AT TIME ZONE 'UTC', 200, '{\"state\":\"SETTLED\"}',
    ($old_day::timestamp AT TIME ZONE 'UTC') + (g % 86400) * interval '1 second'
  FROM generate_series(1, $rows) g;" > /dev/null
seed_ms=$(( ($(date +%s%N) - t0) / 1000000 ))
echo "seeded $rows keys (1% orphaned in_progress) into day $("$pgbin/psql" -qAt -c "SELECT $old_day") in $seed_ms ms"

cat > "$data/claim.sql" <<'SQL'
\set k random(1, 2000000000)
SELECT * FROM idempotency_claim('bench-' || :client_id || '-' || :k, 'h', 'POST', '/v1/trips/t/settle', 'bench-node', 30000);
SQL
"$pgbin/pgbench" -n -f "$data/claim.sql" -c 8 -j 2 -R "$rate" -T "$seconds" -P 10 > "$data/pgbench.out" 2>&1 &
pb=$!
sleep $(( seconds / 2 ))
t0=$(date +%s%N)
dropped=$("$pgbin/psql" -qAt -c "SELECT idempotency_drop_expired(interval '48 hours')")
drop_ms=$(( ($(date +%s%N) - t0) / 1000000 ))
echo "retention dropped $dropped day partition(s) ($rows keys) in $drop_ms ms, under the claim load"
wait $pb
echo "claims through idempotency_claim() (advisory lock, look, insert into today's partition):"
grep -E "progress|tps|latency|number of transactions|skipped" "$data/pgbench.out"

# The same rate against what a claim was before the partitions (V1-V4): one INSERT ... ON
# CONFLICT DO NOTHING into a plain table keyed by the key, for the cost of the claim itself.
"$pgbin/psql" -qAt -c "CREATE TABLE bench_keys_plain (LIKE idempotency_keys INCLUDING DEFAULTS, PRIMARY KEY (key))" > /dev/null
cat > "$data/plain.sql" <<'SQL'
\set k random(1, 2000000000)
INSERT INTO bench_keys_plain (key, request_hash, method, path, state, owner, locked_until)
VALUES ('bench-' || :client_id || '-' || :k, 'h', 'POST', '/v1/trips/t/settle', 'in_progress', 'bench-node', now())
ON CONFLICT (key) DO NOTHING;
SQL
"$pgbin/pgbench" -n -f "$data/plain.sql" -c 8 -j 2 -R "$rate" -T "$seconds" -P 10 > "$data/pgbench-plain.out" 2>&1
echo "the same rate as one plain INSERT ... ON CONFLICT (the claim before V5):"
grep -E "tps|latency|number of transactions|skipped" "$data/pgbench-plain.out"
kill -TERM "$gw"; wait "$gw" || true

# figure FILE PATTERN: the first number after PATTERN in pgbench's summary, empty if absent.
figure() { grep -oE "^$2[0-9.]+" "$1" | grep -oE '[0-9.]+$' | head -1 || true; }
python3 bench/results.py write idempotency "$started_at" --setting ratePerSecond="$rate" --setting seconds="$seconds" \
  --setting seededKeys="$rows" --setting clients=8 \
  --measured seedMillis="$seed_ms" --measured droppedPartitions="$dropped" --measured dropMillis="$drop_ms" \
  --measured claimsPerSecond="$(figure "$data/pgbench.out" 'tps = ')" \
  --measured claimLatencyMillisAverage="$(figure "$data/pgbench.out" 'latency average = ')" \
  --measured claimLatencyMillisStddev="$(figure "$data/pgbench.out" 'latency stddev = ')" \
  --measured claimsFailed="$(figure "$data/pgbench.out" 'number of failed transactions: ')" \
  --measured plainInsertsPerSecond="$(figure "$data/pgbench-plain.out" 'tps = ')" \
  --measured plainInsertLatencyMillisAverage="$(figure "$data/pgbench-plain.out" 'latency average = ')"
