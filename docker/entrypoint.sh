#!/bin/sh
# One image, three roles. The web role migrates and loads the catalogue before serving, so the
# worker and beat (which wait for the web service to be healthy) always meet an up-to-date schema.
set -eu

wait_for_database() {
    python - <<'PY'
import sys, time
import django
django.setup()
from django.db import connection
for attempt in range(60):
    try:
        connection.ensure_connection()
        sys.exit(0)
    except Exception as exc:  # noqa: BLE001
        print(f"waiting for the database ({type(exc).__name__})", flush=True)
        time.sleep(2)
sys.exit("the database did not become reachable")
PY
}

role="${1:-web}"
case "$role" in
  web)
    wait_for_database
    python manage.py migrate --noinput
    python manage.py load_catalog
    exec gunicorn -c gunicorn.conf.py mlsec_portal.wsgi
    ;;
  worker)
    wait_for_database
    # Light checks, exports and housekeeping; the model scanners have their own "heavy" worker.
    exec celery -A mlsec_portal worker --queues "${CELERY_QUEUES:-checks,reports,maintenance}" \
        --concurrency "${CELERY_CONCURRENCY:-2}" --max-tasks-per-child 200 --loglevel INFO
    ;;
  beat)
    wait_for_database
    exec celery -A mlsec_portal beat --loglevel INFO --schedule /data/var/celerybeat-schedule
    ;;
  manage)
    shift
    exec python manage.py "$@"
    ;;
  *)
    exec "$@"
    ;;
esac
