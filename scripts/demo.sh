#!/usr/bin/env bash
# `make demo`: a working portal on http://127.0.0.1:8000 with a real Celery worker on the embedded
# file-system broker (no Redis needed). Set CELERY_BROKER_URL / DATABASE_URL to use real services.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=.venv/bin/python
export DJANGO_SETTINGS_MODULE="${DJANGO_SETTINGS_MODULE:-mlsec_portal.settings.local}"
# The demo logins are printed below; a second factor for them would need an authenticator app at
# hand, so the demo starts with MFA enforcement off. `MLSEC_REQUIRE_MFA=1 make demo` turns it on.
export MLSEC_REQUIRE_MFA="${MLSEC_REQUIRE_MFA:-0}"
PORT="${PORT:-8000}"
# The demo's endpoint checks call this portal on 127.0.0.1, a loopback address the checks refuse
# unless allowed. Production leaves the allow-list empty (docs/checks.md, "Where checks may look").
export MLSEC_CHECK_ALLOWED_NETWORKS="${MLSEC_CHECK_ALLOWED_NETWORKS:-127.0.0.1/32}"
mkdir -p var/log check-targets

$PY manage.py migrate --noinput >var/log/migrate.log
$PY manage.py load_catalog
$PY manage.py seed_demo --if-empty | tee var/log/seed.log
if $PY manage.py help snapshot_scores >/dev/null 2>&1; then $PY manage.py snapshot_scores >/dev/null; fi

pids=()
cleanup() { for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT INT TERM

# No -Q: a plain worker consumes every queue (checks, heavy, reports, maintenance).
.venv/bin/celery -A mlsec_portal worker --concurrency 2 \
  --loglevel INFO >var/log/worker.log 2>&1 &
pids+=($!)
.venv/bin/celery -A mlsec_portal beat --loglevel INFO --schedule var/celerybeat-schedule >var/log/beat.log 2>&1 &
pids+=($!)

cat <<MSG

  MLSec Portal is running at http://127.0.0.1:${PORT}/
  Sign in with one of the demo logins above (password: mlsec-demo-2026).
  API docs: http://127.0.0.1:${PORT}/api/docs/   Admin: http://127.0.0.1:${PORT}/admin/ (user admin)
  Celery worker and beat logs: var/log/worker.log, var/log/beat.log
  MFA enforcement: $( [ "$MLSEC_REQUIRE_MFA" = "1" ] && echo on || echo "off for the demo (MLSEC_REQUIRE_MFA=1 make demo turns it on)" )
  Stop with Ctrl-C.

MSG
$PY manage.py runserver "127.0.0.1:${PORT}" --noreload
