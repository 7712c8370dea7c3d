"""Start a server as a child process on 127.0.0.1, wait until it answers, stop it cleanly.

Every server writes its output to a log file of its own; the log's tail is part of any start-up error,
and the pytest plugin (tests/servers/plugin.py) adds the logs of the servers a failed test used to its
report.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import psutil

LOOPBACK = "127.0.0.1"


class ServerStartError(RuntimeError):
    pass


def log_tail(path: Path, limit: int = 6000) -> str:
    """The end of a log file, as text (the whole file when it is short)."""
    try:
        data = Path(path).read_bytes()
    except OSError:
        return ""
    text = data[-limit:].decode("utf-8", "replace")
    return ("[...]\n" + text) if len(data) > limit else text


def isolated_env(extra: dict[str, str] | None = None, *, home: Path | None = None) -> dict[str, str]:
    """The environment of a test server: no proxy (everything is on 127.0.0.1), and the caller's additions."""
    env = {k: v for k, v in os.environ.items() if k.lower() not in ("http_proxy", "https_proxy", "all_proxy")}
    env["NO_PROXY"] = env["no_proxy"] = "127.0.0.1,localhost"
    if home is not None:
        env["HOME"] = str(home)
    env.update(extra or {})
    return env


def listening_ports(pid: int) -> set[int]:
    """TCP ports on which a process or one of its descendants listens."""
    try:
        root = psutil.Process(pid)
        processes = [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return set()
    ports = set()
    for process in processes:
        try:
            connections = process.net_connections(kind="tcp")
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
        ports.update(c.laddr.port for c in connections if c.status == psutil.CONN_LISTEN)
    return ports


def free_port(host: str = LOOPBACK) -> int:
    """A port the kernel just handed out for port 0, for a server that cannot bind port 0 itself (git
    daemon takes 0 for its default, 9418). Start such a server with a few retries: another process may
    take the port between this call and the server's bind."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        return probe.getsockname()[1]


def port_accepts(port: int, host: str = LOOPBACK) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


class ServerProcess:
    """A child process in a process group of its own, with its output in `log_path`."""

    def __init__(self, name: str, argv: Sequence[str], *, log_path: Path, env: dict[str, str] | None = None,
                 cwd: Path | None = None):
        self.name = name
        self.argv = list(argv)
        self.log_path = Path(log_path)
        self.env = env
        self.cwd = cwd
        self.process: subprocess.Popen | None = None
        self.port: int | None = None
        self.started_in: float | None = None

    def start(self, *, ready: Callable[[ServerProcess], int | None], timeout: float = 30.0) -> int:
        """Start the process and poll `ready(self)` until it returns the port the server answers on."""
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        began = time.monotonic()
        with open(self.log_path, "ab") as log:
            log.write(f"$ {' '.join(self.argv)}\n".encode())
            log.flush()
            self.process = subprocess.Popen(  # noqa: S603 - argv built by the fixtures, never from input
                self.argv, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                env=self.env, cwd=self.cwd, start_new_session=True,
            )
        deadline = began + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise self.error(f"exited with status {self.process.returncode} before it was ready")
            port = ready(self)
            if port:
                self.port = port
                self.started_in = time.monotonic() - began
                return port
            time.sleep(0.05)
        self.stop()
        raise self.error(f"was not ready within {timeout:.0f} s")

    def error(self, what: str) -> ServerStartError:
        return ServerStartError(f"{self.name} {what}; its log ({self.log_path}):\n{log_tail(self.log_path)}")

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def stop(self, timeout: float = 10.0) -> None:
        """SIGTERM to the whole process group, SIGKILL to what is left after `timeout` seconds."""
        if self.process is None:
            return
        try:
            family = [psutil.Process(self.process.pid)]
            family += family[0].children(recursive=True)
        except psutil.NoSuchProcess:
            family = []
        try:
            pgid = os.getpgid(self.process.pid)
        except ProcessLookupError:
            pgid = None
        if pgid is not None:
            try:
                os.killpg(pgid, signal.SIGTERM)
            except ProcessLookupError:
                pass
        try:
            self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            pass
        if pgid is not None:  # children (workers) that outlived their parent's shutdown
            try:
                os.killpg(pgid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        if self.process.poll() is None:
            self.process.wait(timeout=timeout)
        _wait_gone(family, timeout)


def _wait_gone(processes: list[psutil.Process], timeout: float) -> None:
    """Until every process is gone (or a zombie, which holds no socket): a killed child that still
    holds the listening socket (inherited from its parent) would keep the port taken a moment longer."""
    deadline = time.monotonic() + timeout
    for process in processes:
        while time.monotonic() < deadline:
            try:
                if process.status() == psutil.STATUS_ZOMBIE:
                    break
            except psutil.NoSuchProcess:
                break
            time.sleep(0.02)


def port_from_log(pattern: str) -> Callable[[ServerProcess], int | None]:
    """Readiness: the first match of `pattern` (one group: the port) in the log, once that port accepts."""
    compiled = re.compile(pattern)

    def ready(server: ServerProcess) -> int | None:
        match = compiled.search(log_tail(server.log_path, limit=1_000_000))
        if match and port_accepts(int(match.group(1))):
            return int(match.group(1))
        return None

    return ready


def port_of_process(server: ServerProcess) -> int | None:
    """Readiness: the single port the process tree listens on, once it accepts connections."""
    ports = listening_ports(server.process.pid)
    if len(ports) == 1:
        port = ports.pop()
        if port_accepts(port):
            return port
    return None
