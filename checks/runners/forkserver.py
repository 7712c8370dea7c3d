"""A warm start for the sandbox: one interpreter per worker process that has imported the scanners
and forks a fresh child for each sandboxed call.

A sandboxed check used to start a new interpreter and import its scanner on every run: modelscan,
picklescan and fickling take ~0.3 s of CPU to import, detect-secrets ~0.2 s, next to milliseconds of
scanning a typical project. Under the load test those imports were most of the check workers' CPU,
and they came in bursts on the cores the web shares (docs/performance.md).

The fork server is started exactly like a sandbox child was (``python -I``, a new session, an empty
private directory, :func:`checks.runners.sandbox._child_env`: no key, no database URL in its
environment or in ``/proc/<pid>/environ``). It imports :data:`PRELOAD` — libraries only; it never
opens a team's file, never unpickles anything but the parent's fixed requests — and refuses to serve
if an import left a second thread running (a fork copies only the calling thread, and a lock another
thread held would stay locked in the child).

For each call the parent sends, over a ``SOCK_SEQPACKET`` socket pair, the limits, the call's empty
private directory and three pipe ends (``SCM_RIGHTS``). The server forks; the child closes the
server's socket, starts a session of its own (its process group is what the parent kills), moves its
standard streams onto the pipes, enters the directory, sets ``RLIMIT_CPU`` (a fork starts at zero
CPU time), ``RLIMIT_AS`` (the address space it was born with plus the call's memory), ``RLIMIT_CORE``
and ``RLIMIT_FSIZE``, and only then reads the pickled call: from there it is
:func:`checks.runners.sandbox.child_main`, the same code as a spawned child. The server reports the
child's pid, reaps it and reports its exit status, so the parent sees a ``subprocess.Popen``-like
process (:class:`ForkedChild`) and the rest of the sandbox (the answer as JSON only, at most
``MAX_OUTPUT``, the wall-clock kill of the group) is unchanged.

Any fault of the server (it cannot start, refuses, dies, answers out of turn) discards it and the
call runs in a spawned interpreter as before; ``MLSEC_SANDBOX_FORKSERVER=0`` always spawns.
"""

from __future__ import annotations

import atexit
import importlib
import json
import logging
import os
import resource
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

log = logging.getLogger(__name__)

#: What the fork server imports before it serves: the parsers of team files the runners use.
PRELOAD = (
    "checks.runners.artifact_scan",
    "checks.runners.dataset_sensitive_data",
    "checks.runners.dependency_vulnerabilities",
    "checks.runners.model_serialization",
    "checks.runners.source_secrets",
    "checks.runners.source_static_analysis",
    "checks.runners.pickle_scan",
    "picklescan.scanner",
    "modelscan.scanners",
    "modelscan.modelscan",
    "modelscan.model",
    "modelscan.settings",
    "modelscan.tools.picklescanner",
    "fickling.analysis",
    "fickling.fickle",
    "detect_secrets",
    "detect_secrets.settings",
    "detect_secrets.core.plugins.util",
    "bandit.core.config",
    "bandit.core.constants",
    "bandit.core.manager",  # and, through its extension loader, every bandit plugin
)
# Not preloaded: pyarrow starts jemalloc's background thread on import (the server would refuse to
# fork); a Parquet file's check imports it in its own child, as before.

ENABLED_ENV = "MLSEC_SANDBOX_FORKSERVER"
SERVER_DIR_PREFIX = "mlsec-sandbox-server-"
START_TIMEOUT_S = 60.0  # the preload, once per server
FORK_TIMEOUT_S = 5.0  # a fork's pid; a server slower than that (stopped, say) is discarded and the call spawns
RETRY_AFTER_S = 300.0  # a server that would not start is not tried again for this long: calls spawn
#: A server is replaced after this many children or seconds: forks share the server's memory layout
#: (ASLR) and stack canary, so what one child could learn of it stays true only for a bounded number
#: of later children.
MAX_CHILDREN = 100
MAX_AGE_S = 600.0
_BOOT = (
    "import resource, sys\n"
    "resource.setrlimit(resource.RLIMIT_CORE, (0, 0))\n"
    "sys.path.insert(0, sys.argv[1])\n"
    "from checks.runners.forkserver import serve\n"
    "serve(int(sys.argv[2]))\n"
)


