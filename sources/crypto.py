"""Source credentials at rest: encrypted with the evidence keys (MultiFernet, `MLSEC_EVIDENCE_KEY`),
so key rotation works the same way and no second key needs managing."""

from __future__ import annotations

import json

from evidence.storage import _cipher


def seal(credential: dict | None) -> str:
    if not credential:
        return ""
    return _cipher().encrypt(json.dumps(credential, sort_keys=True).encode()).decode()


def unseal(token: str) -> dict:
    """The stored credential (empty when none); a token no configured key opens raises ValueError."""
    if not token:
        return {}
    from cryptography.fernet import InvalidToken

    try:
        return json.loads(_cipher().decrypt(token.encode()))
    except InvalidToken:
        raise ValueError("the credential cannot be decrypted with the configured keys") from None
