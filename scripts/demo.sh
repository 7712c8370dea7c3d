#!/usr/bin/env bash
# `make demo`: a working portal on http://127.0.0.1:${PORT:-8000} with a real Celery worker on the
# embedded file-system broker (no Redis needed). Set CELERY_BROKER_URL / DATABASE_URL to use real services.
#
#   PORT            the port to serve on (default 8000)
#   MLSEC_BASE_URL  the portal's address in e-mails and exports (default: the URL served here,
#                   http://127.0.0.1:$PORT); set it when the demo is reached through another name
#   MLSEC_VAR_DIR   where the database, keys, files and logs live (default var/)
set -euo pipefail
cd "$(dirname "$0")/.."
PY=.venv/bin/python
export DJANGO_SETTINGS_MODULE="${DJANGO_SETTINGS_MODULE:-mlsec_portal.settings.demo}"
# The demo logins are printed below; a second factor for them would need an authenticator app at
# hand, so the demo starts with MFA enforcement off. `MLSEC_REQUIRE_MFA=1 make demo` turns it on.
export MLSEC_REQUIRE_MFA="${MLSEC_REQUIRE_MFA:-0}"
PORT="${PORT:-8000}"
if ! [[ "$PORT" =~ ^[0-9]+$ ]] || (( PORT < 1 || PORT > 65535 )); then
  echo "PORT must be a number from 1 to 65535 (got '$PORT')" >&2
  exit 2
fi
export PORT
# Every process below (the web app, the seeding, the worker that builds exports and sends e-mails)
# links to the address actually served.
export MLSEC_BASE_URL="${MLSEC_BASE_URL:-http://127.0.0.1:${PORT}}"
VAR="${MLSEC_VAR_DIR:-var}"
# The demo's endpoint checks call this portal on 127.0.0.1, a loopback address the checks refuse
# unless allowed. Production leaves the allow-list empty (docs/checks.md, "Where checks may look").
export MLSEC_CHECK_ALLOWED_NETWORKS="${MLSEC_CHECK_ALLOWED_NETWORKS:-127.0.0.1/32}"
mkdir -p "$VAR/log" check-targets

$PY manage.py migrate --noinput >"$VAR/log/migrate.log"
# Hashed, gzip- and brotli-compressed static files, as production serves them (docs/deployment.md).
$PY manage.py collectstatic --noinput >"$VAR/log/collectstatic.log"
$PY manage.py load_catalog
$PY manage.py seed_demo --if-empty | tee "$VAR/log/seed.log"
if $PY manage.py help snapshot_scores >/dev/null 2>&1; then $PY manage.py snapshot_scores >/dev/null; fi

pids=()
cleanup() { for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT INT TERM

# No -Q: a plain worker consumes every queue (checks, heavy, reports, maintenance).
.venv/bin/celery -A mlsec_portal worker --concurrency 2 \
  --loglevel INFO >"$VAR/log/worker.log" 2>&1 &
pids+=($!)
.venv/bin/celery -A mlsec_portal beat --loglevel INFO --schedule "$VAR/celerybeat-schedule" >"$VAR/log/beat.log" 2>&1 &
pids+=($!)

cat <<MSG

  MLSec Portal is running at http://127.0.0.1:${PORT}/
  Sign in with one of the demo logins above (password: mlsec-demo-2026).
  API docs: http://127.0.0.1:${PORT}/api/docs/   Admin: http://127.0.0.1:${PORT}/admin/ (user admin)
  Links in e-mails and exports: ${MLSEC_BASE_URL} (MLSEC_BASE_URL)
  Celery worker and beat logs: $VAR/log/worker.log, $VAR/log/beat.log
  MFA enforcement: $( [ "$MLSEC_REQUIRE_MFA" = "1" ] && echo on || echo "off for the demo (MLSEC_REQUIRE_MFA=1 make demo turns it on)" )
  Stop with Ctrl-C.

MSG
$PY manage.py runserver "127.0.0.1:${PORT}" --noreload