def enabled() -> bool:
    return os.environ.get(ENABLED_ENV, "1").strip().lower() not in ("0", "false", "no", "off")


class ForkServerError(RuntimeError):
    """The fork server could not start a child; the caller spawns one instead."""


# --- inside the fork server -----------------------------------------------------------------------

def _threads() -> int:
    try:
        return len(os.listdir("/proc/self/task"))
    except OSError:
        return threading.active_count()


def make_undumpable() -> bool:
    """PR_SET_DUMPABLE 0: no process of our user may ptrace this one or read its memory through /proc
    (a child that a hostile file took over must not plant code in the server its successors are
    forked from); the children inherit it."""
    import ctypes

    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return libc.prctl(4, 0, 0, 0, 0) == 0 and libc.prctl(3, 0, 0, 0, 0) == 0  # SET_DUMPABLE, GET_DUMPABLE
    except (OSError, AttributeError):
        return False


def _warm() -> None:
    for name in PRELOAD:
        importlib.import_module(name)
    from detect_secrets.core.plugins.util import get_mapping_from_secret_type_to_class

    get_mapping_from_secret_type_to_class()  # imports every detect-secrets plugin


def serve(fd: int) -> None:
    """The server's loop: one request, one fork, its pid, its exit status; ends when the parent goes."""
    sock = socket.socket(fileno=fd)
    try:
        _warm()
    except Exception as exc:  # noqa: BLE001 - the parent is told, and spawns instead
        sock.send(json.dumps({"refused": f"preload failed ({type(exc).__name__})"}).encode())
        return
    if _threads() != 1:
        sock.send(json.dumps({"refused": f"{_threads()} threads after the preload"}).encode())
        return
    if not make_undumpable():
        sock.send(b'{"refused": "cannot make the server undumpable"}')
        return
    sock.send(b'{"ready": true}')
    while True:
        try:
            message, fds, _flags, _addr = socket.recv_fds(sock, 4096, 3)
        except OSError:
            return
        if not message:  # the parent closed its end
            home = os.environ.get("HOME", "")
            if os.path.basename(home).startswith(SERVER_DIR_PREFIX):  # this server's own directory, nothing else
                import shutil

                shutil.rmtree(home, ignore_errors=True)
            return
        try:
            request = json.loads(message)
            limits = (int(request["memory"]), int(request["cpu"]), int(request["fsize"]), str(request["workdir"]))
        except (ValueError, KeyError, TypeError):
            limits = None
        if limits is None or len(fds) != 3:
            for extra in fds:
                os.close(extra)
            sock.send(b'{"error": "bad request"}')
            continue
        pid = os.fork()
        if pid == 0:  # the child: never returns into this loop
            try:
                sock.close()
                _become_child(*limits, fds)
            finally:
                os._exit(70)
        for passed in fds:
            os.close(passed)
        sock.send(json.dumps({"pid": pid}).encode())
        _pid, status = os.waitpid(pid, 0)
        sock.send(json.dumps({"returncode": os.waitstatus_to_exitcode(status)}).encode())


def _address_space() -> int:
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmSize:"):
                return int(line.split()[1]) * 1024
    raise OSError("no VmSize in /proc/self/status")


def _become_child(memory: int, cpu: int, fsize: int, workdir: str, fds: list[int]) -> None:
    from .sandbox import child_main

    os.setsid()
    for target, fd in enumerate(fds):
        os.dup2(fd, target)
    for fd in fds:
        if fd > 2:
            os.close(fd)
    os.chdir(workdir)
    os.environ["HOME"] = os.environ["TMPDIR"] = workdir
    tempfile.tempdir = None
    address_space = _address_space() + memory
    for kind, soft, hard in ((resource.RLIMIT_AS, address_space, address_space),
                             (resource.RLIMIT_CPU, cpu, cpu + 2), (resource.RLIMIT_CORE, 0, 0),
                             (resource.RLIMIT_FSIZE, fsize, fsize)):
        ceiling = resource.getrlimit(kind)[1]
        if ceiling != resource.RLIM_INFINITY:
            soft, hard = min(soft, ceiling), min(hard, ceiling)
        resource.setrlimit(kind, (soft, hard))
    child_main()
    sys.stderr.flush()
    os._exit(0)


