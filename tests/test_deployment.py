"""Deployment: the compose stack is valid and names its five services; the image's build steps work;
production settings serve /healthz under gunicorn and static files through WhiteNoise."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
import yaml

from conftest import require
from tests.test_production_settings import production_env

ROOT = Path(__file__).resolve().parent.parent
COMPOSE_SPEC = Path("/usr/lib/python3/dist-packages/compose/config/compose_spec.json")


def compose_command() -> list[str] | None:
    """`docker compose` (v2) when present, else Debian's docker-compose 1.29 (a Compose Specification parser)."""
    if shutil.which("docker") and subprocess.run(["docker", "compose", "version"], capture_output=True).returncode == 0:
        return ["docker", "compose"]
    if shutil.which("docker-compose"):
        return ["docker-compose"]
    return None


def test_compose_config_passes_and_names_the_five_services():
    command = compose_command()
    require(command is not None, "neither `docker compose` nor `docker-compose` is installed")
    result = subprocess.run([*command, "--env-file", ".env.example", "-f", "docker-compose.yml", "config"],
                            cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    config = yaml.safe_load(result.stdout)
    assert set(config["services"]) == {"web", "worker", "beat", "postgres", "redis"}
    assert all("healthcheck" in service for service in config["services"].values())
    assert {"pgdata", "evidence"} <= set(config["volumes"])
    assert "evidence:/data/media" in str(config["services"]["worker"]["volumes"]) or any(
        v.get("source") == "evidence" for v in config["services"]["worker"]["volumes"] if isinstance(v, dict))


def test_the_compose_file_validates_against_the_compose_specification():
    require(COMPOSE_SPEC.exists(), "the Compose Specification schema (Debian's docker-compose package) is not installed")
    import jsonschema

    document = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    # The file declares draft 2019-09 under an http:// URL jsonschema no longer recognises; name it.
    jsonschema.Draft201909Validator(json.loads(COMPOSE_SPEC.read_text())).validate(document)


def test_env_example_lists_every_setting_of_the_api_contract():
    names = {line.split("=", 1)[0].lstrip("# ").strip() for line in (ROOT / ".env.example").read_text().splitlines()
             if "=" in line}
    text = (ROOT / ".env.example").read_text()
    for setting in ("DATABASE_URL", "CELERY_BROKER_URL", "DJANGO_SECRET_KEY", "DJANGO_DEBUG", "DJANGO_ALLOWED_HOSTS",
                    "MLSEC_EVIDENCE_KEY", "MLSEC_MEDIA_ROOT", "MLSEC_REQUIRE_MFA", "MLSEC_MAX_UPLOAD_MB"):
        assert setting in names or setting in text, setting


def test_the_dockerfile_builds_what_the_compose_file_runs():
    dockerfile = (ROOT / "Dockerfile").read_text()
    for line in dockerfile.splitlines():
        if line.startswith("COPY ") and "--from" not in line:
            source = line.split()[1]
            assert (ROOT / source).exists(), source
    entrypoint = (ROOT / "docker" / "entrypoint.sh").read_text()
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    for name in ("web", "worker", "beat"):
        role = compose["services"][name]["command"][0]
        assert f"  {role})" in entrypoint, role
    assert os.access(ROOT / "docker" / "entrypoint.sh", os.X_OK)


def test_the_image_build_step_collects_static_files_without_secrets(tmp_path):
    """The Dockerfile's `collectstatic` with the build settings: production's manifest storage, plotly.js included."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "MLSEC_", "DATABASE_URL"))}
    env.update({"DJANGO_SETTINGS_MODULE": "mlsec_portal.settings.build", "MLSEC_STATIC_ROOT": str(tmp_path / "static"),
                "MLSEC_VAR_DIR": str(tmp_path / "var")})
    result = subprocess.run([sys.executable, "manage.py", "collectstatic", "--noinput"], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    manifest = json.loads((tmp_path / "static" / "staticfiles.json").read_text())["paths"]
    assert "vendor/plotly.min.js" in manifest and "css/portal.css" in manifest


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
def test_production_settings_serve_healthz_and_static_files_under_gunicorn(tmp_path):
    static = tmp_path / "static"
    env = production_env(tmp_path, MLSEC_STATIC_ROOT=str(static), MLSEC_SSL_REDIRECT="0",
                         GUNICORN_WORKERS="2", GUNICORN_BIND=f"127.0.0.1:{free_port()}")
    if os.environ.get("CELERY_BROKER_URL"):
        env["CELERY_BROKER_URL"] = os.environ["CELERY_BROKER_URL"]
    collect = subprocess.run([sys.executable, "manage.py", "collectstatic", "--noinput"], cwd=ROOT,
                             env={**env, "DJANGO_SETTINGS_MODULE": "mlsec_portal.settings.build"},
                             capture_output=True, text=True, timeout=300)
    assert collect.returncode == 0, collect.stderr
    migrate = subprocess.run([sys.executable, "manage.py", "migrate", "--noinput"], cwd=ROOT, env=env,
                             capture_output=True, text=True, timeout=300)  # what the web role does before serving
    assert migrate.returncode == 0, migrate.stderr
    log = open(tmp_path / "gunicorn.log", "wb")  # noqa: SIM115
    server = subprocess.Popen([sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "mlsec_portal.wsgi"],
                              cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://{env['GUNICORN_BIND']}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"{base}/healthz", timeout=5) as response:
                    body = json.loads(response.read())
                    break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    pytest.fail("gunicorn did not serve /healthz:\n" + (tmp_path / "gunicorn.log").read_text()[-3000:])
                time.sleep(0.5)
        assert body["status"] == "ok" and body["checks"] == {"database": "ok", "broker": "ok"}
        assert "KEY" not in json.dumps(body).upper() and "postgres" not in json.dumps(body)
        hashed = json.loads((static / "staticfiles.json").read_text())["paths"]["css/portal.css"]
        request = urllib.request.Request(f"{base}/static/{hashed}", headers={"Host": "mlsec.example.org"})
        with urllib.request.urlopen(request, timeout=5) as response:
            assert response.status == 200 and b".badge" in response.read()
            assert "max-age=315360000" in response.headers["Cache-Control"]
        request = urllib.request.Request(f"{base}/accounts/login/", headers={"Host": "mlsec.example.org",
                                                                        "X-Forwarded-Proto": "https"})  # as the proxy sends
        with urllib.request.urlopen(request, timeout=5) as response:
            assert response.headers["Strict-Transport-Security"].startswith("max-age=31536000")
            assert "script-src 'self'" in response.headers["Content-Security-Policy"]
    finally:
        server.terminate()
        server.wait(30)  # graceful: gunicorn finishes in-flight requests on SIGTERM
        log.close()
    assert server.returncode == 0, (tmp_path / "gunicorn.log").read_text()[-2000:]
    access = [line for line in (tmp_path / "gunicorn.log").read_text().splitlines() if '"logger": "gunicorn.access"' in line]
    assert access and json.loads(access[-1])["status"] == 200 and json.loads(access[-1])["request_id"]
