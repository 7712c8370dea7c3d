"""Celery worker processes for the benchmarks (`bench_checks`) and the load test (`loadtest_checks`)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from django.conf import settings

ROOT = Path(settings.BASE_DIR)


def start_workers(count: int, name: str, *, niceness: int = 0) -> list[subprocess.Popen]:
    """`count` worker processes (concurrency 1 each) on the configured broker, queues checks and heavy.
    `niceness` > 0 runs them (and their scanners) in Linux's SCHED_IDLE class at that niceness: on one
    machine shared with the web processes, the closest this gets to workers on hosts of their own (the
    idle class runs only when no other process wants the core; in the recorded load tests it still cost
    the web 10-20 % on 2 vCPUs, docs/performance.md)."""
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": os.environ.get("DJANGO_SETTINGS_MODULE", "mlsec_portal.settings.local")}
    prefix = ["chrt", "--idle", "0", "nice", "-n", str(niceness)] if niceness else []
    return [subprocess.Popen(  # noqa: S603 - our own interpreter and fixed arguments
        [*prefix, sys.executable, "-m", "celery", "-A", "mlsec_portal", "worker", "-Q", "checks,heavy", "--concurrency", "1",
         "-n", f"{name}{i}@%h", "--without-gossip", "--without-mingle", "--loglevel", "WARNING"],
        cwd=ROOT, env=env, start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for i in range(count)]


def stop_workers(procs: list[subprocess.Popen]) -> None:
    for proc in procs:
        os.killpg(proc.pid, signal.SIGTERM)
    for proc in procs:
        proc.wait(60)
