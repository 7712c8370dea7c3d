"""Start-up and stop times of each test server: `.venv/bin/python -m tests.servers.measure [--runs N]`.

A benchmark command, not a test: the numbers go to tests/servers/README.md. Tools are built first
(outside the timing); each server is then started, asked one real question, and stopped, N times.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import requests


def _git(tmp: Path):
    from tests.servers.git_daemon import GitDaemon

    daemon = GitDaemon(tmp / "git", tmp / "git.log").start()
    return daemon, lambda: daemon.create_repo(files={"a": "a"})


def _s3(tmp: Path):
    from tests.servers.s3_server import S3Server

    server = S3Server(tmp / "s3.log").start()
    return server, lambda: server.create_bucket().put("k", b"v")


def _mlflow(tmp: Path):
    from tests.servers.mlflow_server import MlflowServer

    server = MlflowServer(tmp / "mlflow", tmp / "mlflow.log").start()
    return server, lambda: server.register_model_version("m", {"model.pkl": b"x"})


def _oidc(tmp: Path):
    from tests.servers.oidc_provider import OidcProvider

    provider = OidcProvider(tmp / "oidc", tmp / "oidc.log").start()
    return provider, provider.discovery


def _smtp(tmp: Path):
    import smtplib

    from tests.servers.smtp_sink import SmtpSink

    sink = SmtpSink().start()

    def send():
        with smtplib.SMTP(sink.host, sink.port, timeout=10) as client:
            client.sendmail("a@example.test", ["b@example.test"], b"Subject: x\r\n\r\nx\r\n")

    return sink, send


def _webhook(tmp: Path):
    from tests.servers.webhook_receiver import WebhookReceiver

    receiver = WebhookReceiver().start()
    return receiver, lambda: requests.post(receiver.url("/h"), data=b"x", timeout=10)


SERVERS = {"git_daemon": _git, "s3_server": _s3, "mlflow_server": _mlflow, "oidc_provider": _oidc,
           "smtp_sink": _smtp, "webhook_receiver": _webhook}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("servers", nargs="*", default=list(SERVERS))
    args = parser.parse_args()

    from tests.servers.cache import mlflow_python, oidc_provider_dir

    for name, build in (("oidc-provider", oidc_provider_dir), ("mlflow-server", mlflow_python)):
        began = time.monotonic()
        build()
        print(f"tool {name}: ready in {time.monotonic() - began:.1f} s (0 when cached)")

    print(f"{'server':18} {'start (median)':>15} {'start (max)':>12} {'first call':>11} {'stop':>7}")
    for name in args.servers:
        starts, calls, stops = [], [], []
        for _ in range(args.runs):
            with tempfile.TemporaryDirectory() as tmp:
                began = time.monotonic()
                server, call = SERVERS[name](Path(tmp))
                starts.append(time.monotonic() - began)
                began = time.monotonic()
                call()
                calls.append(time.monotonic() - began)
                began = time.monotonic()
                server.stop()
                stops.append(time.monotonic() - began)
        print(f"{name:18} {statistics.median(starts):>13.2f} s {max(starts):>10.2f} s "
              f"{statistics.median(calls):>9.2f} s {statistics.median(stops):>5.2f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
