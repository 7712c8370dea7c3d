"""The arithmetic of the audit chain: canonical content, the keyed hash, the head's MAC, client addresses.

Pure functions over plain values, shared by the model, the services and the migrations (which must
not import today's models).

Two chain versions exist:
- **1, SHA-256** (events written before the chain was keyed): anyone who can write the table can
  recompute it, so such events are trusted only as a prefix sealed by a keyed event.
- **2, HMAC-SHA256** keyed with `MLSEC_AUDIT_KEY`, a secret that lives outside the database: an
  edit, insertion or deletion re-chained without the key no longer verifies.

`MLSEC_AUDIT_KEY` may hold several comma-separated keys: the first signs new events, all verify;
every event records the id of its key (a MAC of a constant, which reveals nothing about the key).
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import json

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

GENESIS_HASH = "0" * 64
CHAIN_SHA256 = 1
CHAIN_HMAC = 2
SEAL_ACTION = "audit.chain.keyed"


def key_id(key: bytes) -> str:
    return hmac.new(key, b"mlsec-audit-key-id", hashlib.sha256).hexdigest()[:16]


def keyring() -> list[tuple[str, bytes]]:
    """[(key id, key)], newest first: the first entry signs, every entry verifies."""
    keys = [k.encode() for k in getattr(settings, "MLSEC_AUDIT_KEYS", []) if k]
    if not keys:
        raise ImproperlyConfigured("MLSEC_AUDIT_KEY is not set: the audit trail cannot be written or verified.")
    return [(key_id(k), k) for k in keys]


def normalise_ip(value) -> str | None:
    """The client address in one canonical text form, or None when it is not an address.

    IPv4-mapped IPv6 becomes the IPv4 address, a zone id is dropped, anything unparseable (a port, a
    host name, a list, garbage from a forwarded header) is None: never an error, never a value the
    database would rewrite differently from how it was hashed.
    """
    if value is None:
        return None
    text = str(value).strip()
    if not text or len(text) > 64:
        return None
    try:
        address = ipaddress.ip_address(text.split("%", 1)[0])
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return str(address)


def canonical_content(event) -> dict:
    """What an event's hash covers. Version 1 keeps its historical form byte for byte."""
    content = {
        "seq": event.seq,
        "at": event.at.isoformat(timespec="microseconds"),
        "actor_id": event.actor_id,
        "actor_username": event.actor_username,
        "action": event.action,
        "object_type": event.object_type,
        "object_id": event.object_id,
        "object_repr": event.object_repr,
        "changes": event.changes,
        "ip": event.ip,
        "request_id": event.request_id,
        "prev_hash": event.prev_hash,
    }
    if event.chain_version != CHAIN_SHA256:
        # Hash the address as a value, not as text: the database may print it differently.
        content.update(ip=normalise_ip(event.ip), chain_version=event.chain_version, key_id=event.key_id)
    return content


def _canonical_bytes(content: dict) -> bytes:
    return json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def event_hash(event, keys: dict[str, bytes] | None = None) -> str | None:
    """The hash `event` must carry; None when its key is not configured (it cannot be verified)."""
    body = _canonical_bytes(canonical_content(event))
    if event.chain_version == CHAIN_SHA256:
        return hashlib.sha256(body).hexdigest()
    key = (keys if keys is not None else dict(keyring())).get(event.key_id)
    if key is None:
        return None
    return hmac.new(key, body, hashlib.sha256).hexdigest()


def head_mac(key: bytes, last_seq: int, last_hash: str) -> str:
    """Binds the chain's tip to the key, so removing newest events and moving the head back shows."""
    return hmac.new(key, f"mlsec-audit-head:{last_seq}:{last_hash}".encode(), hashlib.sha256).hexdigest()


def entry_mac(key: bytes, event) -> str:
    """The MAC a waiting (unchained) event carries: its content without the chain columns (seq,
    prev_hash, key id), so it can be checked before and after it is given its place in the chain."""
    content = canonical_content(event)
    for name in ("seq", "prev_hash", "key_id"):
        content.pop(name, None)
    return hmac.new(key, b"mlsec-audit-entry:" + _canonical_bytes(content), hashlib.sha256).hexdigest()
