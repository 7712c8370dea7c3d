"""Helpers for the source tests: a private workspace directory, 127.0.0.1 allowed, advisories."""

from __future__ import annotations

import json
import os
import pickle

import pytest
from django.core.management import call_command

from checks import services


class Pickled:
    def __reduce__(self):
        return (os.system, ("echo pwned",))


def malicious_pickle() -> bytes:
    return pickle.dumps(Pickled())  # made, never loaded


def safetensors_bytes(payload: bytes = b"\x00" * 16) -> bytes:
    header = json.dumps({"w": {"dtype": "F32", "shape": [len(payload) // 4], "data_offsets": [0, len(payload)]}})
    header_bytes = header.encode().ljust(len(header) + (-len(header)) % 8)
    return len(header_bytes).to_bytes(8, "little") + header_bytes + payload


@pytest.fixture
def workspaces(settings, tmp_path):
    """Workspaces go to a directory of the test's own (so a test can see that each run removed its own),
    and the checks may reach the test servers on 127.0.0.1 (an administrator's allow-list)."""
    root = tmp_path / "workspaces"
    root.mkdir()
    settings.MLSEC_SOURCE_WORKSPACE_DIR = str(root)
    settings.MLSEC_CHECK_ALLOWED_NETWORKS = ["127.0.0.1/32"]
    return root


@pytest.fixture
def numpy_advisory(tmp_path):
    osv = tmp_path / "osv"
    osv.mkdir()
    (osv / "GHSA-fx5c-h9f6-rv7c.json").write_text(json.dumps({
        "id": "GHSA-fx5c-h9f6-rv7c", "aliases": ["CVE-2021-34141"], "modified": "2024-01-01T00:00:00Z",
        "summary": "Incorrect comparison in numpy.core",
        "affected": [{"package": {"ecosystem": "PyPI", "name": "numpy"},
                      "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "1.22.0"}]}]}],
    }))
    call_command("import_advisories", str(osv))


def run_now(project, key):
    (run,) = services.queue_runs(project=project, keys=[key])
    return services.run_now(run)


@pytest.fixture
def rebinding_dns(monkeypatch):
    """A hostile resolver for names under `.rebind.test`: the first answer is 127.0.0.1 (allowed), every later
    one 127.0.0.2 (refused), where a trap listens on each port asked for and records who connects."""
    import socket
    import threading

    real = socket.getaddrinfo
    state = {"answers": 0, "trapped": 0, "traps": {}}

    def trap(port):
        if port in state["traps"]:
            return
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.2", port))
        listener.listen(8)
        state["traps"][port] = listener

        def accept():
            while True:
                try:
                    conn, _ = listener.accept()
                except OSError:
                    return
                state["trapped"] += 1
                conn.close()

        threading.Thread(target=accept, daemon=True).start()

    def resolve(host, port, *args, **kwargs):
        if not str(host).endswith(".rebind.test"):
            return real(host, port, *args, **kwargs)
        state["answers"] += 1
        address = "127.0.0.1" if state["answers"] == 1 else "127.0.0.2"
        if address == "127.0.0.2":
            trap(int(port))
        return real(address, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", resolve)
    yield state
    for listener in state["traps"].values():
        listener.close()
