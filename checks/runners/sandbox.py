"""Run untrusted-file parsing in a child process with memory and CPU limits.

A team's files are hostile input to the parsers the checks use (pickle scanners, CSV, Parquet and
JSON readers, detect-secrets, bandit): a 1 MB archive can hold a gigabyte of opcodes, a parser
can loop. Whatever happens in the child, the worker itself keeps its memory, its CPU and its
other jobs. Two ways in:

* a runner class sets ``sandbox = SandboxLimits(...)`` and :func:`checks.runners.run_check`
  executes its ``run`` here (:func:`run_check_sandboxed`);
* :func:`run_sandboxed` runs one importable function, for a runner that parses in the sandbox
  and decides outside it (``dependency-vulnerabilities`` parses files there and matches the
  advisories, which live in the database, in the worker).

The child is a fresh interpreter (``python -I``: no user site, no ``PYTHON*`` variables, no
current directory on ``sys.path``) started in a new session with an empty private working
directory and an environment without the worker's secrets. Before it imports anything it sets
``RLIMIT_AS`` (address space), ``RLIMIT_CPU`` (CPU seconds; the soft limit raises
:class:`CpuLimitExceeded` inside the child, the hard one kills it), ``RLIMIT_CORE`` 0 and
``RLIMIT_FSIZE``. The parent sends the call pickled (parent → child is the trusted direction)
and reads the answer as JSON only, at most :data:`MAX_OUTPUT` bytes: a child that a hostile file
took over can make its own result wrong, never run code in the worker. A wall-clock limit, and any
exception in the parent (Celery's soft time limit), kill the child's whole process group.
"""

from __future__ import annotations

import json
import os
import pickle
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
from dataclasses import fields, replace
from typing import Any

from . import forkserver
from .base import CheckContext, CheckResult, Finding, SandboxLimits

MAX_OUTPUT = 16 * 1024 * 1024
MAX_FILE_WRITE = 256 * 1024 * 1024
GRACE_S = 2.0  # after the child has ended, how long its pipes may still deliver the rest of its answer
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
IN_CHILD_ENV = "MLSEC_SANDBOX_CHILD"
# Limits first, imports after: nothing the child loads runs before its limits hold.
_BOOT = (
    "import resource, sys\n"
    "def cap(kind, soft, hard):\n"
    "    ceiling = resource.getrlimit(kind)[1]\n"
    "    if ceiling != resource.RLIM_INFINITY:\n"
    "        soft, hard = min(soft, ceiling), min(hard, ceiling)\n"
    "    resource.setrlimit(kind, (soft, hard))\n"
    "memory, cpu, fsize = (int(v) for v in sys.argv[1:4])\n"
    "cap(resource.RLIMIT_AS, memory, memory)\n"
    "cap(resource.RLIMIT_CPU, cpu, cpu + 2)\n"
    "cap(resource.RLIMIT_CORE, 0, 0)\n"
    "cap(resource.RLIMIT_FSIZE, fsize, fsize)\n"
    "sys.path.insert(0, sys.argv[4])\n"
    "from checks.runners.sandbox import child_main\n"
    "child_main()\n"
)


class SandboxError(RuntimeError):
    """The sandboxed call gave no usable answer; ``kind`` says why (memory, cpu, time, crash, output)."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind


class CpuLimitExceeded(BaseException):  # noqa: N818 - BaseException: no runner's `except Exception` may swallow it
    """Raised inside the child by SIGXCPU (the soft CPU limit)."""


def in_child() -> bool:
    return os.environ.get(IN_CHILD_ENV) == "1"


def _child_env(workdir: str) -> dict[str, str]:
    """Nothing of the worker's environment but what a parser needs (no keys, no database URL)."""
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LC_ALL": "C.UTF-8", "LANG": "C.UTF-8",
        "HOME": workdir, "TMPDIR": workdir, "PYTHONDONTWRITEBYTECODE": "1", "PYTHONHASHSEED": "0",
        # BLAS/OpenMP pools reserve address space per core; one thread keeps RLIMIT_AS meaningful.
        "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
        IN_CHILD_ENV: "1",
    }


def call(function, *args, memory_mb: int, cpu_s: int, wall_s: float | None = None, **kwargs) -> Any:
    """:func:`run_sandboxed`, or a direct call when already inside a sandbox's child."""
    if in_child():
        return json.loads(json.dumps(function(*args, **kwargs)))  # the same JSON round trip as the child's
    return run_sandboxed(function, *args, memory_mb=memory_mb, cpu_s=cpu_s, wall_s=wall_s, **kwargs)


