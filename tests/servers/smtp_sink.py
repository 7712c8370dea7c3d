"""A real SMTP server on 127.0.0.1 (aiosmtpd) that keeps what it receives, and can refuse on demand.

    smtp_sink.host, smtp_sink.port
    smtp_sink.configure_django(settings)          # EMAIL_BACKEND smtp, EMAIL_HOST/PORT to the sink
    smtp_sink.fail_next(2)                        # the next 2 messages get "451 4.3.0" (a temporary outage)
    mails = smtp_sink.wait_for(1)                 # [ReceivedMail], within 10 s or AssertionError
    mails[0].message["Subject"], mails[0].rcpt_tos, mails[0].body

It runs in a thread of the test process, so processes the test starts (a Celery worker) reach it by TCP
and the test reads the messages directly.
"""

from __future__ import annotations

import email
import email.policy
import threading
import time
from dataclasses import dataclass
from email.message import EmailMessage

from tests.servers.process import LOOPBACK


@dataclass(frozen=True)
class ReceivedMail:
    mail_from: str
    rcpt_tos: tuple[str, ...]
    raw: bytes
    message: EmailMessage

    @property
    def subject(self) -> str:
        return str(self.message["Subject"] or "")

    @property
    def body(self) -> str:
        """The text/plain part (the whole body of a single-part message)."""
        part = self.message.get_body(preferencelist=("plain", "html"))
        return part.get_content() if part is not None else ""


class _Handler:
    def __init__(self, sink: SmtpSink):
        self.sink = sink

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's hook name
        with self.sink.lock:
            if self.sink.refusals:
                self.sink.refusals -= 1
                self.sink.refused += 1
                return self.sink.refusal_reply
            raw = envelope.original_content or envelope.content
            message = email.message_from_bytes(raw, policy=email.policy.default)
            self.sink.messages.append(ReceivedMail(
                mail_from=envelope.mail_from, rcpt_tos=tuple(envelope.rcpt_tos), raw=raw, message=message,
            ))
        return "250 Message accepted for delivery"


class SmtpSink:
    def __init__(self):
        self.lock = threading.Lock()
        self.messages: list[ReceivedMail] = []
        self.refusals = 0
        self.refused = 0
        self.refusal_reply = "451 4.3.0 Temporary failure, try again later"
        self.controller = None

    @property
    def host(self) -> str:
        return LOOPBACK

    @property
    def port(self) -> int:
        return self.controller.server.sockets[0].getsockname()[1]

    def start(self) -> SmtpSink:
        from aiosmtpd.controller import Controller

        class EphemeralPortController(Controller):
            """Binds port 0; its start-up probe must then connect to the port the kernel chose."""

            def _trigger_server(self):
                self.port = self.server.sockets[0].getsockname()[1]
                super()._trigger_server()

        self.controller = EphemeralPortController(_Handler(self), hostname=LOOPBACK, port=0, ready_timeout=10,
                                     data_size_limit=20 * 1024 * 1024)
        self.controller.start()
        return self

    def stop(self) -> None:
        if self.controller:
            self.controller.stop()

    def reset(self) -> None:
        with self.lock:
            self.messages.clear()
            self.refusals = self.refused = 0

    def fail_next(self, count: int, reply: str = "451 4.3.0 Temporary failure, try again later") -> None:
        """Refuse the next `count` messages at DATA with `reply` (4xx: temporary, 5xx: permanent)."""
        with self.lock:
            self.refusals = count
            self.refusal_reply = reply

    def wait_for(self, count: int, timeout: float = 10.0) -> list[ReceivedMail]:
        """At least `count` messages, waiting up to `timeout` seconds for them."""
        deadline = time.monotonic() + timeout
        while True:
            with self.lock:
                if len(self.messages) >= count:
                    return list(self.messages)
            if time.monotonic() > deadline:
                raise AssertionError(f"expected {count} mail(s) within {timeout} s, got {len(self.messages)}")
            time.sleep(0.02)

    def configure_django(self, settings) -> None:
        """Point Django's mail at the sink (pass pytest-django's `settings` fixture)."""
        settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
        settings.EMAIL_HOST = self.host
        settings.EMAIL_PORT = self.port
        settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
        settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
        settings.EMAIL_TIMEOUT = 10

    def environ(self) -> dict[str, str]:
        """The same for a process the test starts (mlsec_portal/settings/base.py reads these variables;
        settings/test.py sets the locmem backend, so a worker needs a settings module without it)."""
        return {"DJANGO_EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
                "DJANGO_EMAIL_HOST": self.host, "DJANGO_EMAIL_PORT": str(self.port)}

    def server_logs(self) -> list:
        return []
