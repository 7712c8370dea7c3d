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


def test_gunicorn_forks_sync_workers_from_the_loaded_application(monkeypatch):
    for name in ("GUNICORN_WORKER_CLASS", "GUNICORN_WORKERS", "GUNICORN_THREADS"):
        monkeypatch.delenv(name, raising=False)
    config = runpy.run_path(str(ROOT / "gunicorn.conf.py"))
    assert config["preload_app"] is True
    assert (config["worker_class"], config["workers"]) == ("sync", 3)
    monkeypatch.setenv("GUNICORN_WORKER_CLASS", "gthread")
    monkeypatch.setenv("GUNICORN_THREADS", "4")
    config = runpy.run_path(str(ROOT / "gunicorn.conf.py"))
    assert (config["worker_class"], config["threads"]) == ("gthread", 4)