def run_sandboxed(function, *args, memory_mb: int, cpu_s: int, wall_s: float | None = None, **kwargs) -> Any:
    """``function(*args, **kwargs)`` in a limited child process; returns its JSON-decoded result.

    ``function`` must be importable by name (a module-level function or class); its result must
    be JSON-serialisable. Raises :class:`SandboxError` when the child runs out of memory, CPU or
    time, crashes, or answers with something that is not a result.
    """
    payload = pickle.dumps((function, args, kwargs), protocol=pickle.HIGHEST_PROTOCOL)
    workdir = tempfile.mkdtemp(prefix="mlsec-sandbox-")
    memory = max(64, int(memory_mb)) * 1024 * 1024
    cpu = max(1, int(cpu_s))
    _undumpable()
    proc = None
    try:
        with forkserver.acquire(ROOT, _child_env(workdir)) as server:
            try:
                if server is not None:  # a fork of the warm interpreter (forkserver.py), else a fresh one
                    try:
                        proc = server.start(memory=memory, cpu=cpu, fsize=MAX_FILE_WRITE, workdir=workdir)
                    except forkserver.ForkServerError:
                        proc = None
                if proc is None:
                    proc = _spawn(workdir, memory, cpu)
                out, too_much = _exchange(proc, payload, wall_s or cpu + 30)
            finally:
                if proc is not None:
                    _kill(proc)
                    _close(proc)
                    if isinstance(proc, forkserver.ForkedChild) and proc.returncode is None:
                        proc.server.discard()  # its report of this child is still owed: no later call may read it
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    if too_much:
        raise SandboxError("output", "the sandboxed parser produced an oversized answer")
    return _decode(out, proc.returncode, memory_mb, cpu)


_undumpable_done = False


def _undumpable() -> None:
    """Before this process starts its first sandboxed child: make it undumpable (PR_SET_DUMPABLE 0), so
    that a child a hostile file took over, running as the same user, can neither read this process's
    memory and environment (/proc/<pid>/mem, /environ: the database URL, the keys) nor trace it. Core
    dumps of the worker go with it; a debugger needs CAP_SYS_PTRACE."""
    global _undumpable_done
    if _undumpable_done or not sys.platform.startswith("linux"):  # /proc and prctl are Linux's
        return
    if not forkserver.make_undumpable():
        raise SandboxError("crash", "the worker cannot protect itself from its sandboxes (prctl PR_SET_DUMPABLE failed)")
    _undumpable_done = True


def _spawn(workdir: str, memory: int, cpu: int) -> subprocess.Popen:
    argv = [sys.executable, "-I", "-c", _BOOT, str(memory), str(cpu), str(MAX_FILE_WRITE), ROOT]
    try:
        return subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,  # noqa: S603 - fixed argv, no shell
                                stderr=subprocess.PIPE, cwd=workdir, env=_child_env(workdir),
                                start_new_session=True, close_fds=True)
    except OSError as exc:
        shutil.rmtree(workdir, ignore_errors=True)
        raise SandboxError("crash", f"the sandbox could not be started ({type(exc).__name__})") from None


def _exchange(proc, payload: bytes, wall_s: float) -> tuple[bytes, bool]:
    """Send the call, collect at most MAX_OUTPUT bytes of answer, wait at most ``wall_s`` seconds.

    The pipes are read and written with ``select`` and a stop flag, never by a call that blocks: a
    process the child left behind (in a session of its own, beyond the kill of the child's group) may
    hold the pipes open for ever, and the worker must still be free shortly after the child has gone.
    Every thread has stopped when this returns or raises.
    """
    chunks: list[bytes] = []
    state = {"size": 0, "too_much": False}
    stop = threading.Event()

    def feed() -> None:
        fd = proc.stdin.fileno()
        view = memoryview(payload)
        try:
            os.set_blocking(fd, False)
            while view and not stop.is_set():
                if select.select([], [fd], [], 0.1)[1]:
                    try:
                        view = view[os.write(fd, view[:65536]):]
                    except BlockingIOError:
                        continue
        except OSError:
            pass
        finally:
            try:
                proc.stdin.close()  # end of the call: the child reads to the end of its input
            except OSError:
                pass

    def pump(stream, keep: bool) -> None:  # stderr is only drained (a full pipe would block the child), never stored
        fd = stream.fileno()
        try:
            while not stop.is_set():
                if not select.select([fd], [], [], 0.1)[0]:
                    continue
                chunk = os.read(fd, 65536)
                if not chunk:
                    return
                if keep:
                    state["size"] += len(chunk)
                    if state["size"] > MAX_OUTPUT:
                        state["too_much"] = True
                        _kill(proc)
                        return
                    chunks.append(chunk)
        except OSError:
            return

    threads = [threading.Thread(target=feed, daemon=True), threading.Thread(target=pump, args=(proc.stdout, True), daemon=True),
               threading.Thread(target=pump, args=(proc.stderr, False), daemon=True)]
    for thread in threads:
        thread.start()
    try:
        try:
            proc.wait(timeout=wall_s)
        except subprocess.TimeoutExpired:
            _kill(proc)
            raise SandboxError("time", f"the sandboxed parser did not finish within {wall_s:g} s") from None
        _kill_group(proc)  # what it left in its group
        for thread in threads[1:]:
            thread.join(GRACE_S)  # the rest of an answer written just before the child ended
    finally:
        stop.set()
        for thread in threads:
            thread.join(1)
    return b"".join(chunks), state["too_much"]


