"""End to end against gunicorn with production settings (on PostgreSQL + Redis when CI provides them):
an administrator's password alone reaches no admin page and no API; five wrong passwords for one user
leave another user able to sign in from the same address; a revoked or an expired token gets 401."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlparse

import pytest
import requests

from tests.test_deployment import free_port
from tests.test_production_settings import production_env

ROOT = Path(__file__).resolve().parent.parent
HOST = "mlsec.example.org"
PASSWORD = "correct-horse-battery-9"  # pragma: allowlist secret
SEED = f"""
from django_otp.plugins.otp_totp.models import TOTPDevice
from accounts.models import User
admin = User.objects.create_superuser("root", "root@example.org", "{PASSWORD}", org_role="admin")
TOTPDevice.objects.create(user=admin, name="phone", confirmed=True)
for name in ("lead", "member"):
    User.objects.create_user(name, f"{{name}}@example.org", "{PASSWORD}")
"""
AGE_TOKENS = """
import datetime as dt
from django.utils import timezone
from accounts.models import APIToken
APIToken.objects.filter(user__username="lead").update(created=timezone.now() - dt.timedelta(days=30))
"""


@pytest.fixture
def database_url(tmp_path):
    """A database of its own: PostgreSQL when the suite runs on it (CI), else SQLite."""
    configured = os.environ.get("DATABASE_URL", "")
    if not configured.startswith("postgres"):
        yield f"sqlite:///{tmp_path / 'e2e.sqlite3'}"
        return
    import psycopg2

    parsed = urlparse(configured)
    name = f"{parsed.path.lstrip('/') or 'mlsec'}_e2e_identity_{os.environ.get('PYTEST_XDIST_WORKER', 'main')}"
    admin = psycopg2.connect(configured.replace(parsed.path, "/postgres", 1) if parsed.path else configured)
    admin.autocommit = True
    with admin.cursor() as cursor:
        cursor.execute(f'DROP DATABASE IF EXISTS "{name}"')
        cursor.execute(f'CREATE DATABASE "{name}"')
    try:
        yield configured.replace(parsed.path, f"/{name}", 1)
    finally:
        with admin.cursor() as cursor:
            cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


class Browser:
    """Just enough of a browser for the production cookies (`__Host-`, Secure) behind the TLS proxy."""

    def __init__(self, base):
        self.base, self.cookies = base, {}

    def request(self, method, path, **kwargs):
        headers = {"Host": HOST, "X-Forwarded-Proto": "https", "Origin": f"https://{HOST}",
                   "Referer": f"https://{HOST}{path}", **kwargs.pop("headers", {})}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        response = requests.request(method, self.base + path, headers=headers, allow_redirects=False, timeout=20,
                                    **kwargs)
        for name, value in response.cookies.items():
            self.cookies[name] = value
        return response

    def form(self, path, data, page="/accounts/login/"):
        """POST `data` to `path` as a browser would after loading `page` (for its CSRF token)."""
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', self.request("GET", page).text)
        return self.request("POST", path, data={**data, "csrfmiddlewaretoken": token.group(1)})


def token_for(base, username, password=PASSWORD):
    return requests.post(f"{base}/api/v1/auth/token/", json={"username": username, "password": password},
                         headers={"Host": HOST, "X-Forwarded-Proto": "https"}, timeout=20)


def api(base, key, method="GET", path="/api/v1/projects/"):
    return requests.request(method, base + path, timeout=20,
                            headers={"Host": HOST, "X-Forwarded-Proto": "https", "Authorization": f"Token {key}"})


@pytest.mark.slow
def test_identity_controls_hold_under_gunicorn_with_production_settings(tmp_path, database_url):
    env = production_env(tmp_path, MLSEC_SSL_REDIRECT="0", GUNICORN_WORKERS="2", DATABASE_URL=database_url,
                         GUNICORN_BIND=f"127.0.0.1:{free_port()}", MLSEC_STATIC_ROOT=str(tmp_path / "static"))
    if os.environ.get("CELERY_BROKER_URL"):
        env["CELERY_BROKER_URL"] = os.environ["CELERY_BROKER_URL"]

    def manage(*args):
        result = subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True,
                                text=True, timeout=300)
        assert result.returncode == 0, result.stdout + result.stderr
        return result

    # The static manifest production's storage needs, without its compression (a minute of brotli
    # on plotly.js that tests/test_deployment.py already covers).
    (tmp_path / "e2e_static.py").write_text(
        "from mlsec_portal.settings.build import *  # noqa\n"
        "STORAGES = {**STORAGES, 'staticfiles': {'BACKEND': "
        "'django.contrib.staticfiles.storage.ManifestStaticFilesStorage'}}\n")
    collect = subprocess.run([sys.executable, "manage.py", "collectstatic", "--noinput"], cwd=ROOT, capture_output=True,
                             env={**env, "DJANGO_SETTINGS_MODULE": "e2e_static", "PYTHONPATH": str(tmp_path)},
                             text=True, timeout=300)
    assert collect.returncode == 0, collect.stderr
    manage("migrate", "--noinput")
    manage("shell", "-c", SEED)
    log = open(tmp_path / "gunicorn.log", "wb")  # noqa: SIM115
    server = subprocess.Popen([sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "mlsec_portal.wsgi"],
                              cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://{env['GUNICORN_BIND']}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if requests.get(f"{base}/healthz", timeout=5).status_code == 200:
                    break
            except requests.RequestException:  # not up yet, or slow to answer on a loaded machine
                pass
            if server.poll() is not None or time.monotonic() > deadline:
                pytest.fail("gunicorn did not start:\n" + (tmp_path / "gunicorn.log").read_text()[-3000:])
            time.sleep(0.5)

        # 1. The administrator's password alone: the admin's login hands over, the portal's refuses.
        browser = Browser(base)
        handed_over = browser.form("/admin/login/?next=/admin/", {"username": "root", "password": PASSWORD})
        assert handed_over.status_code == 302 and handed_over.headers["Location"].startswith("/accounts/login/")
        refused = browser.form("/accounts/login/?next=/admin/", {"username": "root", "password": PASSWORD},
                               page="/accounts/login/?next=/admin/")
        assert refused.status_code == 200 and "Unable to sign in" in refused.text
        for path in ("/admin/", "/admin/accounts/user/", "/admin/accounts/user/add/"):
            assert browser.request("GET", path).status_code == 302, path
        for path in ("/api/v1/users/", "/api/v1/audit-events/"):
            assert browser.request("GET", path).status_code in (401, 403), path
        assert token_for(base, "root").status_code == 400  # no code, no token

        # 2. Five wrong passwords for "lead" from this address; "member" still signs in from it.
        attempts = [token_for(base, "lead", "wrong-password").status_code for _ in range(5)]  # pragma: allowlist secret
        assert attempts == [400, 400, 400, 400, 429]
        assert token_for(base, "lead").status_code == 429
        member = token_for(base, "member")
        assert member.status_code == 200
        assert api(base, member.json()["token"]).status_code == 200
        member_browser = Browser(base)
        assert member_browser.form("/accounts/login/", {"username": "member", "password": PASSWORD}).status_code == 302

        # 3. A revoked token and an expired token get 401.
        key = member.json()["token"]
        assert api(base, key, "DELETE", "/api/v1/auth/token/").status_code == 204
        assert api(base, key).status_code == 401
        manage("axes_reset_username", "lead")
        lead = token_for(base, "lead").json()["token"]
        assert api(base, lead).status_code == 200
        manage("shell", "-c", AGE_TOKENS)  # issued thirty days ago: past MLSEC_TOKEN_TTL_HOURS
        expired = api(base, lead)
        assert expired.status_code == 401 and expired.headers.get("WWW-Authenticate") == "Token"
    finally:
        server.terminate()
        server.wait(30)
        log.close()
    access = [json.loads(line) for line in (tmp_path / "gunicorn.log").read_text().splitlines()
              if '"logger": "gunicorn.access"' in line]
    assert access and not [entry for entry in access if entry["status"] >= 500]
