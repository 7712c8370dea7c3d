"""Secrets never enter the audit trail, and those written before this rule never leave it.

`redact_event` runs on every event before it is written (`audit_record`) and again on every event a
person reads (the audit log page, the API, the admin), so a password hash, token, key, one-time
secret or recovery code recorded by an older version is masked too. Reading masks a copy: the
stored event, and therefore its hash, is untouched.

A value is secret when its field name says so (`password`, `token`, `secret`, `digest`, ...), when
its model keeps a secret under a plain name (a TOTP device's `key`, a static token's `token`), or
when the value itself is recognisable key material (a password hash, a PEM private key, an
`otpauth://` URL carrying the TOTP secret), whatever it is called.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

REDACTED = "[redacted]"

# Field names that hold a secret wherever they appear (compared in lower case).
SECRET_NAMES = frozenset({
    "password", "password1", "password2", "new_password", "new_password1", "new_password2", "old_password",
    "passwd", "secret", "secret_key", "client_secret", "token", "tokens", "token_key", "digest", "salt", "otp",
    "otp_secret", "otp_code", "recovery_code", "recovery_codes", "bin_key", "private_key", "api_key", "access_key",
    "secret_access_key", "ssh_key", "credential", "credentials", "signing_key", "evidence_key", "audit_key",
    "session_key", "session_data", "config_url", "otpauth_url", "qr_code", "qrcode",
})
SECRET_SUFFIXES = ("_password", "_secret", "_token", "_tokens", "_digest", "_private_key", "_api_key")

# Models whose secret hides under an ordinary name, by `app_label.model_name`.
SECRET_FIELDS_BY_MODEL = {
    "otp_totp.totpdevice": frozenset({"key"}),
    "otp_hotp.hotpdevice": frozenset({"key"}),
    "otp_static.statictoken": frozenset({"token"}),
    "authtoken.token": frozenset({"key"}),
    "authtoken.tokenproxy": frozenset({"key"}),
    "knox.authtoken": frozenset({"digest", "token_key"}),
    "accounts.apitoken": frozenset({"digest", "token_key"}),
}

_SECRET_VALUE = re.compile(
    r"^(pbkdf2_sha256|pbkdf2_sha1|argon2|bcrypt_sha256|bcrypt|scrypt|md5|sha1|unsalted_md5|unsalted_sha1|crypt)\$"
    r"|-----BEGIN [A-Z ]*PRIVATE KEY-----"
    r"|^otpauth://"
    r"|[?&]secret=",
    re.IGNORECASE,
)
# A secret shorter than this is not searched for in an event's object id and description.
_MIN_SECRET_LENGTH = 6


def is_secret_name(name: str, object_type: str = "") -> bool:
    lowered = str(name).lower()
    return (
        lowered in SECRET_NAMES
        or lowered.endswith(SECRET_SUFFIXES)
        or lowered in SECRET_FIELDS_BY_MODEL.get(object_type, ())
    )


def is_secret_value(value) -> bool:
    return isinstance(value, str) and bool(_SECRET_VALUE.search(value))


def _is_empty(value) -> bool:
    return value is None or value == "" or value == [] or value == {}


@dataclass
class Redaction:
    """The masked copy of an event's readable fields, and whether anything was masked."""

    changes: dict
    object_id: str
    object_repr: str
    redacted: bool


def _mask(value, object_type: str, found: list[str], secret: bool = False):
    if secret and not _is_empty(value):
        found.extend(_strings(value))
        return REDACTED
    if isinstance(value, dict):
        return {k: _mask(v, object_type, found, is_secret_name(k, object_type)) for k, v in value.items()}
    if isinstance(value, list):
        return [_mask(v, object_type, found) for v in value]
    if is_secret_value(value):
        found.append(value)
        return REDACTED
    return value


def _strings(value) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for v in value.values() for s in _strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    return [str(value)] if value is not None and not isinstance(value, bool) else []


def _scrub(text: str, secrets: list[str]) -> str:
    for secret in secrets:
        if len(secret) >= _MIN_SECRET_LENGTH and secret in text:
            return REDACTED
    return REDACTED if is_secret_value(text) else text


def redact_event(*, object_type: str, object_id: str, object_repr: str, changes: dict,
                 known_secrets: list[str] | tuple = ()) -> Redaction:
    """Mask every secret in `changes`, and the object's id and description if they repeat one.

    `known_secrets` are secret values of the object itself (a token whose primary key is the token),
    for when the event's `changes` do not carry them.
    """
    found: list[str] = [s for s in known_secrets if isinstance(s, str)]
    masked = _mask(changes or {}, object_type, found)
    shown_id, shown_repr = _scrub(str(object_id or ""), found), _scrub(str(object_repr or ""), found)
    redacted = masked != (changes or {}) or shown_id != str(object_id or "") or shown_repr != str(object_repr or "")
    return Redaction(changes=masked, object_id=shown_id, object_repr=shown_repr, redacted=redacted)


def model_secrets(obj) -> list[str]:
    """The values of `obj`'s own secret fields (so its id or description can be checked against them)."""
    if obj is None:
        return []
    object_type = obj._meta.label_lower
    values = []
    for field in obj._meta.concrete_fields:
        if is_secret_name(field.name, object_type) or is_secret_name(field.attname, object_type):
            value = getattr(obj, field.attname, None)
            if isinstance(value, str) and value:
                values.append(value)
    return values


def redacted_view(event) -> Redaction:
    """What a reader of a stored event may see."""
    return redact_event(object_type=event.object_type, object_id=event.object_id, object_repr=event.object_repr,
                        changes=event.changes)
