"""The one guard for every outbound connection of the checks (endpoints today, sources tomorrow).

A project's URL is typed in by its team, so a URL is untrusted input: it must not turn a worker
into a proxy for the internal network (SSRF). Every connection therefore goes through here:

1. :func:`resolve_allowed` resolves the host *first* (``getaddrinfo``, which also normalises the
   decimal, hex and octal spellings of IPv4 such as ``2130706433``, ``0x7f000001``, ``0177.0.0.1``)
   and keeps only the addresses :func:`refusal` does not refuse: loopback, private, link-local,
   unique-local, multicast, unspecified, reserved, shared (CGNAT), cloud-metadata addresses, and
   IPv6 forms that embed one of those (IPv4-mapped, IPv4-compatible, 6to4, NAT64, Teredo) are
   refused unless an administrator allows their network (``MLSEC_CHECK_ALLOWED_NETWORKS``).
2. :func:`connect` opens the TCP connection to one of *those* addresses: nothing resolves the
   name a second time, so a DNS answer that changes between check and use (rebinding) changes
   nothing. TLS keeps the host name for SNI and certificate verification.
3. :class:`PinnedHTTPConnection` / :class:`PinnedHTTPSConnection` send only ``GET`` and ``HEAD``;
   :func:`request` follows redirects only when asked, and checks every hop like the first.
4. :class:`Deadline` bounds a whole exchange (connect, handshake, every read): a server that
   drips one byte a second cannot hold a worker longer than the deadline.

Errors carry a detailed reason for the worker log (:attr:`GuardError.reason`) and a coarse,
uniform text for findings (:data:`COULD_NOT_CONNECT`): refused, reset, silent, slow, non-HTTP and
non-TLS peers all read the same, and an unknown host name reads like a refused address, so a team
cannot map which internal ports are open or which internal names exist. Nothing here imports Django: the Django layer passes the allow-list.
"""

from __future__ import annotations

import http.client
import ipaddress
import socket
import ssl
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import BinaryIO
from urllib.parse import urljoin, urlsplit

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network

ALLOWED_METHODS = frozenset({"GET", "HEAD"})
COULD_NOT_CONNECT = "could not connect"
# Instance-metadata services that are not already link-local, unique-local or shared space.
METADATA_ADDRESSES = frozenset(ipaddress.ip_address(a) for a in (
    "169.254.169.254", "169.254.170.2", "fd00:ec2::254", "100.100.100.200", "192.0.0.192",
))
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_NAT64_LOCAL = ipaddress.ip_network("64:ff9b:1::/48")
_IPV4_COMPATIBLE = ipaddress.ip_network("::/96")


class GuardError(OSError):
    """A connection the guard refused or could not complete.

    ``str()`` is the coarse text for findings; ``reason`` the precise one for the worker log.
    """

    def __init__(self, reason: str, public: str = COULD_NOT_CONNECT) -> None:
        super().__init__(public)
        self.reason = reason
        self.public = public

    def __str__(self) -> str:
        return self.public


