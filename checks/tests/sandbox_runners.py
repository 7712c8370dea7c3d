"""Runners and functions the sandbox tests run in the child (importable, and light to import)."""

from __future__ import annotations

import os
import resource
from typing import ClassVar

from checks.runners import sandbox
from checks.runners.base import BaseCheck, CheckContext, CheckResult, CheckTargets, SandboxLimits


class _Sandboxed(BaseCheck):
    title = "test"
    practices = ("MLS-13",)
    default_schedule = "0 0 * * *"
    time_limit_s = 20
    description = "a runner for the sandbox tests"

    def applies(self, targets: CheckTargets) -> bool:
        return True


class MemoryHog(_Sandboxed):
    key = "memory-hog"
    sandbox: ClassVar[SandboxLimits] = SandboxLimits(memory_mb=256)

    def run(self, ctx: CheckContext) -> CheckResult:
        hoard = bytearray(1024 * 1024 * 1024)  # 1 GiB, four times the limit
        return CheckResult("passed", f"allocated {len(hoard)} bytes")


class Spinner(_Sandboxed):
    key = "spinner"
    sandbox: ClassVar[SandboxLimits] = SandboxLimits(cpu_s=1)

    def run(self, ctx: CheckContext) -> CheckResult:
        while True:
            pass


class Snoop(_Sandboxed):
    key = "snoop"
    sandbox: ClassVar[SandboxLimits] = SandboxLimits()

    def run(self, ctx: CheckContext) -> CheckResult:
        with open("/proc/self/status", encoding="ascii") as status:
            size = next(int(line.split()[1]) * 1024 for line in status if line.startswith("VmSize:"))
        with open("/proc/self/environ", "rb") as initial:  # what the process was started with, not os.environ
            born_with = sorted(item.split(b"=", 1)[0].decode() for item in initial.read().split(b"\0") if item)
        return CheckResult("passed", "looked around", data={
            "environ": sorted(os.environ), "born_with": born_with, "cwd": os.getcwd(), "cwd_entries": os.listdir("."),
            "pid": os.getpid(), "ppid": os.getppid(), "pgid": os.getpgid(0), "home": os.environ.get("HOME"),
            "tmpdir": __import__("tempfile").gettempdir(), "address_space": size,
            "as_limit": resource.getrlimit(resource.RLIMIT_AS)[0], "cpu_limit": resource.getrlimit(resource.RLIMIT_CPU)[0],
            "cpu_used": sum(resource.getrusage(resource.RUSAGE_SELF)[:2]),
        })


def write_bad_answer() -> None:
    """Inside the child: a parser a hostile file took over writes a pickle wherever it can."""
    import pickle

    class Payload:
        def __reduce__(self):
            return (open, ("/tmp/mlsec-sandbox-pwned", "w"))

    for fd in range(3, 20):
        try:
            os.write(fd, pickle.dumps(Payload()))
        except OSError:
            pass
    os._exit(0)


def huge_answer() -> str:
    return "x" * (sandbox.MAX_OUTPUT + 1)


def loaded(names: list[str]) -> dict[str, bool]:
    """Which of these modules the child already holds when its call begins."""
    import sys

    return {name: name in sys.modules for name in names}


def parentage() -> dict[str, int]:
    return {"pid": os.getpid(), "ppid": os.getppid()}


def pry_at_parent() -> dict[str, str]:
    """A child a file took over tries to read its parent's memory and environment, and to trace it."""
    import ctypes

    tried = pry_at(os.getppid())
    libc = ctypes.CDLL(None, use_errno=True)
    libc.ptrace.argtypes = [ctypes.c_long, ctypes.c_int, ctypes.c_void_p, ctypes.c_void_p]
    if libc.ptrace(16, os.getppid(), None, None) == 0:  # PTRACE_ATTACH
        tried["ptrace"] = "attached"
        os.waitpid(os.getppid(), 0x40000000)  # __WALL: the stop, then let it go (PTRACE_DETACH)
        libc.ptrace(17, os.getppid(), None, None)
    else:
        tried["ptrace"] = "refused"
    tried["dumpable"] = str(libc.prctl(3, 0, 0, 0, 0))  # PR_GET_DUMPABLE, inherited from the server
    return tried


def kill_parent_and_linger() -> str:
    import signal
    import time

    os.kill(os.getppid(), signal.SIGKILL)
    time.sleep(60)
    return "outlived"


def linger_with_grandchild(pid_file: str) -> str:
    import subprocess
    import time

    grandchild = subprocess.Popen(["sleep", "60"])  # noqa: S603, S607 - a test's fixed command
    with open(pid_file, "w", encoding="ascii") as out:
        out.write(str(grandchild.pid))
    time.sleep(60)
    return "outlived"


def pry_at(pid: int) -> dict[str, str]:
    """What a child can read of another process of its user: memory, initial environment."""
    tried = {}
    for name in ("mem", "environ"):
        try:
            with open(f"/proc/{pid}/{name}", "rb") as target:
                target.read(1)
            tried[name] = "read"
        except OSError as exc:
            tried[name] = type(exc).__name__
    return tried


def leave_holder_of_the_pipes(seconds: int) -> str:
    """A child that leaves, in a session of its own (beyond the kill of its group), a process holding its
    answer and error pipes, then answers and ends."""
    import subprocess

    subprocess.Popen(["sleep", str(seconds)], start_new_session=True, pass_fds=(3,), stdout=3)  # noqa: S603, S607
    return "answered"
