"""Validation of the model-scanning policies a team or project configures (shared by forms, API and admin)."""

from __future__ import annotations

import re

from .runners.pickle_allowlist import SAFE_GLOBALS, critical_reason

_GLOBAL = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)+$")
_DOMAIN = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,199}$")
MIN_REASON = 20


def allowance_problem(kind: str, name: str, reason: str) -> str:
    """Why this allowance cannot be accepted, or ''."""
    name = name or ""
    if len((reason or "").strip()) < MIN_REASON:
        return f"Give the review's reason in at least {MIN_REASON} characters: what the name does when a pickle calls it."
    if kind == "pickle-global":
        if not _GLOBAL.match(name):
            return "A pickle global is written module.name (letters, digits and underscores, at least one dot)."
        danger = critical_reason(name)
        if danger:
            return f"{name} is known to execute code ({danger}); it cannot be allowed."
        if name in SAFE_GLOBALS:
            return f"{name} is already on the documented allow-list."
        return ""
    if kind == "onnx-domain":
        return "" if _DOMAIN.match(name) else "An ONNX operator domain is written like com.example.ops."
    return "Unknown kind of allowance."


def signer_problem(kind: str, material: str) -> str:
    """Why this signer's PEM material is unusable, or ''."""
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    data = (material or "").strip().encode()
    try:
        if kind == "key":
            key = serialization.load_pem_public_key(data)
            if not isinstance(key, ec.EllipticCurvePublicKey):
                return "model-signing verifies elliptic-curve keys only (P-256, P-384 or P-521)."
            return ""
        if kind == "certificate":
            return "" if x509.load_pem_x509_certificates(data) else "No PEM certificate found."
    except ValueError:
        return "This is not a PEM public key." if kind == "key" else "This is not a PEM certificate chain."
    return "Unknown kind of signer."
