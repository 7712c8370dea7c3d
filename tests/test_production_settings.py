"""`mlsec_portal.settings.production`: refuses to start half-configured, passes the deploy checklist."""

import os
import secrets
import subprocess
import sys
from pathlib import Path

from cryptography.fernet import Fernet
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

ROOT = Path(__file__).resolve().parent.parent


def production_env(tmp_path, **overrides) -> dict:
    """The environment docs/deployment.md documents (.env.example), with throwaway secrets."""
    key = Ed25519PrivateKey.generate().private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                      serialization.NoEncryption()).decode()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "MLSEC_", "DATABASE_URL"))}
    env.update({
        "DJANGO_SETTINGS_MODULE": "mlsec_portal.settings.production",
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(64),
        "DJANGO_ALLOWED_HOSTS": "mlsec.example.org",
        "MLSEC_EVIDENCE_KEY": Fernet.generate_key().decode(),
        "MLSEC_SIGNING_KEY": key,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'prod.sqlite3'}",
        "MLSEC_VAR_DIR": str(tmp_path / "var"),
    })
    env.update(overrides)
    return {k: v for k, v in env.items() if v is not None}


def manage(env, *args) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=120)


def test_production_passes_check_deploy_at_warning_level(tmp_path):
    result = manage(production_env(tmp_path), "check", "--deploy", "--fail-level", "WARNING")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_production_refuses_to_start_without_its_secrets(tmp_path):
    for missing in ("DJANGO_SECRET_KEY", "DJANGO_ALLOWED_HOSTS", "MLSEC_EVIDENCE_KEY", "MLSEC_SIGNING_KEY", "DATABASE_URL"):
        result = manage(production_env(tmp_path, **{missing: None}), "check")
        assert result.returncode != 0, missing
        assert "refuses to start without" in result.stderr and missing in result.stderr


def test_production_refuses_a_short_secret_key(tmp_path):
    result = manage(production_env(tmp_path, DJANGO_SECRET_KEY="short"), "check")
    assert result.returncode != 0 and "at least 50 characters" in result.stderr


def test_production_cookies_and_transport_settings(tmp_path):
    code = ("from django.conf import settings as s; print(s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE, "
            "s.SESSION_COOKIE_HTTPONLY, s.SECURE_HSTS_SECONDS >= 31536000, s.SECURE_SSL_REDIRECT, s.DEBUG, "
            "s.SESSION_COOKIE_NAME, s.CSRF_COOKIE_NAME)")
    result = manage(production_env(tmp_path), "shell", "--no-imports", "-c", code)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["True", "True", "True", "True", "True", "False", "__Host-sessionid",
                                     "__Host-csrftoken"]
