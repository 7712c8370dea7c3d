"""Deployment: the compose stack is valid and names its five services; the image's build steps work;
production settings serve /healthz under gunicorn and static files through WhiteNoise.

The image installs requirements.txt only, so the build step and the server run here with every
development-only package unimportable (`image_python`): what is tested is what the image does. With
brotli from the development requirements, collectstatic compressed plotly.js with brotli for half a
minute per run, which the image never does."""

from __future__ import annotations

import fcntl
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from importlib.metadata import packages_distributions
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
    core = {name for name, service in config["services"].items() if not service.get("profiles")}
    assert core == {"web", "worker", "beat", "postgres", "redis"}
    # the optional profile for trying sources out: an S3 API and an MLflow tracking server
    assert {n for n, s in config["services"].items() if "sources" in (s.get("profiles") or [])} == {"minio", "mlflow"}
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


# Read by the settings but deliberately not passed by Compose: production forces DEBUG off; the image
# sets the media root; `PORT` is the demo's (README); the others configure the test suite.
NOT_FOR_THE_CONTAINERS = {"DJANGO_DEBUG", "PORT", "MLSEC_MEDIA_ROOT", "MLSEC_STATIC_ROOT", "MLSEC_VAR_DIR", "DATABASE_CONN_MAX_AGE",
                          "DJANGO_SETTINGS_MODULE", "MLSEC_TEST_BROKER_DIR", "MLSEC_TEST_BROKER_EXACT", "PYTEST_XDIST_WORKER",
                          "MLSEC_TEST_EMAIL_BACKEND"}


def settings_read() -> set[str]:
    """Every environment variable the settings modules read."""
    pattern = re.compile(r"""(?:env_bool|env_int|env_list|environ\.get|environ\[)\(?["']([A-Z][A-Z0-9_]+)["']""")
    return {name for path in (ROOT / "mlsec_portal" / "settings").glob("*.py") for name in pattern.findall(path.read_text())}


def test_every_setting_the_portal_reads_is_in_env_example_and_reaches_the_application_containers():
    example = set(re.findall(r"\b[A-Z][A-Z0-9_]+\b", (ROOT / ".env.example").read_text()))
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    passed = set(compose["x-app"]["environment"])
    wanted = settings_read() - NOT_FOR_THE_CONTAINERS
    assert {"MLSEC_AUDIT_KEY", "MLSEC_TOKEN_TTL_HOURS", "MLSEC_CHECK_ROOTS"} <= wanted  # the pattern finds them
    assert sorted(wanted - example) == [], "settings .env.example does not document"
    # A value set in .env that Compose never hands to web and worker would be silently ignored.
    assert sorted(wanted - passed) == [], "settings docker-compose.yml does not pass to the application"


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


# --- what the image really runs: requirements.txt only -----------------------------------------------

def _pinned(path: Path) -> set[str]:
    names = set()
    for line in path.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line and not line.startswith("-"):
            names.add(_canonical(re.split(r"[=<>!~\[; ]", line, maxsplit=1)[0]))
    return names


def _canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def dev_only_modules() -> list[str]:
    """Top-level modules that only requirements-dev.txt installs: the image (requirements.txt) has none."""
    dev_only = _pinned(ROOT / "requirements-dev.txt") - _pinned(ROOT / "requirements.txt")
    return sorted(module for module, dists in packages_distributions().items()
                  if module.isidentifier() and dists and all(_canonical(d) in dev_only for d in dists))


# Runs a script or module with the development-only modules made unimportable, as in the image:
# whitenoise, for one, compresses with brotli only when it can import it.
_IMAGE_PRELUDE = """
import runpy, sys
for name in sys.argv[1].split(","):
    sys.modules[name] = None
if sys.argv[2] == "-m":
    sys.argv = [sys.argv[3], *sys.argv[4:]]
    runpy.run_module(sys.argv[0], run_name="__main__", alter_sys=True)
else:
    sys.argv = sys.argv[2:]
    runpy.run_path(sys.argv[0], run_name="__main__")
"""


