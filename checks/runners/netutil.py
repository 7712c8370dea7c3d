"""Shared networking helpers for the endpoint checks (standard library only).

Certificates are verified against the system store plus, when configured, the
project's extra CA bundle; hostnames are always checked.  Every connection goes
through :mod:`checks.runners.netguard` (resolve first, refuse internal
addresses, connect to the vetted address, a total deadline).  Error texts never
include URL credentials or query strings, and connection failures are reported
coarsely ("could not connect") so that findings cannot map which ports answer.
"""

from __future__ import annotations

import ssl
from dataclasses import dataclass
from urllib.parse import urlsplit

USER_AGENT = "MLSecPortal-check/1"

# OpenSSL X509_V_ERR_* codes worth naming in plain words
VERIFY_REASONS = {
    9: "certificate is not yet valid",
    10: "certificate has expired",
    18: "self-signed certificate",
    19: "self-signed certificate in the chain",
    20: "issuer certificate is not trusted (unknown CA)",
    21: "unable to verify the first certificate (untrusted or incomplete chain)",
    23: "certificate has been revoked",
    62: "hostname does not match the certificate",
    64: "IP address does not match the certificate",
}


class EndpointError(ValueError):
    """The configured URL cannot be checked at all (bad scheme, no host)."""


@dataclass(frozen=True)
class Endpoint:
    scheme: str
    host: str
    port: int
    path: str

    @property
    def display(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{self.scheme}://{host}:{self.port}"


def parse_endpoint(url: str) -> Endpoint:
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        raise EndpointError("the endpoint URL cannot be parsed") from None
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        raise EndpointError(f"unsupported URL scheme '{scheme or 'none'}' (expected https)")
    if not parts.hostname:
        raise EndpointError("the endpoint URL has no host")
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    return Endpoint(scheme, parts.hostname, port or (443 if scheme == "https" else 80), path)


def verifying_context(ca_bundle: str | None) -> ssl.SSLContext:
    """System trust store + optional extra CA file; hostname checking on.

    ``minimum_version`` is lowered to the library minimum so that a legacy
    TLS version that OpenSSL still accepts is *observed* (and failed by the
    transport check) instead of hidden behind a handshake error.
    """
    context = ssl.create_default_context()
    if ca_bundle:
        context.load_verify_locations(cafile=ca_bundle)
    context.check_hostname = True
    context.verify_mode = ssl.CERT_REQUIRED
    try:
        context.minimum_version = ssl.TLSVersion.MINIMUM_SUPPORTED
    except (ValueError, OSError):
        pass
    return context


def unverified_context(legacy: bool = False) -> ssl.SSLContext:
    """For *reading* a certificate the verifying handshake rejected; never for sending data."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    if legacy:
        try:
            context.minimum_version = ssl.TLSVersion.MINIMUM_SUPPORTED
            context.set_ciphers("ALL:@SECLEVEL=0")
        except (ValueError, ssl.SSLError):
            pass
    return context


def describe_network_error(exc: BaseException) -> str:
    """A short, secret-free reason for a failed exchange that maps no port.

    Refused, reset, timed out, a non-TLS or non-HTTP service, a deadline: all read the same, so
    a team cannot tell an open internal port from a closed one. The guard's precise reason stays
    in the worker log.
    """
    from .netguard import GuardError

    if isinstance(exc, GuardError):
        return exc.public
    return "could not connect"


def verify_reason(exc: ssl.SSLCertVerificationError) -> str:
    code = getattr(exc, "verify_code", None)
    message = getattr(exc, "verify_message", None) or ""
    return VERIFY_REASONS.get(code, message or "certificate verification failed")