class AddressRefused(GuardError):
    """The host resolves to no address the checks may reach; nothing was sent."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason, f"{COULD_NOT_CONNECT}: the host does not resolve to an address the checks may "
                                 "reach (loopback, private and metadata networks are refused unless an "
                                 "administrator allows them)")


class DeadlineExceeded(GuardError):
    """The exchange did not complete in time. Reads like any other failure, so silence maps no port."""

    def __init__(self, seconds: float) -> None:
        super().__init__(f"deadline of {seconds:g} s exceeded")


class MethodRefused(GuardError):
    def __init__(self, method: str) -> None:
        super().__init__(f"method {method!r} refused", "only GET and HEAD requests are sent")


def parse_networks(values: Iterable[str]) -> list[Network]:
    """CIDRs (or single addresses) from configuration; a bad entry raises ``ValueError`` naming it."""
    networks = []
    for value in values:
        value = str(value).strip()
        if not value:
            continue
        try:
            networks.append(ipaddress.ip_network(value, strict=False))
        except ValueError:
            raise ValueError(f"'{value}' is not a network in CIDR notation (e.g. 10.20.0.0/16)") from None
    return networks


def _embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address in _NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    if address in _IPV4_COMPATIBLE and int(address) > 1:  # deprecated ::a.b.c.d (:: and ::1 are handled as v6)
        return ipaddress.IPv4Address(int(address))
    return None


def refusal(address: Address | str, allowed: Iterable[Network] = ()) -> str | None:
    """Why the checks may not connect to ``address`` (None: they may).

    The allow-list wins over every rule; an address embedded in an IPv6 form is judged (and
    matched against the allow-list) as the IPv4 address it carries.
    """
    address = ipaddress.ip_address(address) if isinstance(address, str) else address
    if isinstance(address, ipaddress.IPv6Address) and address.scope_id:
        address = ipaddress.IPv6Address(address.compressed.split("%")[0])
    candidates: list[Address] = [address]
    if isinstance(address, ipaddress.IPv6Address):
        embedded = _embedded_ipv4(address)
        if embedded is not None:
            candidates.append(embedded)
    allowed = list(allowed)
    if any(c.version == n.version and c in n for c in candidates for n in allowed):
        return None
    judged = candidates[-1]
    if judged in METADATA_ADDRESSES:
        return "cloud metadata service"
    if isinstance(address, ipaddress.IPv6Address):
        if address.teredo is not None or address in _NAT64_LOCAL:
            return "tunnelled IPv6 address"
    for attribute, label in (("is_loopback", "loopback"), ("is_unspecified", "unspecified"),
                             ("is_link_local", "link-local"), ("is_multicast", "multicast"),
                             ("is_private", "private")):
        if getattr(judged, attribute):
            return label
    if isinstance(judged, ipaddress.IPv6Address) and judged.is_site_local:
        return "site-local"
    if judged.is_reserved or not judged.is_global:
        return "not a public address"
    return None


@dataclass(frozen=True)
class Resolved:
    host: str
    port: int
    addresses: tuple[tuple[int, str], ...]  # (address family, address) in resolver order, all vetted


def resolve_allowed(host: str, port: int, allowed: Iterable[Network] = ()) -> Resolved:
    """Resolve ``host`` and keep the addresses the checks may reach; raise :class:`AddressRefused` if none."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP)
    except (socket.gaierror, UnicodeError, ValueError) as exc:
        # The same words as a refused address: a team cannot learn which internal names exist.
        raise AddressRefused(f"cannot resolve {host!r}: {exc}") from None
    allowed = list(allowed)
    kept: list[tuple[int, str]] = []
    reasons: list[str] = []
    for family, _type, _proto, _name, sockaddr in infos:
        text = str(sockaddr[0])
        why = refusal(ipaddress.ip_address(text.split("%")[0]), allowed)
        if why is None:
            if (family, text) not in kept:
                kept.append((family, text))
        else:
            reasons.append(f"{text} ({why})")
    if not kept:
        raise AddressRefused(f"{host!r} resolves only to refused addresses: {', '.join(reasons) or 'none'}")
    return Resolved(host, port, tuple(kept))


class Deadline:
    """A total time budget for one exchange, enforced on the socket itself.

    ``arm(sock)`` starts a watchdog that shuts the socket down when the budget is spent, so a
    blocking read returns even when the peer sends one byte just before every per-read timeout.
    """

    def __init__(self, seconds: float) -> None:
        self.seconds = float(seconds)
        self.ends = time.monotonic() + self.seconds
        self.fired = False
        self._timers: list[threading.Timer] = []

    def remaining(self) -> float:
        left = self.ends - time.monotonic()
        if left <= 0:
            self.fired = True
            raise DeadlineExceeded(self.seconds)
        return left

    def arm(self, sock: socket.socket) -> None:
        def expire() -> None:
            self.fired = True
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

        timer = threading.Timer(max(0.0, self.ends - time.monotonic()), expire)
        timer.daemon = True
        timer.start()
        self._timers.append(timer)

    def cancel(self) -> None:
        for timer in self._timers:
            timer.cancel()
        self._timers.clear()

    def __enter__(self) -> Deadline:
        return self

    def __exit__(self, *exc) -> None:
        self.cancel()


def connect(resolved: Resolved, deadline: Deadline) -> socket.socket:
    """A TCP connection to one of the vetted addresses (never to the name), armed with the deadline."""
    last: BaseException | None = None
    for family, address in resolved.addresses:
        sock = socket.socket(family, socket.SOCK_STREAM)
        try:
            sock.settimeout(deadline.remaining())
            sock.connect((address, resolved.port))
        except OSError as exc:
            sock.close()
            last = exc
            if isinstance(exc, DeadlineExceeded):
                raise
            continue
        deadline.arm(sock)
        sock.settimeout(max(0.05, deadline.ends - time.monotonic()))
        return sock
    raise GuardError(f"connection to {resolved.host}:{resolved.port} failed: {type(last).__name__}: {last}")


def open_tls(resolved: Resolved, context: ssl.SSLContext, deadline: Deadline) -> ssl.SSLSocket:
    """TCP to a vetted address, then TLS with the original host name for SNI and verification."""
    raw = connect(resolved, deadline)
    try:
        return context.wrap_socket(raw, server_hostname=resolved.host)
    except BaseException:
        raw.close()
        raise


