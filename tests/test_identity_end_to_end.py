"""End to end against gunicorn and a Celery worker with production settings (on PostgreSQL + Redis when
CI provides them), issue 10's "Done when" 2: an administrator's password alone reaches no admin page and
no API; five wrong passwords for one user leave another user able to sign in from the same address; a
revoked or an expired token gets 401; a forged audit chain fails `verify_audit_log`; a lead's target
outside its team directory is refused with 400; an endpoint check against 127.0.0.1 without the
allow-list ends as `error` having sent nothing (a listening socket records every connection)."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
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
from accounts.models import Membership, Team, User
from assessments.models import Project
admin = User.objects.create_superuser("root", "root@example.org", "{PASSWORD}", org_role="admin")
TOTPDevice.objects.create(user=admin, name="phone", confirmed=True)
for name in ("lead", "member"):
    User.objects.create_user(name, f"{{name}}@example.org", "{PASSWORD}")
alpha = Team.objects.create(slug="alpha", name="Alpha")
Team.objects.create(slug="beta", name="Beta")
Membership.objects.create(team=alpha, user=User.objects.get(username="lead"), role="lead")
print(Project.objects.create(team=alpha, name="Scorer", slug="scorer").pk)
"""
AGE_TOKENS = """
import datetime as dt
from django.utils import timezone
from accounts.models import APIToken
APIToken.objects.filter(user__username="lead").update(created=timezone.now() - dt.timedelta(days=30))
"""
# What a database writer without MLSEC_AUDIT_KEY does (the forger of audit/tests/test_keyed_chain.py):
# rewrite who did something, then recompute every later hash with plain SHA-256 and move the head.
FORGE_AUDIT = """
from audit.models import AuditEvent
from audit.tests.test_keyed_chain import rechain
from audit.tests.test_trail import bypassing_the_database_guard
victim = AuditEvent.objects.filter(action="auth.login_failed").order_by("seq").first()
with bypassing_the_database_guard() as cursor:
    cursor.execute("UPDATE audit_auditevent SET actor_username = 'someone-else' WHERE seq = %s", [victim.seq])
    rechain(cursor, victim.seq)
"""


@pytest.fixture
def database_url(tmp_path):
    """A database of its own: PostgreSQL when the suite runs on it (CI), else SQLite."""
    configured = os.environ.get("DATABASE_URL", "")
    if not configured.startswith("postgres"):
        yield f"sqlite:///{tmp_path / 'e2e.sqlite3'}"
        return
    import psycopg

    parsed = urlparse(configured)
    name = f"{parsed.path.lstrip('/') or 'mlsec'}_e2e_identity_{os.environ.get('PYTEST_XDIST_WORKER', 'main')}"
    admin = psycopg.connect(configured.replace(parsed.path, "/postgres", 1) if parsed.path else configured, autocommit=True)
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


def api(base, key, method="GET", path="/api/v1/projects/", **kwargs):
    return requests.request(method, base + path, timeout=20, **kwargs,
                            headers={"Host": HOST, "X-Forwarded-Proto": "https", "Authorization": f"Token {key}"})


class Listener:
    """A TCP socket on 127.0.0.1 that records every connection made to it and every byte sent."""

    def __init__(self):
        self.socket = socket.create_server(("127.0.0.1", 0))
        self.port = self.socket.getsockname()[1]
        self.connections: list[bytes] = []
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self):
        while True:
            try:
                peer, _ = self.socket.accept()
            except OSError:  # closed
                return
            with peer:
                peer.settimeout(2)
                try:
                    self.connections.append(peer.recv(65536))
                except OSError:
                    self.connections.append(b"")

    def close(self):
        self.socket.close()


def wait_until(predicate, what, timeout=120):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if value := predicate():
            return value
        time.sleep(0.5)
    pytest.fail(f"timed out waiting for {what}")


def production_stack_env(tmp_path, database_url):
    """Production settings for gunicorn, the worker and manage.py alike: one database, one broker."""
    from django.conf import settings

    env = production_env(tmp_path, MLSEC_SSL_REDIRECT="0", GUNICORN_WORKERS="2", DATABASE_URL=database_url,
                         GUNICORN_BIND=f"127.0.0.1:{free_port()}", MLSEC_STATIC_ROOT=str(tmp_path / "static"),
                         MLSEC_CHECK_ROOTS=str(tmp_path / "roots"), MLSEC_CHECK_ALLOWED_NETWORKS=None,
                         CELERY_BROKER_URL=None)
    # Redis in CI: this test process's own database of it (mlsec_portal/settings/test.py), which no
    # other test process's worker consumes. Else the embedded broker under this test's MLSEC_VAR_DIR.
    if settings.CELERY_BROKER_URL.startswith("redis"):
        env["CELERY_BROKER_URL"] = settings.CELERY_BROKER_URL
    return env


