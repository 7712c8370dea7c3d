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
        return CheckResult("passed", "looked around", data={
            "environ": sorted(os.environ), "cwd": os.getcwd(), "cwd_entries": os.listdir("."), "pid": os.getpid(),
            "as_limit": resource.getrlimit(resource.RLIMIT_AS)[0], "cpu_limit": resource.getrlimit(resource.RLIMIT_CPU)[0],
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