# --- in the worker ----------------------------------------------------------------------------------

def _kill_child(pid: int) -> None:
    for kill in (os.killpg, os.kill):  # its group (once it has made one), and itself
        try:
            kill(pid, signal.SIGKILL)
        except OSError:
            pass


class ForkedChild:
    """The part of ``subprocess.Popen`` the sandbox uses, for a child of the fork server."""

    def __init__(self, server: ForkServer, pid: int, stdin, stdout, stderr) -> None:
        self.server, self.pid, self.returncode = server, pid, None
        self.stdin, self.stdout, self.stderr = stdin, stdout, stderr
        self._reading = threading.Lock()  # the sandbox waits in one thread and may kill from another

    def poll(self) -> int | None:
        if self.returncode is None:
            try:
                self._receive(0)
            except subprocess.TimeoutExpired:
                pass
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        if self.returncode is None:
            self._receive(timeout)
        return self.returncode

    def _receive(self, timeout: float | None) -> None:
        got = self._reading.acquire(blocking=False) if timeout == 0 else self._reading.acquire(
            timeout=-1 if timeout is None else timeout)
        if not got:
            raise subprocess.TimeoutExpired(f"child {self.pid}", timeout or 0)
        try:
            if self.returncode is None:  # else another thread received it meanwhile
                self._read(timeout)
        finally:
            self._reading.release()

    def _read(self, timeout: float | None) -> None:
        answer = self.server.receive(timeout, f"child {self.pid}")
        if answer is None or not isinstance(answer.get("returncode"), int):
            # The server is gone (or answered out of turn): no one will report this child, which may
            # still run (it may be what killed the server). Kill its group now, and call it killed.
            self.server.discard()
            _kill_child(self.pid)
            self.returncode = -signal.SIGKILL
            return
        self.returncode = answer["returncode"]


class ForkServer:
    """The worker process's fork server (one per process: :func:`acquire`)."""

    def __init__(self, root: str, env: dict[str, str]) -> None:
        self.owner, self.children, self.born = os.getpid(), 0, time.monotonic()
        self.workdir = tempfile.mkdtemp(prefix=SERVER_DIR_PREFIX)
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        self.sock, self.broken = ours, False
        env = {**env, "HOME": self.workdir, "TMPDIR": self.workdir}
        try:
            self.proc = subprocess.Popen(  # noqa: S603 - our interpreter, a fixed program
                [sys.executable, "-I", "-c", _BOOT, root, str(theirs.fileno())], stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=self.workdir, env=env,
                start_new_session=True, close_fds=True, pass_fds=(theirs.fileno(),))
        except OSError as exc:
            ours.close()
            raise ForkServerError(f"the fork server could not be started ({type(exc).__name__})") from None
        finally:
            theirs.close()
        try:
            ready = self.receive(START_TIMEOUT_S, "start")
        except subprocess.TimeoutExpired:
            ready = {"refused": f"no answer within {START_TIMEOUT_S:g} s"}
        except BaseException:
            self.discard()
            raise
        if not (ready and ready.get("ready") is True):
            self.discard()
            reason = ready.get("refused", "no answer") if isinstance(ready, dict) else "no answer"
            raise ForkServerError(f"the fork server did not start: {str(reason)[:120]}")

    def receive(self, timeout: float | None, what: str) -> dict | None:
        """The server's next message; None when it is gone (then it is discarded)."""
        self.sock.settimeout(timeout)
        try:
            message = self.sock.recv(4096)
        except (TimeoutError, BlockingIOError):
            raise subprocess.TimeoutExpired(what, timeout or 0) from None
        except OSError:
            message = b""
        if not message:
            self.discard()
            return None
        try:
            answer = json.loads(message)
        except ValueError:
            answer = None
        if not isinstance(answer, dict):
            self.discard()
            return None
        return answer

    def start(self, *, memory: int, cpu: int, fsize: int, workdir: str) -> ForkedChild:
        """A child with these limits in ``workdir``, its standard streams on new pipes."""
        pipes = [os.pipe() for _ in range(3)]  # stdin, stdout, stderr; not inherited by anything we spawn
        theirs = [pipes[0][0], pipes[1][1], pipes[2][1]]
        ours = [pipes[0][1], pipes[1][0], pipes[2][0]]
        answer = None
        try:
            request = json.dumps({"memory": memory, "cpu": cpu, "fsize": fsize, "workdir": workdir}).encode()
            self.children += 1
            try:
                socket.send_fds(self.sock, [request], theirs)
                answer = self.receive(FORK_TIMEOUT_S, "fork")
            except (OSError, subprocess.TimeoutExpired):
                answer = None
            if not (answer and isinstance(answer.get("pid"), int) and answer["pid"] > 1):
                raise ForkServerError("the fork server did not start a child")
            child = ForkedChild(self, answer["pid"], os.fdopen(ours[0], "wb"), os.fdopen(ours[1], "rb"),
                                os.fdopen(ours[2], "rb"))
        except BaseException:
            # Whatever interrupted the exchange (a Celery soft time limit, say), the server may still owe
            # this child's pid and exit status: the next call must never read them as its own.
            self.discard()
            if answer and isinstance(answer.get("pid"), int) and answer["pid"] > 1:
                _kill_child(answer["pid"])
            for fd in ours:
                try:
                    os.close(fd)
                except OSError:
                    pass
            raise
        finally:
            for fd in theirs:
                os.close(fd)
        return child

    def worn(self) -> bool:
        return self.children >= MAX_CHILDREN or time.monotonic() - self.born > MAX_AGE_S

    def discard(self) -> None:
        """Stop the server (and any child it still has: they share no group, so each is killed by
        the sandbox's own ``killpg``); the next call starts a new one."""
        self.broken = True
        try:
            self.sock.close()
        except OSError:
            pass
        proc = getattr(self, "proc", None)
        if proc is not None:
            from .sandbox import _kill

            _kill(proc)
        import shutil

        shutil.rmtree(self.workdir, ignore_errors=True)


