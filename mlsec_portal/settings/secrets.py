"""Throwaway secrets for the embedded (local / test) set-up, created once under `var/`.

Production never calls this: it refuses to start without real secrets from the environment.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path


def _read_or_create(path: Path, make) -> str:
    if path.exists():
        return path.read_text().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    value = make()
    # O_EXCL: if two processes race at first start, the loser reads the winner's value.
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text().strip()
    with os.fdopen(fd, "w") as handle:
        handle.write(value + "\n")
    return value


def local_secret_key(var_dir: Path) -> str:
    return _read_or_create(var_dir / "secret-key.txt", lambda: secrets.token_urlsafe(50))


def local_audit_key(var_dir: Path) -> str:
    return _read_or_create(var_dir / "audit.key", lambda: secrets.token_urlsafe(48))


def local_evidence_key(var_dir: Path) -> str:
    from cryptography.fernet import Fernet

    return _read_or_create(var_dir / "evidence.key", lambda: Fernet.generate_key().decode())


def local_signing_key(var_dir: Path) -> str:
    def make() -> str:
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

        pem = Ed25519PrivateKey.generate().private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        return pem.decode().strip()

    return _read_or_create(var_dir / "signing-ed25519.pem", make)
