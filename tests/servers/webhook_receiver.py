"""A real HTTP server on 127.0.0.1 that records every request, and fails or stalls on demand.

    webhook_receiver.url("/hooks/slack")          # http://127.0.0.1:<port>/hooks/slack
    webhook_receiver.fail_next(2, status=503)     # the next 2 requests get 503 (then 200 again)
    webhook_receiver.delay_next(1, seconds=5)     # the next request waits 5 s before answering (timeouts)
    webhook_receiver.respond_with(410, b"gone")   # every later request, until reset()
    hits = webhook_receiver.wait_for(1)           # [ReceivedRequest], within 10 s or AssertionError
    hits[0].method, hits[0].path, hits[0].headers["X-Signature"], hits[0].body, hits[0].json(), hits[0].status

Each request records the status it was answered with, so a retry test sees 503, 503, 200.
It also serves as a redirect target (an OAuth client's callback) that shows what arrived.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

from tests.servers.process import LOOPBACK

MAX_BODY = 10 * 1024 * 1024


@dataclass(frozen=True)
class ReceivedRequest:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: Message  # case-insensitive: headers["content-type"]
    body: bytes
    status: int  # what the receiver answered

    def json(self):
        return json.loads(self.body)

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")


class _Handler(BaseHTTPRequestHandler):
    server_version = "webhook-receiver"
    protocol_version = "HTTP/1.1"

    def log_message(self, format, *args):  # noqa: A002 - the base class's signature
        pass

    def _handle(self):
        receiver: WebhookReceiver = self.server.receiver
        body = self._read_body()
        if body is None:
            self.send_error(413)
            self.close_connection = True
            return
        status, reply, delay = receiver._next_answer()
        if delay:
            time.sleep(delay)
        parts = urlsplit(self.path)
        receiver._record(ReceivedRequest(
            method=self.command, path=parts.path, query=parse_qs(parts.query, keep_blank_values=True),
            headers=self.headers, body=body, status=status,
        ))
        try:
            self.send_response(status)
            self.send_header("Content-Type", "text/plain; charset=utf-8")
            self.send_header("Content-Length", str(len(reply)))
            self.end_headers()
            self.wfile.write(reply)
        except (BrokenPipeError, ConnectionResetError):  # the client gave up (a timeout test)
            self.close_connection = True

    def _read_body(self) -> bytes | None:
        """The request body (Content-Length or chunked), None when it is larger than MAX_BODY."""
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            chunks, size = [], 0
            while True:
                length = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if length == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass  # trailers
                    return b"".join(chunks)
                size += length
                if size > MAX_BODY:
                    return None
                chunks.append(self.rfile.read(length))
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY:
            return None
        return self.rfile.read(length) if length else b""

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _handle  # noqa: N815


class WebhookReceiver:
    def __init__(self):
        self.lock = threading.Lock()
        self.requests: list[ReceivedRequest] = []
        self.httpd: ThreadingHTTPServer | None = None
        self.thread: threading.Thread | None = None
        self.reset()

    @property
    def host(self) -> str:
        return LOOPBACK

    @property
    def port(self) -> int:
        return self.httpd.server_address[1]

    def url(self, path: str = "/") -> str:
        return f"http://{LOOPBACK}:{self.port}/{path.lstrip('/')}"

    def start(self) -> WebhookReceiver:
        self.httpd = ThreadingHTTPServer((LOOPBACK, 0), _Handler)
        self.httpd.daemon_threads = True
        self.httpd.receiver = self
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05},
                                       name="webhook-receiver", daemon=True)
        self.thread.start()
        return self

    def stop(self) -> None:
        if self.httpd:
            self.httpd.shutdown()
            self.httpd.server_close()

    def reset(self) -> None:
        with self.lock:
            self.requests.clear()
            self._failures = 0
            self._failure = (503, b"unavailable")
            self._delays = 0
            self._delay = 0.0
            self._default = (200, b"ok")

    def fail_next(self, count: int, status: int = 503, body: bytes = b"unavailable") -> None:
        with self.lock:
            self._failures, self._failure = count, (status, body)

    def delay_next(self, count: int, seconds: float) -> None:
        with self.lock:
            self._delays, self._delay = count, seconds

    def respond_with(self, status: int, body: bytes = b"") -> None:
        with self.lock:
            self._default = (status, body)

    def _next_answer(self) -> tuple[int, bytes, float]:
        with self.lock:
            delay = 0.0
            if self._delays:
                self._delays -= 1
                delay = self._delay
            if self._failures:
                self._failures -= 1
                return (*self._failure, delay)
            return (*self._default, delay)

    def _record(self, request: ReceivedRequest) -> None:
        with self.lock:
            self.requests.append(request)

    def wait_for(self, count: int, timeout: float = 10.0) -> list[ReceivedRequest]:
        deadline = time.monotonic() + timeout
        while True:
            with self.lock:
                if len(self.requests) >= count:
                    return list(self.requests)
            if time.monotonic() > deadline:
                raise AssertionError(f"expected {count} request(s) within {timeout} s, got {len(self.requests)}")
            time.sleep(0.02)

    def server_logs(self) -> list:
        return []