_server: ForkServer | None = None
_lock = threading.Lock()
_retry_at = 0.0


def _after_fork_in_child() -> None:
    """A process forked from a worker (Celery's pool) starts without a server and with a free lock,
    whatever another thread of its parent was doing at the fork; the parent's server stays the parent's."""
    global _server, _lock, _retry_at
    _server, _lock, _retry_at = None, threading.Lock(), 0.0


os.register_at_fork(after_in_child=_after_fork_in_child)


class _Held:
    """The process's fork server for one call, or None; releases the lock when the call is done."""

    def __init__(self, server: ForkServer | None) -> None:
        self.server = server

    def __enter__(self) -> ForkServer | None:
        return self.server

    def __exit__(self, *exc) -> None:
        if self.server is not None:
            _lock.release()


def acquire(root: str, env: dict[str, str]) -> _Held:
    """This process's fork server, started on first use, for one call at a time: a second thread
    calling meanwhile, a server that will not start, or ``MLSEC_SANDBOX_FORKSERVER=0`` get None
    (the caller spawns). A server inherited through a fork of the worker is not used."""
    global _server, _retry_at
    if not enabled() or time.monotonic() < _retry_at or not _lock.acquire(blocking=False):
        return _Held(None)
    try:
        if _server is not None and (_server.broken or _server.owner != os.getpid() or _server.worn()):
            if _server.owner == os.getpid():
                _server.discard()
            _server = None
        if _server is None:
            _server = ForkServer(root, env)
        return _Held(_server)
    except ForkServerError as exc:
        _server, _retry_at = None, time.monotonic() + RETRY_AFTER_S
        log.warning("sandboxed calls spawn a fresh interpreter for %g s: %s", RETRY_AFTER_S, exc)
        _lock.release()
        return _Held(None)
    except BaseException:
        _lock.release()
        raise


def shutdown() -> None:
    """Stop this process's fork server and forget a failed start (at exit; tests)."""
    global _server, _retry_at
    held = _lock.acquire(timeout=5)  # at exit a thread may still be in a call: do not wait for it forever
    try:
        if _server is not None and _server.owner == os.getpid():
            _server.discard()
        _server, _retry_at = None, 0.0
    finally:
        if held:
            _lock.release()


atexit.register(shutdown)
