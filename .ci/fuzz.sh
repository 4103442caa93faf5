#!/usr/bin/env bash
# make fuzz: schemathesis over the whole OpenAPI schema as an admin, an operator and a one-branch
# viewer, against a live server on 127.0.0.1 with the demo data. Fixed seed, bounded examples.
# Webhook endpoints may only target loopback (CUSTODY_WEBHOOK_ALLOWED_NETWORKS), so the fuzzer can
# never make the app send traffic anywhere else.
set -euo pipefail
cd "$(dirname "$0")/.."
PORT=${FUZZ_PORT:-8710}
SEED=${FUZZ_SEED:-20261130}
EXAMPLES=${FUZZ_MAX_EXAMPLES:-5}
DIR="$PWD/var/fuzz"
rm -rf "$DIR" && mkdir -p "$DIR"
export CUSTODY_VAR_DIR="$DIR" SQLITE_PATH="$DIR/custody.sqlite3" MEDIA_ROOT="$DIR/media"
unset DATABASE_URL
export CUSTODY_WEBHOOK_ALLOWED_NETWORKS="127.0.0.0/8,::1/128" CUSTODY_WEBHOOK_ALLOW_PRIVATE=0
export CUSTODY_READYZ_REQUIRE_WORKER=0
BIN=.venv/bin
$BIN/custody migrate --no-input -v 0
$BIN/custody demo-data -v 0
# One API token per role (the demo viewer works in one branch only).
$BIN/python manage.py shell -c '
from accounts.models import ApiToken, User
for role in ("admin", "operator", "viewer"):
    user = User.objects.filter(role=role, is_active=True).order_by("id").first()
    _t, raw = ApiToken.issue(user, name="fuzz")
    print(role, user.branches.count() if not user.all_branches else "all", raw)
' | grep -E '^(admin|operator|viewer) ' > "$DIR/tokens.txt"
if curl -s -o /dev/null "http://127.0.0.1:$PORT/"; then
  echo "port $PORT is already in use (set FUZZ_PORT)"; exit 1
fi
# Each pass starts from the same database: the admin's pass deactivates users and revokes tokens it
# finds, which would leave the next role's pass testing nothing but 401s (and make it depend on
# what the previous pass happened to do).
$BIN/python -c "import sqlite3, sys; s = sqlite3.connect(sys.argv[1]); d = sqlite3.connect(sys.argv[2]); s.backup(d)" \
  "$DIR/custody.sqlite3" "$DIR/base.sqlite3"
SERVER=
stop_server() {
  if [ -n "$SERVER" ]; then kill "$SERVER" 2>/dev/null || true; wait "$SERVER" 2>/dev/null || true; fi
  SERVER=
}
trap stop_server EXIT
start_server() {  # start_server <label>: a fresh copy of the database, a new server
  stop_server
  rm -f "$DIR/custody.sqlite3" "$DIR/custody.sqlite3-wal" "$DIR/custody.sqlite3-shm"
  cp "$DIR/base.sqlite3" "$DIR/custody.sqlite3"
  $BIN/custody serve --host 127.0.0.1 --port "$PORT" --workers 2 --threads 2 < /dev/null > "$DIR/server-$1.log" 2>&1 &
  SERVER=$!
  for _ in $(seq 1 60); do curl -fsS "http://127.0.0.1:$PORT/healthz" >/dev/null 2>&1 && break; sleep 1; done
  if ! kill -0 "$SERVER" 2>/dev/null; then  # e.g. the port was taken: never fuzz somebody else's server
    echo "the server did not start:"; tail -5 "$DIR/server-$1.log"; exit 1
  fi
}
# PATCH /api/v1/system switches maintenance on, after which every write answers 503: it is fuzzed
# alone, last, once every role has been through the rest of the API.
SWITCHES=ops_api_patch_system
fuzz() {  # fuzz <label> <token> <schemathesis filter args...>
  local label=$1 token=$2
  shift 2
  $BIN/schemathesis run "http://127.0.0.1:$PORT/api/openapi.json" \
    -H "Authorization: Bearer $token" "$@" \
    --checks not_a_server_error,status_code_conformance,response_schema_conformance,content_type_conformance \
    --phases examples,coverage,fuzzing \
    --seed "$SEED" --max-examples "$EXAMPLES" --no-shrink --generation-database none \
    --workers 2 --request-timeout 60 --wait-for-schema 120 --no-color \
    --report junit --report-junit-path "$DIR/junit-$label.xml" \
    2>&1 | tee "$DIR/schemathesis-$label.log" | tail -25
}
status=0
while read -r role branches token; do
  case " ${FUZZ_ROLES:-admin operator viewer} " in *" $role "*) ;; *) continue ;; esac
  echo "== schemathesis as $role (branches: $branches), seed $SEED, $EXAMPLES examples per operation"
  start_server "$role"
  fuzz "$role" "$token" --exclude-operation-id "$SWITCHES" || status=1
done < "$DIR/tokens.txt"
admin_token=$(awk '$1 == "admin" {print $3}' "$DIR/tokens.txt")
echo "== schemathesis as admin: the system switches"
start_server admin-switches
fuzz admin-switches "$admin_token" --include-operation-id "$SWITCHES" || status=1
stop_server
for log in "$DIR"/server-*.log; do
  if grep -q "Internal Server Error\|Traceback" "$log"; then
    echo "the server logged errors ($log):"; grep -B2 -A20 "Traceback" "$log" | head -60; status=1
  fi
done
# Name what failed: the summary above shows only the last lines of each pass.
for log in "$DIR"/schemathesis-*.log; do
  if grep -q "= FAILURES =\|= ERRORS =" "$log"; then
    echo "== what $(basename "$log" .log) found:"; sed -n '/= \(FAILURES\|ERRORS\) =/,/= SUMMARY =/p' "$log" | head -150
  fi
done
exit $status
