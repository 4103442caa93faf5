#!/usr/bin/env bash
# Reproduce docs/performance.md: fresh PostgreSQL database → migrate → generate → timing → load test.
#
#   bash bench/run.sh                 # 100,000 custodies, 200 requests per request type
#   bash bench/run.sh 1000000         # the generator at 1M (timing too; takes a while)
#   KEEP_DB=1 bash bench/run.sh       # keep the database afterwards (default: dropped to free disk)
#   SKIP_LOAD=1 / SKIP_TIMING=1       # skip a step; REQUESTS=50 for a quicker timing run
#
# Uses the local PostgreSQL on 127.0.0.1:5432 as user postgres (trust), like .ci/postgres.sh.
# Results go to var/bench/ (timing-<n>.md, explain-<n>.md, load-<n>.md, generate-<n>.log).
set -euo pipefail
cd "$(dirname "$0")/.."

N=${1:-${CUSTODIES:-100000}}
REQUESTS=${REQUESTS:-200}
PGHOST=${PGHOST:-127.0.0.1}
PGPORT=${PGPORT:-5432}
PGUSER=${PGUSER:-postgres}
DB=${BENCH_DB:-custody_bench}
PY=${PY:-.venv/bin/python}
OUT=var/bench
mkdir -p "$OUT"

psql_admin() { psql -h "$PGHOST" -p "$PGPORT" -U "$PGUSER" -v ON_ERROR_STOP=1 -q "$@" postgres; }

if ! pg_isready -h "$PGHOST" -p "$PGPORT" -q; then
  echo "PostgreSQL is not answering on $PGHOST:$PGPORT" >&2
  exit 1
fi
cleanup() {
  if [ "${KEEP_DB:-0}" != "1" ]; then
    psql_admin -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" || true
  else
    echo "kept database $DB"
  fi
}
trap cleanup EXIT

psql_admin -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)"
psql_admin -c "CREATE DATABASE $DB"
export DATABASE_URL="postgres://$PGUSER@$PGHOST:$PGPORT/$DB"
export DEBUG=0
export SECRET_KEY=${SECRET_KEY:-bench-only-secret-key-not-for-production-0123456789}

echo "== migrate"
"$PY" -m config.cli migrate --no-input -v 0

echo "== generate $N custodies"
"$PY" bench/generate.py --custodies "$N" | tee "$OUT/generate-$N.log"

if [ "${SKIP_TIMING:-0}" != "1" ]; then
  echo "== timing ($REQUESTS requests per request type)"
  "$PY" bench/timing.py --requests "$REQUESTS" --output "$OUT/timing-$N.md" --explain "$OUT/explain-$N.md"
fi

if [ "${SKIP_LOAD:-0}" != "1" ]; then
  echo "== load test"
  "$PY" bench/load.py --requests "${LOAD_REQUESTS:-3000}" --seconds "${LOAD_SECONDS:-60}" --output "$OUT/load-$N.md"
fi

echo "== database size"
psql -h "$PGHOST" -p "$PGPORT" -U "$PGUSER" -d "$DB" -Atc \
  "SELECT pg_size_pretty(pg_database_size(current_database()))" | sed 's/^/database size: /'
