"""What production checks about its secrets before it serves anything (pure functions, no Django set-up).

A value copied from `.env.example` is a placeholder, whatever its length; a key that does not parse
fails now with a message naming the variable, not at the first upload, export or audit event.
"""

from __future__ import annotations

import os
from pathlib import Path

ENV_EXAMPLE = Path(__file__).resolve().parent.parent.parent / ".env.example"
# Values that are never a secret, whether or not `.env.example` ships beside the code.
KNOWN_PLACEHOLDERS = frozenset({"test-only-not-secret", "collectstatic-only", "changeme", "change-me", "secret",
                                "password", "replace-me"})
MIN_AUDIT_KEY_CHARS = 32


def example_values(path: Path = ENV_EXAMPLE) -> set[str]:
    """Every value assigned in `.env.example`, commented-out lines included."""
    values = set()
    if not path.exists():
        return values
    for line in path.read_text().splitlines():
        name, sep, value = line.lstrip("# ").partition("=")
        value = value.split("  #", 1)[0].strip()
        if sep and name.strip().replace("_", "").isalnum() and value:
            values.add(value)
    return values


def is_placeholder(value: str, examples: set[str]) -> bool:
    text = value.strip()
    return text in examples or text.lower() in KNOWN_PLACEHOLDERS or "replace-with" in text.lower()


def fernet_key_problem(key: str) -> str | None:
    from cryptography.fernet import Fernet

    try:
        Fernet(key.encode())
    except (ValueError, TypeError):
        return "is not a Fernet key (urlsafe base64 of 32 bytes)"
    return None


def signing_key_problem(value: str) -> str | None:
    """None if `value` (PEM text, or a path to a PEM file) is an unencrypted Ed25519 private key."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from cryptography.hazmat.primitives.serialization import load_pem_private_key

    pem = value
    if "BEGIN" not in value:
        try:
            pem = Path(value).read_text()
        except (OSError, UnicodeDecodeError) as exc:
            return f"names a file that cannot be read ({type(exc).__name__})"
    try:
        key = load_pem_private_key(pem.encode(), password=None)
    except (ValueError, TypeError):
        return "is not an unencrypted PEM private key"
    if not isinstance(key, Ed25519PrivateKey):
        return f"is a {type(key).__name__.lstrip('_')}, not an Ed25519 private key"
    return None


def secret_problems(environ=os.environ, examples: set[str] | None = None) -> list[str]:
    """Everything wrong with the production secrets, one sentence each."""
    import dj_database_url

    examples = example_values() if examples is None else examples
    problems = []
    secret_key = environ.get("DJANGO_SECRET_KEY", "")
    if is_placeholder(secret_key, examples):
        problems.append("DJANGO_SECRET_KEY is a placeholder (a value from .env.example): generate a real one")
    elif len(secret_key) < 50:
        problems.append("DJANGO_SECRET_KEY must be at least 50 characters long")
    for index, key in enumerate(_items(environ.get("MLSEC_EVIDENCE_KEY", "")), start=1):
        if is_placeholder(key, examples):
            problems.append(f"MLSEC_EVIDENCE_KEY (key {index}) is a placeholder (a value from .env.example)")
        elif problem := fernet_key_problem(key):
            problems.append(f"MLSEC_EVIDENCE_KEY (key {index}) {problem}")
    for index, key in enumerate(_items(environ.get("MLSEC_AUDIT_KEY", "")), start=1):
        if is_placeholder(key, examples):
            problems.append(f"MLSEC_AUDIT_KEY (key {index}) is a placeholder (a value from .env.example)")
        elif len(key) < MIN_AUDIT_KEY_CHARS:
            problems.append(f"MLSEC_AUDIT_KEY (key {index}) must be at least {MIN_AUDIT_KEY_CHARS} random characters")
    signing_key = environ.get("MLSEC_SIGNING_KEY", "")
    if signing_key and (problem := signing_key_problem(signing_key)):
        problems.append(f"MLSEC_SIGNING_KEY {problem}")
    database_url = environ.get("DATABASE_URL", "")
    database_password = (dj_database_url.parse(database_url).get("PASSWORD") or "") if database_url else ""
    if database_password and is_placeholder(database_password, examples):
        problems.append("DATABASE_URL uses a placeholder password (a value from .env.example)")
    return problems


def _items(value: str) -> list[str]:
    return [item.strip() for item in value.split(",") if item.strip()]
