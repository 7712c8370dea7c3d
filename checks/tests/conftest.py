"""Shared helpers for the runner tests: contexts, certificates, local servers.

Everything is generated at test time (no binary fixtures) and every server
listens on 127.0.0.1 only.
"""

from __future__ import annotations

import datetime as dt
import http.server
import ipaddress
import socket
import ssl
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from checks.runners import sandbox
from checks.runners.base import CheckContext, CheckTargets


@pytest.fixture(autouse=True)
def _runner_unit_tests_run_in_process(request, monkeypatch):
    """The runner unit tests patch the process that runs the runner (``forbid_loading`` replaces
    ``pickle.load``, others break an import): they run it in-process, as the sandbox's child would.
    The sandbox has its own tests, and the service and worker tests go through it."""
    if request.module.__name__.rsplit(".", 1)[-1].startswith("test_runner_"):
        monkeypatch.setattr(sandbox, "in_child", lambda: True)


LOCAL_ONLY = ["127.0.0.1/32"]  # the allow-list the runner tests use: their servers listen on 127.0.0.1


def make_ctx(root: Path, **targets) -> CheckContext:
    names = ("advisories", "baseline", "ca_bundle", "now", "timeout_s", "allowed_networks", "denied_paths", "limits",
             "allowances", "signing")
    extra = {k: targets.pop(k) for k in names if k in targets}
    extra.setdefault("allowed_networks", LOCAL_ONLY)
    return CheckContext(targets=CheckTargets(**targets), allowed_roots=[str(root)], **extra)


# --- certificates --------------------------------------------------------------------

@dataclass
class Issued:
    cert: x509.Certificate
    key: ec.EllipticCurvePrivateKey

    def pem(self) -> bytes:
        return self.cert.public_bytes(serialization.Encoding.PEM)

    def key_pem(self) -> bytes:
        return self.key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                      serialization.NoEncryption())


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name),
                      x509.NameAttribute(NameOID.ORGANIZATION_NAME, "MLSec test")])


def make_ca(name: str = "MLSec Test CA") -> Issued:
    key = ec.generate_private_key(ec.SECP256R1())
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder().subject_name(_name(name)).issuer_name(_name(name))
        .public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=30)).not_valid_after(now + dt.timedelta(days=3650))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                     content_commitment=False, key_encipherment=False, data_encipherment=False,
                                     key_agreement=False, encipher_only=False, decipher_only=False), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    return Issued(cert, key)


def make_leaf(issuer: Issued | None, not_before: dt.datetime, not_after: dt.datetime,
              name: str = "localhost", dns: tuple[str, ...] = ("localhost",),
              ips: tuple[str, ...] = ("127.0.0.1",)) -> Issued:
    """A server certificate (default SANs localhost and 127.0.0.1); self-signed when ``issuer`` is None."""
    key = ec.generate_private_key(ec.SECP256R1())
    signer_key = issuer.key if issuer else key
    issuer_name = issuer.cert.subject if issuer else _name(name)
    builder = (
        x509.CertificateBuilder().subject_name(_name(name)).issuer_name(issuer_name)
        .public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(not_before).not_valid_after(not_after)
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(d) for d in dns]
                                                   + [x509.IPAddress(ipaddress.ip_address(i)) for i in ips]),
                       critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
    )
    if issuer:
        builder = builder.add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer.key.public_key()), critical=False)
    return Issued(builder.sign(signer_key, hashes.SHA256()), key)


@pytest.fixture(scope="session")
def ca(tmp_path_factory) -> tuple[Issued, str]:
    authority = make_ca()
    bundle = tmp_path_factory.mktemp("ca") / "ca.pem"
    bundle.write_bytes(authority.pem())
    return authority, str(bundle)


# --- servers -------------------------------------------------------------------------

class _Handler(http.server.BaseHTTPRequestHandler):
    status = 200
    headers_out: dict[str, str] = {}

    def _answer(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        self.server.seen.append((self.command, dict(self.headers)))  # type: ignore[attr-defined]
        self.send_response(self.server.status_for(self.command))  # type: ignore[attr-defined]
        for key, value in self.server.extra_headers.items():  # type: ignore[attr-defined]
            self.send_header(key, value)
        self.send_header("Content-Length", "2")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(b"{}")

    do_GET = do_POST = do_HEAD = do_PUT = do_DELETE = _answer

    def log_message(self, *args) -> None:  # keep test output quiet
        pass


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address) -> None:  # handshake failures are expected
        pass


@dataclass
class Running:
    port: int
    server: _Server

    @property
    def seen(self) -> list:
        return self.server.seen  # type: ignore[attr-defined]


@pytest.fixture
def serve(tmp_path) -> Iterator:
    """``serve(status=401, tls=Issued|None, headers={}, per_method={})`` → Running server on 127.0.0.1."""
    started: list[_Server] = []

    def start(status: int = 200, tls: Issued | None = None, headers: dict | None = None,
              per_method: dict | None = None, tls_version: ssl.TLSVersion | None = None) -> Running:
        server = _Server(("127.0.0.1", 0), _Handler)
        server.seen = []  # type: ignore[attr-defined]
        server.extra_headers = headers or {}  # type: ignore[attr-defined]
        server.status_for = lambda method: (per_method or {}).get(method, status)  # type: ignore[attr-defined]
        if tls is not None:
            cert_file, key_file = tmp_path / f"srv{len(started)}.pem", tmp_path / f"srv{len(started)}.key"
            cert_file.write_bytes(tls.pem())
            key_file.write_bytes(tls.key_pem())
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(cert_file, key_file)
            if tls_version is not None:
                context.minimum_version = context.maximum_version = tls_version
                context.set_ciphers("ALL:@SECLEVEL=0")
            server.socket = context.wrap_socket(server.socket, server_side=True)
        thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        thread.start()
        started.append(server)
        return Running(server.server_address[1], server)

    yield start
    for server in started:
        server.shutdown()
        server.server_close()


@pytest.fixture
def closed_port() -> int:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    return port
