"""Secrets of identity providers at rest: Fernet with the portal's key ring (MLSEC_EVIDENCE_KEY).

The first key encrypts, every key decrypts, so the key rotation of docs/operations.md covers them too.
"""

from __future__ import annotations

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings


def _cipher() -> MultiFernet:
    keys = settings.MLSEC_EVIDENCE_KEYS
    return MultiFernet([Fernet(k.encode() if isinstance(k, str) else k) for k in keys])


def seal(value: str) -> str:
    return _cipher().encrypt(value.encode()).decode() if value else ""


def unseal(token: str) -> str:
    if not token:
        return ""
    try:
        return _cipher().decrypt(token.encode()).decode()
    except InvalidToken:
        return ""  # a key that was removed from the ring: the administrator enters the secret again


def reseal_provider_secrets() -> int:
    """Re-encrypt every identity provider's client secret with the first key (`rotate_evidence_key`),
    so that removing the old key afterwards loses none of them. Returns how many were re-sealed."""
    from .models import IdentityProvider

    cipher, count = _cipher(), 0
    for provider in IdentityProvider.objects.exclude(client_secret_sealed="").only("pk", "client_secret_sealed"):
        provider.client_secret_sealed = cipher.rotate(provider.client_secret_sealed.encode()).decode()
        provider.save(update_fields=["client_secret_sealed"])
        count += 1
    return count
