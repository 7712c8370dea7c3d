#!/usr/bin/env bash
# `make loadtest`: locust against gunicorn (4 workers, one thread each) on the seeded 2,000-project organisation.
# LOADTEST_DATABASE_URL picks the database (default: SQLite under var/); it is seeded once.
# LOADTEST_USERS, LOADTEST_SPAWN_RATE, LOADTEST_DURATION and LOADTEST_WAIT (think time, "min,max" seconds)
# or LOADTEST_RATE (a fixed pace: tasks a second per user, loadtest/locustfile.py) shape the run;
# LOADTEST_WEB_WORKERS, LOADTEST_WORKER_CLASS and LOADTEST_WEB_THREADS the server (gunicorn.conf.py); LOADTEST_RESET_STATS=1 counts only after every user has been spawned (signed in: the
# steady state, without the sign-in storm whose PBKDF2 hashing is slow by design). LOADTEST_CHECK_WORKERS (default 2) Celery workers write check results meanwhile, on
# CELERY_BROKER_URL, at CPU niceness LOADTEST_CHECK_NICENESS (default 10: on one machine, the closest thing
# to workers on hosts of their own; 0 makes them compete with the web for the cores), queueing
# LOADTEST_CHECK_RATE runs a minute (default 120; 0: as fast as they finish), capped together at
# LOADTEST_CHECK_CPU of one core if set (a CPU cgroup, as root: 0.5 is half a core). After the run `reconcile_scores` must find the rollup equal to a full recomputation.
# Exits non-zero on any failure.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=.venv/bin/python
export DATABASE_URL="${LOADTEST_DATABASE_URL:-sqlite:///$(pwd)/var/loadtest.sqlite3}"
export DJANGO_SETTINGS_MODULE=mlsec_portal.settings.local DJANGO_DEBUG=0 MLSEC_REQUIRE_MFA=0
export MLSEC_THROTTLE_USER=100000/minute MLSEC_THROTTLE_ANON=100000/minute  # measure the app, not the throttle
PORT="${LOADTEST_PORT:-8099}"
out=var/loadtest
mkdir -p "$out"  # the check workers' targets go under the local settings' check-targets/<team-slug>/
DURATION="${LOADTEST_DURATION:-90s}"

$PY manage.py migrate --noinput >/dev/null
if ! $PY manage.py shell --no-imports -c "from accounts.models import Team; import sys; sys.exit(0 if Team.objects.count() >= 200 else 1)"; then
  $PY manage.py flush --noinput
  $PY manage.py load_catalog
  $PY manage.py seed_demo --teams 200 --projects 2000 --checks none
fi
if [[ "$DATABASE_URL" == postgres* ]]; then
  # Every run starts from a vacuumed, analysed database: a server run with autovacuum off (CI's) would
  # otherwise carry each earlier run's dead rollup rows into the next (a team's rows are rewritten with
  # each verdict), and the same command measured slower run after run.
  $PY manage.py shell --no-imports -c "from django.db import connection; connection.cursor().execute('VACUUM ANALYZE')"
fi
export LOADTEST_LEADS="$($PY manage.py shell --no-imports -c "
from accounts.models import Membership
print(','.join(Membership.objects.filter(role='lead', user__username__startswith='lead').order_by('team__slug')
      .values_list('user__username', flat=True)[:40]))")"
export LOADTEST_TEAMS="$($PY manage.py shell --no-imports -c "
from accounts.models import Team
print(','.join(Team.objects.order_by('?').values_list('slug', flat=True)[:60]))")"

GUNICORN_WORKERS="${LOADTEST_WEB_WORKERS:-4}" GUNICORN_THREADS="${LOADTEST_WEB_THREADS:-1}" GUNICORN_WORKER_CLASS="${LOADTEST_WORKER_CLASS:-gthread}" GUNICORN_BIND="127.0.0.1:${PORT}" \
  .venv/bin/gunicorn -c gunicorn.conf.py mlsec_portal.wsgi >"$out/gunicorn.log" 2>&1 &
server=$!
checks=""
trap 'kill $server 2>/dev/null; [ -n "$checks" ] && kill $checks 2>/dev/null; wait 2>/dev/null || true' EXIT
for _ in $(seq 1 60); do
  curl -fs "http://127.0.0.1:${PORT}/healthz" >/dev/null && break
  sleep 1
done

CHECK_WORKERS="${LOADTEST_CHECK_WORKERS:-2}"
if [ "$CHECK_WORKERS" -gt 0 ]; then
  seconds="${DURATION%s}"
  $PY manage.py loadtest_checks --workers "$CHECK_WORKERS" --duration "$seconds" --warm-up 0 \
    --niceness "${LOADTEST_CHECK_NICENESS:-10}" --rate "${LOADTEST_CHECK_RATE:-120}" --cpu-share "${LOADTEST_CHECK_CPU:-0}" >"$out/checks.txt" 2>&1 &
  checks=$!
  sleep 8  # the workers connect before locust starts
fi

status=0
.venv/bin/locust -f loadtest/locustfile.py --headless --host "http://127.0.0.1:${PORT}" \
  --users "${LOADTEST_USERS:-20}" --spawn-rate "${LOADTEST_SPAWN_RATE:-5}" --run-time "$DURATION" \
  ${LOADTEST_RESET_STATS:+--reset-stats} --csv "$out/result" --only-summary --exit-code-on-error 1 2>&1 | tee "$out/summary.txt" || status=1
if [ -n "$checks" ]; then
  wait "$checks" || { echo "check workers failed:"; status=1; }
  checks=""
  cat "$out/checks.txt"
fi
echo "machine: $(uname -m), $(nproc) cores; database: ${DATABASE_URL%%:*}; results: $out/result_stats.csv"
$PY manage.py reconcile_scores || status=1
exit $status