class _Pinned:
    """Shared by the two connection classes: vetted address, deadline, GET/HEAD only."""

    resolved: Resolved
    deadline: Deadline

    def putrequest(self, method: str, url: str, *args, **kwargs) -> None:
        if method.upper() not in ALLOWED_METHODS:
            raise MethodRefused(method)
        super().putrequest(method, url, *args, **kwargs)  # type: ignore[misc]


class PinnedHTTPConnection(_Pinned, http.client.HTTPConnection):
    """``http.client`` connection whose socket goes to the vetted address; ``Host`` stays the name."""

    def __init__(self, resolved: Resolved, deadline: Deadline) -> None:
        super().__init__(resolved.host, resolved.port, timeout=deadline.seconds)
        self.resolved, self.deadline = resolved, deadline

    def connect(self) -> None:
        self.sock = connect(self.resolved, self.deadline)


class PinnedHTTPSConnection(_Pinned, http.client.HTTPSConnection):
    def __init__(self, resolved: Resolved, deadline: Deadline, context: ssl.SSLContext) -> None:
        super().__init__(resolved.host, resolved.port, timeout=deadline.seconds, context=context)
        self.resolved, self.deadline, self.tls_context = resolved, deadline, context

    def connect(self) -> None:
        self.sock = open_tls(self.resolved, self.tls_context, self.deadline)


@dataclass(frozen=True)
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes
    url: str  # the URL that gave this answer (after any redirect followed)
    streamed: int = 0  # bytes written to the `sink` instead of `body` (a 200 answer with a sink)


REDIRECTS = (301, 302, 303, 307, 308)
STREAM_CHUNK = 1024 * 1024
ERROR_BODY_CAP = 64 * 1024


def request(url: str, method: str = "GET", *, allowed: Iterable[Network] = (), timeout: float = 10.0,
            context: ssl.SSLContext | None = None, headers: dict[str, str] | None = None,
            max_body: int = 64 * 1024, follow_redirects: int = 0, sink: BinaryIO | None = None) -> Answer:
    """One guarded HTTP(S) exchange; every redirect followed is resolved and vetted like the first URL.

    With a ``sink`` (a binary file), a 200 answer's body is written to it in 1 MiB chunks, never held
    whole in memory: at most ``max_body`` bytes are read, and ``Answer.streamed`` says how many.

    The whole exchange (each hop) must finish within ``timeout`` seconds. Raises :class:`GuardError`
    (coarse ``str``), ``ssl.SSLCertVerificationError`` for an untrusted certificate, or
    ``ValueError`` for a URL that is not http(s).
    """
    if method.upper() not in ALLOWED_METHODS:
        raise MethodRefused(method)
    allowed = list(allowed)
    hops = 0
    while True:
        answer = _one_request(url, method, allowed, timeout, context, headers or {}, max_body, sink)
        location = answer.headers.get("location", "")
        if answer.status not in REDIRECTS or not location or hops >= follow_redirects:
            return answer
        hops += 1
        url = urljoin(url, location)
        method = "GET" if answer.status == 303 else method


def _one_request(url: str, method: str, allowed: list[Network], timeout: float, context: ssl.SSLContext | None,
                 headers: dict[str, str], max_body: int, sink: BinaryIO | None = None) -> Answer:
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https") or not parts.hostname:
        raise ValueError("only http:// and https:// URLs with a host are fetched")
    port = parts.port or (443 if scheme == "https" else 80)
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    resolved = resolve_allowed(parts.hostname, port, allowed)
    with Deadline(timeout) as deadline:
        if scheme == "https":
            conn: http.client.HTTPConnection = PinnedHTTPSConnection(
                resolved, deadline, context or ssl.create_default_context())
        else:
            conn = PinnedHTTPConnection(resolved, deadline)
        try:
            conn.request(method, path, headers={"Connection": "close", **headers})
            response = conn.getresponse()
            streamed = 0
            if sink is not None and response.status == 200 and method != "HEAD":
                body = b""
                while streamed < max_body:
                    chunk = response.read(min(STREAM_CHUNK, max_body - streamed))
                    if not chunk:
                        break
                    sink.write(chunk)
                    streamed += len(chunk)
            else:
                # With a sink, only a 200 body may be large: any other answer is a short error page at most.
                cap = min(max_body, ERROR_BODY_CAP) if sink is not None else max_body
                body = response.read(cap) if method != "HEAD" else b""
            answer = Answer(response.status, {k.lower(): v for k, v in response.getheaders()}, body, url, streamed)
        except ssl.SSLCertVerificationError:
            raise
        except GuardError:
            raise
        except (OSError, http.client.HTTPException) as exc:
            if deadline.fired:
                raise DeadlineExceeded(timeout) from None
            raise GuardError(f"{method} {parts.hostname}:{port} failed: {type(exc).__name__}: {exc}") from None
        finally:
            conn.close()
        if deadline.fired:
            raise DeadlineExceeded(timeout)
        return answer
