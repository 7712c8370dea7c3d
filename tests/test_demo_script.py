"""`make demo` (scripts/demo.sh) serves on PORT, and everything it starts links to the address served.

The script runs for real on an ephemeral port with its own var/ directory: migrate, catalogue, seed,
worker, beat and the web app. It is stopped as soon as the checks below are done.
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def demo_env(tmp_path: Path, **extra) -> dict:
    """The environment of someone typing `make demo`: none of the suite's database, broker or settings."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("DJANGO_", "MLSEC_", "CELERY_", "DATABASE_URL", "PYTEST", "PORT"))}
    return {**env, "MLSEC_VAR_DIR": str(tmp_path / "var"), **extra}


def settings_value(env: dict, name: str) -> str:
    code = f"import django; django.setup(); from django.conf import settings; print(settings.{name})"
    return subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True,
                          env={**env, "DJANGO_SETTINGS_MODULE": "mlsec_portal.settings.local"}, timeout=60).stdout.strip()


def test_the_demo_settings_link_to_the_port_served_unless_mlsec_base_url_says_otherwise(tmp_path):
    assert settings_value(demo_env(tmp_path, PORT="8030"), "MLSEC_BASE_URL") == "http://127.0.0.1:8030"
    assert settings_value(demo_env(tmp_path), "MLSEC_BASE_URL") == "http://127.0.0.1:8000"
    env = demo_env(tmp_path, PORT="8030", MLSEC_BASE_URL="https://mlsec.example.org")
    assert settings_value(env, "MLSEC_BASE_URL") == "https://mlsec.example.org"


def test_the_demo_refuses_a_port_that_is_not_a_port(tmp_path):
    result = subprocess.run(["bash", "scripts/demo.sh"], cwd=ROOT, env=demo_env(tmp_path, PORT="80; rm -rf /"),
                            capture_output=True, text=True, timeout=30)
    assert result.returncode == 2 and "PORT must be a number" in result.stderr
    assert not (tmp_path / "var" / "mlsec.sqlite3").exists()  # refused before doing anything


def test_make_demo_on_a_port_serves_there_and_links_there(tmp_path):
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    log = tmp_path / "demo.log"
    with open(log, "wb") as out:
        process = subprocess.Popen(["bash", "scripts/demo.sh"], cwd=ROOT, env=demo_env(tmp_path, PORT=str(port)),
                                   stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + 240  # collectstatic compresses with brotli first (~15 s of CPU)
        while True:
            try:
                with urllib.request.urlopen(f"{base}/healthz", timeout=5) as response:
                    assert response.status == 200
                    break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    pytest.fail("the demo did not serve on its port:\n" + log.read_text()[-3000:])
                time.sleep(0.5)
        print(f"make demo served in {time.monotonic() - deadline + 240:.1f} s")
        text = log.read_text()
        assert f"MLSec Portal is running at {base}/" in text
        assert f"Links in e-mails and exports: {base} (MLSEC_BASE_URL)" in text
        with sqlite3.connect(tmp_path / "var" / "mlsec.sqlite3") as db:
            targets = [row[0] for row in db.execute("SELECT check_targets FROM assessments_project")]
        endpoints = [t for t in targets if '"endpoint_url"' in t]
        assert endpoints and all(f'"{base}/api/v1/projects/"' in t for t in endpoints)  # the seeding used it too
        assert_static_served_compressed_and_immutable(base, tmp_path / "var" / "static")
    finally:
        stop(process)


def assert_static_served_compressed_and_immutable(base: str, static_root: Path) -> None:
    """The demo serves static files as production does: hashed names only, brotli or gzip as the browser
    accepts, cached for good (docs/deployment.md, "Static files")."""
    with urllib.request.urlopen(f"{base}/accounts/login/", timeout=10) as response:
        html = response.read().decode()
    css = re.search(r'href="(/static/css/portal\.[0-9a-f]{12}\.css)"', html)
    assert css, html[:2000]
    plotly = "/static/" + json.loads((static_root / "staticfiles.json").read_text())["paths"]["vendor/plotly.min.js"]
    for path in (css.group(1), plotly):
        for encoding in ("br", "gzip"):
            request = urllib.request.Request(f"{base}{path}", headers={"Accept-Encoding": encoding})
            with urllib.request.urlopen(request, timeout=10) as response:
                body = response.read()
                assert response.headers["Content-Encoding"] == encoding, (path, dict(response.headers))
                assert "immutable" in response.headers["Cache-Control"], response.headers["Cache-Control"]
            if path == plotly:
                assert len(body) < 450_000, (encoding, len(body))  # 1.2 MB partial bundle, compressed
    for unhashed in ("/static/css/portal.css", "/static/vendor/plotly.min.js"):
        try:
            urllib.request.urlopen(f"{base}{unhashed}", timeout=10)  # noqa: S310 - the local demo
            raise AssertionError(f"{unhashed} is served under its unhashed name")
        except urllib.error.HTTPError as exc:
            assert exc.code == 404


def stop(process: subprocess.Popen) -> None:
    """Ctrl-C for the whole demo; a worker still finishing a check is not waited for (a throwaway demo)."""
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(3)
    except subprocess.TimeoutExpired:
        pass
    try:
        os.killpg(process.pid, signal.SIGKILL)  # whatever of the group is left: worker children, beat
    except ProcessLookupError:
        pass
    process.wait(10)
