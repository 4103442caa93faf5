#!/usr/bin/env bash
# Run a command with DATABASE_URL pointing at a throwaway database on the local PostgreSQL.
# Starts the local cluster when it is down (trust auth on 127.0.0.1:5432).
set -euo pipefail
PGHOST=${PGHOST:-127.0.0.1}
PGPORT=${PGPORT:-5432}
PGUSER=${PGUSER:-postgres}
if ! pg_isready -h "$PGHOST" -p "$PGPORT" -q 2>/dev/null; then
  echo "PostgreSQL is down; starting the local cluster"
  if command -v pg_ctlcluster >/dev/null; then
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -1)" main start || true
  fi
  for _ in $(seq 1 30); do pg_isready -h "$PGHOST" -p "$PGPORT" -q && break; sleep 1; done
fi
DB="custody_ci_$$"
psql -h "$PGHOST" -p "$PGPORT" -U "$PGUSER" -q -c "CREATE DATABASE $DB" postgres
cleanup() {
  psql -h "$PGHOST" -p "$PGPORT" -U "$PGUSER" -q -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" postgres || true
  for t in $(psql -h "$PGHOST" -p "$PGPORT" -U "$PGUSER" -Atq -c "SELECT datname FROM pg_database WHERE datname LIKE 'test_${DB}%'" postgres); do
    psql -h "$PGHOST" -p "$PGPORT" -U "$PGUSER" -q -c "DROP DATABASE IF EXISTS $t WITH (FORCE)" postgres || true
  done
}
trap cleanup EXIT
export DATABASE_URL="postgres://$PGUSER@$PGHOST:$PGPORT/$DB"
"$@"
