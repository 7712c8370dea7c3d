"""`/healthz`: is this process able to serve? Database and broker reachable; JSON; no secrets.

Answered by the first middleware, before host validation and HTTPS redirects, because load balancers
and container health checks call it by IP address over plain HTTP. Nothing in the answer depends on
who asks, and it names no host, key, URL or version detail beyond "ok"/"error".
"""

from __future__ import annotations

import json
import os
import time

from django.db import connection
from django.http import HttpResponse


def check_database() -> str:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
        return "ok"
    except Exception:  # noqa: BLE001 - any failure means "not healthy", the reason goes to the logs
        return "error"


def check_broker() -> str:
    from django.conf import settings

    from mlsec_portal.celery import app

    try:
        if settings.CELERY_BROKER_URL.startswith("mlsecfs"):
            folder = settings.CELERY_BROKER_TRANSPORT_OPTIONS["data_folder_out"]
            return "ok" if os.path.isdir(folder) and os.access(folder, os.W_OK) else "error"
        with app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, timeout=2)
        return "ok"
    except Exception:  # noqa: BLE001
        return "error"


def healthz() -> HttpResponse:
    started = time.monotonic()
    checks = {"database": check_database(), "broker": check_broker()}
    healthy = all(value == "ok" for value in checks.values())
    body = {"status": "ok" if healthy else "error", "checks": checks,
            "duration_ms": round((time.monotonic() - started) * 1000, 1)}
    response = HttpResponse(json.dumps(body), content_type="application/json", status=200 if healthy else 503)
    response["Cache-Control"] = "no-store"
    return response


class HealthCheckMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.path == "/healthz" and request.method in ("GET", "HEAD"):
            return healthz()
        return self.get_response(request)
