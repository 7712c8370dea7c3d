"""Celery worker processes for the benchmarks (`bench_checks`) and the load test (`loadtest_checks`)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from django.conf import settings

ROOT = Path(settings.BASE_DIR)
CGROUP_ROOT = Path("/sys/fs/cgroup")
CGROUP_PERIOD_US = 100_000


class CpuLimitUnavailable(RuntimeError):
    """No CPU controller this process may configure (not root, or no cgroup file system)."""


def cpu_cgroup(name: str, share: float, root: Path = CGROUP_ROOT) -> Path:
    """A CPU cgroup that lets its processes use `share` of one core in all (0.5: half a core), and the
    file a process writes its pid to in order to join it. cgroup v2 (`cpu.max`) where the unified
    hierarchy has the cpu controller, else v1's cpu controller (`cpu.cfs_quota_us`)."""
    if share <= 0:
        raise ValueError("the share of a core must be positive")
    quota = str(max(1000, round(share * CGROUP_PERIOD_US)))
    controllers = root / "cgroup.controllers"
    try:
        if controllers.exists() and "cpu" in controllers.read_text().split():
            group = root / name
            group.mkdir(exist_ok=True)
            (group / "cpu.max").write_text(f"{quota} {CGROUP_PERIOD_US}\n")
        elif (root / "cpu").is_dir():
            group = root / "cpu" / name
            group.mkdir(exist_ok=True)
            (group / "cpu.cfs_period_us").write_text(f"{CGROUP_PERIOD_US}\n")
            (group / "cpu.cfs_quota_us").write_text(f"{quota}\n")
        else:
            raise CpuLimitUnavailable(f"no cpu controller under {root}")
    except OSError as exc:
        raise CpuLimitUnavailable(f"cannot configure a cpu cgroup under {root}: {exc}") from exc
    return group / "cgroup.procs"


def in_cgroup(procs_file: Path, command: list[str]) -> list[str]:
    """`command`, started by a shell that first moves itself into the cgroup: everything it then runs
    (the worker, its pool, the scanners) is born inside, with no window in which a child escapes."""
    return ["sh", "-c", 'echo $$ > "$0" && exec "$@"', str(procs_file), *command]


def start_workers(count: int, name: str, *, niceness: int = 0, cpu_share: float = 0) -> list[subprocess.Popen]:
    """`count` worker processes (concurrency 1 each) on the configured broker, queues checks and heavy.
    `niceness` > 0 runs them (and their scanners) in Linux's SCHED_IDLE class at that niceness, and
    `cpu_share` > 0 caps all of them together at that share of one core (a CPU cgroup, `cpu_cgroup`):
    on one machine shared with the web processes, the closest this gets to workers on hosts of their
    own. The idle class alone still cost the web a third of its latency budget on 2 vCPUs: the
    scanners' interpreters start in bursts, a project's checks together (docs/performance.md)."""
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": os.environ.get("DJANGO_SETTINGS_MODULE", "mlsec_portal.settings.local")}
    prefix = ["chrt", "--idle", "0", "nice", "-n", str(niceness)] if niceness else []
    if cpu_share:
        prefix = in_cgroup(cpu_cgroup(f"mlsec-{name}-checks", cpu_share), prefix)
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
