"""gunicorn loads the application in its master and forks the workers (`preload_app`, gunicorn.conf.py):
importing the WSGI module must load every view, so that a recycled worker starts with nothing left to
import, and must leave no database connection open, since every fork would share it."""

import os
import runpy
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

PROBE = """
import sys
import mlsec_portal.wsgi
from django.db import connections
views = [name for name in ("mlsec_portal.urls", "mlsec_portal.api_urls", "scoring.views", "assessments.views")
         if name not in sys.modules]
open_connections = [alias for alias in connections if connections[alias].connection is not None]
print(repr((views, open_connections)))
"""


def test_importing_the_wsgi_module_loads_the_views_and_leaves_no_connection_open():
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": os.environ.get("DJANGO_SETTINGS_MODULE", "mlsec_portal.settings.test")}
    done = subprocess.run([sys.executable, "-c", PROBE], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip().splitlines()[-1] == repr(([], []))


def test_gunicorn_forks_one_thread_workers_from_the_loaded_application(monkeypatch):
    for name in ("GUNICORN_WORKER_CLASS", "GUNICORN_WORKERS", "GUNICORN_THREADS", "GUNICORN_WORKER_CONNECTIONS",
                 "GUNICORN_KEEPALIVE"):
        monkeypatch.delenv(name, raising=False)
    config = runpy.run_path(str(ROOT / "gunicorn.conf.py"))
    assert config["preload_app"] is True
    # One thread per process (threads of one process share its interpreter lock), gthread so that a long
    # streamed export is not killed at `timeout` as a sync worker's would be.
    assert (config["worker_class"], config["workers"], config["threads"]) == ("gthread", 3, 1)
    # A connection only while a thread is free, closed after its response: no request waits in a busy process.
    assert (config["worker_connections"], config["keepalive"]) == (1, 0)
    monkeypatch.setenv("GUNICORN_WORKER_CLASS", "sync")
    monkeypatch.setenv("GUNICORN_WORKER_CONNECTIONS", "100")  # keep-alive comes back with spare connections
    config = runpy.run_path(str(ROOT / "gunicorn.conf.py"))
    assert (config["worker_class"], config["keepalive"]) == ("sync", 5)
