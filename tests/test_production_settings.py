"""`mlsec_portal.settings.production`: refuses to start half-configured, passes the deploy checklist."""

import json
import os
import secrets
import subprocess
import sys
from pathlib import Path

from cryptography.fernet import Fernet
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
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
        "MLSEC_AUDIT_KEY": secrets.token_urlsafe(48),
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
    for missing in ("DJANGO_SECRET_KEY", "DJANGO_ALLOWED_HOSTS", "MLSEC_EVIDENCE_KEY", "MLSEC_SIGNING_KEY", "MLSEC_AUDIT_KEY",
                    "DATABASE_URL"):
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


def env_example() -> dict[str, str]:
    values = {}
    for line in (ROOT / ".env.example").read_text().splitlines():
        name, sep, value = line.lstrip("# ").partition("=")
        if sep and value.strip():
            values[name.strip()] = value.split("  #", 1)[0].strip()
    return values


IMPORT_EACH = """
import json, os, sys
results = []
for env in json.load(sys.stdin):
    os.environ.clear()
    os.environ.update(env)
    for name in [m for m in sys.modules if m.startswith("mlsec_portal.settings")]:
        del sys.modules[name]
    try:
        import mlsec_portal.settings.production  # noqa: F401
        results.append(None)
    except Exception as exc:
        results.append(f"{type(exc).__name__}: {exc}")
print(json.dumps(results))
"""


def import_production(*envs) -> list[str | None]:
    """Import the production settings as a process does at start-up, once per environment (one interpreter):
    None where it starts, else the error it refuses with."""
    result = subprocess.run([sys.executable, "-c", IMPORT_EACH], cwd=ROOT, input=json.dumps(list(envs)),
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


PLACEHOLDERS = [
    ("DJANGO_SECRET_KEY", lambda ex: ex["DJANGO_SECRET_KEY"]),
    ("MLSEC_EVIDENCE_KEY", lambda ex: ex["MLSEC_EVIDENCE_KEY"]),
    ("MLSEC_EVIDENCE_KEY", lambda ex: f"{Fernet.generate_key().decode()},{ex['MLSEC_EVIDENCE_KEY']}"),
    ("MLSEC_AUDIT_KEY", lambda ex: ex["MLSEC_AUDIT_KEY"]),
    ("DJANGO_SECRET_KEY", lambda ex: ex["MLSEC_AUDIT_KEY"]),  # any placeholder, in any variable
    ("DATABASE_URL", lambda ex: f"postgres://mlsec:{ex['POSTGRES_PASSWORD']}@db:5432/mlsec"),
]


def test_production_refuses_to_start_with_a_placeholder_from_env_example(tmp_path):
    example = env_example()
    errors = import_production(*(production_env(tmp_path, **{name: value(example)}) for name, value in PLACEHOLDERS))
    for (name, _), error in zip(PLACEHOLDERS, errors, strict=True):
        assert error and "ImproperlyConfigured" in error and name in error and "placeholder" in error, (name, error)


def test_production_refuses_an_evidence_key_that_is_not_a_fernet_key(tmp_path):
    bad = ["not-a-fernet-key", "A" * 43 + "!", "c2hvcnQta2V5LW9mLTMwLWJ5dGVzLWxvbmcteHh4"]  # words, not base64, 30 bytes  # pragma: allowlist secret
    errors = import_production(*(production_env(tmp_path, MLSEC_EVIDENCE_KEY=f"{Fernet.generate_key().decode()},{v}")
                                 for v in bad))
    for value, error in zip(bad, errors, strict=True):
        assert error and "MLSEC_EVIDENCE_KEY (key 2) is not a Fernet key" in error, (value, error)


def pem(key) -> str:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption()).decode()


def test_production_refuses_a_signing_key_that_is_not_an_ed25519_private_key(tmp_path):
    bad = {
        "garbage": "-----BEGIN PRIVATE KEY-----\nnot a key\n-----END PRIVATE KEY-----",  # pragma: allowlist secret
        "rsa": pem(rsa.generate_private_key(public_exponent=65537, key_size=2048)),
        "ec": pem(ec.generate_private_key(ec.SECP256R1())),
        "public half": Ed25519PrivateKey.generate().public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode(),
        "missing file": str(tmp_path / "no-such-key.pem"),
    }
    errors = import_production(*(production_env(tmp_path, MLSEC_SIGNING_KEY=v) for v in bad.values()))
    for kind, error in zip(bad, errors, strict=True):
        assert error and "ImproperlyConfigured" in error and "MLSEC_SIGNING_KEY" in error, (kind, error)


def test_production_refuses_a_short_audit_key(tmp_path):
    [error] = import_production(production_env(tmp_path, MLSEC_AUDIT_KEY="short"))
    assert error and "MLSEC_AUDIT_KEY (key 1) must be at least 32" in error


def test_production_starts_with_a_signing_key_file_and_rotated_keys(tmp_path):
    key_file = tmp_path / "signing-ed25519.pem"
    key_file.write_text(pem(Ed25519PrivateKey.generate()))
    env = production_env(tmp_path, MLSEC_SIGNING_KEY=str(key_file),
                         MLSEC_EVIDENCE_KEY=f"{Fernet.generate_key().decode()},{Fernet.generate_key().decode()}",
                         MLSEC_AUDIT_KEY=f"{secrets.token_urlsafe(48)},{secrets.token_urlsafe(48)}")
    assert import_production(env) == [None]
