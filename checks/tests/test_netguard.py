"""No SSRF, no slow-drip hold: every outbound connection of the checks goes through the guard.

The guard's own names are imported inside the tests that use them, so that the behaviour tests
(which only run checks) also run, and fail, against code that has no guard.
The servers here are real sockets on 127.0.0.1 (and 127.0.0.2, which Linux routes to the loopback
interface too): a test asserts on what they *received*, so "nothing was sent" is observed, not
assumed.
"""

from __future__ import annotations

import ipaddress
import socket
import threading
import time
from collections.abc import Iterator

import pytest

from checks.runners import run_check

from .conftest import make_ctx

ENDPOINT_CHECKS = ("endpoint-authentication", "endpoint-transport")


class Listener:
    """A TCP server that records every connection and answers with a scripted behaviour."""

    def __init__(self, host: str = "127.0.0.1", answer: bytes | None = None, drip: bytes | None = None,
                 drip_every: float = 0.2) -> None:
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((host, 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.connections: list[bytes] = []
        self.answer, self.drip, self.drip_every = answer, drip, drip_every
        self.stopped = threading.Event()
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        self.sock.settimeout(0.1)
        while not self.stopped.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            threading.Thread(target=self._handle, args=(conn,), daemon=True).start()

    def _handle(self, conn: socket.socket) -> None:
        conn.settimeout(0.5)
        try:
            received = conn.recv(65536)
        except OSError:
            received = b""
        self.connections.append(received)
        try:
            if self.answer is not None:
                conn.sendall(self.answer)
            if self.drip is not None:
                conn.sendall(self.drip)
                while not self.stopped.is_set():  # one byte at a time, forever
                    conn.sendall(b"x")
                    time.sleep(self.drip_every)
        except OSError:
            pass
        finally:
            conn.close()

    def close(self) -> None:
        self.stopped.set()
        self.sock.close()


@pytest.fixture
def listen() -> Iterator:
    started: list[Listener] = []

    def start(**kwargs) -> Listener:
        started.append(Listener(**kwargs))
        return started[-1]

    yield start
    for listener in started:
        listener.close()


HTTP_401 = b"HTTP/1.1 401 Unauthorized\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"


@pytest.mark.parametrize("key", ENDPOINT_CHECKS)
def test_an_endpoint_check_against_loopback_without_the_allow_list_ends_as_error_having_sent_nothing(
        tmp_path, listen, key):
    server = listen(answer=HTTP_401)
    result = run_check(key, make_ctx(tmp_path, endpoint_url=f"https://127.0.0.1:{server.port}/v1",
                                     allowed_networks=[], timeout_s=3))
    assert result.status == "error"
    assert "could not connect" in result.summary
    time.sleep(0.2)
    assert server.connections == []


@pytest.mark.parametrize("spelling", ["2130706433", "0x7f000001", "0177.0.0.1", "127.1", "[::ffff:127.0.0.1]",
                                      "localhost"])
def test_decimal_hex_octal_and_ipv4_mapped_spellings_of_loopback_are_refused(tmp_path, listen, spelling):
    server = listen(answer=HTTP_401)
    result = run_check("endpoint-authentication", make_ctx(
        tmp_path, endpoint_url=f"http://{spelling}:{server.port}/", allowed_networks=[], timeout_s=3))
    assert result.status == "error" and "could not connect" in result.summary
    time.sleep(0.2)
    assert server.connections == []


@pytest.mark.parametrize("address, reason", [
    ("127.0.0.1", "loopback"), ("::1", "loopback"), ("10.1.2.3", "private"), ("172.16.0.9", "private"),
    ("192.168.1.1", "private"), ("169.254.169.254", "cloud metadata service"), ("169.254.10.10", "link-local"),
    ("fe80::1", "link-local"), ("fc00::1", "private"), ("fd00:ec2::254", "cloud metadata service"),
    ("224.0.0.1", "multicast"), ("ff02::1", "multicast"), ("0.0.0.0", "unspecified"), ("::", "unspecified"),
    ("::ffff:127.0.0.1", "loopback"), ("::ffff:10.0.0.1", "private"), ("::ffff:169.254.169.254", "cloud metadata service"),
    ("2002:7f00:1::", "loopback"), ("64:ff9b::a00:1", "private"), ("::127.0.0.1", "loopback"),
    ("2001::1", "tunnelled IPv6 address"), ("100.64.0.1", "not a public address"),
    ("100.100.100.200", "cloud metadata service"), ("240.0.0.1", "private"), ("2001:db8::1", "private"),
])
def test_every_internal_address_form_is_refused(address, reason):
    from checks.runners.netguard import refusal

    assert refusal(address) == reason


@pytest.mark.parametrize("address", ["8.8.8.8", "1.1.1.1", "2606:4700:4700::1111", "::ffff:8.8.8.8"])
def test_public_addresses_are_not_refused(address):
    from checks.runners.netguard import refusal

    assert refusal(address) is None


def test_the_allow_list_admits_exactly_the_networks_an_administrator_names():
    from checks.runners import netguard

    refusal = netguard.refusal
    allowed = netguard.parse_networks(["10.20.0.0/16", "127.0.0.1"])
    assert refusal("10.20.5.5", allowed) is None and refusal("::ffff:10.20.5.5", allowed) is None
    assert refusal("127.0.0.1", allowed) is None
    assert refusal("10.21.0.1", allowed) == "private" and refusal("127.0.0.2", allowed) == "loopback"
    with pytest.raises(ValueError, match="not a network"):
        netguard.parse_networks(["10.0.0.0/33"])


def test_the_check_connects_to_the_address_it_vetted_and_never_resolves_twice(tmp_path, listen, monkeypatch):
    """A rebinding resolver answers 127.0.0.1 (allowed) first and 127.0.0.2 (refused) afterwards."""
    from checks.runners import netguard

    good, evil = listen(answer=HTTP_401), listen(host="127.0.0.2", answer=b"HTTP/1.1 200 OK\r\n\r\n")
    real = socket.getaddrinfo
    calls = []

    def rebinding(host, port, *args, **kwargs):
        calls.append(host)
        target = "127.0.0.1" if len(calls) == 1 else "127.0.0.2"
        return real(target, port, *args, **kwargs) if host == "rebind.example" else real(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", rebinding)
    answer = netguard.request(f"http://rebind.example:{good.port}/", allowed=netguard.parse_networks(["127.0.0.1/32"]),
                              timeout=3)
    assert answer.status == 401 and calls == ["rebind.example"]
    assert len(good.connections) == 1 and b"Host: rebind.example" in good.connections[0]
    assert evil.connections == []


def test_a_redirect_to_a_refused_address_is_not_followed(listen):
    from checks.runners import netguard

    inside = listen(host="127.0.0.2", answer=b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
    redirect = f"HTTP/1.1 302 Found\r\nLocation: http://127.0.0.2:{inside.port}/admin\r\nContent-Length: 0\r\n\r\n"
    outside = listen(answer=redirect.encode())
    with pytest.raises(netguard.AddressRefused):
        netguard.request(f"http://127.0.0.1:{outside.port}/", allowed=netguard.parse_networks(["127.0.0.1/32"]),
                         timeout=3, follow_redirects=5)
    assert len(outside.connections) == 1 and inside.connections == []


def test_the_authentication_check_never_follows_a_redirect(tmp_path, listen):
    inside = listen(host="127.0.0.2", answer=HTTP_401)
    redirect = f"HTTP/1.1 302 Found\r\nLocation: http://127.0.0.2:{inside.port}/login\r\nContent-Length: 0\r\n\r\n"
    outside = listen(answer=redirect.encode())
    result = run_check("endpoint-authentication", make_ctx(
        tmp_path, endpoint_url=f"http://127.0.0.1:{outside.port}/", allowed_networks=["127.0.0.0/8"], timeout_s=3))
    assert result.status == "passed" and result.data["get"]["redirect_host"] == "127.0.0.2"
    assert inside.connections == []


def test_only_get_and_head_can_be_sent(listen):
    from checks.runners import netguard

    server = listen(answer=HTTP_401)
    allowed = netguard.parse_networks(["127.0.0.1/32"])
    for method in ("POST", "PUT", "DELETE", "PATCH", "OPTIONS"):
        with pytest.raises(netguard.MethodRefused):
            netguard.request(f"http://127.0.0.1:{server.port}/", method, allowed=allowed)
    resolved = netguard.resolve_allowed("127.0.0.1", server.port, allowed)
    connection = netguard.PinnedHTTPConnection(resolved, netguard.Deadline(3))
    with pytest.raises(netguard.MethodRefused):
        connection.request("POST", "/", body=b"{}")
    connection.close()
    assert netguard.request(f"http://127.0.0.1:{server.port}/", "HEAD", allowed=allowed).status == 401
    time.sleep(0.2)
    assert [c.split(b" ", 1)[0] for c in server.connections] == [b"HEAD"]


def test_errors_read_the_same_for_closed_silent_and_non_http_ports(tmp_path, listen, closed_port):
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(5)  # accepts, never answers
    ssh = listen(answer=b"SSH-2.0-OpenSSH_9.6\r\n")
    summaries = set()
    try:
        for port in (closed_port, silent.getsockname()[1], ssh.port):
            result = run_check("endpoint-authentication", make_ctx(
                tmp_path, endpoint_url=f"http://127.0.0.1:{port}/", timeout_s=1))
            assert result.status == "error"
            summaries.add((result.summary, tuple(f.detail for f in result.findings)))
    finally:
        silent.close()
    assert len(summaries) == 1, summaries
    assert "could not connect" in next(iter(summaries))[0]


def _finishes_within(seconds: float, function) -> tuple[bool, object]:
    box: list = []
    thread = threading.Thread(target=lambda: box.append(function()), daemon=True)
    started = time.monotonic()
    thread.start()
    thread.join(seconds)
    return (not thread.is_alive(), box[0] if box else None, time.monotonic() - started)


@pytest.mark.parametrize("key, scheme", [("endpoint-authentication", "http"), ("endpoint-transport", "https")])
def test_a_slow_drip_server_cannot_hold_an_endpoint_check_past_its_deadline(tmp_path, listen, key, scheme):
    # The answer never completes: one byte every 0.2 s resets any per-read timeout forever.
    drip = listen(drip=b"HTTP/1.1 200 OK\r\nX-Slow: " if scheme == "http" else b"\x16\x03\x03", drip_every=0.2)
    ctx = make_ctx(tmp_path, endpoint_url=f"{scheme}://127.0.0.1:{drip.port}/", timeout_s=1.5)
    finished, result, elapsed = _finishes_within(20, lambda: run_check(key, ctx))
    drip.close()
    assert finished, "the check was still waiting for the slow server after 20 s"
    assert result.status == "error" and "could not connect" in result.summary
    assert elapsed < 3 * 1.5 + 2  # at most three exchanges (transport: verify, read, legacy), each bounded


def test_a_deadline_bounds_a_whole_exchange_not_each_read(listen):
    from checks.runners import netguard

    drip = listen(drip=b"HTTP/1.1 200 OK\r\nX-Slow: ", drip_every=0.1)
    started = time.monotonic()
    with pytest.raises(netguard.GuardError) as caught:
        netguard.request(f"http://127.0.0.1:{drip.port}/", allowed=[ipaddress.ip_network("127.0.0.1/32")],
                         timeout=1)
    assert time.monotonic() - started < 2.5
    assert isinstance(caught.value, netguard.DeadlineExceeded)


def test_a_projects_endpoint_check_without_the_allow_list_ends_as_error_having_sent_nothing(org, settings, listen):
    from checks import services

    settings.MLSEC_CHECK_ALLOWED_NETWORKS = []  # production's default
    server = listen(answer=HTTP_401)
    org.project.check_targets = {"endpoint_url": f"https://127.0.0.1:{server.port}/predict"}
    org.project.save()
    for key in ENDPOINT_CHECKS:
        (run,) = services.queue_runs(project=org.project, keys=[key])
        run = services.run_now(run)
        assert run.status == "error" and "could not connect" in run.summary
    time.sleep(0.2)
    assert server.connections == []