def image_python(*args: str) -> list[str]:
    """`python ARGS` as the image runs it (see _IMAGE_PRELUDE)."""
    return [sys.executable, "-c", _IMAGE_PRELUDE, ",".join(dev_only_modules()), *args]


@pytest.fixture(scope="session")
def image_static(tmp_path_factory, worker_id) -> Path:
    """The Dockerfile's `collectstatic` step, once per test run (test processes share it through a
    lock: xdist groups do not hold with pytest 9): build settings, no secrets, no development
    packages (so no brotli unless requirements.txt pins it)."""
    base = tmp_path_factory.getbasetemp()
    root = (base if worker_id == "master" else base.parent) / "image"  # the run's directory, shared
    root.mkdir(exist_ok=True)
    with open(root / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (root / "static" / "staticfiles.json").exists():
            env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "MLSEC_", "DATABASE_URL"))}
            env.update({"DJANGO_SETTINGS_MODULE": "mlsec_portal.settings.build",
                        "MLSEC_STATIC_ROOT": str(root / "static"), "MLSEC_VAR_DIR": str(root / "var")})
            result = subprocess.run(image_python("manage.py", "collectstatic", "--noinput"), cwd=ROOT, env=env,
                                    capture_output=True, text=True, timeout=300)
            assert result.returncode == 0, result.stderr
    return root / "static"


def test_the_image_has_no_development_package_and_the_suite_knows_which_they_are():
    blocked = dev_only_modules()
    assert {"pytest", "playwright", "locust"} <= set(blocked)
    assert not {"django", "whitenoise", "reportlab", "celery", "gunicorn"} & set(blocked)
    assert ("brotli" in blocked) == ("brotli" not in _pinned(ROOT / "requirements.txt"))
    probe = subprocess.run(image_python("-m", "pytest", "--version"), cwd=ROOT, capture_output=True, text=True,
                           timeout=60)
    assert probe.returncode != 0 and "No module named pytest" in probe.stderr, probe.stderr


def test_the_image_build_step_collects_static_files_without_secrets(image_static):
    """Production's manifest storage, plotly.js included, compressed the way the image compresses."""
    manifest = json.loads((image_static / "staticfiles.json").read_text())["paths"]
    assert "vendor/plotly.min.js" in manifest and "css/portal.css" in manifest
    assert (image_static / (manifest["css/portal.css"] + ".gz")).exists()


def test_the_image_compresses_static_files_as_the_deployment_guide_says(image_static):
    brotli = "brotli" in _pinned(ROOT / "requirements.txt")
    assert bool(list(image_static.rglob("*.br"))) == brotli
    assert list(image_static.rglob("*.gz"))
    guide = (ROOT / "docs" / "deployment.md").read_text()
    static = guide[guide.index("- **Static files**"):].split("\n- ", 1)[0]
    assert "gzip" in static
    says_none = re.search(r"\bno brotli\b", static) is not None
    assert ("brotli" in static and not says_none) if brotli else (says_none or "brotli" not in static), static


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
def test_production_settings_serve_healthz_and_static_files_under_gunicorn(tmp_path, image_static):
    static = image_static  # collected by the image's build step
    env = production_env(tmp_path, MLSEC_STATIC_ROOT=str(static), MLSEC_SSL_REDIRECT="0",
                         GUNICORN_WORKERS="2", GUNICORN_BIND=f"127.0.0.1:{free_port()}")
    if os.environ.get("CELERY_BROKER_URL"):
        env["CELERY_BROKER_URL"] = os.environ["CELERY_BROKER_URL"]
    migrate = subprocess.run(image_python("manage.py", "migrate", "--noinput"), cwd=ROOT, env=env,
                             capture_output=True, text=True, timeout=300)  # what the web role does before serving
    assert migrate.returncode == 0, migrate.stderr
    log = open(tmp_path / "gunicorn.log", "wb")  # noqa: SIM115
    server = subprocess.Popen(image_python("-m", "gunicorn", "-c", "gunicorn.conf.py", "mlsec_portal.wsgi"),
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