def _kill_group(proc) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except OSError:
        pass


def _kill(proc) -> None:
    """Kill the child's group and the child (a forked child that has not yet made its own group, setsid,
    is killed by its pid) and reap it."""
    if proc.poll() is None:
        _kill_group(proc)
        try:
            os.kill(proc.pid, signal.SIGKILL)
        except OSError:
            pass
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            pass


def _close(proc) -> None:
    for stream in (proc.stdin, proc.stdout, proc.stderr):
        try:
            if stream:
                stream.close()
        except OSError:
            pass


def _decode(out: bytes, returncode: int | None, memory_mb: int, cpu: int) -> Any:
    try:
        answer = json.loads(out.decode("utf-8")) if out else None
    except (UnicodeDecodeError, ValueError):
        answer = None
    if isinstance(answer, dict) and "ok" in answer and len(answer) == 1:
        return answer["ok"]
    kind = answer.get("error") if isinstance(answer, dict) else None
    if kind == "memory":
        raise SandboxError("memory", f"the file needs more than the memory limit of {memory_mb} MB to parse")
    if kind == "cpu" or returncode in (-signal.SIGXCPU,):
        raise SandboxError("cpu", f"parsing used more than the CPU limit of {cpu} s")
    if kind == "crash":
        name = str(answer.get("type", "error"))[:60] if isinstance(answer, dict) else "error"
        raise SandboxError("crash", f"the sandboxed parser crashed ({name})")
    if returncode == -signal.SIGKILL:
        raise SandboxError("memory", f"the sandboxed parser was killed at its limits ({memory_mb} MB, {cpu} s CPU)")
    raise SandboxError("crash", f"the sandboxed parser stopped without a result (exit {returncode})")


def child_main() -> None:
    """Inside the child: read the pickled call from stdin, answer JSON on the original stdout."""
    answer_fd = os.dup(1)
    os.dup2(2, 1)  # a library that prints must not corrupt the answer
    sys.stdout = sys.stderr

    def cpu_exceeded(signum, frame):
        raise CpuLimitExceeded

    signal.signal(signal.SIGXCPU, cpu_exceeded)
    try:
        function, args, kwargs = pickle.loads(sys.stdin.buffer.read())  # noqa: S301 - written by the parent
        answer: dict = {"ok": function(*args, **kwargs)}
        text = json.dumps(answer)
    except CpuLimitExceeded:
        text = json.dumps({"error": "cpu"})
    except MemoryError:
        text = json.dumps({"error": "memory"})
    except BaseException as exc:  # noqa: BLE001 - the parent is told the kind, never a traceback
        text = json.dumps({"error": "crash", "type": type(exc).__name__})
    with os.fdopen(answer_fd, "w", encoding="utf-8") as answer_file:
        answer_file.write(text)


# --- runner classes ------------------------------------------------------------------------------

def plain_context(ctx: CheckContext) -> CheckContext:
    """The part of a context a child can use: plain data only (no database-backed advisories)."""
    values = {f.name: getattr(ctx, f.name) for f in fields(CheckContext)}
    values["advisories"] = None
    return replace(CheckContext(targets=ctx.targets, allowed_roots=[]), **values)


def run_check_sandboxed(check_class: type, ctx: CheckContext) -> CheckResult:
    """``check_class().run(ctx)`` in the sandbox, with the class's limits (defaults from the context)."""
    limits: SandboxLimits = check_class.sandbox or SandboxLimits()
    memory = limits.memory_mb or ctx.limits.memory_mb
    cpu = limits.cpu_s or int(check_class.time_limit_s)
    try:
        raw = run_sandboxed(_run_in_child, check_class, plain_context(ctx), memory_mb=memory, cpu_s=cpu,
                            wall_s=check_class.time_limit_s + 5)
    except SandboxError as exc:
        return CheckResult("error", f"could not decide: {exc}",
                           [Finding("medium", f"sandbox limit: {exc.kind}", str(exc), "")])
    return result_from_dict(raw)


def _run_in_child(check_class: type, ctx: CheckContext) -> dict:
    return check_class().run(ctx).as_dict()


def result_from_dict(raw: Any) -> CheckResult:
    """Rebuild a result from the child's JSON, trusting nothing about its shape."""
    if not isinstance(raw, dict):
        return CheckResult("error", "check crashed: the sandbox returned an invalid result")
    status = raw.get("status")
    findings = []
    for item in raw.get("findings") or []:
        if not isinstance(item, dict) or item.get("severity") not in ("info", "low", "medium", "high", "critical"):
            return CheckResult("error", "check crashed: the sandbox returned an invalid finding")
        findings.append(Finding(item["severity"], str(item.get("title", ""))[:300], str(item.get("detail", ""))[:2000],
                                str(item.get("ref", ""))[:500]))
    data = raw.get("data") if isinstance(raw.get("data"), dict) else {}
    return CheckResult(status if isinstance(status, str) else "invalid", str(raw.get("summary", ""))[:2000],
                       findings, data)
