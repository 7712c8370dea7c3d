"""POST a webhook through the checks' SSRF guard (checks/runners/netguard.py).

A team types in the URL, so it is untrusted: the host is resolved once, only addresses the guard allows
are dialled (loopback, private and metadata networks are refused unless MLSEC_CHECK_ALLOWED_NETWORKS
allows them), redirects are never followed, and the whole exchange has a deadline. The guard's own
connection classes send only GET and HEAD (a check never writes); delivery needs POST, so these two
classes reuse its vetted connect and TLS steps with POST allowed.
"""

from __future__ import annotations

import http.client
import ssl
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.conf import settings

from checks.runners import netguard


@dataclass(frozen=True)
class Posted:
    status: int

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300


class _GuardedHTTP(http.client.HTTPConnection):
    def __init__(self, resolved: netguard.Resolved, deadline: netguard.Deadline) -> None:
        super().__init__(resolved.host, resolved.port, timeout=deadline.seconds)
        self.resolved, self.deadline = resolved, deadline

    def connect(self) -> None:
        self.sock = netguard.connect(self.resolved, self.deadline)


class _GuardedHTTPS(http.client.HTTPSConnection):
    def __init__(self, resolved: netguard.Resolved, deadline: netguard.Deadline, context: ssl.SSLContext) -> None:
        super().__init__(resolved.host, resolved.port, timeout=deadline.seconds, context=context)
        self.resolved, self.deadline, self.tls_context = resolved, deadline, context

    def connect(self) -> None:
        self.sock = netguard.open_tls(self.resolved, self.tls_context, self.deadline)


def allowed_networks():
    return netguard.parse_networks(settings.MLSEC_CHECK_ALLOWED_NETWORKS)


def url_refusal(url: str) -> str | None:
    """Why a channel URL cannot be saved (None: it can). Checked again at every delivery."""
    try:
        parts = urlsplit(url or "")
        port = parts.port  # raises for a port that is not a number or out of range
        if parts.scheme not in ("http", "https") or not parts.hostname:
            return "Give an http:// or https:// URL with a host."
    except ValueError:  # "http://[::1", "https://host:99999/", "https://host:abc/"
        return "Give an http:// or https:// URL with a host (and a port from 1 to 65535, if any)."
    if parts.username or parts.password:
        return "Put no user name or password in the URL."
    try:
        netguard.resolve_allowed(parts.hostname, port or (443 if parts.scheme == "https" else 80),
                                 allowed_networks())
    except netguard.GuardError:
        return "The portal may not send to this address (loopback, private and metadata networks are refused)."
    return None


def post_json(url: str, body: bytes, headers: dict[str, str], *, timeout: float = 10.0) -> Posted:
    """One guarded POST; raises netguard.GuardError (coarse text) or ssl errors, never follows a redirect."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https") or not parts.hostname:
        raise netguard.GuardError("not an http(s) URL")
    port = parts.port or (443 if scheme == "https" else 80)
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    resolved = netguard.resolve_allowed(parts.hostname, port, allowed_networks())
    with netguard.Deadline(timeout) as deadline:
        conn: http.client.HTTPConnection = (
            _GuardedHTTPS(resolved, deadline, ssl.create_default_context()) if scheme == "https"
            else _GuardedHTTP(resolved, deadline))
        try:
            conn.request("POST", path, body=body, headers={
                "Content-Type": "application/json", "User-Agent": "MLSecPortal/1", "Connection": "close", **headers})
            response = conn.getresponse()
            response.read(64 * 1024)
            return Posted(response.status)
        except netguard.GuardError:
            raise
        except (OSError, http.client.HTTPException) as exc:
            if deadline.fired:
                raise netguard.DeadlineExceeded(timeout) from None
            raise netguard.GuardError(f"POST failed: {type(exc).__name__}") from None
        finally:
            conn.close()