@pytest.mark.slow
def test_identity_controls_hold_under_gunicorn_with_production_settings(tmp_path, database_url):
    env = production_stack_env(tmp_path, database_url)
    for team in ("alpha", "beta"):
        (tmp_path / "roots" / team).mkdir(parents=True)
    (tmp_path / "roots" / "beta" / "customers.csv").write_text("id,email\n1,someone@example.org\n")
    (tmp_path / "roots" / "alpha" / "borrowed").symlink_to(tmp_path / "roots" / "beta")

    def manage(*args, check=True):
        result = subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True,
                                text=True, timeout=300)
        assert not check or result.returncode == 0, result.stdout + result.stderr
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
    project = int(manage("shell", "-c", SEED).stdout.split()[-1])
    celery = [sys.executable, "-m", "celery", "-A", "mlsec_portal"]
    subprocess.run([*celery, "purge", "-f"], cwd=ROOT, env=env, capture_output=True, timeout=60, check=True)
    log = open(tmp_path / "gunicorn.log", "wb")  # noqa: SIM115
    worker_log = open(tmp_path / "worker.log", "wb")  # noqa: SIM115
    # Started as the README says (no -Q: every queue), in a process group of its own to stop it whole.
    worker = subprocess.Popen([*celery, "worker", "--concurrency", "1", "--without-gossip", "--without-mingle",
                               "-n", f"e2e-{os.getpid()}@%h"], cwd=ROOT, env=env, stdout=worker_log,
                              stderr=subprocess.STDOUT, start_new_session=True)
    server = subprocess.Popen([sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "mlsec_portal.wsgi"],
                              cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    listener = Listener()
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
        for path in ("/admin/", "/admin/accounts/user/", "/admin/accounts/user/add/", "/admin/audit/auditevent/"):
            assert browser.request("GET", path).status_code == 302, path
        for path in ("/api/v1/users/", "/api/v1/audit-events/", "/api/v1/projects/", "/api/schema/"):
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

        # 4. The trail those requests wrote verifies; re-forged without MLSEC_AUDIT_KEY, it does not.
        assert "audit trail intact" in manage("verify_audit_log").stdout
        manage("shell", "-c", FORGE_AUDIT)
        forged = manage("verify_audit_log", check=False)
        assert forged.returncode != 0 and "audit trail BROKEN" in forged.stderr, forged.stdout + forged.stderr

        # 5. The lead's targets outside its team directory (another team's, every team's, through a
        #    symbolic link) are refused with 400 and change nothing; inside it they are saved.
        lead = token_for(base, "lead").json()["token"]
        roots, path = tmp_path / "roots", f"/api/v1/projects/{project}/"
        for targets in ({"datasets": [str(roots / "beta" / "customers.csv")]}, {"model_artifacts": [f"{roots}/**"]},
                        {"datasets": [str(roots / "alpha" / "borrowed" / "customers.csv")]},
                        {"source_path": str(ROOT)}):
            outside = api(base, lead, "PATCH", path, json={"check_targets": targets})
            assert outside.status_code == 400 and "check_targets" in outside.json(), (targets, outside.text)
        assert api(base, lead, path=path).json()["check_targets"] in ({}, None)

        # 6. An endpoint check against 127.0.0.1, which no allow-list admits here: `error`, nothing sent.
        socket.create_connection(("127.0.0.1", listener.port), timeout=5).close()  # the recorder records
        wait_until(lambda: listener.connections, "the listener to record a connection", timeout=10)
        listener.connections.clear()
        endpoint = {"endpoint_url": f"https://127.0.0.1:{listener.port}/predict"}
        assert api(base, lead, "PATCH", path, json={"check_targets": endpoint}).status_code == 200
        queued = api(base, lead, "POST", f"/api/v1/projects/{project}/run-checks/",
                     json={"checks": ["endpoint-transport", "endpoint-authentication"]})
        assert queued.status_code == 202, queued.text
        ids = [run["id"] for run in queued.json()["check_runs"]]
        assert len(ids) == 2

        def finished():
            if worker.poll() is not None:
                pytest.fail("the worker died:\n" + (tmp_path / "worker.log").read_text()[-3000:])
            runs = [api(base, lead, path=f"/api/v1/check-runs/{i}/").json() for i in ids]
            return runs if all(run["finished_at"] for run in runs) else None

        runs = wait_until(finished, "the endpoint checks to finish on the worker", timeout=240)
        assert [run["status"] for run in runs] == ["error", "error"], runs
        assert all("could not connect" in run["summary"] for run in runs), runs
        assert listener.connections == [], "an endpoint check connected to a refused address"
    finally:
        listener.close()
        server.terminate()
        server.wait(30)
        if worker.poll() is None:
            os.killpg(worker.pid, signal.SIGTERM)
            try:
                worker.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(worker.pid, signal.SIGKILL)
        log.close()
        worker_log.close()
    access = [json.loads(line) for line in (tmp_path / "gunicorn.log").read_text().splitlines()
              if '"logger": "gunicorn.access"' in line]
    assert access and not [entry for entry in access if entry["status"] >= 500]
